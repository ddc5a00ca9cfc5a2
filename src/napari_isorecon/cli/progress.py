"""Progress bars and Ctrl-C handling: the command line's way of consuming the core's job events."""

from __future__ import annotations

import signal
import sys
import threading
from contextlib import ExitStack, contextmanager
from pathlib import Path

from ..core.errors import IsoReconError


@contextmanager
def stop_on_interrupt(stop: threading.Event | None = None):
    """Ctrl-C sets a stop flag (the job ends cleanly between steps; ``stop``, else a new one); a second Ctrl-C
    aborts."""
    stop = stop if stop is not None else threading.Event()
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        # the flag first: a second Ctrl-C may arrive while the message is being written (Python runs its
        # handler there, inside this one), and it must find the first one counted
        stop.set()
        print("\nStopping after this step (Ctrl-C again to abort)...", file=sys.stderr)

    try:
        signal.signal(signal.SIGINT, handler)
    except ValueError:  # not in the main thread
        previous = None
    try:
        yield stop
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def progress_bar(total, desc):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="", file=sys.stderr, dynamic_ncols=True, mininterval=0.5,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining} {postfix}")


def advance(bar, fraction: float, **postfix) -> None:
    """Move the bar to ``fraction``; tqdm redraws at most every ``mininterval`` (a log stays short)."""
    bar.set_postfix(**postfix, refresh=False)
    bar.update(int(fraction * 1000) - bar.n)


class TrainProgress:
    """Training's events (core.training.train) drawn: ``announce`` and the sections' line first, then one
    progress bar; ``summary()`` says how training ended once it has."""

    def __init__(self, announce: str | None = None):
        self.announce, self.bar, self.first_stage, self.final = announce, None, None, None
        self.held = {}  # the last held-back score, shown after the losses

    def show(self, event) -> None:
        from ..core.events import (
            ArtefactsFound,
            HeldOutScore,
            PrecisionFellBack,
            StageStarted,
            TrainFinished,
            TrainStep,
        )

        if self.announce:  # once the input has passed its checks: with the first event
            print(self.announce, file=sys.stderr)
            self.announce = None
        if isinstance(event, ArtefactsFound):  # before the bar: the first event
            print(f"Sections: {event.describe()}", file=sys.stderr)
            return
        if self.bar is None:
            self.bar = progress_bar(1000, "train")
        if isinstance(event, StageStarted):
            if self.first_stage is None:
                self.first_stage = event.stage
                print(f"Training on {event.device} in {event.precision}", file=sys.stderr)
            self.bar.set_description(f"stage {event.stage}: {event.name}")
        elif isinstance(event, PrecisionFellBack):
            self.bar.write(event.describe(), file=sys.stderr)
        elif isinstance(event, TrainStep):
            shown = {k: f"{v:.3g}" for k, v in list(event.losses.items())[:4]}
            advance(self.bar, event.progress, step=event.step, **shown, **self.held)
        elif isinstance(event, HeldOutScore):  # compact: in the bar, "PSNR (best, evaluations without a gain)"
            self.held = {"held-back": f"{event.psnr:.2f}dB (best {event.best:.2f}, "
                                      f"{event.since_best}/{event.patience})"}
        elif isinstance(event, TrainFinished):
            self.final = event

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def summary(self):
        """Print the held-back curve and why training ended; (model, stopped)."""
        from ..core.jobs import describe_held_out

        final = self.final
        curve = describe_held_out(final.model.state.held_out)
        if curve:
            print(f"Held-back pairs: {curve}", file=sys.stderr)
        if final.stopped:
            print(f"Stopped after {final.steps} steps; the model trained so far is kept.", file=sys.stderr)
        elif final.converged:
            print(f"Stopped early after {final.steps} steps: {final.reason} (--no-early-stop trains to the end of "
                  "the budget).", file=sys.stderr)
        else:
            print(f"Training used its whole budget ({final.steps} steps).", file=sys.stderr)
        return final.model, final.stopped


def train_with_progress(volume, cfg, resume=None, autosave: Path | None = None, checkpoint_minutes: float = 0.0,
                        announce: str | None = None):
    """Train with a progress bar; every ``checkpoint_minutes`` the model so far is saved to ``autosave``
    (replaced each time), so that a killed process can resume from it. ``announce`` is printed once the input
    has passed its checks."""
    from ..core.jobs import train_with_autosave

    shown = TrainProgress(announce)
    with stop_on_interrupt() as stop:
        events = train_with_autosave(volume, cfg, stop, resume, autosave, checkpoint_minutes * 60.0)  # checks first
        for event in events:
            shown.show(event)
        shown.close()
    return shown.summary()


