"""Dataset artefacts found from the stack itself (core.checks.artefacts), on synthetic stacks with planted ones."""

import dask.array as dask_array
import numpy as np
import pytest
from planted import tissue

from napari_isorecon.core.checks.artefacts import find_section_artefacts


@pytest.mark.parametrize("z_smooth, noise", [(1.0, 0.1), (6.0, 0.0), (6.0, 0.3), (0.3, 0.5)])
def test_a_clean_stack_has_no_findings(z_smooth, noise):
    # from sections that barely relate (thick ssTEM) to a finely sampled, noise-free stack whose every section
    # is nearly the mean of its neighbours: nothing is flagged
    found = find_section_artefacts(tissue(z_smooth=z_smooth, noise=noise))
    assert not found, found.describe()
    assert found.usable == tuple(range(24))


def test_planted_artefacts_are_found_by_kind_and_index():
    vol = tissue()
    vol[5] = vol[4]  # a lost section replaced by a copy of its neighbour
    vol[9] = ((vol[8].astype(float) + vol[10]) / 2).round().astype(np.uint8)  # ... or by the neighbours' mean
    vol[12] = 0  # blank
    vol[15, :60] = 255  # burnt out: most pixels at the data's maximum
    vol[18] = np.roll(vol[18], 20, axis=1)  # one section out of register with both neighbours
    found = find_section_artefacts(vol)
    kinds = {f.index: f.kind for f in found.findings}
    assert kinds == {5: "duplicate", 9: "duplicate", 12: "blank", 15: "saturated", 18: "misaligned"}
    assert found.not_real == (5, 9, 12, 15)  # a misaligned section is still a real image
    assert found.usable == tuple(i for i in range(24) if i not in (5, 9, 12, 15))
    text = found.describe()
    assert "5 of 24 sections" in text and "12 (blank)" in text


def test_duplicates_survive_brightness_changes_and_noise():
    vol = tissue().astype(np.float32)
    rng = np.random.default_rng(1)
    vol[7] = 0.7 * vol[6] + 20 + rng.normal(0, 1.0, vol[6].shape)  # re-imaged copy: other gain, offset, noise
    found = find_section_artefacts(vol)
    assert found.indices("duplicate") == (7,)


def test_a_registration_break_flags_one_section():
    vol = tissue()
    vol[14:] = np.roll(vol[14:], 25, axis=2)  # everything from section 14 on is shifted: one break
    found = find_section_artefacts(vol)
    assert found.indices() == (14,)
    assert "shifted" in found.findings[0].detail


def test_registration_can_be_skipped_and_lazy_volumes_are_read():
    vol = tissue()
    vol[18] = np.roll(vol[18], 20, axis=1)
    vol[3] = 0
    found = find_section_artefacts(dask_array.from_array(vol, chunks=(1, 96, 96)), misalignment=False)
    assert found.indices() == (3,)
    assert found.to_dict()["findings"][0]["kind"] == "blank"


def test_a_misaligned_finding_names_the_neighbours_it_is_out_of_register_with():
    one = tissue()
    one[18] = np.roll(one[18], 20, axis=1)
    brk = tissue()
    brk[14:] = np.roll(brk[14:], 25, axis=2)
    assert find_section_artefacts(one).findings[0].out_of_register_with == (17, 19)
    assert find_section_artefacts(brk).findings[0].out_of_register_with == (13,)


def test_a_lazy_volume_is_read_a_slab_of_centre_crops_at_a_time_with_the_same_findings(monkeypatch):
    """The scan never asks a zarr-like volume for more than a slab of ``SLAB`` sections' centre crops, and a dask
    array of the same stack gives exactly the findings of the numpy one."""
    from napari_isorecon.core.checks import artefacts

    vol = tissue(z=40)
    vol[5] = vol[4]
    vol[12] = 0
    vol[25, :60] = 255
    vol[33] = np.roll(vol[33], 20, axis=1)
    reads = []

    class Recorded:  # what a zarr array offers: shape, dtype and basic indexing
        shape, dtype, ndim = vol.shape, vol.dtype, vol.ndim

        def __getitem__(self, key):
            reads.append(key)
            return vol[key]

    monkeypatch.setattr(artefacts, "CROP", 64)  # the 96 px sections are read through a 64 px centre crop
    expected = find_section_artefacts(vol)
    assert expected.indices() == (5, 12, 25, 33)
    assert find_section_artefacts(Recorded()) == expected
    assert len(reads) == -(-40 // artefacts.SLAB)
    for z, rows, cols in reads:
        assert z.stop - z.start <= artefacts.SLAB and (rows.start, rows.stop, cols.start, cols.stop) == (16, 80, 16, 80)
    assert find_section_artefacts(dask_array.from_array(vol, chunks=(7, 48, 48))) == expected
