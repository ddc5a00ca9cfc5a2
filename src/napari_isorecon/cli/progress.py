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
        print("\nStopping after this step (Ctrl-C again to abort)...", file=sys.stderr)
        stop.set()

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


def train_with_progress(volume, cfg, resume=None, autosave: Path | None = None, checkpoint_minutes: float = 0.0):
    """Train with a progress bar; every ``checkpoint_minutes`` the model so far is saved to ``autosave``
    (replaced each time), so that a killed process can resume from it."""
    from ..core.checkpoint import autosaving
    from ..core.events import StageStarted, TrainFinished, TrainStep
    from ..core.train import train

    final = None
    every = checkpoint_minutes * 60.0 if autosave is not None else 0.0
    with stop_on_interrupt() as stop:
        events = train(volume, cfg, stop=stop, resume=resume, snapshot_every=every)  # checks input first
        if every:
            events = autosaving(events, autosave)
        bar = progress_bar(1000, "train")
        for event in events:
            if isinstance(event, StageStarted):
                bar.set_description(f"stage {event.stage}: {event.name}")
            elif isinstance(event, TrainStep):
                shown = {k: f"{v:.3g}" for k, v in list(event.losses.items())[:4]}
                advance(bar, event.progress, step=event.step, **shown)
            elif isinstance(event, TrainFinished):
                final = event
        bar.close()
    if final.stopped:
        print(f"Stopped after {final.steps} steps; the model trained so far is kept.", file=sys.stderr)
    return final.model, final.stopped


def run_volume_job(events, desc):
    from ..core.events import ReconFinished, ReconProgress

    with stop_on_interrupt() as stop:
        job = events(stop)  # checks the input before any output
        with progress_bar(1000, desc) as bar:
            for event in job:
                if isinstance(event, ReconProgress):
                    advance(bar, event.progress, axis=event.axis)
                elif isinstance(event, ReconFinished):
                    if event.stopped:
                        raise IsoReconError(f"{desc} stopped before the end; its output was not written.")
                    return event.volume


def run_block_job(events, desc):
    """Drive a blockwise writer (core.blocks) with a progress bar; a stop keeps OUT.partial for a rerun."""
    from ..core.events import ReconFinished, ReconProgress

    with stop_on_interrupt() as stop:
        job = events(stop)  # checks input, output and any partial run before any work
        with progress_bar(1000, desc) as bar:
            for event in job:
                if isinstance(event, ReconProgress):
                    advance(bar, event.progress, blocks=f"{event.done}/{event.total}")
                elif isinstance(event, ReconFinished):
                    info = event.info
                    if event.stopped:
                        raise IsoReconError(
                            f"{desc} stopped with {info['skipped'] + info['computed']} of {info['blocks']} blocks "
                            f"written to {info['partial']}; run the same command again to resume.")
                    if info["skipped"]:
                        print(f"Resumed: {info['skipped']} of {info['blocks']} blocks were already written.",
                              file=sys.stderr)
                    return event.volume
