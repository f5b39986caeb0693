"""CIF -> JARVIS Atoms -> PotNet graph: CGCNN atom features, local edges, potential edges.

A graph is kept as plain numpy arrays (`StructureGraph`) so that worker processes can build
them cheaply and pickle them back; `to_data` makes the PyG `Data` the model consumes.
"""

import dataclasses
import functools
import json
import logging
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np
import spglib
import torch
from jarvis.core.atoms import Atoms
from jarvis.core.specie import cgcnn_feature_json
from threadpoolctl import threadpool_limits
from torch_geometric.data import Data

from matfuse.potnet.lattice import lattice_points, minimal_displacements
from matfuse.potnet.potentials import pair_potentials

log = logging.getLogger(__name__)

# Distances closer than this count as the same shell when neighbours are cut at max_neighbors,
# so that symmetry-equivalent neighbours are kept or dropped together (permutation invariance).
SHELL_TOLERANCE = 1e-4
# Å: sites closer than this are the same site written twice (a broken structure).
OVERLAP_DISTANCE = 0.1


@dataclasses.dataclass(frozen=True)
class GraphSettings:
    """How a structure becomes a graph (PotNet's published defaults)."""

    cutoff: float = 4.0  # Å, local edges
    max_neighbors: int = 16  # per atom, nearest first
    max_sites: int = 200  # larger (primitive) cells are rejected: pair sums grow with n^2
    primitive: bool = True  # reduce to the primitive cell first, as JARVIS's from_cif does
    symprec: float = 1e-3  # Å, spglib tolerance of the primitive-cell search
    pauli_alpha: float = 3.0
    precision: float = 1e-8  # absolute truncation error of each potential sum


class StructureRejected(ValueError):
    """A structure that cannot become a graph; the message is the reason recorded for it."""


@dataclasses.dataclass
class StructureGraph:
    """One crystal's graph as arrays: node features, local edges, potentials of all n^2 pairs."""

    numbers: np.ndarray  # (n,) atomic numbers
    features: np.ndarray  # (n, 92) CGCNN features
    edge_index: np.ndarray  # (2, E) source j -> target i
    edge_distance: np.ndarray  # (E,) Å
    potentials: np.ndarray  # (n, n, 3) Coulomb, London, Pauli

    def to_data(self):
        n = len(self.numbers)
        pairs = np.indices((n, n)).reshape(2, -1)
        return Data(
            x=torch.from_numpy(self.features),
            edge_index=torch.from_numpy(self.edge_index),
            edge_distance=torch.from_numpy(self.edge_distance),
            pot_index=torch.from_numpy(pairs),
            pot_value=torch.from_numpy(self.potentials.reshape(n * n, 3).astype(np.float32)),
            num_nodes=n,
        )


def read_atoms(cif_path):
    """JARVIS's own CIF reader, without shelling out to cif2cell (as its default would)."""
    return Atoms.from_cif(str(cif_path), get_primitive_atoms=False, use_cif2cell=False)


def structure_graph(atoms, settings):
    """The graph of one JARVIS `Atoms`; raises `StructureRejected` with the reason."""
    lattice = np.array(atoms.lattice_mat, dtype=float)
    frac = np.array(atoms.frac_coords, dtype=float) % 1.0
    numbers = np.array(atoms.atomic_numbers, dtype=int)
    if abs(np.linalg.det(lattice)) < 1e-6:
        raise StructureRejected("degenerate lattice (zero cell volume)")
    if settings.primitive:
        lattice, frac, numbers = primitive_cell(lattice, frac, numbers, settings.symprec)
    if len(numbers) > settings.max_sites:
        raise StructureRejected(
            f"too large: {len(numbers)} sites in the primitive cell > max_sites {settings.max_sites}"
        )
    edge_index, edge_distance = local_edges(lattice, frac, settings.cutoff, settings.max_neighbors)
    return StructureGraph(
        numbers=numbers,
        features=atom_features(numbers),
        edge_index=edge_index,
        edge_distance=edge_distance,
        potentials=pair_potentials(lattice, frac, settings.pauli_alpha, settings.precision),
    )