class PartsProgress:
    """A job of several parts (core.jobs.reconstruct_with_twin: ``PartEvent``s) drawn with one progress bar
    per part, ``verbs[part]`` naming it ("reconstruct"); each written volume printed as ``labels[output]``,
    and any notice. A stopped part is an error saying what was not written. ``finals``: {part: final event},
    with "checks" holding the InputConsistency when there is one."""

    def __init__(self, verbs: dict, labels: dict):
        self.verbs, self.labels = verbs, labels
        self.finals, self.bar, self.current = {}, None, None

    def show(self, part_event) -> None:
        from ..core.events import Notice, OutputWritten, ReconFinished, ReconProgress, SectionsFilled

        part, event = part_event.part, part_event.event
        if isinstance(event, SectionsFilled):  # the "input" part, before any bar
            print(event.describe(), file=sys.stderr)
            self.finals[part] = event
            return
        if part != self.current and part in self.verbs:
            self.close()
            self.bar, self.current = progress_bar(1000, self.verbs[part]), part
        if isinstance(event, ReconProgress):
            blockwise = event.axis == "blocks"
            advance(self.bar, event.progress, **({"blocks": f"{event.done}/{event.total}"} if blockwise
                                                 else {"axis": event.axis}))
        elif isinstance(event, OutputWritten):
            print(f"{self.labels[event.output]} {tuple(event.shape)} written to {event.path}")
        elif isinstance(event, Notice):
            print(f"Note: {event.text}", file=sys.stderr)
        else:  # ReconFinished, InputConsistency
            if isinstance(event, ReconFinished):
                self.bar.close()
                _check_finished(event, self.verbs[part])
                if part == "isotropic" and event.info.get("precision"):
                    print(f"The network ran in {event.info['precision']}.", file=sys.stderr)
            self.finals[part] = event

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_parts(events, verbs: dict, labels: dict) -> dict:
    """Drive a job of several parts (``events(stop)``, e.g. core.jobs.reconstruct_with_twin) as
    :class:`PartsProgress` draws it, Ctrl-C setting ``stop``; returns its ``finals``."""
    shown = PartsProgress(verbs, labels)
    with stop_on_interrupt() as stop:
        job = events(stop)  # checks input and outputs before any work
        try:
            for part_event in job:
                shown.show(part_event)
        finally:
            shown.close()
    return shown.finals


def run_main(job, stops: tuple, announce: str, saved, verbs: dict, labels: dict):
    """Drive core.jobs.run_main_job (made with ``stop=stops[0]``, ``reconstruction_stop=stops[1]``): its
    training drawn as :func:`train_with_progress` does, a Ctrl-C setting ``stops[0]`` (training ends, its model is
    still saved and reconstructed); ``saved(model, stopped)`` once the model is saved; then its reconstruction
    as :func:`run_parts` does, with a Ctrl-C of its own (``stops[1]``). Between the two, Ctrl-C aborts.
    Returns (model, finals)."""
    from ..core.events import ModelSaved, PartEvent, TrainFinished

    training, parts = TrainProgress(announce), PartsProgress(verbs, labels)
    with ExitStack() as phase:
        phase.enter_context(stop_on_interrupt(stops[0]))
        try:
            for event in job:
                if isinstance(event, PartEvent):
                    parts.show(event)
                elif isinstance(event, ModelSaved):
                    saved(training.final.model, training.final.stopped)
                    phase.enter_context(stop_on_interrupt(stops[1]))
                else:
                    training.show(event)
                    if isinstance(event, TrainFinished):
                        training.close()
                        phase.close()  # the training's Ctrl-C handler ends with it
                        training.summary()
        finally:
            training.close()
            parts.close()
            job.close()
    return training.final.model, parts.finals


def _check_finished(event, desc: str) -> None:
    info = event.info
    if event.stopped and "partial" in info:
        raise IsoReconError(f"{desc} stopped with {info['skipped'] + info['computed']} of {info['blocks']} blocks "
                            f"written to {info['partial']}; run the same command again to resume.")
    if event.stopped:
        raise IsoReconError(f"{desc} stopped before the end; its output was not written.")
    if info.get("skipped"):
        print(f"Resumed: {info['skipped']} of {info['blocks']} blocks were already written.", file=sys.stderr)
