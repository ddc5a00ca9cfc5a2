"""What a dock widget must undo when it goes away: event connections, a running job, a progress bar.

napari destroys dock widgets when the viewer closes (Qt ``destroyed``) and re-parents them to None when
their dock is closed; in both cases the widget's Python methods may no longer touch Qt. A
:class:`WidgetLifetime` is a plain Python object owned by the widget that remembers those resources,
so ending them never goes through the dying widget.
"""

from __future__ import annotations

from qtpy.QtCore import QEvent, QObject

from .state import JobState

PROGRESS_TICKS = 100  # whole percents: the bar repaints only when the number changes


class WidgetLifetime(QObject):
    """Connections, the current job and its progress bar of one widget; :meth:`end` releases them all."""

    def __init__(self, widget):
        super().__init__()  # no parent: must outlive the widget's C++ object
        self._connections: list[tuple] = []
        self.job = None
        self.progress = None
        self.ended = False
        widget.installEventFilter(self)
        widget.destroyed.connect(self.end)

    def connect(self, emitter, callback) -> None:
        """``emitter.connect(callback)``, undone by :meth:`end`."""
        emitter.connect(callback)
        self._connections.append((emitter, callback))

    def disconnect(self, emitter, callback) -> None:
        """Undo one :meth:`connect` now."""
        for index, (known_emitter, known_callback) in enumerate(self._connections):
            if known_emitter == emitter and known_callback == callback:
                del self._connections[index]
                break
        try:
            emitter.disconnect(callback)
        except (TypeError, ValueError, RuntimeError):
            pass

    def start_job(self, events, on_event, on_finished, job_state, desc: str) -> None:
        """Run ``events(stop)`` in a worker with a napari progress bar, and move ``job_state`` to RUNNING."""
        from napari.utils import progress

        from .workers import Job

        self.progress = progress(total=PROGRESS_TICKS, desc=desc)
        self.job = Job(events, on_event, on_finished)
        job_state.move_to(JobState.RUNNING)
        self.job.start()

    def stop_job(self, job_state) -> None:
        """Ask a running job to end after its current step, and move ``job_state`` to STOPPING."""
        if job_state.state is JobState.RUNNING and self.job is not None:
            self.job.stop()
            job_state.move_to(JobState.STOPPING)

    def close_progress(self) -> None:
        if self.progress is not None:
            self.progress.close()
            self.progress = None

    def end(self, *_) -> None:
        """Stop the job (waiting briefly for its thread), close the progress bar, disconnect everything."""
        if self.ended:
            return
        self.ended = True
        if self.job is not None:
            self.job.abandon()
            self.job = None
        self.close_progress()
        for emitter, callback in self._connections:
            try:
                emitter.disconnect(callback)
            except (TypeError, ValueError, RuntimeError):
                pass
        self._connections.clear()

    def eventFilter(self, watched, event) -> bool:
        # A dock closed with its [x] button re-parents its widget to None: the widget is gone for good.
        if event.type() == QEvent.Type.ParentChange and watched.parent() is None and not self.ended:
            self.end()
        return False
