"""The reconstruction job both front-ends run: the cubic-interpolated twin (quick, shown first), the result, the
sharp output and the uncertainty when asked, and the optional circular consistency check, as
one stream of typed events; written to files when ``outputs`` says where (:mod:`.outputs`). Sections that are no
real image are filled from their neighbours first (``core.inference.filling``), once for the twin and the result
alike; for a volume larger than memory, :func:`lazy_reconstruct_events` gives both as lazy dask arrays made
from the filled (still lazy) volume."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..errors import IsoReconError
from ..events import InputConsistency, PartEvent, ReconFinished, stop_requested
from ..geometry import check_volume
from ..settings.config import ReconConfig
from .outputs import SHARP_IN_MEMORY, UNCERTAINTY_IN_MEMORY, Outputs, whole_depth_note, written

PARTS = ("input", "interpolated", "isotropic", "sharp", "uncertainty", "checks")  # in the order they run


def reconstruct_with_twin(volume, model, config: ReconConfig | None = None, *, twin: bool = True,
                          uncertainty: bool = False, consistency: bool = False, sharp: bool = False,
                          outputs: Outputs | None = None, stop=None, artefacts=None,
                          uncertainty_scale: float | None = None) -> Iterator[PartEvent]:
    """Interpolate (``twin``) and reconstruct ``volume`` with ``model``; every event comes as a
    ``PartEvent(part, event)`` with part "interpolated", "isotropic", "sharp", "uncertainty" or "checks". With
    ``sharp`` a "sharp" part follows the result: its ReconFinished holds the sharp output (``core.inference.sharp``), made in
    memory from the result and the (filled) input, with its consistency and section pulse in ``info``. With
    ``uncertainty`` an "uncertainty" part follows: the error model fitted on the input's own lateral planes
    (``core.inference.error_model``; ReconProgress while it fits), then a ReconFinished holding the standard
    deviation of the result's error per voxel, scaled by ``uncertainty_scale`` (the check's, for this volume) or
    the default scale, with the calibration in ``info``.

    Each of the first two yields ReconProgress, then ReconFinished and, for each volume that ``outputs`` names, an OutputWritten; before them, with
    ``config.fill_artefacts`` (the default), the input is scanned and, when it has sections that are no real
    image, an "input" part yields the SectionsFilled that names those filled for both; a .zarr output is
    computed block by block straight into the file (its ReconFinished holds the written array, opened
    lazily). A stopped part (ReconFinished.stopped) ends the job. With ``consistency`` a last "checks" part
    yields InputConsistency for the volumes held in memory (not for .zarr outputs, nor the uncertainty). Checks the input and
    the outputs at the call, before any work. ``artefacts``: a scan of ``volume`` already made
    (``core.checks.artefacts.find_section_artefacts``, e.g. by the training just before), used instead of
    scanning it again.
    """
    from ..settings.precision import check_runtime

    check_volume(volume)
    config = config or ReconConfig()
    check_runtime(config)  # an unusable device or precision is refused before the twin is made
    if outputs is not None:
        outputs.check()
        if sharp and outputs.blockwise("isotropic"):
            raise IsoReconError(SHARP_IN_MEMORY)
        if uncertainty and outputs.blockwise("isotropic"):
            raise IsoReconError(UNCERTAINTY_IN_MEMORY)
    source = _Source(volume, config.fill_artefacts, artefacts)
    inner = config.replace(fill_artefacts=False)  # filled once here, for both parts
    parts = [("input", source.prepare)]
    if twin:
        parts.append(("interpolated", lambda: interpolation(source.volume, model.z_factor, "cubic", inner,
                                                            source.outputs(outputs), stop)))
    parts.append(("isotropic", lambda: reconstruction(source.volume, model, inner, source.outputs(outputs), stop)))
    results = {}
    if sharp:
        parts.append(("sharp", lambda: sharpening(source.volume, results["isotropic"], model, outputs)))
    if uncertainty:
        parts.append(("uncertainty", lambda: error_estimate(source.volume, results["isotropic"],
                                                            results.get("interpolated"), model, inner,
                                                            uncertainty_scale, outputs, stop)))
    return _in_sequence(parts, (model, source) if consistency else None, results)


class _Source:
    """The job's input: the volume as given, or with its sections that are no real image filled from their
    neighbours (scanned when the job starts, not at the call, unless ``artefacts`` holds a scan already made)."""

    def __init__(self, volume, fill: bool, artefacts=None):
        self.volume, self.fill, self.artefacts, self.filled = volume, fill, artefacts, ()

    def prepare(self) -> Iterator:
        if not self.fill:
            return
        from ..inference.filling import fill_not_real

        self.volume, event = fill_not_real(self.volume, self.artefacts)
        if event is not None:
            self.filled = event.filled
            yield event

    def outputs(self, outputs: Outputs | None) -> Outputs | None:
        """``outputs`` whose blockwise resume manifests name the filled sections: a rerun that fills others
        (or none) does not resume blocks made from another input."""
        if outputs is None or not self.filled:
            return outputs
        from dataclasses import replace

        return replace(outputs, source=f"{outputs.source}|filled {','.join(map(str, self.filled))}")


def _in_sequence(parts, consistency_of, results: dict) -> Iterator[PartEvent]:
    """Run ``parts`` in order; ``results`` gets each part's final volume as it ends (a later part may use it)."""
    for part, make_events in parts:
        finished = None
        for event in make_events():
            if isinstance(event, ReconFinished):
                finished = event
            yield PartEvent(part, event)
        if part == "input":
            continue
        if finished is None or finished.stopped:
            return
        results[part] = finished.volume
    if consistency_of is not None:
        from ..checks.metrics import input_consistency  # imports torch

        model, source = consistency_of
        yield PartEvent("checks", InputConsistency({part: input_consistency(model, result, source.volume)
                                                    for part, result in results.items()
                                                    if isinstance(result, np.ndarray) and part != "uncertainty"}))


