"""Progress bars and Ctrl-C handling: the command line's way of consuming the core's job events."""

from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

from ..core.errors import IsoReconError


@contextmanager
def stop_on_interrupt():
    """Ctrl-C sets a stop flag (the job ends cleanly between steps); a second Ctrl-C aborts."""
    stop = threading.Event()
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


def train_with_progress(volume, cfg, resume=None, autosave: Path | None = None, checkpoint_minutes: float = 0.0,
                        announce: str | None = None, checked=None, artefacts=None):
    """Train with a progress bar; every ``checkpoint_minutes`` the model so far is saved to ``autosave``
    (replaced each time), so that a killed process can resume from it. ``announce`` is printed and
    ``checked()`` called (e.g. to make the output folder) once the input has passed its checks. ``artefacts``: a
    scan of the volume already made (``core.checks.artefacts``), used instead of scanning it again."""
    from ..core.events import ArtefactsFound, PrecisionFellBack, StageStarted, TrainFinished, TrainStep
    from ..core.jobs import train_with_autosave

    final = None
    with stop_on_interrupt() as stop:
        events = train_with_autosave(volume, cfg, stop, resume, autosave, checkpoint_minutes * 60.0,  # checks first
                                     artefacts=artefacts)
        if checked is not None:
            checked()
        if announce:
            print(announce, file=sys.stderr)
        bar = None
        first_stage = None
        for event in events:
            if isinstance(event, ArtefactsFound):  # before the bar: the first event
                print(f"Sections: {event.describe()}", file=sys.stderr)
                continue
            if bar is None:
                bar = progress_bar(1000, "train")
            if isinstance(event, StageStarted):
                if first_stage is None:
                    first_stage = event.stage
                    print(f"Training on {event.device} in {event.precision}", file=sys.stderr)
                bar.set_description(f"stage {event.stage}: {event.name}")
            elif isinstance(event, PrecisionFellBack):
                bar.write(event.describe(), file=sys.stderr)
            elif isinstance(event, TrainStep):
                shown = {k: f"{v:.3g}" for k, v in list(event.losses.items())[:4]}
                advance(bar, event.progress, step=event.step, **shown)
            elif isinstance(event, TrainFinished):
                final = event
        if bar is not None:
            bar.close()
    if final.stopped:
        print(f"Stopped after {final.steps} steps; the model trained so far is kept.", file=sys.stderr)
    return final.model, final.stopped


def run_parts(events, verbs: dict, labels: dict) -> dict:
    """Drive a job of several parts (core.jobs.reconstruct_with_twin: ``PartEvent``s) with one progress
    bar per part, ``verbs[part]`` naming it ("reconstruct"); print each written volume as
    ``labels[output]`` and any notice. A stopped part is an error saying what was not written. Returns
    {part: final event}, with "checks" holding the InputConsistency when there is one."""
    from ..core.events import Notice, OutputWritten, ReconFinished, ReconProgress, SectionsFilled

    finals, bar, current = {}, None, None
    with stop_on_interrupt() as stop:
        job = events(stop)  # checks input and outputs before any work
        try:
            for part_event in job:
                part, event = part_event.part, part_event.event
                if isinstance(event, SectionsFilled):  # the "input" part, before any bar
                    print(event.describe(), file=sys.stderr)
                    finals[part] = event
                    continue
                if part != current and part in verbs:
                    if bar is not None:
                        bar.close()
                    bar, current = progress_bar(1000, verbs[part]), part
                if isinstance(event, ReconProgress):
                    blockwise = event.axis == "blocks"
                    advance(bar, event.progress, **({"blocks": f"{event.done}/{event.total}"} if blockwise
                                                   else {"axis": event.axis}))
                elif isinstance(event, OutputWritten):
                    print(f"{labels[event.output]} {tuple(event.shape)} written to {event.path}")
                elif isinstance(event, Notice):
                    print(f"Note: {event.text}", file=sys.stderr)
                else:  # ReconFinished, InputConsistency
                    if isinstance(event, ReconFinished):
                        bar.close()
                        _check_finished(event, verbs[part])
                        if part == "isotropic" and event.info.get("precision"):
                            print(f"The network ran in {event.info['precision']}.", file=sys.stderr)
                    finals[part] = event
        finally:
            if bar is not None:
                bar.close()
    return finals


def _check_finished(event, desc: str) -> None:
    info = event.info
    if event.stopped and "partial" in info:
        raise IsoReconError(f"{desc} stopped with {info['skipped'] + info['computed']} of {info['blocks']} blocks "
                            f"written to {info['partial']}; run the same command again to resume.")
    if event.stopped:
        raise IsoReconError(f"{desc} stopped before the end; its output was not written.")
    if info.get("skipped"):
        print(f"Resumed: {info['skipped']} of {info['blocks']} blocks were already written.", file=sys.stderr)
