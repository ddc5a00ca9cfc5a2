"""The napari top floor: dock widgets over the core engine. Every Qt class of the package lives here."""
