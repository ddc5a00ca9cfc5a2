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
  Of a pair of copies the later section is flagged.
- blank: its contrast (1st-99th percentile range) is below ``BLANK_CONTRAST`` of the stack's median, or one
  value fills at least ``FILL_SHARE`` of its pixels (padding).
- saturated: at least ``FILL_SHARE`` of its pixels sit at the stack's maximum.
- misaligned: the shift that registers it on section i-1 (phase correlation of the centres) is at least
  ``MISALIGN_MIN_PX`` pixels and ``MISALIGN_RATIO`` times the stack's median neighbour shift.

Sections are compared after standardising each (mean 0, standard deviation 1), so that a brightness or
contrast flicker between sections is not a difference. Large sections are read through a centre crop of at
most ``CROP`` pixels a side, so the scan stays cheap on lazy (zarr, dask) volumes.
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
KINDS = ("duplicate", "blank", "saturated", "misaligned")


@dataclass(frozen=True)
class SectionFinding:
    index: int  # the section's z index in the stack
    kind: str  # one of KINDS
    detail: str  # in words, with the measured number


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


def _crop(section: np.ndarray) -> tuple[slice, slice]:
    return tuple(slice(max(0, (s - CROP) // 2), max(0, (s - CROP) // 2) + min(s, CROP)) for s in section.shape)


def _read_sections(volume) -> np.ndarray:
    """(Z, h, w) float64 centre crops of every section, read one section at a time."""
    first = np.asarray(volume[0])
    rows, cols = _crop(first)
    return np.stack([np.asarray(volume[k][rows, cols], dtype=np.float64) for k in range(volume.shape[0])])


def _standardised(sections: np.ndarray) -> np.ndarray:
    mean = sections.mean(axis=(1, 2), keepdims=True)
    std = sections.std(axis=(1, 2), keepdims=True)
    return (sections - mean) / np.where(std > 0, std, 1.0)


def _unexplained(section: np.ndarray, prediction: np.ndarray) -> float:
    """The RMS error of the best gain-and-offset fit of ``prediction`` to ``section`` (both standardised), which
    is sqrt(1 - r^2) for their correlation r: a brightness or contrast change between sections costs nothing."""
    r = float(np.corrcoef(section.ravel(), prediction.ravel())[0, 1]) if prediction.std() > 0 else 0.0
    return float(np.sqrt(max(0.0, 1.0 - r * r)))


def _fill_findings(sections: np.ndarray) -> list[SectionFinding]:
    found = []
    top = float(sections.max())
    contrast = np.array([np.subtract(*np.percentile(s, (99, 1))) for s in sections])
    typical = float(np.median(contrast))
    for k, s in enumerate(sections):
        values, counts = np.unique(s, return_counts=True)
        most = int(np.argmax(counts))
        share, value = counts[most] / s.size, float(values[most])
        if typical > 0 and contrast[k] < BLANK_CONTRAST * typical:
            found.append(SectionFinding(k, "blank", f"contrast {contrast[k] / typical:.0%} of the stack's typical"))
        elif share >= FILL_SHARE and value == top:
            found.append(SectionFinding(k, "saturated", f"{share:.0%} of its pixels at the stack's maximum"))
        elif share >= FILL_SHARE:
            found.append(SectionFinding(k, "blank", f"{share:.0%} of its pixels share the value {value:g}"))
    return found


def _ratios(errors: dict[int, float]) -> dict[int, float]:
    """Each error as a share of the stack's median one (empty when there is no typical error to compare with)."""
    typical = float(np.median(list(errors.values()))) if errors else 0.0
    return {k: e / typical for k, e in errors.items()} if typical > 0 else {}


def _duplicate_findings(z: np.ndarray, skip: set[int]) -> list[SectionFinding]:
    """A section predicted by its neighbours far better than sections usually are: each way of predicting (a
    copy of the previous section, the mean of the two neighbours) is compared with how well it predicts the
    stack's other sections, so that a smooth, finely sampled stack (neighbours alike everywhere) flags nothing."""
    n = z.shape[0]
    copy = _ratios({k: _unexplained(z[k], z[k - 1]) for k in range(1, n) if not {k, k - 1} & skip})
    mean = _ratios({k: _unexplained(z[k], (z[k - 1] + z[k + 1]) / 2) for k in range(1, n - 1)
                    if not {k - 1, k, k + 1} & skip})
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


def _shift(a: np.ndarray, b: np.ndarray) -> float:
    """The length in pixels of the translation that registers ``b`` on ``a`` (phase correlation)."""
    from skimage.registration import phase_cross_correlation

    shift, _, _ = phase_cross_correlation(a, b, normalization=None)
    return float(np.hypot(*shift))


def _misalignment_findings(z: np.ndarray, skip: set[int]) -> list[SectionFinding]:
    pairs = [k for k in range(1, z.shape[0]) if k not in skip and k - 1 not in skip]
    if len(pairs) < 3:
        return []
    shifts = {k: _shift(z[k - 1], z[k]) for k in pairs}
    typical = float(np.median(list(shifts.values())))
    far = {k for k, s in shifts.items() if s >= MISALIGN_MIN_PX and s >= MISALIGN_RATIO * typical}
    found = []
    for k in sorted(far):
        if k - 1 in far and found and found[-1].index == k - 1:
            continue  # the pair after a section out of register with both neighbours: that section is flagged
        what = (f"out of register with sections {k - 1} and {k + 1} ({shifts[k]:.0f} and {shifts[k + 1]:.0f} px)"
                if k + 1 in far else f"shifted {shifts[k]:.0f} px from section {k - 1}")
        found.append(SectionFinding(k, "misaligned", f"{what}; the stack's typical neighbour shift is "
                                                     f"{typical:.1f} px"))
    return found


def find_section_artefacts(volume, misalignment: bool = True) -> SectionArtefacts:
    """Scan a (Z, Y, X) stack (numpy, zarr or dask) for sections that are not real images of the tissue at their
    place; see the module docstring for the criteria. ``misalignment=False`` skips the registration."""
    sections = _read_sections(volume)
    findings = _fill_findings(sections)
    skip = {f.index for f in findings}
    z = _standardised(sections)
    duplicates = _duplicate_findings(z, skip)
    findings += duplicates
    if misalignment:
        findings += _misalignment_findings(z, skip | {f.index for f in duplicates})
    findings.sort(key=lambda f: (f.index, KINDS.index(f.kind)))
    return SectionArtefacts(n_sections=int(volume.shape[0]), findings=tuple(findings))