def sharpening(volume, faithful, model, outputs: Outputs | None = None) -> Iterator:
    """The sharp output of ``faithful`` (the result of ``model`` on ``volume``, in memory): ReconFinished with
    ``info`` holding the consistency with the sections and the section pulse of both, then OutputWritten when
    ``outputs`` names a "sharp" path."""
    import time

    from ..inference.sharp import model_section_thickness, section_pulse, sharpen

    start = time.perf_counter()
    sections = np.asarray(volume)
    faithful = np.asarray(faithful)
    sharp, info = sharpen(faithful, sections, model.z_factor, model_section_thickness(model))
    info.update(pulse_faithful=section_pulse(faithful, model.z_factor)["modulation"],
                pulse_sharp=section_pulse(sharp, model.z_factor)["modulation"])
    events = [ReconFinished(sharp, elapsed=time.perf_counter() - start, info=info)]
    return written(iter(events), outputs, "sharp", sections.shape[0], model.z_factor)


def error_estimate(volume, faithful, cubic, model, config: ReconConfig | None = None, scale: float | None = None,
                   outputs: Outputs | None = None, stop=None) -> Iterator:
    """The standard deviation of ``faithful``'s error per voxel (core.inference.error_model), fitted on
    ``volume``'s own lateral planes: ReconProgress while the error model fits, then ReconFinished (its ``info``
    says how it is calibrated), then OutputWritten when ``outputs`` names an "uncertainty" path. ``cubic``: the
    interpolated twin when it was made (else made here); ``scale``: the check's for this volume, or None for
    the default."""
    return written(_error_events(volume, faithful, cubic, model, config, scale, stop), outputs, "uncertainty",
                   volume.shape[0], model.z_factor)


def _error_events(volume, faithful, cubic, model, config, scale, stop) -> Iterator:
    import time

    from ..events import ErrorModelFitted, ReconProgress
    from ..inference.error_model import fit_error_model
    from ..inference.reconstruct import interpolate, run_to_end

    start = time.perf_counter()
    fitted = None
    for event in fit_error_model(volume, model, stop=stop):
        if isinstance(event, ErrorModelFitted):
            fitted = event
        else:
            yield ReconProgress("error model", event.step, event.steps, event.elapsed)
    if fitted is None or fitted.stopped or stop_requested(stop):
        yield ReconFinished(stopped=True, elapsed=time.perf_counter() - start)
        return
    errors = fitted.model
    if scale is not None:
        errors = errors.calibrated(scale, "the hidden-section check of this volume (the scale given)")
    if cubic is None:
        cubic = run_to_end(interpolate(volume, model.z_factor, "cubic", config or ReconConfig())).volume
    sigma = errors.sigma(np.asarray(faithful), np.asarray(cubic), volume.shape[0])
    yield ReconFinished(sigma, elapsed=time.perf_counter() - start,
                        info={"scale": errors.scale, "calibrated_on": errors.calibrated_on, **errors.info})


