"""Is an 'isotropic' volume isotropic in its statistics? Mean power spectrum along z, y and x, by band.

    python research/experiments/axis_spectra.py ../shared/data/fibsem_medulla_iso10nm_250.tif \
        benchmarks/results/axis_spectra.json

The method assumes that xy content, degraded along one lateral axis, looks like the real axial content:
where the z spectrum differs from the y/x spectra, the degradation learned from the volume absorbs the
difference (see research/log.md).
"""

import json
import sys

import numpy as np
import tifffile


def band_power(volume: np.ndarray, bands) -> dict:
    v = volume.astype(np.float32)
    v -= v.mean()
    out = {}
    for axis, name in enumerate("zyx"):
        power = (np.abs(np.fft.rfft(v, axis=axis)) ** 2).mean(axis=tuple(a for a in range(3) if a != axis))
        out[name] = [float(power[lo:hi].mean()) for lo, hi in bands]
    return out


def main(path: str, out: str | None = None) -> dict:
    volume = tifffile.imread(path)
    n = min(volume.shape)
    volume = volume[:n, :n, :n]
    edges = [1, 10, 30, 60, 90, n // 2 + 1]
    bands = list(zip(edges[:-1], edges[1:], strict=True))
    power = band_power(volume, bands)
    report = {"volume": path, "shape": list(volume.shape),
              "bands (cycles per volume)": [f"{lo}-{hi - 1}" for lo, hi in bands],
              "z/y": [round(z / y, 2) for z, y in zip(power["z"], power["y"], strict=True)],
              "z/x": [round(z / x, 2) for z, x in zip(power["z"], power["x"], strict=True)],
              "power": power}
    text = json.dumps(report, indent=1)
    print(text)
    if out:
        with open(out, "w") as fh:
            fh.write(text + "\n")
    return report


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/fibsem_medulla_iso10nm_250.tif",
         sys.argv[2] if len(sys.argv) > 2 else None)
