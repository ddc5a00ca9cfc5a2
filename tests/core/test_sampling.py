import numpy as np

from napari_isorecon.core.model.intensity import Normalizer
from napari_isorecon.core.training.sampling import PatchSampler


def _coordinate_volume(axis):
    """A volume whose value is the index along ``axis`` (0=z, 1=y, 2=x)."""
    shape = (12, 90, 100)
    return np.broadcast_to(np.arange(shape[axis]).reshape([-1 if a == axis else 1 for a in range(3)]),
                           shape).astype(np.float32) / 128  # stays inside the normaliser's range


def _sampler(volume, seed=0):
    return PatchSampler(volume, Normalizer(0.0, 1.0, "<f4"), lr_rows=6, hr_rows=60, width=32,
                        rng=np.random.default_rng(seed))


def test_batches_have_the_configured_shapes():
    sampler = _sampler(_coordinate_volume(0))
    assert sampler.hr_batch(3).shape == (3, 1, 60, 32)
    assert sampler.lr_batch(3).shape == (3, 1, 6, 32)


def test_lr_patches_have_z_vertical():
    sampler = _sampler(_coordinate_volume(0))
    for patch in sampler.lr_batch(20)[:, 0]:
        assert np.allclose(np.diff(patch[:, 0]), 1 / 128)  # z increases down the rows (never flipped)
        assert np.all(patch == patch[:, :1])  # constant along each row: the horizontal axis is x or y


def test_hr_patches_come_from_one_xy_slice():
    sampler = _sampler(_coordinate_volume(0))
    for patch in sampler.hr_batch(20)[:, 0]:
        assert np.all(patch == patch[0, 0])


def test_hr_patches_use_both_lateral_axes_as_vertical():
    sampler = _sampler(_coordinate_volume(1))  # value = y
    vertical_y = [bool(np.all(p == p[:, :1])) for p in sampler.hr_batch(40)[:, 0]]
    assert any(vertical_y) and not all(vertical_y)


def test_seeded_sampling_repeats():
    volume = np.random.default_rng(1).normal(size=(12, 90, 100)).astype(np.float32)
    a, b = _sampler(volume, seed=3), _sampler(volume, seed=3)
    assert np.array_equal(a.hr_batch(4), b.hr_batch(4))
    assert np.array_equal(a.lr_batch(4), b.lr_batch(4))
    assert not np.array_equal(_sampler(volume, seed=4).hr_batch(4), _sampler(volume, seed=3).hr_batch(4))


def test_axial_windows_avoid_sections_that_are_not_real():
    from napari_isorecon.core.training.sampling import axial_windows

    starts, clean = axial_windows(12, 4, not_real=(5,))
    assert clean and starts.tolist() == [0, 1, 6, 7, 8]  # no window [z0, z0 + 4) holds section 5
    starts, clean = axial_windows(12, 4, not_real=(2, 5, 8, 11))  # every window holds one or two
    assert not clean and starts.tolist() == [0, 1, 3, 4, 6, 7]  # those with one


def test_patches_never_come_from_the_sections_set_aside():
    from napari_isorecon.core.training.sampling import axial_windows

    volume = np.random.default_rng(0).uniform(0.1, 0.9, (12, 90, 100)).astype(np.float32)
    volume[4] = 0.95  # a planted value no other section holds
    volume[9] = 0.05
    starts, clean = axial_windows(12, 4, not_real=(4, 9))
    assert clean and starts.tolist() == [0, 5]
    sampler = PatchSampler(volume, Normalizer(0.0, 1.0, "<f4"), lr_rows=4, hr_rows=60, width=32,
                           rng=np.random.default_rng(1), sections=[k for k in range(12) if k not in (4, 9)],
                           lr_starts=starts)
    hr, lr = sampler.hr_batch(200), sampler.lr_batch(200)
    for planted in (np.float32(0.95), np.float32(0.05)):
        assert not np.isin(hr, planted).any() and not np.isin(lr, planted).any()
    everywhere = _sampler(volume)  # the same sampler without the exclusions does draw them
    assert np.isin(everywhere.hr_batch(200), np.float32(0.95)).any()
