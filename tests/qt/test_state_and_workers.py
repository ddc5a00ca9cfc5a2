"""The job state machine and the worker adapters, without a viewer."""

from __future__ import annotations

import threading

import pytest

from napari_isorecon._qt.shared.job_state import JobState, JobStateMachine
from napari_isorecon._qt.shared.workers import Job, JobFailed, TrainStepBatch, throttled
from napari_isorecon.core.errors import IsoReconError
from napari_isorecon.core.events import (
    PartEvent,
    ReconFinished,
    ReconProgress,
    StageStarted,
    TrainFinished,
    TrainStep,
)


def step(i: int) -> TrainStep:
    return TrainStep(stage=1, step=i, losses={"D_l": 0.5}, learning_rates={}, elapsed=float(i), progress=i / 10)


def test_state_machine_follows_the_diagram():
    machine = JobStateMachine()
    seen = []
    machine.changed.connect(lambda new, old: seen.append((old.value, new.value)))
    with pytest.raises(RuntimeError):
        machine.move_to(JobState.STOPPING)  # nothing to stop
    machine.move_to(JobState.RUNNING)
    assert machine.busy
    with pytest.raises(RuntimeError):
        machine.move_to(JobState.IDLE)  # a running job cannot be forgotten
    machine.move_to(JobState.STOPPING)
    machine.move_to(JobState.DONE)
    assert not machine.busy
    machine.move_to(JobState.RUNNING)
    machine.move_to(JobState.FAILED)
    assert seen == [("idle", "running"), ("running", "stopping"), ("stopping", "done"), ("done", "running"),
                    ("running", "failed")]


def test_throttled_batches_steps_without_losing_or_reordering_events():
    clock_value = [0.0]

    def clock():
        return clock_value[0]

    def events():
        yield StageStarted(1, "one")
        for i in range(1, 8):
            clock_value[0] += 0.05  # 20 steps per second
            yield step(i)
        yield StageStarted(2, "two")
        yield TrainFinished(model=None, stopped=False, steps=7, elapsed=1.0)

    out = list(throttled(events(), interval=0.2, clock=clock))
    batches = [e for e in out if isinstance(e, TrainStepBatch)]
    assert [s.step for b in batches for s in b.steps] == list(range(1, 8))  # nothing lost, in order
    assert len(batches) < 7  # but gathered
    assert isinstance(out[0], StageStarted) and isinstance(out[-1], TrainFinished)
    assert out.index(batches[-1]) < out.index(next(e for e in out if isinstance(e, StageStarted) and e.stage == 2))


def test_throttled_keeps_only_the_latest_progress():
    events = [PartEvent("isotropic", ReconProgress("xz", i, 10, 0.0)) for i in range(1, 11)]
    events.append(PartEvent("isotropic", ReconFinished(volume=None)))
    out = list(throttled(events, interval=10.0, clock=lambda: 1.0))
    assert [e.event.done for e in out if isinstance(e.event, ReconProgress)] == [1, 10]


def test_job_reports_errors_as_events_and_honours_stop(qtbot):
    received = []
    finished = threading.Event()

    def failing(stop):
        yield step(1)
        raise IsoReconError("bad input")

    job = Job(failing, received.append, finished.set).start()
    qtbot.waitUntil(finished.is_set, timeout=10_000)
    assert isinstance(received[-1], JobFailed) and str(received[-1].error) == "bad input"
    assert not job.running

    def endless(stop):
        i = 0
        while not stop.is_set():
            i += 1
            yield step(i)
            stop.wait(0.01)
        yield TrainFinished(model="kept", stopped=True, steps=i, elapsed=0.0)

    received.clear()
    finished.clear()
    job = Job(endless, received.append, finished.set).start()
    qtbot.waitUntil(lambda: len(received) > 0, timeout=10_000)
    job.stop()
    qtbot.waitUntil(finished.is_set, timeout=10_000)
    assert isinstance(received[-1], TrainFinished) and received[-1].model == "kept"
