"""The sharp output's variants on a real stack's hidden sections: every other section hidden, the default settings
trained at 2F on the rest, and the hidden sections predicted from the faithful output, from the equaliser alone,
from the equaliser with each projection (smooth lift, plain lift), from the fine detail evened over the phases
(with and without the lift: "even detail C + lift" is the sharp output at cap C), from both together with the
lift ("sharp (both, lift)": ``sharpen(..., isotropic=True)``), and from the faithful output projected. Scores
PSNR / SSIM and the contrast ratio against the real hidden sections, and cubic's.

    python research/experiments/sharp_hidden.py --volume ../shared/data/sstem_cremi_4x4x40nm_train.tif \
        --z-factor 10 --steps 6000 --caps 1.5 2 4
"""

from __future__ import annotations

import argparse

import numpy as np


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--volume", required=True)
    ap.add_argument("--z-factor", type=float, default=10)
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--caps", type=float, nargs="+", default=[2.0])
    args = ap.parse_args(argv)
    import tifffile

    from napari_isorecon.core import TrainConfig, interpolate_volume, reconstruct_volume, train_model
    from napari_isorecon.core.checks.hidden_report import intensity_and_contrast
    from napari_isorecon.core.checks.hidden_sections import (
        check_config,
        predict_hidden,
        score_predictions,
        split_sections,
    )
    from napari_isorecon.core.inference.sharp import (
        equalise_z,
        equaliser_gain,
        even_detail,
        even_detail_gain,
        project_onto_sections,
        sharpen,
    )

    volume = tifffile.imread(args.volume)
    kept, hidden = split_sections(volume)
    cfg, thickness = check_config(TrainConfig(z_factor=args.z_factor, steps=args.steps, minutes=None,
                                              seed=args.seed))
    model = train_model(kept, config=cfg)
    f, kept_thickness = cfg.z_factor, cfg.section_thickness
    dense = {"faithful": reconstruct_volume(kept, model).astype(np.float64),
             "cubic": interpolate_volume(kept, f).astype(np.float64)}
    dense["faithful, projected"] = project_onto_sections(dense["faithful"], kept, f, kept_thickness)
    for cap in args.caps:
        freqs, gain = equaliser_gain(dense["faithful"], cap)
        equalised = equalise_z(dense["faithful"], freqs, gain)
        dense[f"equaliser {cap:g}"] = equalised
        dense[f"equaliser {cap:g} + smooth lift"] = project_onto_sections(equalised, kept, f, kept_thickness)
        dense[f"equaliser {cap:g} + plain lift"] = project_onto_sections(equalised, kept, f, kept_thickness, 0)
        evened = even_detail(dense["faithful"], even_detail_gain(dense["faithful"], f, cap))
        dense[f"even detail {cap:g}"] = evened
        dense[f"even detail {cap:g} + lift"] = project_onto_sections(evened, kept, f, kept_thickness)
        dense[f"sharp (both, lift), cap {cap:g}"] = sharpen(dense["faithful"], kept, f, kept_thickness, cap,
                                                             isotropic=True)[0]
    predictions = {name: np.clip(np.rint(predict_hidden(v, kept.shape[0], thickness)), 0, 255)
                   for name, v in dense.items()}
    scores = score_predictions(predictions, hidden)
    intensity, _ = intensity_and_contrast(predictions, hidden, np.arange(hidden.shape[0]))
    print(f"{args.volume}: {hidden.shape[0]} hidden sections, check at x{f:g}, {args.steps} steps, seed {args.seed}")
    for name, (psnr, ssim) in scores.items():
        print(f"{name:32s} PSNR {psnr.mean():.2f}  SSIM {ssim.mean():.3f}  contrast ratio "
              f"{intensity[name]['contrast_ratio']:.3f}")


if __name__ == "__main__":
    main()
