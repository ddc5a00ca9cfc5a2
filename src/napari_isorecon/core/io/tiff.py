"""Tif volumes: read with their voxel size (OME-XML or ImageJ tags), written as OME-TIFF.

Voxel sizes cross this module as (z, y, x) in nanometres. Reading takes the OME-XML's ``PhysicalSize*`` and
their units first (what acquisition software and Bio-Formats write; µm when a unit is absent, as the OME
schema says), then ImageJ's ``spacing`` + resolution tags in ImageJ's ``unit``. Writing makes an OME-TIFF
with the sizes in nm, and the x/y sizes also in the baseline TIFF resolution tags (pixels per centimetre)
for readers that know no OME-XML: Fiji reads the sizes and units through Bio-Formats (which it uses for
OME-TIFF), napari through this plugin's reader.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import xml.etree.ElementTree as ElementTree
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import IsoReconError
from .files import atomic_write, check_writable
from .units import nm_per_unit

TIF_SUFFIXES = (".tif", ".tiff")
OME_DEFAULT_UNIT = "µm"  # the OME schema's default for PhysicalSize*Unit
_UNCOMPRESSED = (np.uint8, np.uint16, np.float32)  # the types every TIFF reader handles; others are zlib'd


def read_volume(path) -> tuple[np.ndarray, tuple[float, float, float] | None]:
    """(array, voxel size (z, y, x) in nm or None) from a tif file."""
    import tifffile

    path = Path(path)
    if not path.exists():
        raise IsoReconError(f"File {path} does not exist.")
    if path.is_dir():
        raise IsoReconError(f"{path} is a directory; give a volume file (.tif).")
    if path.suffix.lower() not in TIF_SUFFIXES:
        raise IsoReconError(f"Cannot read {path.name}: volumes are read from .tif/.tiff files.")
    try:
        with _offsets_past_the_end() as damage, tifffile.TiffFile(path) as tif:
            array = tif.asarray()
            voxel = tif_voxel_size(tif)
    except IsoReconError:
        raise
    except Exception as exc:  # tifffile raises many types for damaged files
        raise IsoReconError(f"Cannot read {path}: {str(exc).splitlines()[0][:160] or type(exc).__name__}.") from exc
    if damage:
        raise IsoReconError(f"Cannot read {path}: the file is truncated or damaged ({damage[0]}).")
    return array, voxel


# what tifffile logs (and otherwise reads on past) when an offset in the file points beyond its end: a file cut
# short (a copy or download that stopped, a full disk). Its pixels may still read, but pages, the OME-XML (the
# voxel size) or data are missing.
_PAST_THE_END = re.compile(r"invalid (?:page |value )?offset(?: to page)?[^'\")]*")


@contextmanager
def _offsets_past_the_end():
    """Collect, as a list of phrases, what tifffile logs in this thread about offsets past the file's end while
    the block runs; its other log records of this thread are held back and passed on afterwards when there is
    none (a damaged file gets one error that says it, not tifffile's lines first)."""
    logger = logging.getLogger("tifffile")
    thread = threading.get_ident()
    damage, held = [], []

    def keep(record) -> bool:
        if record.thread != thread:
            return True
        found = _PAST_THE_END.search(record.getMessage())
        if found:
            damage.append(found.group(0).strip())
        else:
            held.append(record)
        return False

    logger.addFilter(keep)
    try:
        yield damage
    finally:
        logger.removeFilter(keep)
        if not damage:
            for record in held:
                logger.handle(record)


def tif_voxel_size(tif) -> tuple[float, float, float] | None:
    """Voxel size (z, y, x) in nm of an open ``tifffile.TiffFile``: OME-XML first, then ImageJ tags."""
    if tif.is_ome and tif.ome_metadata:
        voxel = ome_xml_voxel_size(tif.ome_metadata, tif.filehandle.name)
        if voxel is not None:
            return voxel
    if tif.is_imagej:
        return _imagej_voxel_size(tif)
    return None


def ome_xml_voxel_size(xml: str, name: str = "the file") -> tuple[float, float, float] | None:
    """(z, y, x) in nm from the first image's ``Pixels`` of an OME-XML document; None when a size is
    missing or in pixels. Raises IsoReconError for a unit that is not a length."""
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        return None
    pixels = next((el for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "Pixels"), None)
    if pixels is None:
        return None
    sizes = []
    for axis in "ZYX":
        value = pixels.get(f"PhysicalSize{axis}")
        unit = pixels.get(f"PhysicalSize{axis}Unit", OME_DEFAULT_UNIT)
        if value is None:
            return None
        try:
            factor = nm_per_unit(unit)
        except KeyError:
            raise IsoReconError(f"{name}: unknown length unit {unit!r} for PhysicalSize{axis} in its OME-XML.") \
                from None
        if factor is None:
            return None
        try:
            sizes.append(float(value) * factor)
        except ValueError:
            return None
    return _positive(sizes)


def _imagej_voxel_size(tif) -> tuple[float, float, float] | None:
    """ImageJ's ``spacing`` (z) and XResolution/YResolution (pixels per unit), in ImageJ's ``unit``;
    numbers in unknown units are kept as they are (the z-factor, a ratio, is right either way)."""
    meta = tif.imagej_metadata or {}
    page = tif.pages[0]
    try:
        xres = page.tags["XResolution"].value
        yres = page.tags["YResolution"].value
        sx = xres[1] / xres[0]
        sy = yres[1] / yres[0]
    except (KeyError, ZeroDivisionError, TypeError, IndexError):
        return None
    sz = meta.get("spacing")
    if sz is None:
        return None
    try:
        factor = nm_per_unit(meta.get("unit", "nm"))
    except KeyError:
        factor = 1.0
    if factor is None:
        factor = 1.0
    return _positive([float(sz) * factor, sy * factor, sx * factor])


def _positive(sizes) -> tuple[float, float, float] | None:
    if len(sizes) == 3 and all(math.isfinite(s) and s > 0 for s in sizes):
        return tuple(float(s) for s in sizes)
    return None


def write_volume(path, volume: np.ndarray, voxel_size=None, overwrite: bool = False) -> Path:
    """Write a (Z, Y, X) array to an OME-TIFF (with its voxel size in nm when given), atomically; an existing
    file is replaced only with ``overwrite``."""
    import tifffile

    path = Path(path)
    if path.suffix.lower() not in TIF_SUFFIXES:
        raise IsoReconError(f"Output {path.name} must end in .tif or .tiff.")
    path = check_writable(path, overwrite)
    volume = np.ascontiguousarray(volume)
    metadata = {"axes": "ZYX"[-volume.ndim:] if volume.ndim <= 3 else None}
    kwargs = {}
    if voxel_size is not None:
        sz, sy, sx = (float(v) for v in voxel_size)
        metadata.update(PhysicalSizeZ=sz, PhysicalSizeZUnit="nm", PhysicalSizeY=sy, PhysicalSizeYUnit="nm",
                        PhysicalSizeX=sx, PhysicalSizeXUnit="nm")
        kwargs = dict(resolution=(1e7 / sx, 1e7 / sy), resolutionunit="CENTIMETER")  # pixels per cm
    compression = None if volume.dtype in _UNCOMPRESSED else "zlib"

    def write(tmp):
        tifffile.imwrite(tmp, volume, ome=True, photometric="minisblack", compression=compression,
                         metadata={k: v for k, v in metadata.items() if v is not None}, **kwargs)

    atomic_write(path, write)
    return path
