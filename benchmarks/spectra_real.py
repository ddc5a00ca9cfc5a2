"""The axial spectra of volumes already reconstructed (nothing is reconstructed here): the section-period peak and
the z power per band as a share of the x power, and with ``--truth`` the z power share and correlation per band
against it (core.checks.spectra; the estimator is in that module's docstring).

    python benchmarks/spectra_real.py ours.tif cubic.tif --z-factor 12.5
    python benchmarks/spectra_real.py ours.tif cubic.tif --z-factor 10 --truth iso.tif --json spectra.json

``--z-factor`` is the factor each volume was reconstructed at (for a hidden-section check's reconstructions,
twice the stack's own). Bands of periods default to 2F-4F, F-2F, F/2-F, F/4-F/2 rows. Prints markdown tables;
``--json`` also writes the numbers.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def measure(path, z_factor: float, truth=None, window: str = "hann") -> dict:
    from napari_isorecon.core.checks.spectra import section_period_peak, z_band_power, z_vs_x_spectrum
    from napari_isorecon.core.io import open_volume

    volume, _ = open_volume(path)
    entry = {"shape": list(volume.shape),
             "section_peak": section_period_peak(volume, z_factor, window=window),
             "z_vs_x": z_vs_x_spectrum(volume, z_factor=z_factor, window=window)}
    if truth is not None:
        entry["z_bands"] = z_band_power(volume, truth, z_factor=z_factor, window=window)
    return entry


def markdown(results: dict, z_factor: float) -> str:
    from napari_isorecon.core.checks.spectra import band_label, peak_cell, period_bands, share_cell

    bands = [band_label(b) for b in period_bands(z_factor)]
    lines = [f"| volume | peak at 1/{z_factor:g} | peak at 2/{z_factor:g} | "
             + " | ".join(f"z/x {b} rows" for b in bands) + " |", "|---" * (len(bands) + 3) + "|"]
    for name, r in results.items():
        lines.append(f"| {name} | {peak_cell(r['section_peak'], '1/F')} | {peak_cell(r['section_peak'], '2/F')} | "
                     + " | ".join(share_cell(r["z_vs_x"]["bands"][b]) for b in bands) + " |")
    notes = {r["section_peak"]["note"] for r in results.values() if r["section_peak"]["note"]}
    lines += [f"({note}.)" for note in sorted(notes)]
    with_truth = {n: r for n, r in results.items() if "z_bands" in r}
    if with_truth:
        lines += ["", "Against the truth: z power share / correlation per band.", "",
                  "| volume | " + " | ".join(f"{b} rows" for b in bands) + " |", "|---" * (len(bands) + 1) + "|"]
        for name, r in with_truth.items():
            lines.append(f"| {name} | " + " | ".join(share_cell(r["z_bands"][b], True) for b in bands) + " |")
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("volumes", nargs="+", help="reconstructed volumes (tif / OME-TIFF / zarr), z y x")
    parser.add_argument("--z-factor", type=float, required=True, help="the factor they were reconstructed at")
    parser.add_argument("--truth", help="an isotropic volume of the same shape: adds share / correlation per band")
    parser.add_argument("--window", choices=("hann", "none"), default="hann",
                        help="hann (default) or none: the plain periodogram (the fine bands also hold the coarse "
                             "bands' leakage)")
    parser.add_argument("--json", help="also write the numbers here")
    args = parser.parse_args(argv)
    truth = None
    if args.truth:
        from napari_isorecon.core.io import open_volume

        truth, _ = open_volume(args.truth)
    results = {p: measure(p, args.z_factor, truth, args.window) for p in args.volumes}
    print(markdown(results, args.z_factor))
    if args.json:
        Path(args.json).write_text(json.dumps({"z_factor": args.z_factor, "window": args.window,
                                               "truth": args.truth, "volumes": results}, indent=2))
    return results


if __name__ == "__main__":
    main()
