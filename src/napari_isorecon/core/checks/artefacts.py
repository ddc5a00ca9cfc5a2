"""Dataset artefacts of a section stack, found from the stack itself: sections that are not real, new images of
the tissue at their z position.

Curated serial-section datasets contain them: a lost section replaced by a copy of a neighbour or by the mean of
its two neighbours ("duplicate"), a section left blank or filled with one value ("blank"), a section burnt out
or clipped to the data's maximum or minimum ("saturated"), and a neighbour pair far out of register
("misaligned"). A reconstruction cannot and should not reproduce them, a score over them measures the artefact
rather than the method, and a duplicated pair would teach a network that z never changes.

Every criterion is relative to the stack itself (its typical neighbour difference, its typical contrast, its
typical neighbour shift), so that it holds for any modality, bit depth and noise level:

- duplicate: section i is predicted by its neighbours (a copy of section i-1, or the mean of i-1 and i+1) with an
  error (after the best gain and offset) below ``DUPLICATE_RATIO`` of that prediction's median error over the stack. Each prediction is
  compared with itself elsewhere in the stack, so a finely sampled smooth stack, where every section is close
  to its neighbours' mean, flags nothing; an exact or re-imaged copy, or an interpolated fill-in, stands out.
  Of a pair of copies the later section is flagged. The typical error is taken as at least
  ``MIN_TYPICAL_ERROR``, so a stack made only of copies of one section is all duplicates.
- blank: its contrast (1st-99th percentile range) is below ``BLANK_CONTRAST`` of the stack's median, or one
  value fills at least ``FILL_SHARE`` of its pixels (padding).
- saturated: at least ``FILL_SHARE`` of its pixels sit at the stack's maximum.
- misaligned: the shift that registers it on section i-1 (phase correlation of the centres) is at least
  ``MISALIGN_MIN_PX`` pixels and ``MISALIGN_RATIO`` times the stack's median neighbour shift.

Sections are compared after standardising each (mean 0, standard deviation 1), so that a brightness or
contrast flicker between sections is not a difference. Large sections are read through a centre crop of at
most ``CROP`` pixels a side, a slab of ``SLAB`` sections at a time, in one pass that keeps only the last three
crops, so the scan stays cheap on lazy (zarr, dask) volumes: 0.9 s for 250 sections of 250 x 250 px in memory,
1.4 s from a zarr in 64^3 chunks, 0.4 and 0.9 s without the registration (the 250^3 FIB-SEM bench volume, one
shared core of this project's development machine).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DUPLICATE_RATIO = 0.4
BLANK_CONTRAST = 0.1
FILL_SHARE = 0.5
MISALIGN_MIN_PX = 8.0
MISALIGN_RATIO = 5.0
CROP = 512
MIN_USABLE = 4  # real sections below which there is nothing to learn z from
KINDS = ("duplicate", "blank", "saturated", "misaligned")


@dataclass(frozen=True)
class SectionFinding:
    index: int  # the section's z index in the stack
    kind: str  # one of KINDS
    detail: str  # in words, with the measured number
    # for a misaligned section, the neighbours it is out of register with: (i - 1, i + 1) for one section out of
    # place, (i - 1,) for a break after which the whole stack is shifted
    out_of_register_with: tuple[int, ...] = ()


@dataclass(frozen=True)
class SectionArtefacts:
    """What a scan of the stack found; empty when every section looks like a real, new image."""

    n_sections: int
    findings: tuple[SectionFinding, ...] = field(default_factory=tuple)

    def indices(self, *kinds: str) -> tuple[int, ...]:
        """Sorted indices of the sections with a finding of one of ``kinds`` (all kinds when none given)."""
        kinds = kinds or KINDS
        return tuple(sorted({f.index for f in self.findings if f.kind in kinds}))

    @property
    def not_real(self) -> tuple[int, ...]:
        """Sections that are no image of the tissue at their place (duplicate, blank, saturated): treat them as
        missing. A misaligned section is a real image, only out of register."""
        return self.indices("duplicate", "blank", "saturated")

    @property
    def usable(self) -> tuple[int, ...]:
        """Indices of the sections that are real images of the tissue at their place."""
        bad = set(self.not_real)
        return tuple(i for i in range(self.n_sections) if i not in bad)

    def __bool__(self) -> bool:
        return bool(self.findings)

    def describe(self) -> str:
        """One line for a log or a status bar, e.g. 'sections 12 (duplicate), 30 (blank) look like artefacts'."""
        if not self.findings:
            return f"No artefacts found in {self.n_sections} sections."
        by_index: dict[int, list[str]] = {}
        for f in self.findings:
            by_index.setdefault(f.index, []).append(f.kind)
        parts = [f"{i} ({', '.join(kinds)})" for i, kinds in sorted(by_index.items())]
        return (f"{len(by_index)} of {self.n_sections} sections look like artefacts: section"
                f"{'s' if len(parts) > 1 else ''} {', '.join(parts)}.")

    def to_dict(self) -> dict:
        return {"n_sections": self.n_sections,
                "findings": [{"index": f.index, "kind": f.kind, "detail": f.detail} for f in self.findings]}


SLAB = 16  # sections read at once (a z-chunked zarr is decoded once per slab, not once per section)
MIN_TYPICAL_ERROR = 1e-3  # a stack whose neighbours predict each other better than this is all copies


def _crop(shape) -> tuple[slice, slice]:
    return tuple(slice(max(0, (s - CROP) // 2), max(0, (s - CROP) // 2) + min(s, CROP)) for s in shape)


def _sections(volume):
    """The centre crop of every section in turn (float64), read a slab of ``SLAB`` sections at a time, so the
    scan holds a few crops, never the stack."""
    rows, cols = _crop(volume.shape[1:])
    for k0 in range(0, volume.shape[0], SLAB):
        slab = np.asarray(volume[k0:k0 + SLAB, rows, cols])
        for section in slab:
            yield section.astype(np.float64)


def _standardised(section: np.ndarray) -> np.ndarray:
    std = section.std()
    return (section - section.mean()) / (std if std > 0 else 1.0)


def _unexplained(section: np.ndarray, prediction: np.ndarray) -> float:
    """The RMS error of the best gain-and-offset fit of ``prediction`` to ``section`` (both standardised), which
    is sqrt(1 - r^2) for their correlation r: a brightness or contrast change between sections costs nothing."""
    if not prediction.std() > 0 or not section.std() > 0:
        return 1.0
    r = float(np.mean(section * _standardised(prediction)))  # section: mean 0, std 1 (or all zero)
    return float(np.sqrt(max(0.0, 1.0 - r * r)))


def _shift(spectrum_a: np.ndarray, spectrum_b: np.ndarray, shape) -> float:
    """The length in pixels of the translation that registers section b on section a, from their spectra
    (``np.fft.rfft2``): phase correlation with the unnormalised cross-power, as skimage's
    ``phase_cross_correlation(normalization=None)``, to whole pixels."""
    correlation = np.abs(np.fft.irfft2(spectrum_a * np.conj(spectrum_b), s=shape))
    peak = np.array(np.unravel_index(int(np.argmax(correlation)), shape), dtype=np.float64)
    size = np.array(shape, dtype=np.float64)
    peak[peak > size // 2] -= size[peak > size // 2]
    return float(np.hypot(*peak))


def _sorted_percentile(ordered: np.ndarray, q: float) -> float:
    """``np.percentile(values, q)`` (linear) of values already sorted: no second partition (4 ms a section)."""
    position = q / 100 * (ordered.size - 1)
    lo = int(np.floor(position))
    hi = min(lo + 1, ordered.size - 1)
    return float(ordered[lo] + (position - lo) * (ordered[hi] - ordered[lo]))


@dataclass
class _Scan:
    """What one pass over the sections measures, section by section (index k)."""

    contrast: list = field(default_factory=list)  # 1st-99th percentile range
    mode: list = field(default_factory=list)  # (most common value, its share of the pixels)
    top: float = -np.inf  # the stack's maximum
    copy: dict = field(default_factory=dict)  # k -> unexplained(k, k - 1)
    mean: dict = field(default_factory=dict)  # k -> unexplained(k, mean of k - 1 and k + 1)
    shift: dict = field(default_factory=dict)  # k -> shift between k - 1 and k


def _measure(volume, misalignment: bool) -> _Scan:
    scan = _Scan()
    window: list[np.ndarray] = []  # the standardised sections k - 2, k - 1, k
    spectra: list[np.ndarray] = []  # the spectra of k - 1 and k (misalignment only)
    for k, section in enumerate(_sections(volume)):
        ordered = np.sort(section, axis=None)
        scan.contrast.append(_sorted_percentile(ordered, 99) - _sorted_percentile(ordered, 1))
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        runs = np.diff(np.r_[starts, ordered.size])
        most = int(np.argmax(runs))
        scan.mode.append((float(ordered[starts[most]]), runs[most] / ordered.size))
        scan.top = max(scan.top, float(ordered[-1]))
        window = (window + [_standardised(section)])[-3:]
        if k >= 1:
            scan.copy[k] = _unexplained(window[-1], window[-2])
        if misalignment:
            spectra = (spectra + [np.fft.rfft2(window[-1])])[-2:]
            if k >= 1:
                scan.shift[k] = _shift(spectra[0], spectra[1], section.shape)
        if k >= 2:
            scan.mean[k - 1] = _unexplained(window[-2], (window[-3] + window[-1]) / 2)
    return scan


def _fill_findings(scan: _Scan) -> list[SectionFinding]:
    found = []
    contrast = np.array(scan.contrast)
    typical = float(np.median(contrast))
    for k, (value, share) in enumerate(scan.mode):
        if typical > 0 and contrast[k] < BLANK_CONTRAST * typical:
            found.append(SectionFinding(k, "blank", f"contrast {contrast[k] / typical:.0%} of the stack's typical"))
        elif share >= FILL_SHARE and value == scan.top:
            found.append(SectionFinding(k, "saturated", f"{share:.0%} of its pixels at the stack's maximum"))
        elif share >= FILL_SHARE:
            found.append(SectionFinding(k, "blank", f"{share:.0%} of its pixels share the value {value:g}"))
    return found


def _ratios(errors: dict[int, float]) -> dict[int, float]:
    """Each error as a share of the stack's median one (at least ``MIN_TYPICAL_ERROR``, so that a stack of exact
    copies, whose median error is 0, is all duplicates)."""
    if not errors:
        return {}
    typical = max(float(np.median(list(errors.values()))), MIN_TYPICAL_ERROR)
    return {k: e / typical for k, e in errors.items()}


def _duplicate_findings(scan: _Scan, n: int, skip: set[int]) -> list[SectionFinding]:
    """A section predicted by its neighbours far better than sections usually are: each way of predicting (a
    copy of the previous section, the mean of the two neighbours) is compared with how well it predicts the
    stack's other sections, so that a smooth, finely sampled stack (neighbours alike everywhere) flags nothing."""
    copy = _ratios({k: e for k, e in scan.copy.items() if not {k, k - 1} & skip})
    mean = _ratios({k: e for k, e in scan.mean.items() if not {k - 1, k, k + 1} & skip})
    found = []
    for k in range(1, n):
        ways = {f"a copy of section {k - 1}": copy.get(k),
                f"the mean of sections {k - 1} and {k + 1}": mean.get(k)}
        ways = {what: r for what, r in ways.items() if r is not None}
        if not ways:
            continue
        what, ratio = min(ways.items(), key=lambda item: item[1])
        if ratio < DUPLICATE_RATIO:
            found.append(SectionFinding(k, "duplicate", f"{what} (difference {ratio:.0%} of the stack's typical "
                                                        "for that prediction)"))
    return found


