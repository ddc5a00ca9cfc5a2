"""The Reconstruct dock widget: its settings and form, how it presents a run's results, and the side-by-side
view."""