def interpolation(volume, z_factor: float, order: str = "cubic", config: ReconConfig | None = None,
                  outputs: Outputs | None = None, stop=None, job: str = "interpolate") -> Iterator:
    """Interpolate ``volume`` along z: in memory, written whole to the "interpolated" output if it has a path,
    or block by block into it when that is a .zarr (``job`` names the run in its resume manifest)."""
    from ..inference import reconstruct  # imports torch

    config = config or ReconConfig()
    n_slices = volume.shape[0]
    if outputs is None or not outputs.blockwise("interpolated"):
        return written(reconstruct.interpolate(volume, z_factor, order, config, stop), outputs, "interpolated",
                       n_slices, z_factor)
    from ..inference.blockwise import write_blockwise
    from ..networks.generators import AxialInterpolator

    net = AxialInterpolator(z_factor, order)
    events = write_blockwise(volume, net, z_factor, reconstruct.interpolation_normalizer(volume),
                             outputs.path("interpolated"), config, **_blockwise_args(outputs, n_slices, z_factor,
                                                                                      job, stop))
    return _noted(volume.shape, z_factor, net.receptive_radius, outputs,
                  written(events, outputs, "interpolated", n_slices, z_factor))


def reconstruction(volume, model, config: ReconConfig | None = None, outputs: Outputs | None = None,
                   stop=None) -> Iterator:
    """Reconstruct ``volume``: in memory, written whole to the "isotropic" output, or block by block when it is
    a .zarr."""
    config = config or ReconConfig()
    n_slices, z_factor = volume.shape[0], model.z_factor
    if outputs is None or not outputs.blockwise("isotropic"):
        from ..inference.reconstruct import reconstruct

        return written(reconstruct(volume, model, config, stop), outputs, "isotropic", n_slices, z_factor)
    from ..inference.blockwise import write_blockwise

    events = write_blockwise(volume, model.reconstruction_network(), z_factor, model.normalizer,
                             outputs.path("isotropic"), config,
                             **_blockwise_args(outputs, n_slices, z_factor, "reconstruct", stop))
    radius = model.reconstruction_network().receptive_radius
    return _noted(volume.shape, z_factor, radius, outputs, written(events, outputs, "isotropic", n_slices, z_factor))


def _blockwise_args(outputs: Outputs, n_slices: int, z_factor: float, job: str, stop) -> dict:
    return dict(block=outputs.block_size(), client=outputs.client, voxel_size=outputs.output_voxel(n_slices, z_factor),
                overwrite=outputs.overwrite, stop=stop, source_name=outputs.manifest_name(job))


def _noted(shape, z_factor, radius, outputs: Outputs, events) -> Iterator:
    note = whole_depth_note(shape, z_factor, radius, outputs.block_size())
    if note is not None:
        yield note
    yield from events


def lazy_reconstruct_events(volume, model, config: ReconConfig | None = None, stop=None) -> Iterator[PartEvent]:
    """The lazy job (:func:`lazy_reconstruct_with_twin`) as events, for a front-end that must not wait while
    the input is scanned (the scan reads every section's centre): with ``config.fill_artefacts``, an "input"
    part's SectionsFilled when sections were filled (the lazy parts are made from the filled, still lazy
    volume), then one ReconFinished per part holding its lazy dask array, "interpolated" then "isotropic"
    (``info["lazy"]`` is True). Stopped during the scan: one ReconFinished(stopped=True) and no array.
    Everything, the input's checks included, runs when iterated. The sharp output and the uncertainty are made
    in memory from the whole result, so not here."""
    config = config or ReconConfig()
    check_volume(volume)
    source = _Source(volume, config.fill_artefacts)
    for event in source.prepare():
        yield PartEvent("input", event)
    if stop_requested(stop):
        yield PartEvent("interpolated", ReconFinished(stopped=True))
        return
    parts = lazy_reconstruct_with_twin(source.volume, model, config.replace(fill_artefacts=False))
    info = {"lazy": True}
    yield PartEvent("interpolated", ReconFinished(parts["interpolated"], info=info))
    yield PartEvent("isotropic", ReconFinished(parts["isotropic"], info=info))


def lazy_reconstruct_with_twin(volume, model, config: ReconConfig | None = None) -> dict:
    """For a volume larger than memory (dask / zarr): lazy dask arrays whose blocks are computed when read,
    {"interpolated", "isotropic"}, of ``volume`` as it is (no section is filled here: :func:`lazy_reconstruct_events`
    fills them first). Checks the input at the call."""
    from ..inference.blockwise import interpolate_blockwise, reconstruct_model_blockwise

    return {"interpolated": interpolate_blockwise(volume, model.z_factor, "cubic", config),
            "isotropic": reconstruct_model_blockwise(volume, model, config)}
