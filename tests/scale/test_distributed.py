"""A two-worker LocalCluster (separate processes): blocks spread over both workers, the network is shipped
once per worker, and the result is the local one."""

import numpy as np
import scale_helpers
from optional_deps import optional_import
from scale_helpers import CountingInterpolator, smooth_volume

from napari_isorecon.cli import main
from napari_isorecon.core.inference.blockwise import reconstruct_blockwise, write_blockwise
from napari_isorecon.core.inference.reconstruct import interpolate, run_to_end
from napari_isorecon.core.io import read_zarr, write_zarr
from napari_isorecon.core.model.intensity import Normalizer
from napari_isorecon.core.settings.config import ReconConfig

distributed = optional_import("distributed")
CPU = ReconConfig(device="cpu", precision="float32")  # the machinery is exact in float32
NORM = Normalizer(0, 255, "|u1")


def test_two_workers_share_the_blocks_and_get_the_network_once(cluster, tmp_path):
    volume = smooth_volume((16, 64, 64))
    source, _ = read_zarr(write_zarr(tmp_path / "in.zarr", volume, chunks=(8, 32, 32)))
    net = CountingInterpolator(4.0)
    with distributed.Client(cluster) as client, distributed.get_task_stream(client) as stream:
        before = client.run(scale_helpers.loads)
        final = run_to_end(write_blockwise(source, net, 4.0, NORM, tmp_path / "out.zarr", CPU, block=(4, 16, 16),
                                           client=client))
        after = client.run(scale_helpers.loads)
    assert not final.stopped and final.info["computed"] == 64
    workers = {task["worker"] for task in stream.data if "isorecon-write" in str(task["key"])}
    assert len(workers) == 2  # both workers wrote blocks
    # the network reaches each worker once by broadcast, never with each of its ~32 blocks; on a loaded
    # machine dask may still fetch one more copy from a peer for a task scheduled as the broadcast lands
    copies = {w: after[w] - before[w] for w in after}
    assert all(1 <= n <= 2 for n in copies.values()), copies
    expected = run_to_end(interpolate(volume, 4.0, "cubic", CPU)).volume
    np.testing.assert_array_equal(read_zarr(tmp_path / "out.zarr")[0][:], expected)


def test_lazy_array_on_a_client_and_cli_scheduler(cluster, tmp_path):
    volume = smooth_volume((12, 48, 40))
    expected = run_to_end(interpolate(volume, 3.0, "cubic", CPU)).volume
    with distributed.Client(cluster) as client:
        lazy = reconstruct_blockwise(volume, CountingInterpolator(3.0), 3.0, NORM, CPU, block=(4, 16, 16),
                                     client=client)
        np.testing.assert_array_equal(client.compute(lazy).result(), expected)
    src = write_zarr(tmp_path / "in.zarr", volume, voxel_size=(30.0, 10.0, 10.0))
    out = tmp_path / "out.zarr"
    assert main(["interpolate", str(src), "--out", str(out), "--block-size", "4,16,16",
                 "--scheduler", cluster.scheduler_address, "--device", "cpu"]) == 0
    np.testing.assert_array_equal(read_zarr(out)[0][:], expected)
