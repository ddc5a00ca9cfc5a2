"""Adapters from the core generators (training, reconstruction) to napari thread workers.

A :class:`Job` runs one core generator in a ``napari.qt.threading.GeneratorWorker``. The worker only
iterates the generator: it never reads or writes widgets or layers (the widget hands it a snapshot of
the data and frozen settings, and receives the events on the GUI thread through Qt's queued
``yielded`` signal). Stopping sets a ``threading.Event`` that the core generator checks between steps,
so a stopped training still ends with a ``TrainFinished`` holding a usable model.

Events reach the GUI thread as they come, except ``TrainStep`` and ``ReconProgress``, which are
gathered and sent at most ``interval`` seconds apart so redrawing never slows the training loop.
Any exception in the generator becomes a :class:`JobFailed` event instead of a traceback dialog.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ...core.events import PartEvent, ReconProgress, TrainStep

UPDATE_INTERVAL = 0.25  # seconds between two deliveries of progress to the GUI (at most 4 per second)


@dataclass(frozen=True)
class TrainStepBatch:
    """The TrainStep events gathered since the last update, oldest first."""

    steps: tuple[TrainStep, ...]

    @property
    def last(self) -> TrainStep:
        return self.steps[-1]


@dataclass(frozen=True)
class JobFailed:
    """The generator raised ``error``; ``details`` is the formatted traceback."""

    error: BaseException
    details: str


def throttled(events: Iterable, interval: float = UPDATE_INTERVAL, clock=time.monotonic) -> Iterator:
    """Pass ``events`` through, gathering TrainStep into :class:`TrainStepBatch` and keeping only the latest
    ReconProgress, each sent at most every ``interval`` seconds (pending ones go out before any other
    event, so nothing is lost or reordered)."""
    steps: list[TrainStep] = []
    progress = None
    last_sent = float("-inf")

    def flush():
        nonlocal steps, progress, last_sent
        out = []
        if steps:
            out.append(TrainStepBatch(tuple(steps)))
            steps = []
        if progress is not None:
            out.append(progress)
            progress = None
        last_sent = clock()
        return out

    for event in events:
        inner = event.event if isinstance(event, PartEvent) else event
        if isinstance(inner, TrainStep):
            steps.append(inner)
        elif isinstance(inner, ReconProgress):
            progress = event
        else:
            yield from flush()
            yield event
            continue
        if clock() - last_sent >= interval:
            yield from flush()
    yield from flush()


class Job:
    """One core generator running in a napari thread worker, with its stop flag.

    ``make_events(stop)`` builds the generator (it runs in the worker thread, so even its first checks
    happen there); ``on_event`` receives every (throttled) event on the GUI thread and ``on_finished``
    is called once, on the GUI thread, when the worker is done.
    """

    def __init__(self, make_events: Callable[[threading.Event], Iterable],
                 on_event: Callable[[Any], None], on_finished: Callable[[], None],
                 interval: float = UPDATE_INTERVAL):
        from napari.qt.threading import GeneratorWorker

        self.stop_flag = threading.Event()
        self._ended = threading.Event()
        self._on_event = on_event
        self._on_finished = on_finished
        self._delivering = True
        self._queue: deque = deque()
        self._draining = False
        self.worker = GeneratorWorker(self._events, make_events, interval)

    def _events(self, make_events, interval):
        # Runs in the worker thread: iterate the core generator and nothing else.
        try:
            yield from throttled(make_events(self.stop_flag), interval)
        except Exception as exc:  # noqa: BLE001 - every failure is reported as an event
            yield JobFailed(exc, traceback.format_exc())
        finally:
            self._ended.set()

    def start(self) -> Job:
        self.worker.yielded.connect(self._receive)
        self.worker.finished.connect(self._receive_finished)
        self.worker.start()
        return self

    # Callbacks may re-enter the Qt event loop (napari's progress bar calls processEvents), where the
    # next queued event would be handled inside the previous one, e.g. the progress bar closed while
    # it is being updated. Events are therefore queued and handed out one at a time, in order.
    # The connections are never undone from inside a slot (PyQt may free a slot proxy that an outer,
    # re-entered call is still running); an abandoned job just stops handing events out.
    def _receive(self, event) -> None:
        if self._delivering:
            self._queue.append((self._on_event, event))
            self._drain()

    def _receive_finished(self) -> None:
        if self._delivering:
            self._queue.append((self._finish, None))
            self._drain()

    def _finish(self, _) -> None:
        self._delivering = False
        self._on_finished()

    def _drain(self) -> None:
        if self._draining:
            return
        self._draining = True
        try:
            while self._queue:
                callback, event = self._queue.popleft()
                callback(event)
        finally:
            self._draining = False

    @property
    def running(self) -> bool:
        return not self._ended.is_set()

    def stop(self) -> None:
        """Ask the generator to end between two steps; its final event still arrives."""
        self.stop_flag.set()

    def abandon(self, timeout: float = 10.0) -> bool:
        """Stop, drop all callbacks (the receiver is going away) and wait up to ``timeout`` seconds for
        the thread to end. Returns True when it ended."""
        self.stop()
        self._delivering = False
        self._queue.clear()
        return self._ended.wait(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the generator is exhausted (tests, shutdown). Events may still be queued."""
        return self._ended.wait(timeout)
