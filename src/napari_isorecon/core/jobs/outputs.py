"""Where the volumes of a job go: a ``.zarr`` path is written block by block (OME-Zarr, resumable, any
size), any other path (``.tif``) whole from memory. Every path is checked before any work and an existing
one is replaced only when asked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import IsoReconError
from ..events import Notice, OutputWritten, ReconFinished

OUTPUT_NAMES = ("isotropic", "interpolated", "uncertainty", "sharp")
SHARP_IN_MEMORY = ("The sharp output is made in memory from the whole result: write it and the result as .tif, or "
                   "leave the sharp output out.")
UNCERTAINTY_IN_MEMORY = ("The uncertainty is made in memory from the whole result: write it and the result as .tif, "
                         "or leave the uncertainty out.")


def is_zarr_output(path) -> bool:
    """A path ending in .zarr: written block by block."""
    return str(path).rstrip("/\\").lower().endswith(".zarr")


def check_output(path, overwrite: bool = False) -> Path:
    """The check of the writer that ``path`` gets (a .zarr folder or a file), before any work."""
    from ..io import check_writable, check_zarr_writable

    return check_zarr_writable(path, overwrite) if is_zarr_output(path) else check_writable(path, overwrite)


@dataclass(frozen=True)
class Outputs:
    """Where a job writes its volumes, by name (:data:`OUTPUT_NAMES`), and how.

    ``voxel``: the *input's* voxel size (z, y, x) in nm or None (the outputs get the isotropic one);
    ``block`` (input voxels per block, default ``blockwise.DEFAULT_BLOCK``) and ``client`` (a
    dask.distributed Client) serve the .zarr outputs; ``source`` names the input in a blockwise run's
    manifest, so that rerunning the same job resumes it.
    """

    paths: Mapping[str, Any] = field(default_factory=dict)
    voxel: tuple | None = None
    overwrite: bool = False
    block: tuple | None = None
    client: Any = None
    source: str = ""

    def path(self, name: str) -> Path | None:
        path = self.paths.get(name)
        return Path(path) if path else None

    def blockwise(self, name: str) -> bool:
        path = self.path(name)
        return path is not None and is_zarr_output(path)

    def check(self) -> None:
        """Refuse, before any work, an output that exists (unless ``overwrite``) or cannot be written, and an
        uncertainty map written another way than the result it is made with."""
        unknown = set(self.paths) - set(OUTPUT_NAMES)
        if unknown:
            raise ValueError(f"Unknown outputs {sorted(unknown)}; known: {OUTPUT_NAMES}")
        for name in OUTPUT_NAMES:
            if self.path(name) is not None:
                check_output(self.path(name), self.overwrite)
        result, spread, sharp = self.path("isotropic"), self.path("uncertainty"), self.path("sharp")
        if sharp is not None and (is_zarr_output(sharp) or (result is not None and is_zarr_output(result))):
            raise IsoReconError(SHARP_IN_MEMORY)
        if spread is not None and (is_zarr_output(spread) or (result is not None and is_zarr_output(result))):
            raise IsoReconError(UNCERTAINTY_IN_MEMORY)

    def output_voxel(self, n_slices: int, z_factor: float):
        from ..inference.blockwise.plan import iso_voxel_size

        return iso_voxel_size(self.voxel, n_slices, z_factor)

    def block_size(self) -> tuple:
        from ..inference.blockwise.plan import DEFAULT_BLOCK

        return tuple(self.block) if self.block else DEFAULT_BLOCK

    def manifest_name(self, job: str) -> str:
        return f"{self.source}|{job}"


def written(events, outputs: Outputs | None, name: str, n_slices: int, z_factor: float):
    """Pass a part's events through; after its final volume, write it when the output ``name`` has a path and is
    not already written block by block, and yield OutputWritten."""
    from ..io import write_volume

    for event in events:
        yield event
        if outputs is None or not isinstance(event, ReconFinished) or event.stopped:
            continue
        path = outputs.path(name)
        if path is None:
            continue
        if not outputs.blockwise(name):
            write_volume(path, event.volume, outputs.output_voxel(n_slices, z_factor), overwrite=outputs.overwrite)
        yield OutputWritten(name, path, tuple(event.volume.shape))


def whole_depth_note(shape, z_factor: float, radius: int, block) -> Notice | None:
    """A note when no exact z blocks exist below the whole depth, so memory grows with z."""
    from ..inference.blockwise.plan import plan_blocks

    plan = plan_blocks(shape, z_factor, radius, block)
    if len(plan.z_edges) == 2 and shape[0] > 2 * block[0]:
        return Notice(f"{shape[0]} slices at z-factor {z_factor:g} give {plan.depth} output rows, a ratio with no "
                      f"exact z blocks below {plan.lattice} slices: each block spans the whole depth (memory "
                      "grows with z; use a smaller y,x block size).")
    return None
