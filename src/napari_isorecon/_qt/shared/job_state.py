"""The state of one long job in a widget (training or reconstruction), as a tiny evented state machine.

The widget's Start/Stop button and status line are drawn from it alone, so they cannot disagree
with what the worker is doing:

    idle --start--> running --stop--> stopping --> done | failed
                      |-------------------------> done | failed
    done | failed --start--> running
"""

from __future__ import annotations

from enum import Enum

from psygnal import Signal


class JobState(Enum):
    IDLE = "idle"
    RUNNING = "running"
    STOPPING = "stopping"
    DONE = "done"
    FAILED = "failed"

    @property
    def busy(self) -> bool:
        """True while a worker exists (a new job must not start)."""
        return self in (JobState.RUNNING, JobState.STOPPING)


_ALLOWED = {
    JobState.IDLE: {JobState.RUNNING},
    JobState.RUNNING: {JobState.STOPPING, JobState.DONE, JobState.FAILED},
    JobState.STOPPING: {JobState.DONE, JobState.FAILED},
    JobState.DONE: {JobState.RUNNING, JobState.IDLE},
    JobState.FAILED: {JobState.RUNNING, JobState.IDLE},
}


class JobStateMachine:
    """Holds the current :class:`JobState`; ``changed`` fires with (new, old) on every transition."""

    changed = Signal(JobState, JobState)

    def __init__(self) -> None:
        self._state = JobState.IDLE

    @property
    def state(self) -> JobState:
        return self._state

    @property
    def busy(self) -> bool:
        return self._state.busy

    def can_move_to(self, new: JobState) -> bool:
        return new in _ALLOWED[self._state]

    def move_to(self, new: JobState) -> None:
        """Go to ``new``; raises ``RuntimeError`` for a transition the diagram above does not allow."""
        if new is self._state:
            return
        if not self.can_move_to(new):
            raise RuntimeError(f"Cannot go from {self._state.value} to {new.value}.")
        old, self._state = self._state, new
        self.changed.emit(new, old)
