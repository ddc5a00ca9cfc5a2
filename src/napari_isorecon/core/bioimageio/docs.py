"""The human-readable parts of a bioimage.io package: its README, cover image, name and training facts."""

from __future__ import annotations

import numpy as np

from ..checks.kernel_summary import describe_kernel, model_kernel_summary
from ..model.phase_levels import describe_phase_levels


def model_name(model) -> str:
    """A name the spec accepts (letters, digits, ``_+- ()``)."""
    cfg = model.config
    factor = f"{cfg.z_factor:g}".replace(".", "p")
    return f"napari-isorecon z-factor {factor} ({cfg.backbone})"


def architecture_text(model) -> str:
    cfg = model.config
    stage = "stage-2 (supervised) network" if model.reconstructor is not None else "G_lh (stage 1 only)"
    return (f"{cfg.backbone} backbone ({cfg.channels} channels x {cfg.blocks} residual blocks), the {stage}, run "
            "over every xz and every yz slice of the volume; the two passes are averaged. Intensity "
            "normalisation, z upsampling and fusion are inside the TorchScript module.")


def describe_training(model) -> dict:
    """Fields of the spec's TrainingDetails."""
    cfg, state = model.config, model.state
    return {"training_preprocessing": (f"intensities mapped linearly to [0, 1] by the training volume's "
                                       f"{cfg.percentiles[0]:g} / {cfg.percentiles[1]:g} percentiles"),
            "training_batch_size": float(cfg.batch_size), "initial_learning_rate": float(cfg.lr_generators),
            "optimizer": "torch.optim.Adam",
            "optimizer_kwargs": {"betas": list(cfg.betas)},
            "loss_function": _loss_text(cfg),
            "training_duration": state.elapsed / 3600.0}


def _loss_text(cfg) -> str:
    stage2 = f"{cfg.stage2_loss.upper()} on {_pairs_name(cfg)} pairs"
    if not cfg.learns_degradation:
        return f"{stage2} (no stage 1)"
    return f"stage 1: least-squares GAN + L1 cycle (CycleGAN); stage 2: {stage2}"


def _pairs_name(cfg) -> str:
    if cfg.learns_degradation:
        return "learned-degradation"
    return f"declared-acquisition ({cfg.declared_sections()})"


def _kernel_table(model) -> str:
    taps = model.pair_kernel().detach().cpu().numpy().astype(np.float64)
    half = (taps.size - 1) // 2
    rows = [f"| {t - half:+d} | {w:.4f} |" for t, w in enumerate(taps) if abs(w) >= 5e-4]
    return "\n".join(["| offset (lateral px) | weight |", "|---:|---:|", *rows])


def _voxel_text(facts) -> str:
    voxel, unit = facts["voxel_size"], facts["unit"]
    if voxel is None:
        return "not given at export: the axes' scales are in lateral pixels (z-step = z-factor)"
    sz, sy, sx = voxel
    return f"{sz:g} x {sy:g} x {sx:g} {unit or '(no unit)'} (z, y, x)"


