"""What a dock widget must undo when it goes away: event connections, and whatever registered with
:meth:`WidgetLifetime.at_end` (a running job and its progress bar: :mod:`.job_controller`).

napari destroys dock widgets when the viewer closes (Qt ``destroyed``) and re-parents them to None when
their dock is closed; in both cases the widget's Python methods may no longer touch Qt. A
:class:`WidgetLifetime` is a plain Python object owned by the widget that remembers those resources,
so ending them never goes through the dying widget.
"""

from __future__ import annotations

from contextlib import suppress

from qtpy.QtCore import QEvent, QObject


class WidgetLifetime(QObject):
    """Connections and end callbacks of one widget; :meth:`end` releases them all."""

    def __init__(self, widget):
        super().__init__()  # no parent: must outlive the widget's C++ object
        self._connections: list[tuple] = []
        self._endings: list = []
        self.ended = False
        widget.installEventFilter(self)
        widget.destroyed.connect(self.end)

    def connect(self, emitter, callback, **options) -> None:
        """``emitter.connect(callback, **options)``, undone by :meth:`end`."""
        emitter.connect(callback, **options)
        self._connections.append((emitter, callback))

    def disconnect(self, emitter, callback) -> None:
        """Undo one :meth:`connect` now."""
        for index, (known_emitter, known_callback) in enumerate(self._connections):
            if known_emitter == emitter and known_callback == callback:
                del self._connections[index]
                break
        with suppress(TypeError, ValueError, RuntimeError):
            emitter.disconnect(callback)

    def at_end(self, callback) -> None:
        """Call ``callback()`` first thing in :meth:`end` (e.g. a job controller ending its job)."""
        self._endings.append(callback)

    def end(self, *_) -> None:
        """Run the end callbacks (a job stops, waiting briefly for its thread), disconnect everything."""
        if self.ended:
            return
        self.ended = True
        for callback in self._endings:
            callback()
        self._endings.clear()
        for emitter, callback in self._connections:
            with suppress(TypeError, ValueError, RuntimeError):
                emitter.disconnect(callback)
        self._connections.clear()

    def eventFilter(self, watched, event) -> bool:
        # A dock closed with its [x] button re-parents its widget to None: the widget is gone for good.
        if event.type() == QEvent.Type.ParentChange and watched.parent() is None and not self.ended:
            self.end()
        return False
