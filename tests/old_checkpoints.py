"""Checkpoints as format version 1 wrote them, made from today's, and read back as a version-1 checkpoint is
(core.model.migrations)."""

from napari_isorecon.core.model.migrations import migrate
from napari_isorecon.core.settings.config import TrainConfig


def version_1_config(config: dict) -> dict:
    """Today's ``TrainConfig.to_dict()`` as version 1 wrote it: the sub-pixel rows' join as version 1's two
    settings (``seamless_subpixel``, ``subpixel_window``)."""
    config = {**config, "weights": dict(config["weights"])}
    join = config.pop("subpixel_join")
    return {**config, "seamless_subpixel": join != "butt", "subpixel_window": "triangle" if join == "butt" else join}


def version_1_payload(payload: dict) -> dict:
    """A checkpoint of today's (as ``torch.load`` reads it) as version 1 wrote it."""
    return {**payload, "format_version": 1, "config": version_1_config(payload["config"])}


def load_version_1_config(config: dict) -> TrainConfig:
    """A version-1 checkpoint's config, as loading the checkpoint reads it (the migrations, then from_dict)."""
    return TrainConfig.from_dict(migrate({"format_version": 1, "config": config})["config"])
