"""Interrupted blockwise runs: a rerun resumes, and the final name never holds a half-written volume."""

import numpy as np
import pytest
import zarr
from scale_helpers import failing_copy, random_backbone, smooth_volume

from napari_isorecon.core.errors import IsoReconError
from napari_isorecon.core.inference.blockwise import write_blockwise
from napari_isorecon.core.inference.reconstruct import run_to_end, slice_passes
from napari_isorecon.core.io import read_zarr, write_zarr
from napari_isorecon.core.model.intensity import Normalizer
from napari_isorecon.core.settings.config import ReconConfig

CPU = ReconConfig(device="cpu", precision="float32")  # the machinery is exact in float32
NORM = Normalizer(0, 255, "|u1")
BLOCK = (8, 16, 16)  # 3 x 3 x 3 = 27 blocks on the volume below


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    folder = tmp_path_factory.mktemp("resume")
    volume = smooth_volume((20, 40, 48))
    source, _ = read_zarr(write_zarr(folder / "in.zarr", volume, chunks=(8, 16, 16)))
    net = random_backbone("edsr", 4.0, std=0.05)
    whole = run_to_end(slice_passes(volume, net, 4.0, NORM, CPU)).volume
    return source, net, whole


def _write(source, net, out, **kwargs):
    kwargs.setdefault("num_workers", 1)
    return run_to_end(write_blockwise(source, net, 4.0, NORM, out, CPU, block=BLOCK, **kwargs))


def _markers(out):
    return sorted(p.name for p in (out.parent / (out.name + ".partial") / ".isorecon" / "done").iterdir())


def test_stopped_run_resumes_and_skips_written_blocks(job, tmp_path):
    source, net, whole = job
    out = tmp_path / "iso.zarr"
    progress = []
    events = write_blockwise(source, net, 4.0, NORM, out, CPU, block=BLOCK, num_workers=1,
                             stop=lambda: len(progress) >= 4)
    for event in events:
        progress.append(event)
    first = progress[-1]
    assert first.stopped and first.volume is None
    assert not out.exists() and (tmp_path / "iso.zarr.partial").exists()  # nothing under the final name
    written = _markers(out)
    assert 0 < len(written) < 27 and first.info["computed"] == len(written)
    second = _write(source, net, out)
    assert not second.stopped
    assert second.info["skipped"] == len(written) and second.info["computed"] == 27 - len(written)
    assert not (tmp_path / "iso.zarr.partial").exists()
    result, _ = read_zarr(out)
    assert not any(p.name == ".isorecon" for p in out.iterdir())  # the bookkeeping is gone
    diff = np.abs(result[:].astype(int) - whole.astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3


def test_crash_mid_run_then_rerun_rewrites_only_unfinished_blocks(job, tmp_path):
    source, net, whole = job
    out = tmp_path / "iso.zarr"
    with pytest.raises(RuntimeError, match="simulated crash"):
        _write(source, failing_copy(net, fail_at=20), out)  # each block makes ~4 forward calls
    assert not out.exists()
    written = _markers(out)
    assert 0 < len(written) < 27
    # a block whose chunk was written but whose marker was not (killed in between) is written again
    partial_array = zarr.open_array(str(tmp_path / "iso.zarr.partial" / "0"), mode="r+")
    i, j, k = (int(v) for v in written[-1].split("-"))
    (tmp_path / "iso.zarr.partial" / ".isorecon" / "done" / written[-1]).unlink()
    region = (slice(32 * i, 32 * i + 8), slice(16 * j, 16 * j + 8), slice(16 * k, 16 * k + 8))
    partial_array[region] = 0  # what it had written is damaged
    assert np.abs(whole[region].astype(int)).max() > 10
    final = _write(source, net, out)
    assert final.info["skipped"] == len(written) - 1
    diff = np.abs(read_zarr(out)[0][:].astype(int) - whole.astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3


def test_a_partial_run_with_other_settings_is_not_resumed(job, tmp_path):
    source, net, _ = job
    out = tmp_path / "iso.zarr"
    events = write_blockwise(source, net, 4.0, NORM, out, CPU, block=BLOCK, num_workers=1, stop=lambda: True)
    assert run_to_end(events).stopped
    other = random_backbone("edsr", 4.0, std=0.05, seed=7)
    with pytest.raises(IsoReconError, match="other settings"):
        _write(source, other, out)
    with pytest.raises(IsoReconError, match="other settings"):
        run_to_end(write_blockwise(source, net, 4.0, NORM, out, CPU, block=(8, 16, 24)))
    done = _write(source, other, out, overwrite=True)  # starts over
    assert done.info["skipped"] == 0 and out.exists()
    with pytest.raises(IsoReconError, match="exists"):
        _write(source, net, out)


def test_full_disk_mid_run_keeps_finished_blocks_for_a_rerun(job, tmp_path, monkeypatch):
    import errno
    import os

    from napari_isorecon.core.inference.blockwise import resume

    source, net, whole = job
    out = tmp_path / "iso.zarr"
    real_task, calls = resume._write_task, []

    def fills_the_disk(*args, **kwargs):
        calls.append(1)
        if len(calls) > 5:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_task(*args, **kwargs)

    monkeypatch.setattr(resume, "_write_task", fills_the_disk)
    with pytest.raises(IsoReconError, match="No space left on device.*kept in .*iso.zarr.partial.*run the same"):
        _write(source, net, out)
    assert not out.exists()
    written = _markers(out)
    assert len(written) == 5
    monkeypatch.setattr(resume, "_write_task", real_task)  # space was freed
    final = _write(source, net, out)
    assert final.info["skipped"] == 5 and final.info["computed"] == 22
    diff = np.abs(read_zarr(out)[0][:].astype(int) - whole.astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3
