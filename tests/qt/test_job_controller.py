"""The job controller shared by the widgets: button and status drawn from the state, Stop, blockers, failures
shown, a job without its final event marked failed, and the job ended with the widget."""

from __future__ import annotations

import pytest
from qt_helpers import levels
from qtpy.QtWidgets import QLabel, QPushButton, QWidget

from napari_isorecon._qt.shared.job_controller import JobController, JobLook
from napari_isorecon._qt.shared.job_state import JobState, JobStateMachine
from napari_isorecon._qt.shared.lifetime import WidgetLifetime
from napari_isorecon.core.events import TrainFinished

LOOK = JobLook("Go", "Stop", "Stopping...", start_tip="starts", stop_tip="stops", running_note="Running.",
               stopping_note="Stopping now.")


def until_stopped(stop):
    while not stop.is_set():
        yield "tick"
        stop.wait(0.01)
    yield TrainFinished(model="kept", stopped=True, steps=1, elapsed=0.0)


@pytest.fixture
def parts(qtbot):
    owner = QWidget()
    qtbot.addWidget(owner)
    lifetime = WidgetLifetime(owner)
    other = JobStateMachine()
    controller = JobController(lifetime, "Thing", busy_message="Something is running.", notice_title="The thing",
                               blockers=(other,))
    button, status, received = QPushButton(), QLabel(), []

    def on_event(event):
        received.append(event)
        if isinstance(event, TrainFinished):
            controller.finish()

    controller.show_on(button, status, LOOK, lambda: controller.start(until_stopped, on_event, "thing"))
    yield controller, lifetime, other, button, status, received
    del owner  # kept alive until here: its destruction ends the lifetime


def test_button_and_status_follow_the_state_and_stop_keeps_the_final_event(qtbot, parts, notes):
    controller, _, _, button, status, received = parts
    assert (button.text(), button.toolTip(), button.isEnabled()) == ("Go", "starts", True)
    button.click()
    assert controller.state is JobState.RUNNING and controller.progress is not None
    assert (button.text(), button.toolTip(), status.text()) == ("Stop", "stops", "Running.")
    assert controller.refuse_start() and levels(notes, "warning") == ["Something is running."]
    qtbot.waitUntil(lambda: "tick" in received, timeout=10_000)
    controller.advance(0.5, "half way")
    assert controller.progress.n == 50 and controller.progress.desc.startswith("half way")
    button.click()  # Stop
    assert controller.state is JobState.STOPPING and status.text() == "Stopping now."
    assert button.text() == "Stopping..." and not button.isEnabled()
    qtbot.waitUntil(lambda: controller.job is None, timeout=10_000)
    assert controller.state is JobState.DONE and isinstance(received[-1], TrainFinished)
    assert controller.progress is None and button.text() == "Go" and button.isEnabled()


def test_a_blocker_disables_the_button_and_refuses_a_start(parts, notes):
    controller, _, other, button, _, _ = parts
    other.move_to(JobState.RUNNING)
    assert not button.isEnabled() and controller.refuse_start()
    assert levels(notes, "warning") == ["Something is running."]
    other.move_to(JobState.DONE)
    assert button.isEnabled() and not controller.refuse_start()


def test_failures_are_shown_and_a_job_without_its_final_event_fails(qtbot, parts, notes):
    controller, _, _, button, status, received = parts

    def failing(stop):
        yield "tick"
        raise RuntimeError("boom")

    controller.start(failing, received.append, "failing")
    qtbot.waitUntil(lambda: controller.job is None, timeout=10_000)
    assert controller.state is JobState.FAILED and status.text() == "Thing failed: RuntimeError: boom"
    assert levels(notes, "error") == ["The thing failed: RuntimeError: boom"] and received == ["tick"]
    assert button.text() == "Go" and button.isEnabled()

    controller.start(lambda stop: iter(["tick"]), received.append, "silent")  # ends without a final event
    qtbot.waitUntil(lambda: controller.job is None, timeout=10_000)
    assert controller.state is JobState.FAILED


def test_the_job_ends_with_the_widget(qtbot, parts):
    controller, lifetime, _, button, _, received = parts
    button.click()
    job = controller.job
    qtbot.waitUntil(lambda: "tick" in received, timeout=10_000)
    lifetime.end()
    assert job.stop_flag.is_set() and not job.running
    assert controller.job is None and controller.progress is None
