"""Blockwise (out-of-core) reconstruction with dask: any volume size with flat memory, on one machine or
a dask.distributed cluster.

    lazy = reconstruct_model_blockwise(zarr_volume, model)            # a dask array, nothing computed yet
    for event in write_model_blockwise(zarr_volume, model, "iso.zarr"):  # ReconProgress ..., ReconFinished
        ...

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

from __future__ import annotations

import ctypes
import hashlib
import json
import math
import os
import queue
import sys
import threading
import time
import uuid
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import ReconConfig, check_z_factor
from .device import resolve_device
from .errors import IsoReconError
from .events import ReconFinished, ReconProgress, stop_requested
from .fusion import PLAIN, SharedBlocks, by_slabs
from .geometry import check_volume, output_depth
from .intensity import Normalizer

DEFAULT_BLOCK = (64, 256, 256)  # input voxels (z slices, y, x) per block, before the z lattice rule
MANIFEST_FORMAT = "napari-isorecon/blockwise"
_META_DIR = ".isorecon"


# ---------------------------------------------------------------------------------------------- the plan
@dataclass(frozen=True)
class Block:
    """One output block: where it reads (with halo), what it fills, and which part of its result it keeps."""

    index: tuple[int, int, int]
    read: tuple[slice, slice, slice]  # input region, halo included
    out: tuple[slice, slice, slice]  # output region filled by this block
    keep: tuple[slice, slice, slice]  # region of the halo'd result kept (z in output rows, y/x in read pixels)
    out_rows: int  # output rows of the halo'd read: (read z length) * D / Z

    @property
    def out_shape(self) -> tuple[int, int, int]:
        return tuple(s.stop - s.start for s in self.out)


@dataclass(frozen=True)
class BlockPlan:
    shape: tuple[int, int, int]  # input (Z, Y, X)
    depth: int  # output depth D = round(Z * f)
    z_edges: tuple[int, ...]  # input z edges, all on the lattice
    y_edges: tuple[int, ...]
    x_edges: tuple[int, ...]
    halo_z: int  # input rows, a multiple of the lattice
    halo_xy: int
    lattice: int  # g = Z / gcd(Z, D)

    @property
    def out_shape(self) -> tuple[int, int, int]:
        return (self.depth, self.shape[1], self.shape[2])

    @property
    def grid(self) -> tuple[int, int, int]:
        return (len(self.z_edges) - 1, len(self.y_edges) - 1, len(self.x_edges) - 1)

    @property
    def n_blocks(self) -> int:
        return math.prod(self.grid)

    def out_row(self, k: int) -> int:
        """Output row where input row ``k`` (a lattice point) starts: exactly ``k * D / Z``."""
        z = self.shape[0]
        if (k * self.depth) % z:
            raise AssertionError(f"z edge {k} is not on the lattice {self.lattice}")
        return k * self.depth // z

    @property
    def out_chunks(self) -> tuple[tuple[int, ...], ...]:
        """Dask chunks of the output: one chunk per block."""
        zs = [self.out_row(k) for k in self.z_edges]
        return (tuple(np.diff(zs).tolist()), tuple(np.diff(self.y_edges).tolist()),
                tuple(np.diff(self.x_edges).tolist()))

    def block(self, index) -> Block:
        i, j, k = index
        z, y, x = self.shape
        z0, z1 = self.z_edges[i], self.z_edges[i + 1]
        a, b = max(0, z0 - self.halo_z), min(z, z1 + self.halo_z)
        y0, y1 = self.y_edges[j], self.y_edges[j + 1]
        ya, yb = max(0, y0 - self.halo_xy), min(y, y1 + self.halo_xy)
        x0, x1 = self.x_edges[k], self.x_edges[k + 1]
        xa, xb = max(0, x0 - self.halo_xy), min(x, x1 + self.halo_xy)
        return Block(
            index=(i, j, k),
            read=(slice(a, b), slice(ya, yb), slice(xa, xb)),
            out=(slice(self.out_row(z0), self.out_row(z1)), slice(y0, y1), slice(x0, x1)),
            keep=(slice(self.out_row(z0) - self.out_row(a), self.out_row(z1) - self.out_row(a)),
                  slice(y0 - ya, y1 - ya), slice(x0 - xa, x1 - xa)),
            out_rows=self.out_row(b) - self.out_row(a),
        )

    def blocks(self) -> Iterator[Block]:
        nz, ny, nx = self.grid
        for i in range(nz):
            for j in range(ny):
                for k in range(nx):
                    yield self.block((i, j, k))

    def storage_chunks(self, max_z: int = 64) -> tuple[int, int, int]:
        """Zarr chunks for the output: a block's y/x size, and a divisor of its output height of at most
        ``max_z`` rows (so viewing one plane does not read a block's whole depth); blocks then always
        cover whole chunks and parallel writers never share one."""
        oz = self.out_row(self.z_edges[1])
        by, bx = self.y_edges[1], self.x_edges[1]
        if len(self.z_edges) == 2:  # one block in z: any chunk height is covered
            return (min(oz, max_z), by, bx)
        divisors = [d for d in range(min(oz, max_z), 0, -1) if oz % d == 0]
        cz = divisors[0] if divisors and divisors[0] >= min(16, oz) else oz
        return (cz, by, bx)

    def to_dict(self) -> dict:
        return {"shape": list(self.shape), "depth": self.depth, "z_edges": list(self.z_edges),
                "y_edges": list(self.y_edges), "x_edges": list(self.x_edges), "halo_z": self.halo_z,
                "halo_xy": self.halo_xy, "lattice": self.lattice}


def z_lattice(n_slices: int, depth: int) -> int:
    """Smallest input step ``g`` such that every multiple of it maps to a whole output row."""
    return n_slices // math.gcd(n_slices, depth)


def plan_blocks(shape, z_factor: float, radius: int, block=DEFAULT_BLOCK, halo=None) -> BlockPlan:
    """Cut a (Z, Y, X) input into blocks of about ``block`` input voxels (z slices, y, x); see the module
    docstring for the z rule. ``radius``: the network's ``receptive_radius``. ``halo``: (z rows, xy pixels)
    to override the halo (only to demonstrate what a too-small one does)."""
    z, y, x = (int(s) for s in shape)
    depth = output_depth(z, check_z_factor(z_factor))
    try:
        bz, by, bx = (int(b) for b in block)
    except (TypeError, ValueError):
        raise IsoReconError(f"Block size must be three integers (z, y, x), got {block!r}.") from None
    if min(bz, by, bx) < 1:
        raise IsoReconError(f"Block size must be positive, got {tuple(block)}.")
    g = z_lattice(z, depth)
    bz = max(g, int(round(bz / g)) * g)
    radius = max(0, int(radius))
    hz, hxy = (radius + 1, radius) if halo is None else (int(halo[0]), int(halo[1]))
    hz = int(math.ceil(hz / g)) * g

    def edges(n, step):
        return tuple(list(range(0, n, step)) + [n]) if step < n else (0, n)

    return BlockPlan(shape=(z, y, x), depth=depth, z_edges=edges(z, bz), y_edges=edges(y, by),
                     x_edges=edges(x, bx), halo_z=hz, halo_xy=hxy, lattice=g)


# --------------------------------------------------------------------------------------- block compute
_DEVICE_NETS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_DEVICE_LOCK = threading.Lock()


def _net_on(net, device, channels_last: bool = True):
    """The network to run blocks with in this process: one cached copy per device, in channels-last
    memory format (measured ~1.4x faster for the 3x3 convolutions on this project's CPUs); the shipped
    module itself is never modified."""
    import copy

    import torch

    # in-place weight updates (an optimiser step) bump tensor versions: a trained-further net is re-copied
    key = (str(device), channels_last, tuple(int(p._version) for p in net.parameters()))
    with _DEVICE_LOCK:
        per_net = _DEVICE_NETS.setdefault(net, {})
        if key not in per_net:
            per_net.clear()
            clone = copy.deepcopy(net).to(device).eval()
            per_net[key] = clone.to(memory_format=torch.channels_last) if channels_last else clone
        return per_net[key]


def _forward(net, slices: np.ndarray, out_rows: int, device) -> np.ndarray:
    """(n, rows, W) normalised slices -> (n, out_rows, W), one batched forward pass."""
    import torch

    with torch.inference_mode():
        x = torch.from_numpy(np.ascontiguousarray(slices))[:, None].to(device)
        return net(x, out_rows)[:, 0].float().cpu().numpy()


def compute_block(raw, net, block: Block, normalizer: Normalizer, axes=("xz", "yz"), batch_size: int = 8,
                  device="cpu", fusion=PLAIN):
    """The output block from its halo'd input ``raw`` (input intensities): the xz and yz passes fused,
    halo cropped, averaged and mapped back to the input dtype exactly as :func:`slice_passes` does.
    A ``fusion`` with several outputs (:class:`uncertainty.FlipEnsemble`) returns a tuple of blocks."""
    device = resolve_device(str(device))
    net = _net_on(net, device)
    unit = by_slabs(normalizer.to_unit, raw, np.float32)
    kz, ky, kx = block.keep
    acc = fusion.accumulator((kz.stop - kz.start, ky.stop - ky.start, kx.stop - kx.start), len(axes))

    def forward(slices):
        return _forward(net, slices, block.out_rows, device)

    for index, axis in enumerate(axes):
        if axis == "xz":  # slices at fixed y: (n, Z, X)
            for s0 in range(ky.start, ky.stop, batch_size):
                s1 = min(ky.stop, s0 + batch_size)
                out = fusion.predict(forward, unit[:, s0:s1, :].transpose(1, 0, 2))
                acc.add(index, np.s_[:, s0 - ky.start:s1 - ky.start, :], out[:, :, kz, kx].transpose(0, 2, 1, 3))
        else:  # slices at fixed x: (n, Z, Y)
            for s0 in range(kx.start, kx.stop, batch_size):
                s1 = min(kx.stop, s0 + batch_size)
                out = fusion.predict(forward, unit[:, :, s0:s1].transpose(2, 0, 1))
                acc.add(index, np.s_[:, :, s0 - kx.start:s1 - kx.start], out[:, :, kz, ky].transpose(0, 2, 3, 1))
    values = acc.finish(normalizer)
    return values[0] if len(values) == 1 else values


def _read(source, region) -> np.ndarray:
    """The input region: ``source`` is the whole input (read here), or already the region (region None)."""
    return np.asarray(source if region is None else source[region])


_LIBC = []


def _trim_heap() -> None:
    """Give freed memory back to the OS after a block (glibc keeps large freed buffers in its heap once
    its dynamic mmap threshold has grown, which made RSS creep up block after block). No-op elsewhere."""
    if not sys.platform.startswith("linux"):
        return
    try:
        if not _LIBC:
            _LIBC.append(ctypes.CDLL("libc.so.6"))
        _LIBC[0].malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (musl, ...)
        pass


def _block_task(source, region, net, block, normalizer, axes, batch_size, device, fusion=PLAIN, shared=None,
                output=0):
    """One block's output; with ``shared`` (a :class:`fusion.SharedBlocks`) output ``output`` of the
    fusion's several, the others kept for the tasks that ask for them."""
    if shared is not None:
        return shared.take(block.index, output, lambda: _block_task(source, region, net, block, normalizer,
                                                                    axes, batch_size, device, fusion))
    values = compute_block(_read(source, region), net, block, normalizer, axes, batch_size, device, fusion)
    _trim_heap()
    return values


class BlockWriteError(IsoReconError):
    """Storing a finished block failed (disk full, permissions, storage gone)."""


def _write_task(source, region, net, block, normalizer, axes, batch_size, device, target, meta_dir, skip=None,
                fusion=PLAIN):
    """Compute one block, store it (each of a fusion's outputs in its own ``target``), then mark it done.
    Returns its byte count, or None when skipped."""
    if skip is not None and skip():
        return None
    values = compute_block(_read(source, region), net, block, normalizer, axes, batch_size, device, fusion)
    values, targets = (values, target) if isinstance(values, tuple) else ((values,), (target,))
    try:
        for array, values_of_one in zip(targets, values):
            array[block.out] = values_of_one
        _marker(meta_dir, block.index).touch()
    except OSError as exc:
        raise BlockWriteError(f"Could not write block {block.index} to {meta_dir.parent}: "
                              f"{exc.strerror or exc}.") from exc
    nbytes = sum(int(v.nbytes) for v in values)
    del values
    _trim_heap()
    return nbytes


def _marker(meta_dir: Path, index) -> Path:
    return Path(meta_dir) / "done" / "-".join(str(i) for i in index)


# --------------------------------------------------------------------------------------- dask plumbing
def _shippable(net):
    """A CPU copy of the network in eval mode: it pickles anywhere, later changes to ``net`` (more
    training) cannot leak into a running job, and per-process caches keyed on it end with the job."""
    import copy

    return copy.deepcopy(net).cpu().eval()


def _scatter_everywhere(client, obj, timeout: float = 10.0):
    """Send ``obj`` to every worker once and wait until each holds it: a task that started before its
    worker's copy arrived would fetch a second copy from a peer."""
    future = client.scatter(obj, broadcast=True, hash=False)
    workers = len(client.scheduler_info().get("workers", {}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(client.who_has([future]).get(future.key, ())) >= workers:
            break
        time.sleep(0.02)
    return future


class _Inputs:
    """How tasks get the network and the input: graph keys (local) or scattered futures (distributed)."""

    def __init__(self, volume, net, client):
        import dask
        import dask.array as da

        token = uuid.uuid4().hex[:12]
        self.token = token
        self.is_dask = isinstance(volume, da.Array)
        net = _shippable(net)
        if client is not None:
            self.net = _scatter_everywhere(client, net)
            self.source = None if self.is_dask else _scatter_everywhere(client, volume)
        else:
            self.net = dask.delayed(net, name=f"isorecon-net-{token}", traverse=False)
            self.source = None if self.is_dask else dask.delayed(volume, name=f"isorecon-src-{token}",
                                                                 traverse=False)
        self.volume = volume

    def args(self, block: Block):
        """(source, region) for a task: the dask region itself, or the shared source and the region."""
        if self.is_dask:
            return self.volume[block.read], None
        return self.source, block.read


def _check(volume, net, z_factor, cfg):
    check_volume(volume)
    z_factor = check_z_factor(z_factor)
    cfg = cfg or ReconConfig()
    resolve_device(cfg.device)
    if not hasattr(net, "receptive_radius"):
        raise IsoReconError(f"{type(net).__name__} has no receptive_radius: cannot size the block halo.")
    return z_factor, cfg


def reconstruct_blockwise(volume, net, z_factor: float, normalizer: Normalizer, cfg: ReconConfig | None = None,
                          block=DEFAULT_BLOCK, client=None, halo=None, fusion=PLAIN):
    """A lazy dask array (D, Y, X) in the input dtype: ``net`` over blocks of ``volume`` (numpy, zarr or
    dask). Computing a slice of it computes only the blocks it touches. With ``client`` the network is
    scattered to every worker now and the array must be computed on that client. A ``fusion`` with several
    outputs gives a tuple of arrays whose blocks are computed once for all of them (see SharedBlocks)."""
    import dask
    import dask.array as da

    z_factor, cfg = _check(volume, net, z_factor, cfg)
    plan = plan_blocks(volume.shape, z_factor, net.receptive_radius, block, halo)
    inputs = _Inputs(volume, net, client)
    dtypes = fusion.output_dtypes(normalizer)
    shared = None if len(dtypes) == 1 else dask.delayed(SharedBlocks(len(dtypes)), traverse=False,
                                                        name=f"isorecon-shared-{inputs.token}")
    nz, ny, nx = plan.grid
    grids = [[[[None] * nx for _ in range(ny)] for _ in range(nz)] for _ in dtypes]
    for blk in plan.blocks():
        i, j, k = blk.index
        source, region = inputs.args(blk)
        for output, dtype in enumerate(dtypes):
            suffix = "" if shared is None else f"-{output}"
            task = dask.delayed(_block_task, pure=False)(
                source, region, inputs.net, blk, normalizer, cfg.axes, cfg.batch_size, cfg.device, fusion,
                shared, output, dask_key_name=f"isorecon-block-{inputs.token}-{i}-{j}-{k}{suffix}")
            grids[output][i][j][k] = da.from_delayed(task, shape=blk.out_shape, dtype=dtype)
    arrays = tuple(da.block(grid) for grid in grids)
    return arrays[0] if shared is None else arrays


def reconstruct_model_blockwise(volume, model, cfg: ReconConfig | None = None, block=DEFAULT_BLOCK, client=None):
    """:func:`reconstruct_blockwise` with a trained :class:`~napari_isorecon.core.model.IsoModel`."""
    return reconstruct_blockwise(volume, model.reconstruction_network(), model.z_factor, model.normalizer,
                                 cfg, block, client)


def interpolate_blockwise(volume, z_factor: float, order: str = "cubic", cfg: ReconConfig | None = None,
                          block=DEFAULT_BLOCK, client=None):
    """Linear or cubic interpolation along z, blockwise, with exactly the geometry of :func:`reconstruct`."""
    from .networks import AxialInterpolator
    from .reconstruct import interpolation_normalizer

    z_factor = check_z_factor(z_factor)
    check_volume(volume)
    return reconstruct_blockwise(volume, AxialInterpolator(z_factor, order), z_factor,
                                 interpolation_normalizer(volume), cfg, block, client)


# ------------------------------------------------------------------------------------ writing, resuming
def net_fingerprint(net) -> str:
    """A hash of the network's class, factor and weights: a partial run is resumed only with the same one."""
    h = hashlib.sha256()
    h.update(type(net).__name__.encode())
    for attr in ("z_factor", "order", "channels", "blocks"):
        h.update(repr(getattr(net, attr, None)).encode())
    for name, tensor in net.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:32]


def _manifest(volume, net, z_factor, normalizer, cfg, plan, voxel_size, source_name) -> dict:
    return {
        "format": MANIFEST_FORMAT, "version": 1,
        "input": {"shape": list(volume.shape), "dtype": np.dtype(volume.dtype).str, "name": source_name},
        "z_factor": z_factor, "network": net_fingerprint(net), "normalizer": normalizer.to_dict(),
        "axes": list(cfg.axes), "plan": plan.to_dict(),
        "voxel_size": None if voxel_size is None else [float(v) for v in voxel_size],
    }


def _canonical(data) -> str:
    return json.dumps(data, sort_keys=True)


def write_blockwise(volume, net, z_factor: float, normalizer: Normalizer, path, cfg: ReconConfig | None = None,
                    block=DEFAULT_BLOCK, client=None, voxel_size=None, overwrite: bool = False, stop=None,
                    num_workers: int | None = None, source_name: str | None = None,
                    ome_version: str = "0.4", fusion=PLAIN, more_paths=()) -> Iterator:
    """Reconstruct ``volume`` block by block into the OME-Zarr ``path`` (voxel size ``voxel_size`` in nm
    for the *output*), resuming an interrupted run of the same job. Yields ReconProgress (blocks done /
    blocks) and finally ReconFinished whose ``volume`` is the written array opened lazily (None when
    stopped) and whose ``info`` says how many blocks were computed and how many were already done.

    Checks the input, the output path and any partial run at the call, before the first event.
    ``num_workers``: threads of the local scheduler (ignored with a ``client``); default 2.
    A ``fusion`` with several outputs (:class:`uncertainty.FlipEnsemble`) writes the first to ``path`` and
    the others to ``more_paths`` (OME-Zarr, float32), built and resumed together with it.
    """
    from . import io

    z_factor, cfg = _check(volume, net, z_factor, cfg)
    path = io.check_zarr_writable(path, overwrite)
    more_paths = tuple(io.check_zarr_writable(p, overwrite) for p in more_paths)
    if len(more_paths) != len(fusion.output_dtypes(normalizer)) - 1:
        raise ValueError(f"{type(fusion).__name__} writes {len(fusion.output_dtypes(normalizer))} volumes: "
                         f"give {len(fusion.output_dtypes(normalizer)) - 1} more_paths")
    plan = plan_blocks(volume.shape, z_factor, net.receptive_radius, block)
    manifest = _manifest(volume, net, z_factor, normalizer, cfg, plan, voxel_size, source_name)
    if fusion.describe() is not None:
        manifest.update(fusion=fusion.describe(), more_outputs=[str(p.resolve()) for p in more_paths])
    partial = io.partial_path(path)
    meta_dir = partial / _META_DIR
    more_partials = tuple(io.partial_path(p) for p in more_paths)
    if partial.exists():
        try:
            previous = json.loads((meta_dir / "manifest.json").read_text())
        except (OSError, ValueError):
            previous = None
        if previous is None or _canonical(previous) != _canonical(manifest) or \
                not all(p.exists() for p in more_partials):
            if not overwrite:
                raise IsoReconError(
                    f"{partial} holds an interrupted run with other settings (input, model, axes or block "
                    "size); delete it, or add --overwrite to start over.")
            io._remove(partial)
    if not partial.exists():  # a companion left by a run whose main output is gone cannot be resumed
        for stale in more_partials:
            io._remove(stale)
    return _write_events(volume, net, normalizer, cfg, plan, manifest, path, partial, meta_dir, client,
                         voxel_size, overwrite, stop, num_workers or default_workers(), ome_version, fusion,
                         tuple(zip(more_paths, more_partials)))


def _write_events(volume, net, normalizer, cfg, plan, manifest, path, partial, meta_dir, client, voxel_size,
                  overwrite, stop, num_workers, ome_version, fusion, more) -> Iterator:
    import dask
    import zarr

    from . import io

    t0 = time.perf_counter()
    dtypes = fusion.output_dtypes(normalizer)
    if not partial.exists():
        made = [partial] + [p for _, p in more]
        try:
            targets = [io.create_ome_zarr(p, plan.out_shape, dtype, plan.storage_chunks(), voxel_size, ome_version,
                                          name="isotropic" if n == 0 else fusion.outputs[n])
                       for n, (p, dtype) in enumerate(zip(made, dtypes))]
            (meta_dir / "done").mkdir(parents=True)
            (meta_dir / "manifest.json").write_text(_canonical(manifest))
        except OSError as exc:
            for p in made:
                io._remove(p)
            raise IsoReconError(f"Could not create {partial}: {exc.strerror or exc}.") from exc
    else:
        targets = [zarr.open_group(store=str(p), mode="r+")["0"] for p in [partial] + [p for _, p in more]]
    target = targets[0] if len(targets) == 1 else tuple(targets)
    todo = [b for b in plan.blocks() if not _marker(meta_dir, b.index).exists()]
    skipped = plan.n_blocks - len(todo)
    yield ReconProgress(axis="blocks", done=skipped, total=plan.n_blocks, elapsed=time.perf_counter() - t0)
    if todo:
        inputs = _Inputs(volume, net, client)
        abort = threading.Event()

        def skip():  # local runs: tasks that start after a stop request do nothing
            return abort.is_set() or stop_requested(stop)

        tasks = []
        for blk in todo:
            source, region = inputs.args(blk)
            i, j, k = blk.index
            tasks.append(dask.delayed(_write_task, pure=False)(
                source, region, inputs.net, blk, normalizer, cfg.axes, cfg.batch_size, cfg.device, target,
                meta_dir, None if client is not None else skip, fusion,
                dask_key_name=f"isorecon-write-{inputs.token}-{i}-{j}-{k}"))
        runner = _run_distributed(client, tasks, stop) if client is not None else \
            _run_local(tasks, num_workers, abort)
        done = skipped
        try:
            for finished in runner:
                done += finished
                yield ReconProgress(axis="blocks", done=done, total=plan.n_blocks,
                                    elapsed=time.perf_counter() - t0)
        except (OSError, BlockWriteError) as exc:  # disk full, permissions, storage gone
            what = str(exc).rstrip(".") if isinstance(exc, BlockWriteError) else \
                f"Could not write a block of {path}: {exc.strerror or exc}"
            raise IsoReconError(
                f"{what}. The {done} finished blocks are kept in {partial}; fix the cause and run the same "
                "command again to resume.") from exc
    missing = [b.index for b in plan.blocks() if not _marker(meta_dir, b.index).exists()]
    info = {"path": str(path), "partial": str(partial), "blocks": plan.n_blocks, "skipped": skipped,
            "computed": plan.n_blocks - skipped - len(missing), "shape": plan.out_shape,
            "plan": plan.to_dict()}
    if missing:
        yield ReconFinished(volume=None, stopped=True, elapsed=time.perf_counter() - t0, info=info)
        return
    for finished in [partial] + [p for _, p in more]:  # the viewing levels, while a kill still resumes
        io.add_levels(finished)
    for more_path, more_partial in more:
        io.finish_partial(more_partial, more_path, overwrite)
    io._remove(meta_dir)
    io.finish_partial(partial, path, overwrite)
    volumes = tuple(zarr.open_group(store=str(p), mode="r")["0"] for p in [path] + [p for p, _ in more])
    yield fusion.finished(volumes, elapsed=time.perf_counter() - t0, info=info)


def _run_local(tasks, num_workers: int, abort: threading.Event) -> Iterator[int]:
    """Run the tasks on dask's threaded scheduler in a background thread; yield 1 per block written.
    On KeyboardInterrupt the remaining tasks turn into no-ops and the running ones finish first."""
    import dask

    keys = {t.key for t in tasks}
    events: queue.Queue = queue.Queue()

    def posttask(key, result, dsk, state, worker_id):
        if key in keys and result is not None:
            events.put(("block", None))

    def run():
        try:
            dask.compute(*tasks, scheduler="threads", num_workers=num_workers,
                         callbacks=[(None, None, None, posttask, None)])
            events.put(("end", None))
        except BaseException as exc:  # handed to the consumer
            events.put(("end", exc))

    thread = threading.Thread(target=run, name="isorecon-blocks", daemon=True)
    thread.start()
    try:
        while True:
            try:
                kind, payload = events.get(timeout=0.2)
            except queue.Empty:
                continue
            if kind == "block":
                yield 1
            elif payload is not None:
                raise payload
            else:
                return
    finally:
        abort.set()
        thread.join()


def _run_distributed(client, tasks, stop) -> Iterator[int]:
    from distributed import as_completed

    futures = client.compute(tasks)
    try:
        for future in as_completed(futures):
            future.result()  # raises the task's error here
            yield 1
            if stop_requested(stop):
                break
    finally:
        client.cancel([f for f in futures if not f.done()])


def write_model_blockwise(volume, model, path, cfg: ReconConfig | None = None, **kwargs) -> Iterator:
    """:func:`write_blockwise` with a trained :class:`~napari_isorecon.core.model.IsoModel`."""
    return write_blockwise(volume, model.reconstruction_network(), model.z_factor, model.normalizer, path,
                           cfg, **kwargs)


def write_interpolation_blockwise(volume, z_factor: float, path, order: str = "cubic",
                                  cfg: ReconConfig | None = None, **kwargs) -> Iterator:
    """:func:`write_blockwise` with plain linear or cubic interpolation along z."""
    from .networks import AxialInterpolator
    from .reconstruct import interpolation_normalizer

    z_factor = check_z_factor(z_factor)
    check_volume(volume)
    return write_blockwise(volume, AxialInterpolator(z_factor, order), z_factor, interpolation_normalizer(volume),
                           path, cfg, **kwargs)


def iso_voxel_size(voxel_size, n_slices: int, z_factor: float):
    """Output voxel size (z, y, x): z spacing times Z / D, lateral unchanged (None stays None)."""
    if voxel_size is None:
        return None
    depth = output_depth(n_slices, z_factor)
    return (float(voxel_size[0]) * n_slices / depth, float(voxel_size[1]), float(voxel_size[2]))


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))
