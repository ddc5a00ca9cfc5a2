"""The command line the stack experiments share (grid_source, hidden_bias, intensity_bias, phase_anchor): a
volume, its z-factor, a step budget, a seed and TrainConfig overrides (``--set field=python-literal``)."""

from __future__ import annotations

import argparse
import ast

from napari_isorecon.core.settings.config import TrainConfig


def stack_parser(steps: int = 1500) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    p.add_argument("volume")
    p.add_argument("--z-factor", type=float, default=10.0)
    p.add_argument("--steps", type=int, default=steps)
    p.add_argument("--set", nargs="*", default=[], help="TrainConfig field=value (python literal)")
    p.add_argument("--seed", type=int, default=0)
    return p


def settings_of(args) -> dict:
    """The ``--set`` overrides as {field: value}."""
    return {k: ast.literal_eval(v) for k, v in (s.split("=", 1) for s in args.set)}


def train_config(args, z_factor: float, **fixed) -> TrainConfig:
    """The TrainConfig of a run: ``args``' budget in steps, seed and overrides, at ``z_factor``."""
    return TrainConfig(z_factor=z_factor, steps=args.steps, minutes=None, seed=args.seed, **fixed,
                       **settings_of(args))
