"""The acquisition in the user's words: how the microscope made the volume, and the stage-2 pair settings
that follow from it (``TrainConfig.acquisition``; the CLI's ``--acquisition``, the Train widget's
*Acquisition*).

The volume cannot tell how thick its sections are (docs/method.md): the user says what microscope made it,
and the entry says what that means for the training pairs. The numeric settings (``--pairs``,
``--section-thickness``, ``--thickness-spread``) stay as advanced overrides: an explicit one wins over the
acquisition's value, and the run says so. A model whose acquisition was not said (older checkpoints, or
settings given without one) is ``serial-sections`` when its pairs are that entry's, else ``custom``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import IsoReconError

# The thickest section the pairs and the hidden-section check accept, in z-steps. Serial sections do not
# overlap (thickness <= 1); above 1 stands for a blur wider than the cut (e.g. a tilted or projected section).
# At 2 a section reaches the centres of both its neighbours; wider than that is no longer a section but a
# blur over several, and the hidden-section check (a hidden section must lie between its two kept
# neighbours) cannot score it.
MAX_SECTION_THICKNESS = 2.0
CUSTOM = "custom"  # pairs set by numbers that no entry matches


@dataclass(frozen=True)
class Acquisition:
    """One way of acquiring a volume and the stage-2 pair settings it implies."""

    name: str  # the CLI's word
    label: str  # the widget's words
    help: str
    stage2_pairs: str
    section_thickness: float
    thickness_spread: float
    kernel_smooth: float | None = None  # the learned kernel's smoothness prior; None: the default weight

    def settings(self) -> dict:
        """The ``TrainConfig`` fields this acquisition sets (the prior weight: ``kernel_smooth``)."""
        return {"stage2_pairs": self.stage2_pairs, "section_thickness": self.section_thickness,
                "thickness_spread": self.thickness_spread, "kernel_smooth": self.kernel_smooth}


ACQUISITIONS = (
    Acquisition("serial-sections", "serial sections (ssTEM, ATUM, ssSEM)",
                "serial sections imaged through (ssTEM, ATUM / array tomography, ssSEM): sections one z-step "
                "thick; stage 2 learns to undo them (no stage 1)",
                stage2_pairs="section", section_thickness=1.0, thickness_spread=0.5),
    Acquisition("block-face", "block-face SEM (SBF-SEM)",
                "serial block-face SEM: the signal comes from a shallow depth of each cut face, thinner than "
                "the cut; pairs from sections half a z-step thick (a physically motivated assumption, not a "
                "measurement: check it with 'isorecon validate')",
                stage2_pairs="section", section_thickness=0.5, thickness_spread=0.5),
    Acquisition("fib-sem", "FIB-SEM (single planes)",
                "FIB-SEM: one milled face imaged per z-step, single planes with nothing in between; pairs "
                "from single planes, and no smoothness prior on a learned kernel",
                stage2_pairs="section", section_thickness=0.0, thickness_spread=0.5, kernel_smooth=0.0),
    Acquisition("learn", "unknown: learn it from the volume",
                "unknown: learn the degradation from the volume (the paper's CycleGAN stage 1; its axial "
                "kernel makes the pairs); loses to declared sections on real serial sections",
                stage2_pairs="kernel", section_thickness=1.0, thickness_spread=0.5),
)
ACQUISITION_NAMES = tuple(entry.name for entry in ACQUISITIONS)
DEFAULT_ACQUISITION = ACQUISITIONS[0]


def acquisition_named(name: str) -> Acquisition:
    for entry in ACQUISITIONS:
        if entry.name == name:
            return entry
    raise IsoReconError(f"Unknown acquisition {name!r}; choose one of {', '.join(ACQUISITION_NAMES)}.")


def acquisition_labels() -> dict[str, str]:
    """{name: label} of every acquisition, for a choice list that shows the labels."""
    return {entry.name: entry.label for entry in ACQUISITIONS}


def _relevant(values: dict) -> dict:
    """The settings that change the pairs: the thickness only for sections, the spread only for sections
    with a thickness, the kernel prior only for a learned kernel (the thickness stays: the hidden-section
    check scores with it)."""
    relevant = {"stage2_pairs": values["stage2_pairs"], "section_thickness": values["section_thickness"]}
    if values["stage2_pairs"] == "section" and values["section_thickness"] > 0:
        relevant["thickness_spread"] = values["thickness_spread"]
    if values["stage2_pairs"] != "section":
        relevant["kernel_smooth"] = values["kernel_smooth"]
    return relevant


def _values(config, entry: Acquisition) -> tuple[dict, dict]:
    mine = {"stage2_pairs": config.stage2_pairs, "section_thickness": config.section_thickness,
            "thickness_spread": config.thickness_spread, "kernel_smooth": config.weights.kernel_smooth}
    theirs = entry.settings()
    if theirs["kernel_smooth"] is None:
        theirs["kernel_smooth"] = type(config.weights)().kernel_smooth  # the default weight
    return mine, theirs


def unsaid_acquisition(config) -> str:
    """The acquisition of ``config`` when none was said: the default's when its pairs are the default's
    (``serial-sections``), else ``custom``."""
    mine, theirs = _values(config, DEFAULT_ACQUISITION)
    return DEFAULT_ACQUISITION.name if _relevant(mine) == _relevant(theirs) else CUSTOM


def pair_differences(config, entry: Acquisition) -> list[tuple[str, object, object]]:
    """The pair settings of ``config`` that differ from ``entry``'s where they matter: (field, entry's, used)."""
    mine, theirs = _values(config, entry)
    return [(name, theirs[name], value) for name, value in _relevant(mine).items() if theirs[name] != value]


def acquisition_overrides(config) -> list[tuple[str, object, object]]:
    """The pair settings of ``config`` that override its acquisition's: (field, acquisition's, used)."""
    if config.acquisition == CUSTOM:
        return []
    return pair_differences(config, acquisition_named(config.acquisition))


def describe_acquisition(config) -> str:
    """The acquisition a config assumes, in words: 'FIB-SEM (single planes); pairs from single planes',
    with any override ('..., section thickness 1 instead of 0'); 'custom: pairs from ...'."""
    pairs = (f"pairs from the learned degradation ({config.stage2_pairs})" if config.learns_degradation
             else f"pairs from {config.declared_sections()}")
    if config.acquisition == CUSTOM:
        return f"custom acquisition: {pairs}"
    text = f"{acquisition_named(config.acquisition).label}; {pairs}"
    overrides = acquisition_overrides(config)
    if overrides:
        text += " (overridden: " + ", ".join(f"{_WORDS.get(name, name.replace('_', ' '))} {show_value(used)} "
                                             f"instead of {show_value(theirs)}" for name, theirs, used in overrides) + ")"
    return text


_WORDS = {"stage2_pairs": "stage-2 pairs", "kernel_smooth": "kernel prior weight"}


def show_value(value) -> str:
    """A setting's value as a user types it: 0.5, 1, kernel."""
    return f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)
