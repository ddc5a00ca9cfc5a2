"""Checkpoints of an older format version brought to today's, in one place.

Every checkpoint records the ``FORMAT_VERSION`` it was written at (a file without one has version 1's layout).
:func:`migrate` runs, in order, every migration of :data:`MIGRATIONS` from the file's version on, each taking
the checkpoint one version up, so that ``TrainConfig.from_dict`` and the loader only ever read today's layout
(``from_dict`` accepts only a complete current config).

To change what a checkpoint holds (a training setting added, renamed or given another meaning): bump
``FORMAT_VERSION``, and add the migration from the version before at the end of :data:`MIGRATIONS` (for a new
setting: the value the models saved before it trained with, which is often not the new default).
"""

from __future__ import annotations

FORMAT_VERSION = 2

# Settings that TrainConfig gained while version 1 was written, with what a version-1 checkpoint without one
# trained with: its run came before the setting (today's loader used to fill these in).
VERSION_1_ADDED = {
    "acquisition": None,  # said from the pair settings when loaded (settings.acquisition.unsaid_acquisition)
    "stage2_pairs": "full",  # the pairs came from the whole learned G_hl
    "kernel_model": "free",
    "match_noise": False,
    "hold_section_mean": False,
    "section_thickness": 1.0,
    "thickness_spread": 0.0,
    "stage2_loss": "l1",
    "detail": 0.0,
    "stage1_max_steps": None,  # stage 1 ran its whole share of the budget
    "kernel_lr_factor": 1.0,
    "precision": "float32",
    "early_stop": False,  # trained to the end of its budget
    "early_stop_patience": 10,
    "early_stop_min_delta": 0.02,
    "early_stop_after": 0.25,
}
VERSION_1_ADDED_WEIGHTS = {"kernel_smooth": 0.0}  # no smoothness prior on the learned kernel

# Version 1's two settings of the sub-pixel rows (seamless_subpixel, subpixel_window) became one, subpixel_join.
VERSION_1_SUBPIXEL_DEFAULTS = {"seamless_subpixel": False, "subpixel_window": "triangle"}


def _from_version_1(payload: dict) -> dict:
    """Version 1 -> 2: the settings added during version 1 filled in (:data:`VERSION_1_ADDED`), and the sub-pixel
    rows' join from version 1's two settings: butted together without ``seamless_subpixel`` (or with it False),
    else cross-faded with its ``subpixel_window`` (the triangle when it has none)."""
    if not isinstance(payload["config"], dict):
        raise TypeError(f"its config is a {type(payload['config']).__name__}, not a dict")
    config = dict(payload["config"])
    for name, value in VERSION_1_ADDED.items():
        config.setdefault(name, value)
    if isinstance(config.get("weights"), dict):
        config["weights"] = {**VERSION_1_ADDED_WEIGHTS, **config["weights"]}
    old = {name: config.pop(name, default) for name, default in VERSION_1_SUBPIXEL_DEFAULTS.items()}
    config["subpixel_join"] = old["subpixel_window"] if old["seamless_subpixel"] else "butt"
    return {**payload, "config": config}


# (the version a migration reads, the migration to the next version), oldest first; a version below the first
# (a file without one: 0) has its layout
MIGRATIONS = ((1, _from_version_1),)


def migrate(payload: dict) -> dict:
    """A checkpoint ``payload`` (as ``torch.load`` reads it) of version FORMAT_VERSION or older, in today's
    layout: every migration from its version on, in order; a copy, at FORMAT_VERSION. A layout that no version
    had raises KeyError or TypeError (the loader names the file)."""
    version = payload.get("format_version", 0)
    for source, step in MIGRATIONS:
        if version <= source:
            payload = step(payload)
    return {**payload, "format_version": FORMAT_VERSION}
