"""The public API's tasks: train a model, reconstruct or interpolate a volume, check the method on hidden
sections. Each function runs its job to the end and returns the result.

The jobs underneath are generators of typed events (:mod:`napari_isorecon.core.events`) that front-ends iterate to show
progress; they stay available from their modules for GUI-like use (:func:`napari_isorecon.core.training.train.train`,
:func:`napari_isorecon.core.inference.reconstruct.reconstruct` and ``interpolate``,
:func:`napari_isorecon.core.checks.hidden_sections.run_hidden_section_check`). Here a ``progress`` callback receives the same
events, and ``stop`` (a ``threading.Event`` or a callable returning bool) ends a job between steps.

Importing this module does not import torch: each function imports the engine when it runs.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import Any

from ..errors import IsoReconError
from ..settings.config import ReconConfig, TrainConfig
from .files import load_model

__all__ = ["interpolate_volume", "reconstruct_volume", "run_to_folder", "sharpen_volume", "train_model", "validate"]

Progress = Callable[[Any], None]


def _run(events, progress: Progress | None):
    """Iterate a job's events (each passed to ``progress``) and return the last one."""
    last = None
    for event in events:
        if progress is not None:
            progress(event)
        last = event
    return last


def _with_settings(config, settings: dict, kind: str):
    """``config`` (a frozen settings dataclass) with ``settings`` applied; a one-line error naming unknown ones."""
    known = {f.name for f in dataclasses.fields(config)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise IsoReconError(f"Unknown {kind} setting{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                            f"see {type(config).__name__} for the names.")
    return config.replace(**settings) if settings else config


def _train_config(z_factor, config: TrainConfig | None, resume, settings: dict) -> TrainConfig:
    """The run's TrainConfig: ``config`` (or the resumed model's, or the defaults) with the z-factor and
    ``settings`` applied. A budget given in steps replaces one in minutes and the other way round."""
    if resume is not None and z_factor is not None:
        from ..jobs.settings import _z_factor

        _z_factor(z_factor, resume)  # the rule (and words) of every front-end: a new model is needed
    base = config if config is not None else (resume.config if resume is not None else None)
    if base is None:
        if z_factor is None:
            raise IsoReconError("Give the z-factor (z spacing / xy spacing), e.g. z_factor_from_voxel_size(voxel_size).")
        base = TrainConfig(z_factor=z_factor)
    changes = dict(settings)
    if z_factor is not None:
        changes["z_factor"] = z_factor
    if changes.get("steps") is not None and "minutes" not in changes:
        changes["minutes"] = None
    elif changes.get("minutes") is not None and "steps" not in changes:
        changes["steps"] = None
    return _with_settings(base, changes, "training")


def _recon_config(config: ReconConfig | None, settings: dict) -> ReconConfig:
    return _with_settings(config if config is not None else ReconConfig(), settings, "reconstruction")


def train_model(volume, z_factor: float | None = None, config: TrainConfig | None = None, *,
                resume=None, progress: Progress | None = None, stop=None, **settings):
    """Train a model on ``volume`` itself and return it.

    Parameters
    ----------
    volume : array-like, shape (Z, Y, X)
        The anisotropic volume: a numpy, dask or zarr array (e.g. from :func:`open_volume`).
    z_factor : float, optional
        z spacing / xy spacing (> 1), e.g. ``z_factor_from_voxel_size(voxel_size)``. Required unless ``config``
        or ``resume`` gives it.
    config : TrainConfig, optional
        The settings to start from (default: ``TrainConfig()``, or ``preset("paper")`` for a GPU).
    resume : IsoModel, optional
        A model to continue (e.g. an autosaved checkpoint from :func:`load_model`) with its own settings
        unless others are given; the budget counts from the model's start. It is trained in place.
    progress : callable, optional
        Called with every event of the run (``StageStarted``, ``TrainStep``, ..., ``TrainFinished``;
        see :mod:`napari_isorecon.core.events`).
    stop : threading.Event or callable, optional
        Checked between steps; when set, training ends early and the model so far is returned.
    **settings
        Any :class:`TrainConfig` field, e.g. ``minutes=10`` or ``steps=2000`` (the budget),
        ``section_thickness=0`` (single planes, FIB-SEM), ``seed``, ``device``, ``precision``,
        ``early_stop=False`` (train to the end of the budget; by default stage 2 stops once its held-back pairs
        stop improving, and the final ``TrainFinished.reason`` says why the run ended).

    Returns
    -------
    IsoModel
        The trained model (:class:`napari_isorecon.core.model.iso_model.IsoModel`), ready for
        :func:`reconstruct_volume` and :func:`save_model`.

    Raises
    ------
    IsoReconError
        Bad settings, a volume too small for the z-factor, or a model to resume that cannot continue.

    Examples
    --------
    >>> from napari_isorecon.core import train_model
    >>> from napari_isorecon.sample import anisotropic_sample
    >>> volume, voxel_size = anisotropic_sample()  # (10, 100, 200), 50 x 10 x 10 nm
    >>> model = train_model(volume, z_factor=5, steps=4, device="cpu")  # a real run: minutes=10 (default)
    >>> model.z_factor, model.state.step
    (5.0, 4)
    """
    from ..training.train import train

    cfg = _train_config(z_factor, config, resume, settings)
    if resume is not None:
        from ..jobs.settings import check_budget_left

        check_budget_left(resume, cfg)
    return _run(train(volume, cfg, stop=stop, resume=resume), progress).model


def run_to_folder(volume, out_dir, z_factor: float | None = None, config: TrainConfig | None = None, *,
                  name: str = "volume", voxel_size=None, recon_config: ReconConfig | None = None,
                  sharp: bool = False, uncertainty: bool = False, uncertainty_scale: float | None = None,
                  consistency: bool = False, overwrite: bool = False, resume=None, checkpoint_minutes: float = 0.0,
                  progress: Progress | None = None, stop=None, reconstruction_stop=None, **settings):
    """The main job, as ``isorecon run`` does it: train a model on ``volume``, save it, then reconstruct
    ``volume`` with it and write the result and its cubic twin, all into one folder.

    Parameters
    ----------
    volume : array-like, shape (Z, Y, X)
        The anisotropic volume (numpy, dask or zarr), scanned once for sections that are no real image:
        training sets them aside, the reconstruction fills them from their neighbours.
    out_dir : str or path
        The folder, made once training has checked the volume. It gets ``<name>_model.pt``,
        ``<name>_isotropic.tif`` and ``<name>_interpolated.tif`` (and ``<name>_sharp.tif``,
        ``<name>_uncertainty.tif`` when asked for); a file already there is refused before any work unless
        ``overwrite``.
    z_factor : float, optional
        z spacing / xy spacing (> 1). Required unless ``config``, ``resume`` or ``voxel_size`` gives it.
    config : TrainConfig, optional
        The training settings to start from, as for :func:`train_model`.
    name : str, default "volume"
        The files' prefix.
    voxel_size : tuple of 3 floats, optional
        The input's (z, y, x), e.g. from :func:`open_volume`: the outputs are written with the isotropic one
        (:func:`isotropic_voxel_size`), and it gives the z-factor when nothing else does.
    recon_config : ReconConfig, optional
        How to reconstruct (default: on the training's device and precision).
    sharp, uncertainty, consistency : bool, default False
        Also write the sharp output (:func:`sharpen_volume`) and the uncertainty (the standard deviation of
        the result's error per voxel, scaled by ``uncertainty_scale``, e.g. the check's from :func:`validate`),
        and score the circular consistency with the input (an ``InputConsistency`` event).
    overwrite : bool, default False
        Replace the files of an earlier run.
    resume : IsoModel or path, optional
        A model to continue, e.g. ``<name>_model.pt.autosave`` of an interrupted run (see
        ``checkpoint_minutes``); without it such a checkpoint in the folder is refused, never overwritten.
    checkpoint_minutes : float, default 0
        Save the model so far to ``<name>_model.pt.autosave`` every so many minutes of training (0: never);
        it is removed once the model is saved.
    progress : callable, optional
        Called with every event: training's (``StageStarted``, ``TrainStep``, ..., ``TrainFinished``), then
        ``ModelSaved``, then the reconstruction's, each a ``PartEvent`` (see :mod:`napari_isorecon.core.events`).
    stop : threading.Event or callable, optional
        Checked between training steps; when set, training ends early and the model so far is still saved
        and reconstructed.
    reconstruction_stop : threading.Event or callable, optional
        Checked between batches of the reconstruction; when set, the volume being made is not written and
        the job ends.
    **settings
        Any :class:`TrainConfig` field, as for :func:`train_model` (``steps=2000``, ``device="cpu"``, ...).

    Returns
    -------
    dict
        The files written, by key (``"model.pt"``, ``"isotropic.tif"``, ``"interpolated.tif"``, ...) in the
        order above; a stopped reconstruction leaves out what it did not write.

    Raises
    ------
    IsoReconError
        Bad settings, a volume too small for the z-factor, an output that exists, or a model to resume
        that cannot continue.

    Examples
    --------
    >>> import tempfile
    >>> from napari_isorecon.core import run_to_folder
    >>> from napari_isorecon.sample import anisotropic_sample
    >>> volume, voxel_size = anisotropic_sample()  # z-factor 5
    >>> files = run_to_folder(volume, tempfile.mkdtemp(), name="sample", voxel_size=voxel_size, steps=2,
    ...                       device="cpu")  # a real run: minutes=10 (default)
    >>> [path.name for path in files.values()]
    ['sample_model.pt', 'sample_isotropic.tif', 'sample_interpolated.tif']
    """
    from ..events import ModelSaved, OutputWritten, PartEvent
    from ..jobs import check_autosave, check_budget_left, run_autosave, run_files, run_main_job

    if isinstance(resume, (str, os.PathLike)):
        check_autosave(run_autosave(out_dir, name), resume)
        resume = load_model(resume)
    if z_factor is None and config is None and resume is None and voxel_size is not None:
        from .files import z_factor_from_voxel_size

        z_factor = z_factor_from_voxel_size(voxel_size)
    cfg = _train_config(z_factor, config, resume, settings)
    if resume is not None:
        check_budget_left(resume, cfg)
    if recon_config is None:
        recon_config = ReconConfig(device=cfg.device, precision=cfg.precision)
    events = run_main_job(volume, cfg, out_dir, name, voxel=voxel_size, overwrite=overwrite,
                          recon_config=recon_config, consistency=consistency, sharp=sharp, uncertainty=uncertainty,
                          uncertainty_scale=uncertainty_scale, resume=resume, checkpoint_every=checkpoint_minutes,
                          stop=stop, reconstruction_stop=reconstruction_stop)
    written = set()
    for event in events:
        if progress is not None:
            progress(event)
        if isinstance(event, ModelSaved):
            written.add(event.path)
        elif isinstance(event, PartEvent) and isinstance(event.event, OutputWritten):
            written.add(event.event.path)
    files = run_files(out_dir, name, sharp=sharp, uncertainty=uncertainty)
    return {key: path for key, path in files.items() if path in written}


def reconstruct_volume(volume, model, config: ReconConfig | None = None, *, progress: Progress | None = None,
                       stop=None, **settings):
    """Reconstruct the isotropic volume with a trained model, in memory.

    Parameters
    ----------
    volume : array-like, shape (Z, Y, X)
        The anisotropic volume (numpy, dask or zarr), sampled as the model's training volume was.
    model : IsoModel or path
        A model from :func:`train_model` or :func:`load_model`, or the path of a model file.
    config : ReconConfig, optional
        How to run it (slice orientations, batch size, tiling, device, precision).
    progress : callable, optional
        Called with every event (``ReconProgress``, then ``ReconFinished``).
    stop : threading.Event or callable, optional
        Checked between batches of slices; when set, nothing is returned.
    **settings
        Any :class:`ReconConfig` field, e.g. ``device="cpu"``.

    Returns
    -------
    numpy.ndarray or None
        The isotropic volume, shape (round(Z * z_factor), Y, X), in the input's dtype; None when stopped.
        Its voxel size: :func:`isotropic_voxel_size`. For volumes larger than memory, write a ``.zarr``
        block by block with ``isorecon reconstruct`` or :mod:`napari_isorecon.core.inference.blockwise`.

    Raises
    ------
    IsoReconError
        A bad model file, bad settings, or a volume the model cannot run on.

    Examples
    --------
    >>> from napari_isorecon.core import reconstruct_volume, train_model
    >>> from napari_isorecon.sample import anisotropic_sample
    >>> volume, _ = anisotropic_sample()
    >>> model = train_model(volume, z_factor=5, steps=2, device="cpu")
    >>> isotropic = reconstruct_volume(volume, model, device="cpu")
    >>> isotropic.shape, isotropic.dtype
    ((50, 100, 200), dtype('uint8'))
    """
    from ..inference.reconstruct import reconstruct

    if isinstance(model, (str, os.PathLike)):
        model = load_model(model)
    return _run(reconstruct(volume, model, _recon_config(config, settings), stop=stop), progress).volume


def sharpen_volume(isotropic, volume, model):
    """The sharp output of a reconstruction: its fine detail evened out over the section period (as strong midway
    between two sections as at one; gain capped), then corrected so that the section model returns every input section
    (:mod:`napari_isorecon.core.inference.sharp`). It looks like a section; the isotropic result stays the more
    faithful on average (docs/method.md). In memory.

    Parameters
    ----------
    isotropic : array-like, shape (round(Z * z_factor), Y, X)
        The result of :func:`reconstruct_volume` for ``volume`` and ``model``.
    volume : array-like, shape (Z, Y, X)
        The anisotropic input it was made from.
    model : IsoModel or path
        The model (its z-factor and the section model of its pairs).

    Returns
    -------
    numpy.ndarray
        The sharp volume, the shape and dtype of ``isotropic``.

    Raises
    ------
    IsoReconError
        Shapes that do not belong together.

    Examples
    --------
    >>> from napari_isorecon.core import reconstruct_volume, sharpen_volume, train_model
    >>> from napari_isorecon.sample import anisotropic_sample
    >>> volume, _ = anisotropic_sample()
    >>> model = train_model(volume, z_factor=5, steps=2, device="cpu")
    >>> sharp = sharpen_volume(reconstruct_volume(volume, model, device="cpu"), volume, model)
    >>> sharp.shape, sharp.dtype
    ((50, 100, 200), dtype('uint8'))
    """
    import numpy as np

    from ..errors import IsoReconError
    from ..geometry import check_volume, output_depth
    from ..inference.sharp import model_section_thickness, sharpen

    if isinstance(model, (str, os.PathLike)):
        model = load_model(model)
    check_volume(volume)
    isotropic, volume = np.asarray(isotropic), np.asarray(volume)
    expected = (output_depth(volume.shape[0], model.z_factor), *volume.shape[1:])
    if isotropic.shape != expected:
        raise IsoReconError(f"The isotropic volume {isotropic.shape} is not the reconstruction of a volume of "
                            f"shape {volume.shape} at z-factor {model.z_factor:g} ({expected}).")
    sharp, _ = sharpen(isotropic, volume, model.z_factor, model_section_thickness(model))
    return sharp.astype(isotropic.dtype, copy=False)


def interpolate_volume(volume, z_factor: float, order: str = "cubic", config: ReconConfig | None = None, *,
                       progress: Progress | None = None, stop=None, **settings):
    """Interpolate ``volume`` along z to isotropic, with exactly the output geometry of
    :func:`reconstruct_volume` (the baseline to compare with).

    Parameters
    ----------
    volume : array-like, shape (Z, Y, X)
        The anisotropic volume.
    z_factor : float
        z spacing / xy spacing (> 1).
    order : {"cubic", "linear"}
        The interpolation.
    config : ReconConfig, optional
        Slice orientations, batch size and tiling (interpolation always runs in float32).
    progress : callable, optional
        Called with every event (``ReconProgress``, then ``ReconFinished``).
    stop : threading.Event or callable, optional
        Checked between batches of slices; when set, nothing is returned.
    **settings
        Any :class:`ReconConfig` field.

    Returns
    -------
    numpy.ndarray or None
        The interpolated volume, shape (round(Z * z_factor), Y, X), in the input's dtype; None when stopped.

    Raises
    ------
    IsoReconError
        A bad z-factor, order or volume.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_isorecon.core import interpolate_volume
    >>> ramp = np.repeat(np.arange(0, 200, 20, dtype=np.float32)[:, None, None], 32, axis=1).repeat(32, axis=2)
    >>> cubic = interpolate_volume(ramp, z_factor=4, device="cpu")
    >>> cubic.shape, bool(np.all(np.diff(cubic[:, 16, 16]) >= 0))
    ((40, 32, 32), True)
    """
    from ..inference.reconstruct import interpolate

    events = interpolate(volume, z_factor, order, _recon_config(config, settings), stop=stop)
    return _run(events, progress).volume


def validate(volume, z_factor: float | None = None, config: TrainConfig | None = None, *,
             progress: Progress | None = None, stop=None, uncertainty: bool = True, **settings):
    """Check the method on your data without ground truth: hide every other section, train on the rest
    (at twice the z-factor) with the same settings, predict the hidden sections and score ours, cubic
    interpolation and the mean of the two neighbours against the real ones (``isorecon validate``).

    Parameters
    ----------
    volume : array-like, shape (Z, Y, X)
        The anisotropic volume.
    z_factor : float, optional
        Its z spacing / xy spacing (the check trains at twice it). Required unless ``config`` gives it.
    config : TrainConfig, optional
        The training settings to check, as for :func:`train_model`.
    progress : callable, optional
        Called with every event (training's, ``CheckProgress``, then ``HiddenSectionsChecked``).
    stop : threading.Event or callable, optional
        Checked between steps; when set, no report is made.
    uncertainty : bool, default True
        Also fit the error model of the check's network and measure, at the hidden sections, how well its
        uncertainty ranks the error, how often its 90 % interval holds, and the scale that calibrates it for
        this volume (``report.uncertainty``; about a minute more).
    **settings
        Any :class:`TrainConfig` field; ``section_thickness`` is also what the hidden sections are
        predicted with.

    Returns
    -------
    HiddenSectionReport or None
        Per-section and mean PSNR / SSIM of each method, ``verdict`` in plain words, ``save(folder)``
        for report.json, report.md and report.png
        (:class:`napari_isorecon.core.checks.hidden_report.HiddenSectionReport`); None when stopped.
        It measures quality at twice your spacing: a lower bound.

    Raises
    ------
    IsoReconError
        Bad settings, or a volume too small to train on every other section.

    Examples
    --------
    >>> from napari_isorecon.core import validate
    >>> from napari_isorecon.sample import anisotropic_sample
    >>> volume, _ = anisotropic_sample()
    >>> report = validate(volume, z_factor=5, steps=4, device="cpu")  # a real check: minutes=10 (default)
    >>> sorted(report.summary), [s["index"] for s in report.sections]
    (['cubic', 'neighbour mean', 'ours', 'sharp'], [1, 3, 5, 7])
    """
    from ..checks.hidden_sections import run_hidden_section_check

    events = run_hidden_section_check(volume, _train_config(z_factor, config, None, settings), stop=stop,
                                      uncertainty=uncertainty)
    return _run(events, progress).report
