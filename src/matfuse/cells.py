"""Whether a crystal cell is usable, and if not, its real cause in words.

pymatgen meets a degenerate cell deep inside ("Singular matrix", a thickness warning, then
"no structures"), and not at all when a structure comes as a dict. So every source checks its
cells here and the rejection says what is wrong: a near-zero lattice length, two collinear
lattice vectors, a flat (coplanar) cell, atoms on top of each other, a partially occupied site.
"""

import math
from collections.abc import Sequence

import numpy as np
from pymatgen.core import Structure

from matfuse.sources import InvalidEntry

# Atoms closer than this overlap (pymatgen's own proximity limit); a lattice length below it
# puts every atom that close to its own periodic image. Real cells: lengths > 2 Å, bonds > 0.7 Å.
MIN_DISTANCE = 0.5
# Lattice vectors within this many degrees of parallel span no cell.
MIN_ANGLE = 1.0
# Below this a cell is degenerate (real crystals have > 5 Å³ per atom); catches zero volume.
MIN_VOLUME_PER_SITE = 0.1
# A site's occupancies summing above 1 by more than rounding: atoms stacked on one site.
OCCUPANCY_TOLERANCE = 1e-3
# Each angle and the two lattice vectors it lies between.
ANGLES = [("α", "b", "c"), ("β", "a", "c"), ("γ", "a", "b")]


def check_cell(abc: Sequence[float], angles: Sequence[float]) -> None:
    """Raise InvalidEntry unless the lengths (Å) and angles (°) span a three-dimensional cell."""
    for axis, length in zip("abc", abc):
        if not (math.isfinite(length) and length >= MIN_DISTANCE):
            raise InvalidEntry(
                "structure", f"degenerate cell: zero thickness, lattice length {axis} = {length:.3g} Å"
            )
    for (name, u, v), angle in zip(ANGLES, angles):
        if not (math.isfinite(angle) and MIN_ANGLE <= angle <= 180 - MIN_ANGLE):
            raise InvalidEntry(
                "structure",
                f"degenerate cell: lattice vectors {u} and {v} are collinear ({name} = {angle:.4g}°)",
            )
    cos = np.cos(np.radians(angles))
    volume = math.prod(abc) * math.sqrt(max(0.0, 1 - (cos**2).sum() + 2 * cos.prod()))
    if volume < MIN_VOLUME_PER_SITE:
        shown = ", ".join(f"{a:.4g}°" for a in angles)
        raise InvalidEntry(
            "structure",
            f"degenerate cell: volume {volume:.3g} Å³, the lattice vectors are coplanar "
            f"(α, β, γ = {shown})",
        )


def check_structure(structure: Structure) -> None:
    """Reject cells a model cannot use: empty, degenerate, overlapping or partially occupied."""
    if len(structure) == 0:
        raise InvalidEntry("structure", "the structure has no sites")
    lattice = structure.lattice
    check_cell(lattice.abc, lattice.angles)
    volume = lattice.volume
    if volume < MIN_VOLUME_PER_SITE * len(structure):
        raise InvalidEntry(
            "structure", f"degenerate cell: volume {volume:.3g} Å³ for {len(structure)} sites"
        )
    for i, site in enumerate(structure):
        if site.species.num_atoms > 1 + OCCUPANCY_TOLERANCE:
            atoms = " and ".join(
                f"{amount:g} {element}" if amount != 1 else str(element)
                for element, amount in site.species.items()
            )
            raise InvalidEntry(
                "structure",
                f"overlapping atoms: {atoms} on one site (site {i} at fractional "
                f"{np.round(site.frac_coords, 4).tolist()}, 0 Å apart)",
            )
        if not site.is_ordered:
            raise InvalidEntry(
                "structure", f"disordered: site {i} has partial occupancy {site.species}"
            )
    check_no_overlap(structure)


def check_no_overlap(structure: Structure) -> None:
    """Raise InvalidEntry naming the closest pair of sites nearer than MIN_DISTANCE."""
    if len(structure) < 2:
        return
    first, second = np.triu_indices(len(structure), k=1)
    distances = structure.distance_matrix[first, second]
    close = distances < MIN_DISTANCE
    if close.any():
        k = int(np.argmin(distances))
        i, j = int(first[k]), int(second[k])
        others = int(close.sum()) - 1
        raise InvalidEntry(
            "structure",
            f"overlapping atoms: site {i} ({structure[i].label}) and site {j} "
            f"({structure[j].label}) are {distances[k]:.3g} Å apart (closer than {MIN_DISTANCE} Å)"
            + (f"; {others} more such pair(s)" if others else ""),
        )
