"""The one place that turns "auto" | "cpu" | "cuda" | "mps" into a torch device."""

from __future__ import annotations

from ..errors import IsoReconError

DEVICE_NAMES = ("auto", "cpu", "cuda", "mps")


def check_device_name(name: str) -> str:
    base = str(name).split(":")[0]
    if base not in DEVICE_NAMES:
        raise IsoReconError(f"Unknown device {name!r}; choose one of {', '.join(DEVICE_NAMES)}.")
    return str(name)


def available_devices() -> list[str]:
    import torch

    names = ["cpu"]
    if torch.cuda.is_available():
        names.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        names.append("mps")
    return names


def resolve_device(name: str = "auto"):
    """Return a ``torch.device``: "auto" picks cuda, then mps, then cpu; an absent one is a clear error."""
    import torch

    name = check_device_name(name)
    base = name.split(":")[0]
    available = available_devices()
    if base == "auto":
        for candidate in ("cuda", "mps", "cpu"):
            if candidate in available:
                return torch.device(candidate)
    if base not in available:
        raise IsoReconError(
            f"Device {name!r} is not available on this machine (available: {', '.join(available)}); "
            "use device 'auto' or 'cpu'."
        )
    return torch.device(name)
