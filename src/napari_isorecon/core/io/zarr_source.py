"""A zarr array opened as an input volume, which names its file when a chunk cannot be read.

zarr reads chunks lazily, deep inside a training, a reconstruction or a dask task; a chunk that cannot be decoded
(an empty or cut file left by a crash or a full disk, bytes that are not what the codec wrote) or read (an I/O
error) raises there whatever its codec or store raises (``RuntimeError: error during blosc decompression: -1``).
Read through :class:`SourceArray`, it is one :class:`IsoReconError` that names the volume. A chunk that is absent
is no error: zarr reads it as the fill value, as writers leave out chunks that hold only it (see
docs/failure_modes.md). Imports zarr: :mod:`.zarr` imports this module only when it opens a volume.
"""

from __future__ import annotations

import zarr

from ..errors import IsoReconError


class SourceArray(zarr.Array):
    """A ``zarr.Array`` (every attribute and method of one) whose ``[...]`` turns a failure to read or decode a
    chunk into an IsoReconError naming ``source``, the path the volume was opened from."""

    source: str = ""

    @classmethod
    def of(cls, array: zarr.Array, source) -> SourceArray:
        named = cls(array._async_array)
        named.source = str(source)
        return named

    def __getitem__(self, selection):
        try:
            return super().__getitem__(selection)
        except (IsoReconError, IndexError, TypeError, MemoryError):  # ours, or a bad selection: not the file
            raise
        except Exception as exc:  # noqa: BLE001 (codecs and stores raise many types)
            text = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
            raise IsoReconError(f"Cannot read {self.source}: a chunk is damaged or unreadable ({text}).") from exc
