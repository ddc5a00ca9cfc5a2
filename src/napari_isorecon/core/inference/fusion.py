"""How the predictions of the slice passes become the output volume(s).

The slice-pass engines (:func:`reconstruct.slice_passes`, :func:`blockwise.compute_block`) hand every batch
of slices to a *fusion*: ``fusion.predict(forward, slices)`` returns ``k`` predictions of the batch (the
plain :class:`PassMean`: one; :class:`uncertainty.FlipEnsemble`: one per flip) and an accumulator made by
``fusion.accumulator(shape, n_passes)`` gathers them pass after pass; ``accumulator.finish(normalizer)``
returns the output volumes, the result first (``fusion.outputs`` names them), and
``fusion.finished(volumes, ...)`` makes the final event.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from ..events import ReconFinished
from ..model.intensity import Normalizer


def by_slabs(convert, array: np.ndarray, dtype, voxels: int = 1 << 20) -> np.ndarray:
    """``convert(array)`` (elementwise) a z slab of ~1 M voxels at a time: the same values, but without
    the float64 temporaries of the whole array (which would triple its memory)."""
    out = np.empty(array.shape, dtype=dtype)
    step = max(1, voxels // max(1, array[0].size))
    for z0 in range(0, array.shape[0], step):
        out[z0:z0 + step] = convert(array[z0:z0 + step])
    return out


@dataclass(frozen=True)
class PassMean:
    """The plain reconstruction: one prediction per slice and pass, the passes averaged."""

    outputs = ("result",)

    def predict(self, forward, slices: np.ndarray) -> np.ndarray:
        """(n, Z, W) normalised slices -> (1, n, D, W) with ``forward``: (n, Z, W) -> (n, D, W)."""
        return forward(slices)[None]

    def accumulator(self, shape, n_passes: int) -> _MeanAccumulator:
        return _MeanAccumulator(shape, n_passes)

    def output_dtypes(self, normalizer: Normalizer) -> tuple:
        return (normalizer.np_dtype,)

    def describe(self) -> dict | None:
        """What a blockwise run's manifest records to refuse resuming with another fusion (None: plain)."""
        return None

    def finished(self, volumes: tuple, elapsed: float, info: dict) -> ReconFinished:
        return ReconFinished(volume=volumes[0], stopped=False, elapsed=elapsed, info=info)


class _MeanAccumulator:
    def __init__(self, shape, n_passes: int):
        self.sum = np.zeros(shape, dtype=np.float32)
        self.n_passes = n_passes

    def add(self, pass_index: int, region, samples: np.ndarray) -> None:
        """``samples``: (1, *shape of ``region``), the batch's prediction laid out like the output."""
        self.sum[region] += samples[0]

    def finish(self, normalizer: Normalizer) -> tuple:
        self.sum /= self.n_passes
        return (by_slabs(normalizer.from_unit, self.sum, normalizer.np_dtype),)


PLAIN = PassMean()


class SharedBlocks:
    """The outputs of one block computation for tasks that each want one of them (a lazy result and its
    uncertainty are two dask arrays, computed separately as their layers are viewed): a block is computed
    once and kept until each output has been taken, holding at most ``max_bytes`` of blocks (the oldest
    go first; a view that touches more blocks than that computes some of them again for the other layer).
    Thread-safe; a copy sent to another process starts empty (it then computes again, never wrongly)."""

    def __init__(self, n_outputs: int, max_bytes: int = 1 << 30):
        self.n_outputs, self.max_bytes = int(n_outputs), int(max_bytes)
        self._lock = threading.Lock()
        self._entries: OrderedDict = OrderedDict()  # block index -> _Entry
        self.computed = 0  # blocks computed (for tests and benchmarks)

    def take(self, index, output: int, compute):
        """Output ``output`` of the block ``index``; ``compute()`` gives all of them when not held."""
        with self._lock:
            entry = self._entries.get(index)
            if entry is None:
                entry = self._entries[index] = _Entry()
            self._entries.move_to_end(index)
        with entry.lock:  # a second task for the same block waits for the first one's result
            if entry.values is None:
                entry.values = compute()
                entry.nbytes = sum(int(np.asarray(v).nbytes) for v in entry.values)
                with self._lock:
                    self.computed += 1
            values = entry.values
        with self._lock:
            entry.taken.add(output)
            if len(entry.taken) >= self.n_outputs and self._entries.get(index) is entry:
                del self._entries[index]
            while len(self._entries) > 1 and sum(e.nbytes for e in self._entries.values()) > self.max_bytes:
                self._entries.popitem(last=False)
        return values[output]

    def __getstate__(self):
        return {"n_outputs": self.n_outputs, "max_bytes": self.max_bytes}

    def __setstate__(self, state):
        self.__init__(state["n_outputs"], state["max_bytes"])


class _Entry:
    def __init__(self):
        self.lock = threading.Lock()
        self.values = None
        self.nbytes = 0
        self.taken: set = set()
