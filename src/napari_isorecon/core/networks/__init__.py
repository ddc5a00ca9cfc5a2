"""The networks: reconstruction backbones, G_hl and the discriminators, the losses, z resampling."""