def _misalignment_findings(scan: _Scan, skip: set[int]) -> list[SectionFinding]:
    shifts = {k: s for k, s in scan.shift.items() if k not in skip and k - 1 not in skip}
    if len(shifts) < 3:
        return []
    typical = float(np.median(list(shifts.values())))
    far = {k for k, s in shifts.items() if s >= MISALIGN_MIN_PX and s >= MISALIGN_RATIO * typical}
    found = []
    for k in sorted(far):
        if k - 1 in far and found and found[-1].index == k - 1:
            continue  # the pair after a section out of register with both neighbours: that section is flagged
        both = k + 1 in far
        what = (f"out of register with sections {k - 1} and {k + 1} ({shifts[k]:.0f} and {shifts[k + 1]:.0f} px)"
                if both else f"shifted {shifts[k]:.0f} px from section {k - 1}")
        found.append(SectionFinding(k, "misaligned", f"{what}; the stack's typical neighbour shift is "
                                                     f"{typical:.1f} px", (k - 1, k + 1) if both else (k - 1,)))
    return found


def check_usable(artefacts: SectionArtefacts, minimum: int = MIN_USABLE) -> SectionArtefacts:
    """Refuse (one-line IsoReconError) a stack with fewer than ``minimum`` real sections, or made only of copies
    of one section; return ``artefacts`` otherwise."""
    from ..errors import IsoReconError

    n, usable = artefacts.n_sections, artefacts.usable
    if n > 1 and artefacts.indices("duplicate") == tuple(range(1, n)):
        raise IsoReconError(f"Every section of the stack is a copy of section 0 (all {n} sections duplicated): "
                            "there is no change along z to learn from.")
    if len(usable) < minimum:
        bad = artefacts.not_real
        raise IsoReconError(f"Only {len(usable)} of {n} sections are real images ({len(bad)} are duplicated, "
                            f"blank or saturated: {', '.join(map(str, bad[:12]))}{', ...' if len(bad) > 12 else ''})"
                            f"; at least {minimum} are needed.")
    return artefacts


def find_section_artefacts(volume, misalignment: bool = True) -> SectionArtefacts:
    """Scan a (Z, Y, X) stack (numpy, zarr or dask) for sections that are not real images of the tissue at their
    place; see the module docstring for the criteria. One pass, a slab of sections at a time. ``misalignment=False``
    skips the registration."""
    n = int(volume.shape[0])
    scan = _measure(volume, misalignment)
    findings = _fill_findings(scan)
    skip = {f.index for f in findings}
    duplicates = _duplicate_findings(scan, n, skip)
    findings += duplicates
    if misalignment:
        findings += _misalignment_findings(scan, skip | {f.index for f in duplicates})
    findings.sort(key=lambda f: (f.index, KINDS.index(f.kind)))
    return SectionArtefacts(n_sections=n, findings=tuple(findings))
