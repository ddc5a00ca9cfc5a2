"""A trained model: its networks and normaliser (IsoModel), the intensity mapping, the checkpoint file."""
