"""OME-NGFF metadata, the one place that writes and reads it: the multiscales entry (axes, units, per-level
``scale`` and ``translation``) in the 0.4 layout on zarr v2 or the 0.5 one on zarr v3, written through
ome-zarr-py. :mod:`.zarr` reads volumes and voxel sizes with it, :mod:`.pyramid` rewrites it for its levels."""

from __future__ import annotations

from ..errors import IsoReconError
from .units import nm_per_unit

OME_VERSIONS = ("0.4", "0.5")
NANOMETER = "nanometer"


def ome_format(version: str):
    """The ome-zarr-py format object of an OME-NGFF ``version`` (0.4: zarr v2, 0.5: zarr v3)."""
    if version not in OME_VERSIONS:
        raise IsoReconError(f"OME-Zarr version must be one of {OME_VERSIONS}, got {version!r}.")
    from ome_zarr.format import FormatV04, FormatV05

    return FormatV04() if version == "0.4" else FormatV05()


def array_kwargs(version: str) -> dict:
    """``zarr.Group.create_array`` arguments for a level of this OME-NGFF version."""
    fmt = ome_format(version)
    if fmt.zarr_format == 2:
        return {"chunk_key_encoding": fmt.chunk_key_encoding}
    return {"dimension_names": ["z", "y", "x"]}


def write_metadata(group, version: str, factors, voxel_size=None, name: str = "isotropic",
                   unit: str | None = NANOMETER) -> None:
    """Multiscales metadata for levels "0".."n" made with the halving ``factors`` (one per level after the
    first); ``voxel_size`` (z, y, x) of level 0 in ``unit`` (None: scale 1 and no unit)."""
    from ome_zarr.writer import write_multiscales_metadata

    fmt = ome_format(version)
    spacing = [1.0, 1.0, 1.0] if voxel_size is None else [float(v) for v in voxel_size]
    datasets = []
    total = [1, 1, 1]
    for level in range(len(factors) + 1):
        if level:
            total = [t * f for t, f in zip(total, factors[level - 1], strict=True)]
        transforms = [{"type": "scale", "scale": [s * t for s, t in zip(spacing, total, strict=True)]}]
        if level:  # a coarse voxel's centre sits mid-way across the fine voxels it averages
            shift = [s * (t - 1) / 2 for s, t in zip(spacing, total, strict=True)]
            transforms.append({"type": "translation", "translation": shift})
        datasets.append({"path": str(level), "coordinateTransformations": transforms})
    unit = unit if voxel_size is not None else None
    axes = [{"name": n, "type": "space", **({"unit": unit} if unit else {})} for n in "zyx"]
    write_multiscales_metadata(group, datasets, fmt=fmt, axes=axes, name=name)


def ome_entry(group) -> dict | None:
    """The first multiscales entry of a group's attributes (OME-NGFF 0.4 or 0.5 layout), or None."""
    attrs = dict(group.attrs)
    ome = attrs.get("ome")
    multiscales = ome.get("multiscales") if isinstance(ome, dict) else None
    multiscales = multiscales or attrs.get("multiscales")
    return multiscales[0] if multiscales else None


def ome_version_of(group) -> str | None:
    attrs = dict(group.attrs)
    if isinstance(attrs.get("ome"), dict):
        return str(attrs["ome"].get("version"))
    entry = ome_entry(group)
    return None if entry is None else str(entry.get("version"))


def level_scale(entry: dict, level: int) -> list[float] | None:
    """Per-axis scale of dataset ``level``: its own scale transform times the multiscale-wide one."""
    def scale_of(transforms):
        for t in transforms or []:
            if t.get("type") == "scale":
                return [float(s) for s in t["scale"]]
        return None

    scale = scale_of(entry["datasets"][level].get("coordinateTransformations"))
    outer = scale_of(entry.get("coordinateTransformations"))
    if scale is not None and outer is not None:
        if len(scale) != len(outer):
            raise IsoReconError(f"OME-Zarr metadata: level {level}'s scale has {len(scale)} axes, the "
                                f"multiscale's {len(outer)}.")
        scale = [a * b for a, b in zip(scale, outer, strict=True)]
    return scale or outer


def voxel_of_entry(entry: dict, level: int, path) -> tuple[float, float, float] | None:
    """Voxel size (z, y, x) of a level in nm; numbers without a unit are kept as they are."""
    scale = level_scale(entry, level)
    if scale is None or len(scale) < 3:
        return None
    axes = entry.get("axes")
    units = [None, None, None]
    if axes and len(axes) == len(scale):
        units = [(a.get("unit") if isinstance(a, dict) else None) for a in axes[-3:]]
    voxel = []
    for value, unit in zip(scale[-3:], units, strict=True):
        try:
            factor = nm_per_unit(unit) if unit else 1.0
        except KeyError:
            raise IsoReconError(f"{path}: unknown length unit in {units}; use e.g. 'nanometer'.") from None
        voxel.append(float(value) * (factor if factor is not None else 1.0))
    return tuple(voxel)
