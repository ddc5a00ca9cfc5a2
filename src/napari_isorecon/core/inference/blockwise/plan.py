"""The block plan: how a (Z, Y, X) input is cut into output blocks with a halo, on the z lattice (see the
package docstring for the z rule)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ...errors import IsoReconError
from ...geometry import output_depth

DEFAULT_BLOCK = (64, 256, 256)  # input voxels (z slices, y, x) per block, before the z lattice rule


@dataclass(frozen=True)
class Block:
    """One output block: where it reads (with halo), what it fills, and which part of its result it keeps."""

    index: tuple[int, int, int]
    read: tuple[slice, slice, slice]  # input region, halo included
    out: tuple[slice, slice, slice]  # output region filled by this block
    keep: tuple[slice, slice, slice]  # region of the halo'd result kept (z in output rows, y/x in read pixels)
    out_rows: int  # output rows of the halo'd read: (read z length) * D / Z

    @property
    def out_shape(self) -> tuple[int, int, int]:
        return tuple(s.stop - s.start for s in self.out)


@dataclass(frozen=True)
class BlockPlan:
    shape: tuple[int, int, int]  # input (Z, Y, X)
    depth: int  # output depth D = round(Z * f)
    z_edges: tuple[int, ...]  # input z edges, all on the lattice
    y_edges: tuple[int, ...]
    x_edges: tuple[int, ...]
    halo_z: int  # input rows, a multiple of the lattice
    halo_xy: int
    lattice: int  # g = Z / gcd(Z, D)

    @property
    def out_shape(self) -> tuple[int, int, int]:
        return (self.depth, self.shape[1], self.shape[2])

    @property
    def grid(self) -> tuple[int, int, int]:
        return (len(self.z_edges) - 1, len(self.y_edges) - 1, len(self.x_edges) - 1)

    @property
    def n_blocks(self) -> int:
        return math.prod(self.grid)

    def out_row(self, k: int) -> int:
        """Output row where input row ``k`` (a lattice point) starts: exactly ``k * D / Z``."""
        z = self.shape[0]
        if (k * self.depth) % z:
            raise AssertionError(f"z edge {k} is not on the lattice {self.lattice}")
        return k * self.depth // z

    @property
    def out_chunks(self) -> tuple[tuple[int, ...], ...]:
        """Dask chunks of the output: one chunk per block."""
        zs = [self.out_row(k) for k in self.z_edges]
        return (tuple(np.diff(zs).tolist()), tuple(np.diff(self.y_edges).tolist()),
                tuple(np.diff(self.x_edges).tolist()))

    def block(self, index) -> Block:
        i, j, k = index
        z, y, x = self.shape
        z0, z1 = self.z_edges[i], self.z_edges[i + 1]
        a, b = max(0, z0 - self.halo_z), min(z, z1 + self.halo_z)
        y0, y1 = self.y_edges[j], self.y_edges[j + 1]
        ya, yb = max(0, y0 - self.halo_xy), min(y, y1 + self.halo_xy)
        x0, x1 = self.x_edges[k], self.x_edges[k + 1]
        xa, xb = max(0, x0 - self.halo_xy), min(x, x1 + self.halo_xy)
        return Block(
            index=(i, j, k),
            read=(slice(a, b), slice(ya, yb), slice(xa, xb)),
            out=(slice(self.out_row(z0), self.out_row(z1)), slice(y0, y1), slice(x0, x1)),
            keep=(slice(self.out_row(z0) - self.out_row(a), self.out_row(z1) - self.out_row(a)),
                  slice(y0 - ya, y1 - ya), slice(x0 - xa, x1 - xa)),
            out_rows=self.out_row(b) - self.out_row(a),
        )

    def blocks(self) -> Iterator[Block]:
        nz, ny, nx = self.grid
        for i in range(nz):
            for j in range(ny):
                for k in range(nx):
                    yield self.block((i, j, k))

    def storage_chunks(self, max_z: int = 64) -> tuple[int, int, int]:
        """Zarr chunks for the output: a block's y/x size, and a divisor of its output height of at most
        ``max_z`` rows (so viewing one plane does not read a block's whole depth); blocks then always
        cover whole chunks and parallel writers never share one."""
        oz = self.out_row(self.z_edges[1])
        by, bx = self.y_edges[1], self.x_edges[1]
        if len(self.z_edges) == 2:  # one block in z: any chunk height is covered
            return (min(oz, max_z), by, bx)
        divisors = [d for d in range(min(oz, max_z), 0, -1) if oz % d == 0]
        cz = divisors[0] if divisors and divisors[0] >= min(16, oz) else oz
        return (cz, by, bx)

    def to_dict(self) -> dict:
        return {"shape": list(self.shape), "depth": self.depth, "z_edges": list(self.z_edges),
                "y_edges": list(self.y_edges), "x_edges": list(self.x_edges), "halo_z": self.halo_z,
                "halo_xy": self.halo_xy, "lattice": self.lattice}


def z_lattice(n_slices: int, depth: int) -> int:
    """Smallest input step ``g`` such that every multiple of it maps to a whole output row."""
    return n_slices // math.gcd(n_slices, depth)


def plan_blocks(shape, z_factor: float, radius: int, block=DEFAULT_BLOCK, halo=None) -> BlockPlan:
    """Cut a (Z, Y, X) input into blocks of about ``block`` input voxels (z slices, y, x); see the module
    docstring for the z rule. ``radius``: the network's ``receptive_radius``. ``halo``: (z rows, xy pixels)
    to override the halo (only to demonstrate what a too-small one does)."""
    z, y, x = (int(s) for s in shape)
    depth = output_depth(z, z_factor)  # checks the z-factor
    try:
        bz, by, bx = (int(b) for b in block)
    except (TypeError, ValueError):
        raise IsoReconError(f"Block size must be three integers (z, y, x), got {block!r}.") from None
    if min(bz, by, bx) < 1:
        raise IsoReconError(f"Block size must be positive, got {tuple(block)}.")
    g = z_lattice(z, depth)
    bz = max(g, int(round(bz / g)) * g)
    radius = max(0, int(radius))
    hz, hxy = (radius + 1, radius) if halo is None else (int(halo[0]), int(halo[1]))
    hz = int(math.ceil(hz / g)) * g

    def edges(n, step):
        return tuple(list(range(0, n, step)) + [n]) if step < n else (0, n)

    return BlockPlan(shape=(z, y, x), depth=depth, z_edges=edges(z, bz), y_edges=edges(y, by),
                     x_edges=edges(x, bx), halo_z=hz, halo_xy=hxy, lattice=g)



def iso_voxel_size(voxel_size, n_slices: int, z_factor: float):
    """Output voxel size (z, y, x): z spacing times Z / D, lateral unchanged (None stays None)."""
    if voxel_size is None:
        return None
    depth = output_depth(n_slices, z_factor)
    return (float(voxel_size[0]) * n_slices / depth, float(voxel_size[1]), float(voxel_size[2]))

