"""Compare two training settings on hidden sections of the same volume, and say which to use.

Each setting gets the hidden-section check (every other section hidden, a model trained on the rest,
the hidden sections predicted and scored); both are scored on the same sections, and the paired difference
of their scores, with its uncertainty, decides which is better. This is what
``isorecon validate VOLUME --compare acquisition=serial-sections acquisition=learn --out DIR`` does.

    python examples/compare_settings.py --out compare/              # the sample, 10 minutes per setting
    python examples/compare_settings.py --steps 300 --settings pairs=section pairs=kernel --out compare/

A setting is ``key=value[,key=value...]`` over the training settings (``TrainConfig`` field names, or the
short names ``pairs``, ``thickness``, ``spread``). Writes OUT/comparison.json, OUT/comparison.md and one
report folder per setting, replacing those of a previous run, and prints the recommendation.
"""

import argparse
from pathlib import Path

from napari_isorecon import TrainConfig, open_volume, z_factor_from_voxel_size
from napari_isorecon.core.checks.compare_settings import compare_settings, parse_settings
from napari_isorecon.core.events import HiddenSectionsChecked, SettingsCompared
from napari_isorecon.sample import anisotropic_sample


def main(argv=None):
    parser = argparse.ArgumentParser(description="Compare training settings on hidden sections.")
    parser.add_argument("--volume", type=Path, help="a tif / OME-TIFF / zarr (default: the shipped sample)")
    parser.add_argument("--settings", nargs="+", default=["acquisition=serial-sections", "acquisition=learn"],
                        help="two or more settings (default: acquisition=serial-sections acquisition=learn)")
    parser.add_argument("--minutes", type=float, default=10.0, help="budget per setting in minutes (default 10)")
    parser.add_argument("--steps", type=int, help="budget per setting in steps, instead of minutes")
    parser.add_argument("--out", type=Path, default=Path("isorecon-compare"), help="output folder")
    args = parser.parse_args(argv)

    volume, voxel_size = open_volume(args.volume) if args.volume else anisotropic_sample()
    settings = parse_settings(args.settings)  # a typo is refused here, before any work
    budget = {"steps": args.steps, "minutes": None} if args.steps else {"minutes": args.minutes}
    base = TrainConfig(z_factor=z_factor_from_voxel_size(voxel_size), **budget)  # what every setting starts from

    comparison = None
    for event in compare_settings(volume, base, settings):
        if isinstance(event, SettingsCompared):
            comparison = event.comparison
        elif isinstance(event.event, HiddenSectionsChecked):  # a PartEvent: one setting's check is done
            print(f"{event.part}: {event.event.report.verdict}")
    comparison.save(args.out, overwrite=True)
    print(comparison.recommendation)


if __name__ == "__main__":
    main()
