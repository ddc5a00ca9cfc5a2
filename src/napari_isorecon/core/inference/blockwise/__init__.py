"""Blockwise (out-of-core) reconstruction with dask: any volume size with flat memory, on one machine or
a dask.distributed cluster.

    lazy = reconstruct_model_blockwise(zarr_volume, model)            # a dask array, nothing computed yet
    net, z, norm = model.reconstruction_network(), model.z_factor, model.normalizer
    for event in write_blockwise(zarr_volume, net, z, norm, "iso.zarr"):  # ReconProgress ..., ReconFinished
        ...

Modules: :mod:`.plan` (the block plan, halo and z lattice), :mod:`.compute` (one block: the fused xz/yz
passes), :mod:`.run` (dask plumbing, the lazy array, local and distributed runners), :mod:`.resume`
(``.partial`` output, manifest, block markers, resuming).

Each output block reads its input block plus a halo, runs the xz and the yz pass on it (fused: one task
per block), crops the halo and, when writing, stores the block in a zarr/OME-Zarr as soon as it is done,
so no process ever holds more than a few blocks.

Geometry (the z rule). Output row ``j`` lies at input position ``(j + 0.5) * Z / D - 0.5`` with
``D = round(Z * f)`` (see :mod:`geometry`). The networks resample along z with the *local* ratio of the
slice they are given (``rows / out_rows``), so a block that reads input rows ``[a, b)`` and asks for
``(b - a) * D / Z`` output rows lands on exactly the global positions if and only if ``a * D / Z`` is an
integer. Every z edge (block edges and halo'd read edges) therefore lies on the lattice of multiples of
``g = Z / gcd(Z, D)``:

- integer factors: ``g = 1``, any block height works;
- ``f = 2.5`` with an even ``Z``: ``g = 2``; ``f = 3.75``: ``g`` divides 4;
- when ``Z * f`` is far from a simple fraction, ``g`` can be as large as ``Z`` (e.g. ``Z = 101, f = 2.5``:
  ``D = 252``, ``g = 101``): the volume is then a single block in z and tiled in y and x only, so memory
  grows with ``Z`` but not with ``Y`` or ``X``.

The requested block height is rounded to the nearest multiple of ``g``.

Halo: ``receptive_radius + 1`` input rows in z (an output row at input position ``p`` depends on rows
within ``p +- R``, and the first kept row of a block sits up to half a row before the block edge), rounded
up to the lattice; ``receptive_radius`` pixels in y and x. Blocks are cropped, not blended: with a halo
that covers the receptive field every kept voxel is computed from exactly the data the whole-volume pass
uses, so the blockwise result equals :func:`reconstruct.slice_passes` to float rounding and there is no
seam to blend away (``tests/scale`` checks both, and that a too-small halo does show a seam).

Resume: a run writes into ``OUT.zarr.partial``; every finished block leaves a marker file
``.isorecon/done/i-j-k`` next to a manifest of the run (input shape and dtype, network fingerprint,
normaliser, factor, axes, block plan). A rerun with the same manifest skips the marked blocks (a block
that was being written when the run died has no marker and is written again); when every block is done
the downsampled viewing levels are built from level 0 (:func:`io.add_levels`; a run killed meanwhile
rebuilds them), then the markers are removed and the folder is renamed to ``OUT.zarr``, so the final name
never holds a half-written volume.

Distributed: with a ``client`` the network (and an in-memory input) is scattered once to every worker
(``client.scatter(..., broadcast=True)``) and the block tasks refer to it by key, so it is shipped once per
worker, not once per block. A zarr input is opened by each task at its region; workers write straight to
the output store (it must be on a file system they share).
"""

from .compute import compute_block
from .plan import DEFAULT_BLOCK, Block, BlockPlan, iso_voxel_size, plan_blocks, z_lattice
from .resume import MANIFEST_FORMAT, BlockWriteError, net_fingerprint, write_blockwise
from .run import default_workers, interpolate_blockwise, reconstruct_blockwise, reconstruct_model_blockwise

__all__ = [
    "DEFAULT_BLOCK", "MANIFEST_FORMAT", "Block", "BlockPlan", "BlockWriteError", "compute_block", "default_workers",
    "interpolate_blockwise", "iso_voxel_size", "net_fingerprint", "plan_blocks", "reconstruct_blockwise",
    "reconstruct_model_blockwise", "write_blockwise", "z_lattice",
]
