"""Train, reconstruct and check a volume with the public Python API, on the sample shipped with the package.

Trains a model on the anisotropic FIB-SEM sample (10 x 100 x 200 voxels of 50 x 10 x 10 nm), reconstructs
the isotropic volume in memory and saves it as an OME-TIFF with its voxel size, then runs the hidden-section
check (ours against cubic interpolation on sections hidden from training) and prints its verdict.

    python examples/python_api.py --out isorecon-example          # 10 minutes of training, 10 for the check
    python examples/python_api.py --steps 300 --out /tmp/quick     # a quick look

Writes OUT/model.pt, OUT/isotropic.tif and OUT/check/ (report.json, report.md, report.png), replacing the
files a previous run of this script left there.
"""

import argparse
from pathlib import Path

from napari_isorecon import (
    isotropic_voxel_size,
    reconstruct_volume,
    save_model,
    save_volume,
    train_model,
    validate,
    z_factor_from_voxel_size,
)
from napari_isorecon.sample import anisotropic_sample


def main(argv=None):
    parser = argparse.ArgumentParser(description="Train, reconstruct and check the shipped sample.")
    parser.add_argument("--minutes", type=float, default=10.0, help="training budget in minutes (default 10)")
    parser.add_argument("--steps", type=int, help="training budget in steps, instead of minutes")
    parser.add_argument("--out", type=Path, default=Path("isorecon-example"), help="output folder")
    args = parser.parse_args(argv)
    budget = {"steps": args.steps} if args.steps else {"minutes": args.minutes}
    args.out.mkdir(parents=True, exist_ok=True)

    volume, voxel_size = anisotropic_sample()  # numpy (z, y, x) and its voxel size in nm; or open_volume(path)
    z_factor = z_factor_from_voxel_size(voxel_size)  # z spacing / xy spacing: 5
    model = train_model(volume, z_factor, **budget)
    save_model(model, args.out / "model.pt", overwrite=True)

    isotropic = reconstruct_volume(volume, model)
    iso_voxel = isotropic_voxel_size(voxel_size, len(volume), z_factor)
    path = save_volume(args.out / "isotropic.tif", isotropic, iso_voxel, overwrite=True)
    print(f"Isotropic volume {isotropic.shape} written to {path}")

    # is ours better than interpolation on this volume? Every other section is hidden, a model is trained on
    # the rest with the same budget, and the hidden sections are predicted and scored.
    report = validate(volume, z_factor, **budget)
    report.save(args.out / "check", overwrite=True)
    print(report.verdict)


if __name__ == "__main__":
    main()
