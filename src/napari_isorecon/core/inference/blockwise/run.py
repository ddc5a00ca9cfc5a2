"""Dask plumbing: shipping the network and input to the tasks, the lazy blockwise array, and the local and
distributed runners that report each finished block."""

from __future__ import annotations

import os
import queue
import threading
import time
import uuid
from collections.abc import Iterator

from ...errors import IsoReconError
from ...events import stop_requested
from ...geometry import check_volume
from ...model.intensity import Normalizer
from ...settings.config import ReconConfig
from ...settings.device import resolve_device
from ...settings.precision import precision_for
from ...settings.zfactor import check_z_factor
from ..fusion import PLAIN, SharedBlocks
from .compute import _block_task
from .plan import DEFAULT_BLOCK, Block, plan_blocks


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
    precision_for(net, cfg.precision, resolve_device(cfg.device))  # refused here, not in a task
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
                shared, output, cfg.precision, dask_key_name=f"isorecon-block-{inputs.token}-{i}-{j}-{k}{suffix}")
            grids[output][i][j][k] = da.from_delayed(task, shape=blk.out_shape, dtype=dtype)
    arrays = tuple(da.block(grid) for grid in grids)
    return arrays[0] if shared is None else arrays


def reconstruct_model_blockwise(volume, model, cfg: ReconConfig | None = None, block=DEFAULT_BLOCK, client=None):
    """:func:`reconstruct_blockwise` with a trained :class:`~napari_isorecon.core.model.iso_model.IsoModel`."""
    return reconstruct_blockwise(volume, model.reconstruction_network(), model.z_factor, model.normalizer,
                                 cfg, block, client)


def interpolate_blockwise(volume, z_factor: float, order: str = "cubic", cfg: ReconConfig | None = None,
                          block=DEFAULT_BLOCK, client=None):
    """Linear or cubic interpolation along z, blockwise, with exactly the geometry of :func:`reconstruct`."""
    from ...networks.generators import AxialInterpolator
    from ..reconstruct import interpolation_normalizer

    z_factor = check_z_factor(z_factor)
    check_volume(volume)
    return reconstruct_blockwise(volume, AxialInterpolator(z_factor, order), z_factor,
                                 interpolation_normalizer(volume), cfg, block, client)



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
        except BaseException as exc:  # noqa: BLE001 (handed to the consumer thread, which raises it)
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



def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))