def primitive_cell(lattice, frac, numbers, symprec):
    """spglib's primitive cell, positions not idealised; the cell itself when none is found."""
    found = spglib.standardize_cell(
        (lattice, frac, numbers), to_primitive=True, no_idealize=True, symprec=symprec
    )
    if found is None or len(found[2]) >= len(numbers):
        return lattice, frac, numbers
    return np.asarray(found[0]), np.asarray(found[1]) % 1.0, np.asarray(found[2])


def local_edges(lattice, frac, cutoff, max_neighbors):
    """Periodic neighbours within `cutoff`, the nearest `max_neighbors` per atom (ties kept)."""
    displacements = minimal_displacements(lattice, frac)  # r_j - r_i
    n = len(frac)
    translations = lattice_points(
        lattice, cutoff + np.linalg.norm(displacements, axis=-1).max()
    )
    vectors = displacements[:, :, None, :] + translations[None, None, :, :]
    distance = np.sqrt(np.einsum("ijtk,ijtk->ijt", vectors, vectors)).reshape(n, -1)
    if np.count_nonzero(distance < OVERLAP_DISTANCE) > n:  # more than each atom with itself
        raise StructureRejected(f"overlapping sites: two atoms closer than {OVERLAP_DISTANCE} Å")
    distance[(distance < 1e-8) | (distance > cutoff)] = np.inf
    limit = np.full(n, cutoff)
    if distance.shape[1] >= max_neighbors:
        kth = np.partition(distance, max_neighbors - 1, axis=1)[:, max_neighbors - 1]
        limit = np.minimum(limit, kth + SHELL_TOLERANCE)
    target, flat = np.nonzero(distance <= limit[:, None])
    source = flat // len(translations)
    return (
        np.stack([source, target]).astype(np.int64),
        distance[target, flat].astype(np.float32),
    )


@functools.cache
def _cgcnn_table():
    with open(cgcnn_feature_json) as stream:
        return {int(z): np.asarray(v, dtype=np.float32) for z, v in json.load(stream).items()}


def atom_features(numbers):
    """The 92-d CGCNN feature vector of each atom (the table jarvis-tools ships)."""
    table = _cgcnn_table()
    missing = sorted({int(z) for z in numbers if int(z) not in table})
    if missing:
        raise StructureRejected(f"no CGCNN atom features for atomic number(s) {missing}")
    return np.stack([table[int(z)] for z in numbers])


def graph_or_reason(cif_path, settings):
    """(StructureGraph, "") or (None, reason): one broken structure never stops the others."""
    try:
        atoms = read_atoms(cif_path)
    except Exception as error:  # JARVIS raises bare ValueErrors, IndexErrors, ... on bad CIFs
        return None, f"JARVIS could not read {cif_path}: {type(error).__name__}: {error}"
    try:
        return structure_graph(atoms, settings), ""
    except StructureRejected as error:
        return None, str(error)
    except Exception as error:
        return None, f"graph construction failed: {type(error).__name__}: {error}"


def _graphs_of_chunk(paths, settings):
    with threadpool_limits(1):
        return [graph_or_reason(path, settings) for path in paths]


def build_graphs(cif_paths, settings, processes=1, chunk_size=64):
    """`graph_or_reason` for every path, in order, spread over `processes` forked workers.

    Fork (not spawn) so that a Snakemake script is never re-imported by the workers."""
    chunks = [cif_paths[i : i + chunk_size] for i in range(0, len(cif_paths), chunk_size)]
    if processes <= 1 or len(chunks) <= 1:
        results = [_graphs_of_chunk(chunk, settings) for chunk in chunks]
    else:
        with ProcessPoolExecutor(processes, mp_context=get_context("fork")) as pool:
            results = list(pool.map(_graphs_of_chunk, chunks, [settings] * len(chunks)))
    return [item for chunk in results for item in chunk]
