"""What the training presets must be, written out from the paper and the docs, never read from the code
(``core.settings.config.PRESETS``): a test that builds its expectation with ``preset()`` cannot see the preset
change.

The paper (Deng et al., MICCAI 2020, /work/shared/paper: "Network Implementation" and "Experiments"): G_hl is a
ResNet of 9 residual blocks whose convolutions have 64 filters; G_lh, DRCNet, is a linear interpolation followed
by 9 residual blocks; Adam with beta1 0.5 and beta2 0.999, the generators' learning rate 2e-4 decreasing by a
factor 0.98 every epoch, the discriminators' a fixed 1e-4. docs/method.md and docs/user_guide.md: the ``paper``
preset has the paper's network sizes, for a GPU; ``fast`` (the default) is EDSR with 32 channels and 4 blocks
and a 10-minute budget."""

PAPER_NETWORKS = dict(backbone="drcnet", channels=64, blocks=9, ghl_channels=64, ghl_blocks=9)
PAPER_OPTIMISER = dict(betas=(0.5, 0.999), lr_generators=2e-4, lr_decay=0.98, lr_discriminators=1e-4)
# The rest of the paper preset is not in the paper (it gives no discriminator width for D_l, no patch or batch
# size, no time): a PatchGAN's usual 64 filters, LR patches 12 rows by 128 px, 16 per step, one hour on a GPU.
PAPER_GPU = dict(disc_channels=64, lr_rows=12, patch_width=128, batch_size=16, minutes=60.0)
PAPER = {**PAPER_NETWORKS, **PAPER_GPU}  # what the paper preset sets (the optimiser is every preset's)

# The default sizes (``isorecon train --help`` lists each): small networks and patches for a 2-core CPU.
FAST = dict(backbone="edsr", channels=32, blocks=4, ghl_channels=16, ghl_blocks=2, disc_channels=32, lr_rows=8,
            patch_width=64, batch_size=8, minutes=10.0)


def fields(config, names) -> dict:
    """``{name: config.name}`` for ``names``."""
    return {name: getattr(config, name) for name in names}
