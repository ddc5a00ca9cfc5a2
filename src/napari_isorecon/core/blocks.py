"""The blockwise engine's public names, kept importable from here; the code lives in :mod:`.blockwise`
(``plan``, ``compute``, ``run``, ``resume``)."""

from .blockwise import (  # noqa: F401
    DEFAULT_BLOCK,
    MANIFEST_FORMAT,
    Block,
    BlockPlan,
    BlockWriteError,
    compute_block,
    default_workers,
    interpolate_blockwise,
    iso_voxel_size,
    net_fingerprint,
    plan_blocks,
    reconstruct_blockwise,
    reconstruct_model_blockwise,
    write_blockwise,
    z_lattice,
)