def package_readme(model, facts) -> str:
    """The package's documentation (Markdown)."""
    cfg, state, norm = model.config, model.state, model.normalizer
    f = cfg.z_factor
    scales = facts["scales"]
    radius = facts["receptive_radius"]
    stage1, stage2 = state.stage_steps
    xy_nm = facts["voxel_size"][1] if facts["voxel_size"] is not None and facts["unit"] == "nanometer" else None
    kernel = describe_kernel(model_kernel_summary(model, xy_nm))
    network = "the stage-2 network" if model.reconstructor is not None else "G_lh (training stopped in stage 1)"
    levels_where = "; the exported network takes the offsets off itself" if model.phase_levels is not None else ""
    if cfg.learns_degradation:
        how = "learned this volume's real axial degradation without ground truth"
        pairs = (f"{stage1} CycleGAN steps (stage 1: learn the degradation from unpaired lateral and axial "
                 f"patches of the volume), {stage2} supervised steps (stage 2: pairs made by the learned degradation)")
        degradation = "The learned degradation"
        origin = "The axial kernel G_hl learned"
    else:
        noise = ", with the volume's own pixel noise" if cfg.match_noise else ""
        how = (f"was trained on this volume's lateral images made into {cfg.declared_sections()} "
               f"(as declared){noise}")
        pairs = f"{stage2} supervised steps on pairs made from the volume's lateral patches as declared"
        degradation = "The section"
        origin = "The axial kernel of the declared section"
    return f"""# Isotropic reconstruction, z-factor {f:g} (napari-isorecon)

Makes an anisotropic 3D electron-microscopy volume isotropic: z is upsampled {f:g} times by a network that
{how} (after Deng et al., *Isotropic reconstruction of
3D EM images with unsupervised degradation learning*, MICCAI 2020, doi:10.1007/978-3-030-59722-1_16),
as implemented by napari-isorecon.

## What the model expects and gives
- **Input** `raw`: (batch, 1, z, y, x), the **raw intensities** of a volume like the training one, dtype
  `{norm.np_dtype.name}`. Do **not** normalise: the network maps intensities to its unit range itself with
  the training volume's fixed range ({norm.low:g} -> 0, {norm.high:g} -> 1; the {cfg.percentiles[0]:g} and
  {cfg.percentiles[1]:g} percentiles), so volumes of another contrast or bit depth must first be brought to
  the training volume's intensity range.
- **z-factor** {f:g} (z spacing / xy spacing). **Voxel size**: {_voxel_text(facts)}. z may be any
  {scales['z_min']} + n x {scales['z_step']} slices (so that z x {f:g} is whole), y and x any size from 16.
- **Output** `isotropic`: (batch, 1, round(z x {f:g}), y, x) in the input's dtype and intensities (integers
  rounded and clipped to the dtype). Output row j lies at input slice position (j + 0.5) / {f:g} - 0.5:
  each input slice is the centre of the {f:g} output rows it covers.
- The network runs {network} over every xz and every yz slice and averages the two results, exactly as
  `isorecon reconstruct` does; the package's test output was made by napari-isorecon's engine and the
  TorchScript module reproduces it (checked at export).

## What a consumer must still do
- **Tile large volumes.** The module processes a whole input at once; its memory grows with the output
  (4 bytes x z x {f:g} x y x x, a few times over). Cut a large volume into blocks with an overlap (halo) of
  at least **{radius} pixels in y and x** and **{radius + 1} slices in z**, run each block and keep only its
  interior. z block edges must be multiples of {scales['z_step']} input slices, so that each block's output
  rows land on the global grid. Without the halo, seams appear at block edges. napari-isorecon does this for
  you: `isorecon reconstruct VOLUME --model this.zip --out result.zarr` (block by block, flat memory).
- Give the output the voxel size {scales['output'][0]:g} x {scales['output'][1]:g} x {scales['output'][2]:g}
  (z, y, x; the output axes' scales) and shift it by half an input z-step minus half an output z-step
  so that it overlays the input.

## How it was trained
- napari-isorecon, backbone `{cfg.backbone}` ({cfg.channels} channels, {cfg.blocks} blocks); preset sizes
  G_hl {cfg.ghl_channels} x {cfg.ghl_blocks}, discriminators {cfg.disc_channels} channels.
- {state.step} steps: {pairs}, {state.elapsed / 60:.1f} minutes; patches {cfg.lr_rows} LR rows x {cfg.patch_width} px, batch {cfg.batch_size},
  seed {cfg.seed}.
- After training: {describe_phase_levels(model)}{levels_where}.
- Self-supervised on the volume itself: no isotropic ground truth was used. The test tensors and cover come
  from `{facts['source_name']}` {tuple(facts['source_shape'])}.

## {degradation}
{kernel}. {origin} (taps one lateral pixel apart along z, then sampling at the centre of
each group of {f:g} rows):

{_kernel_table(model)}

## Validation
No ground truth exists for a real anisotropic volume. To validate quantitatively, degrade an isotropic volume of
the same kind along z by {f:g} (`isorecon bench --volume ISO.tif --z-factor {f:g}` scores PSNR/SSIM of xz/yz
slices against the truth) or hide sections of the real volume and score their prediction (`isorecon validate`).
The package's test output equals `isorecon reconstruct` on the test input.

## Licence and citation
Weights under the package's licence; the test tensors and cover are crops of the training data, whose own licence
applies to them. Cite Deng et al., MICCAI 2020 (doi:10.1007/978-3-030-59722-1_16).
"""


def _display(image: np.ndarray, normalizer) -> np.ndarray:
    unit = normalizer.to_unit(image)
    return (np.clip(unit, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


def cover_image(before: np.ndarray, after: np.ndarray, normalizer, path, min_width: int = 480) -> None:
    """A PNG: the input xz slice (each slice repeated over the rows it covers) beside the reconstructed one,
    labelled, with the same grey mapping (the model's normaliser)."""
    from PIL import Image, ImageDraw

    rows, width = after.shape
    index = np.minimum((np.arange(rows) * before.shape[0]) // rows, before.shape[0] - 1)
    panels = [_display(before[index], normalizer), _display(after, normalizer)]
    gap = np.full((rows, 4), 255, np.uint8)
    image = np.concatenate([panels[0], gap, panels[1]], axis=1)
    zoom = max(1, int(np.ceil(min_width / image.shape[1])))
    image = np.kron(image, np.ones((zoom, zoom), np.uint8))
    label = 16
    canvas = Image.new("L", (image.shape[1], image.shape[0] + label), 255)
    canvas.paste(Image.fromarray(image), (0, label))
    draw = ImageDraw.Draw(canvas)
    draw.text((2, 2), "input xz (anisotropic)", fill=0)
    draw.text(((width + 4) * zoom + 2, 2), "isotropic xz (this model)", fill=0)
    canvas.save(path, format="PNG")
