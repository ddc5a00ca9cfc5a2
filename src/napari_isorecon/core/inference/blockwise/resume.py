"""Writing blockwise into ``OUT.zarr.partial`` with a manifest and one marker per finished block, so that a
rerun of the same job resumes; the folder is renamed to ``OUT.zarr`` only when every block is done."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ...errors import IsoReconError
from ...events import ReconFinished, ReconProgress, stop_requested
from ...model.intensity import Normalizer
from ...settings.config import ReconConfig
from ...settings.device import resolve_device
from ...settings.precision import precision_for
from ..fusion import PLAIN
from .compute import _read, _trim_heap, compute_block
from .plan import DEFAULT_BLOCK, plan_blocks
from .run import _check, _Inputs, _run_distributed, _run_local, default_workers

MANIFEST_FORMAT = "napari-isorecon/blockwise"
_META_DIR = ".isorecon"


class BlockWriteError(IsoReconError):
    """Storing a finished block failed (disk full, permissions, storage gone)."""


def _write_task(source, region, net, block, normalizer, axes, batch_size, device, target, meta_dir, skip=None,
                fusion=PLAIN, precision="float32"):
    """Compute one block, store it (each of a fusion's outputs in its own ``target``), then mark it done.
    Returns its byte count, or None when skipped."""
    if skip is not None and skip():
        return None
    values = compute_block(_read(source, region), net, block, normalizer, axes, batch_size, device, fusion,
                           precision)
    values, targets = (values, target) if isinstance(values, tuple) else ((values,), (target,))
    try:
        for array, values_of_one in zip(targets, values, strict=True):
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
    from ... import io

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
            io.remove_path(partial)
    if not partial.exists():  # a companion left by a run whose main output is gone cannot be resumed
        for stale in more_partials:
            io.remove_path(stale)
    return _write_events(volume, net, normalizer, cfg, plan, manifest, path, partial, meta_dir, client,
                         voxel_size, overwrite, stop, num_workers or default_workers(), ome_version, fusion,
                         tuple(zip(more_paths, more_partials, strict=True)))


def _write_events(volume, net, normalizer, cfg, plan, manifest, path, partial, meta_dir, client, voxel_size,
                  overwrite, stop, num_workers, ome_version, fusion, more) -> Iterator:
    import dask
    import zarr

    from ... import io

    t0 = time.perf_counter()
    dtypes = fusion.output_dtypes(normalizer)
    if not partial.exists():
        made = [partial] + [p for _, p in more]
        try:
            targets = [io.create_ome_zarr(p, plan.out_shape, dtype, plan.storage_chunks(), voxel_size, ome_version,
                                          name="isotropic" if n == 0 else fusion.outputs[n])
                       for n, (p, dtype) in enumerate(zip(made, dtypes, strict=True))]
            (meta_dir / "done").mkdir(parents=True)
            (meta_dir / "manifest.json").write_text(_canonical(manifest))
        except OSError as exc:
            for p in made:
                io.remove_path(p)
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
                meta_dir, None if client is not None else skip, fusion, cfg.precision,
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
            "plan": plan.to_dict(),
            # what ran the blocks: resolved here, or as asked when a cluster's workers resolved it
            "precision": cfg.precision if client is not None else
            precision_for(net, cfg.precision, resolve_device(cfg.device)).name}
    if missing:
        yield ReconFinished(volume=None, stopped=True, elapsed=time.perf_counter() - t0, info=info)
        return
    for finished in [partial] + [p for _, p in more]:  # the viewing levels, while a kill still resumes
        io.add_levels(finished)
    for more_path, more_partial in more:
        io.finish_partial(more_partial, more_path, overwrite)
    io.remove_path(meta_dir)
    io.finish_partial(partial, path, overwrite)
    volumes = tuple(zarr.open_group(store=str(p), mode="r")["0"] for p in [path] + [p for p, _ in more])
    yield fusion.finished(volumes, elapsed=time.perf_counter() - t0, info=info)

