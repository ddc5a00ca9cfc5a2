"""The napari top floor: dock widgets over the core engine. Every Qt class of the package lives here, grouped by
role: ``train/`` (the Train dock), ``reconstruct/`` (the Reconstruct dock), ``checks/`` (the Train dock's checks on
hidden sections) and ``shared/`` (what the docks have in common: layers, jobs, forms, session, small widgets)."""
