"""The one place that decides the networks' arithmetic: "auto" | "float32" | "bfloat16" | "float16".

Reduced precision is torch autocast around the networks' forward passes: convolutions run in 16 bits,
everything that accumulates or must stay exact stays float32 (the normalisation, the losses, the learned
axial kernel and the declared section pairs, the fusion sums, the output's conversion). "auto" takes it
where the hardware has it, detected, not assumed:

- a CPU with native bfloat16 (x86 AVX512-BF16 or AMX-BF16, Arm BF16) -> bfloat16, any other CPU -> float32
  (emulated bfloat16 is slower than float32);
- CUDA -> bfloat16 where the GPU supports it, else float16 (with loss scaling in training);
- MPS -> float16.

Asking for what the device cannot do (float16 on a CPU, bfloat16 on a CPU without it) is a clear error.
"""

from __future__ import annotations

import contextlib
import platform
from dataclasses import dataclass
from functools import lru_cache

from ..errors import IsoReconError

PRECISION_NAMES = ("auto", "float32", "bfloat16", "float16")
# /proc/cpuinfo flags that mean bfloat16 arithmetic in hardware: x86 (AVX512-BF16, AMX) and Arm (BF16)
_CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16", "bf16")


def check_precision_name(name: str) -> str:
    if name not in PRECISION_NAMES:
        raise IsoReconError(f"Unknown precision {name!r}; choose one of {', '.join(PRECISION_NAMES)}.")
    return name


def cpu_flags_have_bf16(cpuinfo: str) -> bool:
    """Whether a /proc/cpuinfo text lists a bfloat16 instruction set on its flags/Features lines."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features") and set(value.split()) & set(_CPU_BF16_FLAGS):
            return True
    return False


@lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 in hardware (read from /proc/cpuinfo; False where that is
    missing, e.g. macOS or Windows, so that "auto" stays on float32 there)."""
    if platform.system() != "Linux":
        return False
    try:
        with open("/proc/cpuinfo") as fh:
            return cpu_flags_have_bf16(fh.read())
    except OSError:
        return False


def _cuda_has_bf16() -> bool:
    import torch

    return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())


@dataclass(frozen=True)
class Precision:
    """A resolved precision for one device: ``name`` ("float32", "bfloat16" or "float16") and the
    ``device_type`` ("cpu", "cuda", "mps") that autocast runs on."""

    name: str = "float32"
    device_type: str = "cpu"

    @property
    def reduced(self) -> bool:
        return self.name != "float32"

    @property
    def dtype(self):
        import torch

        return getattr(torch, self.name)

    def autocast(self):
        """The context to run the networks' forward passes in (nothing for float32)."""
        if not self.reduced:
            return contextlib.nullcontext()
        import torch

        return torch.autocast(self.device_type, dtype=self.dtype)

    def grad_scaler(self):
        """A loss scaler for training in float16 (its small range underflows gradients), else None."""
        if self.name != "float16":
            return None
        import torch

        return torch.amp.GradScaler(self.device_type)


FLOAT32 = Precision()


def precision_for(net, name: str, device) -> Precision:
    """The precision to run ``net`` in: ``name`` resolved on ``device``, except for a module that says
    ``exact_arithmetic = True`` (plain interpolation, the reference every result is compared with)."""
    resolved = resolve_precision(name, device)  # refused where the device cannot, even for interpolation
    return Precision("float32", resolved.device_type) if getattr(net, "exact_arithmetic", False) else resolved


def check_runtime(config) -> Precision:
    """Refuse a config (TrainConfig or ReconConfig) whose device or precision this machine lacks, with a
    one-line message; returns the precision it resolves to."""
    from .device import resolve_device

    return resolve_precision(config.precision, resolve_device(config.device))


def usable_precisions(devices) -> list[str]:
    """The precision names that resolve on at least one of ``devices`` (e.g. ``device.available_devices()``)."""
    usable = []
    for name in PRECISION_NAMES:
        for device in devices:
            try:
                resolve_precision(name, device)
            except IsoReconError:
                continue
            usable.append(name)
            break
    return usable


def resolve_precision(name: str, device, cpu_bf16: bool | None = None, cuda_bf16: bool | None = None) -> Precision:
    """The :class:`Precision` that ``name`` means on ``device`` (a torch.device or its type). ``cpu_bf16``
    and ``cuda_bf16`` override the hardware detection (tests)."""
    name = check_precision_name(name)
    device_type = getattr(device, "type", str(device).split(":")[0])
    if name == "float32":
        return Precision("float32", device_type)
    if device_type == "cpu":
        native = cpu_has_native_bf16() if cpu_bf16 is None else cpu_bf16
        if name == "auto":
            return Precision("bfloat16" if native else "float32", device_type)
        if name == "float16":
            raise IsoReconError("float16 is not supported on a CPU; use precision 'bfloat16' (where the CPU has "
                                "it), 'auto' or 'float32'.")
        if not native:
            raise IsoReconError("This CPU has no bfloat16 instructions (AVX512-BF16, AMX or Arm BF16): bfloat16 "
                                "would run slower than float32 here; use precision 'auto' or 'float32'.")
        return Precision("bfloat16", device_type)
    if device_type == "cuda":
        bf16 = _cuda_has_bf16() if cuda_bf16 is None else cuda_bf16
        if name == "auto":
            return Precision("bfloat16" if bf16 else "float16", device_type)
        if name == "bfloat16" and not bf16:
            raise IsoReconError("This GPU has no bfloat16 support; use precision 'float16', 'auto' or 'float32'.")
        return Precision(name, device_type)
    if device_type == "mps":
        if name == "bfloat16":
            raise IsoReconError("bfloat16 is not supported on MPS here; use precision 'float16', 'auto' or "
                                "'float32'.")
        return Precision("float16", device_type)
    return Precision("float32", device_type)
