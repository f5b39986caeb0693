"""`descriptors` mode: a fixed set of label-free symmetry and geometry descriptors per structure.

The tabular view of the paper's peer-reviewed version (Computation 13:282, 2025), which fed
structural descriptors to an FT-Transformer. Each structure gets the same `COLUMNS`, computed
with spglib (through pymatgen) and pymatgen's periodic neighbour list; nothing is fitted, so a
structure's row depends on it alone (a new one in `matfuse predict` gets what it would have got
in the study). Every column is invariant to site order, origin and the choice of cell
(supercell, non-standard setting): spglib finds the primitive cell through the pure
translations, point-group operations and orbits are read in its standardised conventional cell
(a supercell's basis cannot express them all), lattice shapes are the standardised
conventional cell's and the Niggli-reduced primitive cell's, and per-site neighbour statistics
are pooled over all sites.

The column set and the leak rule (which columns a volume target's models never see) are in
matfuse.descriptor_columns.
"""

import dataclasses
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np
import spglib
from pymatgen.core import Lattice, Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from matfuse.descriptor_columns import CENTERINGS, CRYSTAL_SYSTEMS, NAMES

# neighbours beyond twice a site's nearest distance are left out of its effective coordination:
# Hoppe's weight exp(1 - (l / l_av)^6) is below 1e-9 there while l_av is under 1.2x the nearest
ECON_RADIUS = 2.0
DESCRIPTION = "descriptors (spglib/pymatgen symmetry and geometry; nothing fitted, no target read)"


@dataclasses.dataclass(frozen=True)
class DescriptorSettings:
    """spglib's tolerances (pymatgen's defaults): Å for positions, degrees for angles."""

    symprec: float = 0.01
    angle_tolerance: float = 5.0


def descriptor_vectors(cif_paths, settings=DescriptorSettings(), processes=1):
    """(vector, "") or (None, reason) per CIF path, in order, over `processes` forked workers."""
    if processes <= 1 or len(cif_paths) <= 1:
        return [_vector_or_reason(path, settings) for path in cif_paths]
    with ProcessPoolExecutor(processes, mp_context=get_context("fork")) as pool:
        return list(pool.map(_vector_or_reason, cif_paths, [settings] * len(cif_paths), chunksize=16))


def _vector_or_reason(path, settings):
    try:
        structure = Structure.from_file(path)
    except Exception as error:
        return None, f"pymatgen could not read {path}: {type(error).__name__}: {error}"
    try:
        values = structure_descriptors(structure, settings)
    except Exception as error:
        return None, f"descriptors failed: {type(error).__name__}: {error}"
    vector = np.array([values[name] for name in NAMES], dtype=np.float64)
    if not np.isfinite(vector).all():
        bad = [name for name, value in zip(NAMES, vector) if not np.isfinite(value)]
        return None, f"descriptors not finite: {', '.join(bad)}"
    return vector.astype(np.float32), ""


def structure_descriptors(structure, settings=DescriptorSettings()):
    """{name: value} of one pymatgen Structure (ordered sites only: spglib needs species)."""
    if not structure.is_ordered:
        raise ValueError("a disordered structure (partial occupancies)")
    return {**_symmetry(structure, settings), **_geometry(structure)}


def _symmetry(structure, settings):
    analyzer = SpacegroupAnalyzer(structure, symprec=settings.symprec, angle_tolerance=settings.angle_tolerance)
    data = analyzer.get_symmetry_dataset()
    if data is None:
        raise ValueError(f"spglib found no symmetry (symprec={settings.symprec})")
    # the standardised conventional cell holds every operation of the point group as an integer
    # matrix, a supercell's basis not always: its operations and orbits are read there
    standard = spglib.get_symmetry_dataset(
        (data.std_lattice, data.std_positions, data.std_types), symprec=settings.symprec,
        angle_tolerance=settings.angle_tolerance,
    )
    if standard is None or standard.number != data.number:
        raise ValueError("spglib's standardised cell does not have the structure's space group")
    rotations = np.unique(np.asarray(standard.rotations, dtype=int), axis=0)
    values = {
        "spacegroup_number": data.number,
        "point_group_order": len(rotations),
        "centrosymmetric": float(any((r == -np.eye(3, dtype=int)).all() for r in rotations)),
        "symmetry_orbits": len(set(standard.equivalent_atoms)),
        "sites_primitive": len(set(data.mapping_to_primitive)),
    }
    system = analyzer.get_crystal_system()
    values.update({f"system_{name}": float(name == system) for name in CRYSTAL_SYSTEMS})
    centering = CENTERINGS[data.international[0]]
    values.update({f"centering_{name}": float(name == centering) for name in dict.fromkeys(CENTERINGS.values())})
    primitive = Lattice(data.primitive_lattice).get_niggli_reduced_lattice()
    for cell, lattice in (("conv", Lattice(data.std_lattice)), ("prim", primitive)):
        a, b, c = lattice.abc
        names = [f"{cell}_{n}" for n in ("b_a", "c_a", "alpha", "beta", "gamma")]
        values.update(zip(names, (b / a, c / a, *lattice.angles)))
    return values


def _geometry(structure):
    """Per-site nearest distance and effective coordination, pooled over sites (so a supercell,
    whose sites repeat the cell's equally often, gives the same), and the scale group."""
    n = len(structure)
    scale = (structure.volume / n) ** (1 / 3)
    nearest = _nearest_distances(structure, scale)
    centres, _, _, distances = structure.get_neighbor_list(ECON_RADIUS * nearest.max(), exclude_self=True)
    econ = np.array([_econ(distances[(centres == i) & (distances <= ECON_RADIUS * nearest[i])]) for i in range(n)])
    relative = nearest / scale
    return {
        **_stats("nn_rel", relative),
        **_stats("econ", econ),
        "packing_nn": float(np.pi / 6 * (nearest**3).sum() / structure.volume),
        "volume_per_atom": structure.volume / n,
        "density": float(structure.density),
        "nn_distance_mean": float(nearest.mean()),
    }


def _nearest_distances(structure, scale):
    """Each site's nearest-neighbour distance (periodic images included): the search radius
    grows from 1.5 (V/N)^(1/3) until every site has a neighbour (its own image at the latest)."""
    radius = 1.5 * scale
    while True:
        centres, _, _, distances = structure.get_neighbor_list(radius, exclude_self=True)
        nearest = np.full(len(structure), np.inf)
        np.minimum.at(nearest, centres, distances)
        if np.isfinite(nearest).all():
            return nearest
        radius *= 2


def _econ(lengths):
    """Hoppe's effective coordination number: weights exp(1 - (l / l_av)^6), with l_av their
    weighted mean, iterated from the shortest length to its fixed point."""
    average = lengths.min()
    for _ in range(100):
        weights = np.exp(1 - (lengths / average) ** 6)
        updated = (lengths * weights).sum() / weights.sum()
        if abs(updated - average) < 1e-12 * average:
            break
        average = updated
    return float(np.exp(1 - (lengths / average) ** 6).sum())


def _stats(prefix, values):
    return {
        f"{prefix}_min": float(values.min()),
        f"{prefix}_mean": float(values.mean()),
        f"{prefix}_max": float(values.max()),
        f"{prefix}_std": float(values.std()),
    }
