"""Training on a zarr volume reads patches lazily: never the whole volume, never a large slab."""

import numpy as np
from scale_helpers import smooth_volume

from napari_isorecon.core.checks.artefacts import CROP, SLAB
from napari_isorecon.core.inference.reconstruct import run_to_end
from napari_isorecon.core.io import read_zarr, write_zarr
from napari_isorecon.core.model.phase_levels import SAMPLE_SECTIONS, SAMPLE_SLICES, SAMPLE_WIDTH
from napari_isorecon.core.settings.config import TrainConfig
from napari_isorecon.core.training.noise import NOISE_CROP
from napari_isorecon.core.training.train import train


class ReadLog:
    """A zarr array that records how many voxels each read returns."""

    def __init__(self, array):
        self.array, self.reads, self.shapes = array, [], []
        self.shape, self.dtype, self.ndim = array.shape, array.dtype, array.ndim

    def __getitem__(self, index):
        out = self.array[index]
        self.reads.append(int(np.size(out)))
        self.shapes.append(np.shape(out))
        return out


def test_training_two_steps_on_zarr_reads_only_patches_and_a_subsample(tmp_path):
    volume = smooth_volume((40, 256, 256))  # 2.6 M voxels: more than Normalizer.fit's 2 M sample
    source, _ = read_zarr(write_zarr(tmp_path / "big.zarr", volume, chunks=(8, 64, 64)))
    logged = ReadLog(source)
    cfg = TrainConfig(z_factor=4, steps=2, minutes=None, channels=8, blocks=1, ghl_channels=4, ghl_blocks=1,
                      disc_channels=8, lr_rows=4, patch_width=32, batch_size=2, device="cpu",
                      stage2_pairs="kernel")  # both stages: lateral and axial patches are read
    final = run_to_end(train(logged, cfg))
    assert final.steps == 2 and final.model.state.step == 2
    total = int(np.prod(volume.shape))
    # the artefact scan (core.checks.artefacts) reads every section's centre crop once, a slab at a time: it
    # must look at every section, but never holds more than one slab
    scan = [i for i, shape in enumerate(logged.shapes) if len(shape) == 3 and shape[0] > 1
            and shape[1:] == tuple(min(s, CROP) for s in volume.shape[1:])]
    assert sum(logged.shapes[i][0] for i in scan) == volume.shape[0]
    assert max(logged.reads[i] for i in scan) <= SLAB * CROP**2
    # after training, the mean held between sections is measured on axial slices read one at a time
    level_shape = (min(volume.shape[0], SAMPLE_SECTIONS), min(volume.shape[2], SAMPLE_WIDTH))
    levels = [i for i, shape in enumerate(logged.shapes) if shape == level_shape]
    assert 0 < len(levels) <= 2 * SAMPLE_SLICES
    logged.reads = [n for i, n in enumerate(logged.reads) if i not in scan and i not in levels]
    assert len(logged.reads) >= 1 + 6  # the subsample, then 6 patches (2 + 2 in stage 1, 2 in stage 2) ...
    assert max(logged.reads) <= total / 8  # ... and nothing larger than the normaliser's strided subsample
    others = sorted(logged.reads)[:-1]
    patches = [n for n in others if n <= 16 * 64]  # patch-sized crops ...
    noise_windows = [n for n in others if n > 16 * 64]  # ... and the pixel-noise estimate's xy windows
    assert len(patches) >= 6
    assert len(noise_windows) <= 8 and max(noise_windows, default=0) <= NOISE_CROP**2
