"""One long job of a widget (training, the hidden-section check, a reconstruction, an export), from the
button that starts it to the cleanup when the widget goes away.

A :class:`JobController` is the widget's job state machine (:class:`.job_state.JobStateMachine`: idle ->
running -> stopping -> done | failed) and also runs the job: it starts a :class:`.workers.Job` with a
napari progress bar, asks it to stop, advances the bar, shows a failure (status line and notification)
and ends the job when the widget's :class:`.lifetime.WidgetLifetime` ends. What the widget shows of the
job (its Start/Stop button, the status line on each change) is drawn from the state alone, as described
by a :class:`JobLook`. The widget itself only builds the job's events and applies the events it receives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from napari.utils.notifications import show_error, show_warning

from ...core.errors import IsoReconError
from .job_state import JobState, JobStateMachine
from .workers import Job, JobFailed

PROGRESS_TICKS = 100  # whole percents: the bar repaints only when the number changes


@dataclass(frozen=True)
class JobLook:
    """The Start/Stop button's text (and tooltip, None: left as it is) in each state, and the status line
    shown on entering running or stopping (None: left as it is)."""

    start: str
    stop: str
    stopping: str
    start_tip: str | None = None
    stop_tip: str | None = None
    running_note: str | None = None
    stopping_note: str | None = None


def failure_message(error: BaseException) -> str:
    """An IsoReconError's own message; any other error with its type (e.g. 'RuntimeError: CUDA out of memory')."""
    return str(error) if isinstance(error, IsoReconError) else f"{type(error).__name__}: {error}"


class JobController(JobStateMachine):
    """The state of one widget's job, and the job itself while one runs.

    ``title`` names the job in the status line ("Training failed: ..."), ``notice_title`` in notifications
    (default: ``title``); ``busy_message`` is the warning when a start is refused because this job or one of
    the ``blockers`` (other controllers it must not run beside) is busy.
    """

    def __init__(self, lifetime, title: str, busy_message: str, notice_title: str | None = None,
                 blockers: Iterable[JobStateMachine] = ()):
        super().__init__()
        self.title = title
        self.notice_title = notice_title or title
        self.busy_message = busy_message
        self.blockers = tuple(blockers)
        self.job: Job | None = None
        self.progress = None  # the napari progress bar of the running job
        self._status = None
        self._button = None
        self._look: JobLook | None = None
        self._on_event: Callable[[Any], None] = lambda event: None
        self._on_finished: Callable[[], None] | None = None
        lifetime.at_end(self.abandon)

    # ------------------------------------------------------------------ what the widget shows
    def show_on(self, button, status, look: JobLook, start: Callable[[], Any]) -> None:
        """Draw ``button`` (clicked: ``start()``, or Stop while running) and the ``status`` label from the
        state; ``status`` also gets the failure message (None: notification only)."""
        self._button, self._status, self._look = button, status, look
        button.clicked.connect(lambda *_: self.stop() if self.state is JobState.RUNNING else start())
        self.changed.connect(self._on_state_changed)
        for blocker in self.blockers:
            blocker.changed.connect(self._draw_button)
        self._draw_button()

    def _on_state_changed(self, state: JobState, _old) -> None:
        self._draw_button()
        note = {JobState.RUNNING: self._look.running_note, JobState.STOPPING: self._look.stopping_note}.get(state)
        if note is not None and self._status is not None:
            self._status.setText(note)

    def _draw_button(self, *_) -> None:
        look, state, button = self._look, self.state, self._button
        button.setText({JobState.RUNNING: look.stop, JobState.STOPPING: look.stopping}.get(state, look.start))
        button.setEnabled(state is not JobState.STOPPING and not self.blocked)
        tip = look.stop_tip if state is JobState.RUNNING else look.start_tip
        if tip is not None:
            button.setToolTip(tip)

    def add_blocker(self, other: JobStateMachine) -> None:
        """Also refuse to start while ``other`` runs (and redraw the button when it starts or ends)."""
        self.blockers += (other,)
        if self._button is not None:
            other.changed.connect(self._draw_button)
            self._draw_button()

    @property
    def blocked(self) -> bool:
        """True while one of the blockers runs."""
        return any(blocker.busy for blocker in self.blockers)

    # ------------------------------------------------------------------ running
    def refuse_start(self) -> bool:
        """True (and a warning) when a job may not start now: this one or a blocker is busy."""
        if self.busy or self.blocked:
            show_warning(self.busy_message)
            return True
        return False

    def start(self, events: Callable, on_event: Callable[[Any], None], desc: str,
              on_finished: Callable[[], None] | None = None, ticks: int = PROGRESS_TICKS) -> Job:
        """Run ``events(stop)`` in a worker with a napari progress bar (``ticks`` 0: a busy indicator) and
        move to RUNNING. ``on_event`` gets every event on the GUI thread except failures, which this
        shows; ``on_finished`` is called once the worker is done, before a job that ended without its
        final event is marked failed."""
        from napari.utils import progress

        self._on_event, self._on_finished = on_event, on_finished
        self.progress = progress(total=ticks, desc=desc)
        self.job = Job(events, self._receive, self._worker_done)
        self.move_to(JobState.RUNNING)
        return self.job.start()

    def stop(self) -> None:
        """Ask a running job to end after its current step, and move to STOPPING."""
        if self.state is JobState.RUNNING and self.job is not None:
            self.job.stop()
            self.move_to(JobState.STOPPING)

    def finish(self) -> None:
        """The job delivered its final event: DONE."""
        self.move_to(JobState.DONE)

    def advance(self, fraction: float, description: str) -> None:
        """Move the progress bar to ``fraction`` of the job with ``description``; each is touched only
        when it changes (a repaint costs the worker time on a small machine)."""
        bar = self.progress
        if bar is None:
            return
        ticks = int(fraction * PROGRESS_TICKS)
        if ticks > bar.n:
            bar.update(ticks - bar.n)
        if description != bar.desc.rstrip(": "):
            bar.set_description(description)

    def _receive(self, event) -> None:
        if not isinstance(event, JobFailed):
            self._on_event(event)
            return
        self.move_to(JobState.FAILED)
        message = failure_message(event.error)
        if self._status is not None:
            self._status.setText(f"{self.title} failed: {message}")
        show_error(f"{self.notice_title} failed: {message}")

    def _worker_done(self) -> None:
        self.job = None
        self._close_progress()
        if self._on_finished is not None:
            self._on_finished()
        if self.busy:  # the worker ended without a final event
            self.move_to(JobState.FAILED)

    def _close_progress(self) -> None:
        if self.progress is not None:
            self.progress.close()
            self.progress = None

    def abandon(self) -> None:
        """The widget is going away: stop the job, wait briefly for its thread, close the progress bar."""
        if self.job is not None:
            self.job.abandon()
            self.job = None
        self._close_progress()
