"""Reconstruct a zarr volume block by block into an OME-Zarr, with flat memory (any volume size).

The volume is read lazily; each output block is computed from its input block plus a halo and written to
the OME-Zarr as soon as it is done, so memory does not grow with the volume. The result equals the
whole-volume reconstruction, without seams. Run again, it resumes where it stopped. This is what
``isorecon reconstruct VOLUME.zarr --model model.pt --out isotropic.zarr --interpolated cubic.zarr`` does.

    python examples/large_zarr_blockwise.py --volume stack.zarr --out recon/    # a zarr / OME-Zarr of yours
    python examples/large_zarr_blockwise.py --block 4,64,64 --out recon/        # the sample, in 24 blocks

Without ``--volume`` the sample shipped with the package is written to OUT/input.zarr first (it is small,
hence the small blocks above). Trains a model on the volume (``--model`` reuses a saved one), then writes
OUT/isotropic.zarr and its cubic-interpolated twin OUT/interpolated.zarr, replacing those of a previous run.
"""

import argparse
from pathlib import Path

from napari_isorecon import (
    load_model,
    open_volume,
    save_model,
    save_volume,
    train_model,
    z_factor_from_voxel_size,
)
from napari_isorecon.core.events import OutputWritten, ReconProgress
from napari_isorecon.core.jobs import Outputs, reconstruct_with_twin
from napari_isorecon.sample import anisotropic_sample


def main(argv=None):
    parser = argparse.ArgumentParser(description="Reconstruct a zarr volume block by block into an OME-Zarr.")
    parser.add_argument("--volume", type=Path, help="a zarr / OME-Zarr (z, y, x) (default: the shipped sample)")
    parser.add_argument("--model", type=Path, help="a saved model (default: train one on the volume)")
    parser.add_argument("--minutes", type=float, default=10.0, help="training budget in minutes (default 10)")
    parser.add_argument("--steps", type=int, help="training budget in steps, instead of minutes")
    parser.add_argument("--block", default="64,256,256", help="input voxels per block, z,y,x (default 64,256,256)")
    parser.add_argument("--out", type=Path, default=Path("isorecon-blockwise"), help="output folder")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    source = args.volume
    if source is None:  # a zarr to start from: the sample, as an OME-Zarr with its voxel size
        sample, voxel_size = anisotropic_sample()
        source = save_volume(args.out / "input.zarr", sample, voxel_size, overwrite=True)
    volume, voxel_size = open_volume(source)  # a lazy dask array: nothing is read yet

    if args.model is not None:
        model = load_model(args.model)
    else:
        budget = {"steps": args.steps} if args.steps else {"minutes": args.minutes}
        model = train_model(volume, z_factor_from_voxel_size(voxel_size), **budget)
        save_model(model, args.out / "model.pt", overwrite=True)

    # a .zarr path is written block by block (a .tif would be written whole, from memory)
    outputs = Outputs({"isotropic": args.out / "isotropic.zarr", "interpolated": args.out / "interpolated.zarr"},
                      voxel=voxel_size, overwrite=True, block=tuple(int(v) for v in args.block.split(",")),
                      source=str(Path(source).resolve()))
    for part_event in reconstruct_with_twin(volume, model, outputs=outputs):
        event = part_event.event
        if isinstance(event, ReconProgress) and event.axis == "blocks":
            print(f"{part_event.part}: block {event.done}/{event.total}")
        elif isinstance(event, OutputWritten):
            print(f"{event.output} {event.shape} written to {event.path}")


if __name__ == "__main__":
    main()
