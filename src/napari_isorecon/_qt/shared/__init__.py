"""What every dock widget uses: layers and their picker, the settings forms, jobs (controller, worker, state,
lifetime), the viewer's session and model source, small Qt helpers, result tables and report saving."""
