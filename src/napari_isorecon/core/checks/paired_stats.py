"""Paired differences over the same hidden sections: what is robust (the median, the sections won) beside the
mean, its standard error and, where asked, a bootstrap interval of the mean.

A mean over sections follows one artefact (a duplicated section that interpolation scores 35 dB on); the median
and the count of sections won do not. A tie (difference exactly 0) is not a win.
"""

from __future__ import annotations

import math

import numpy as np

BOOTSTRAP_RESAMPLES = 2000


def paired_difference(first, second, bootstrap: bool = False, seed: int = 0) -> dict:
    """Statistics of ``first - second`` over sections (1D arrays of equal length, at least one section):
    ``mean``, ``sem`` (standard error of the mean; nan for one section), ``median``, ``sections_won`` (how many
    differences are > 0), ``ties`` (== 0), ``sections`` (n), ``wins`` (sections_won / n) and, with
    ``bootstrap``, ``ci95``: the 2.5th and 97.5th percentiles of the mean over resampled sections (seeded)."""
    diff = np.asarray(first, dtype=np.float64) - np.asarray(second, dtype=np.float64)
    n = int(diff.size)
    if n == 0:
        raise ValueError("a paired difference needs at least one section")
    won = int((diff > 0).sum())
    out = {"mean": float(diff.mean()),
           "sem": float(diff.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan"),
           "median": float(np.median(diff)), "sections_won": won, "ties": int((diff == 0).sum()),
           "sections": n, "wins": won / n}
    if bootstrap:
        rng = np.random.default_rng(seed)
        means = diff[rng.integers(0, n, size=(BOOTSTRAP_RESAMPLES, n))].mean(axis=1)
        out["ci95"] = [float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))]
    return out


def robustly_better(paired: dict) -> bool:
    """The first is better: its median paired difference is above 0 and it wins more than half the sections."""
    return paired["median"] > 0 and paired["sections_won"] > paired["sections"] / 2


def wins_text(paired: dict) -> str:
    """'7 of 9 sections' (ties said when there are any)."""
    ties = f", {paired['ties']} tied" if paired["ties"] else ""
    return f"{paired['sections_won']} of {paired['sections']} sections{ties}"
