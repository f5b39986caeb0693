"""Speed and memory of the structure modality on the 2,475 real Alexandria CIFs.

Prints: seconds per 1,000 structures for potentials + graphs (CIF read, primitive cell, local
edges, the three lattice sums; `--processes` workers) and for the random-mode embeddings, peak
memory, the largest cell handled, failures; and, side by side on a subset in one process, our
vectorised sums against a per-pair evaluation on PotNet's 7x7x7 translation grid (the way the
original code works: one pair at a time, R = 3 in real and reciprocal space), with the ratio.

    PYTHONPATH=src python benchmarks/potnet_benchmark.py [--processes 2] [--subset 200] [--cifs DIR]
"""

import argparse
import math
import resource
import time
from pathlib import Path

import numpy as np
import torch
from scipy.special import erfc
from threadpoolctl import threadpool_limits

from matfuse.potnet.embed import embed_graphs
from matfuse.potnet.graph import GraphSettings, build_graphs, local_edges, read_atoms
from matfuse.potnet.model import ModelSettings, PotNet
from matfuse.potnet.potentials import _upper_gamma_minus_3_2, pair_potentials

# The 2,475 structures live beside the repository, not in it (data/ ships 44 of them).
CIF_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "alexandria" / "lemat_genbench_structures_only"
VACUUM_PREFIXES = ("alexandria_agm1000", "alexandria_agm2000")  # 2D/1D-looking cells


def per_pair_grid_sums(lattice, frac, pauli_alpha=3.0, reach=3):
    """The baseline: each ordered pair on its own, sums over the (2R+1)^3 grid of translations
    (Ewald split with the balanced parameter for Coulomb and London), as PotNet's code does."""
    volume = abs(np.linalg.det(lattice))
    alpha = math.sqrt(math.pi) / volume ** (1 / 3)
    beta = pauli_alpha / math.sqrt(volume ** (1 / 3))
    axis = np.arange(-reach, reach + 1)
    grid = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), -1).reshape(-1, 3)
    translations = grid @ lattice
    g = grid @ (2 * math.pi * np.linalg.inv(lattice).T)
    g = g[np.any(grid != 0, axis=1)]
    g2 = np.einsum("ij,ij->i", g, g)
    y = g2 / (4 * alpha**2)
    coulomb_weight = 4 * math.pi / volume * np.exp(-y) / g2
    london_weight = math.pi**1.5 / (2 * volume) * (np.sqrt(g2) / 2) ** 3 * _upper_gamma_minus_3_2(y)
    cart = frac @ lattice
    n = len(cart)
    out = np.empty((n, n, 3))
    for i in range(n):
        for j in range(n):
            v = cart[i] - cart[j]
            r = np.linalg.norm(translations + v, axis=1)
            pauli = np.exp(-beta * r).sum()
            r = r[r > 1e-10]
            x = (alpha * r) ** 2
            cos = np.cos(g @ v)
            coulomb = (erfc(alpha * r) / r).sum() + coulomb_weight @ cos - math.pi / (alpha**2 * volume)
            london = (np.exp(-x) * (1 + x + x * x / 2) / r**6).sum() + london_weight @ cos
            london += math.pi**1.5 * alpha**3 / (3 * volume)
            if i == j:
                coulomb -= 2 * alpha / math.sqrt(math.pi)
                london -= alpha**6 / 6
            out[i, j] = coulomb, london, pauli
    return out


def peak_memory_mb():
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--subset", type=int, default=200, help="structures for the side-by-side baseline")
    parser.add_argument("--cifs", type=Path, default=CIF_DIR, help="folder of alexandria_*.cif")
    args = parser.parse_args()
    paths = sorted(args.cifs.glob("alexandria_*.cif"))
    settings = GraphSettings()
    per_1000 = 1000 / len(paths)
    print(f"{len(paths)} real Alexandria CIFs from {args.cifs.resolve()}")

    start = time.perf_counter()
    built = build_graphs(paths, settings, processes=args.processes)
    graph_seconds = time.perf_counter() - start
    failures = [(p.name, reason) for p, (g, reason) in zip(paths, built) if g is None]
    sizes = np.array([len(g.numbers) for g, _ in built if g is not None])
    vacuum = [p.name.startswith(VACUUM_PREFIXES) for p, (g, _) in zip(paths, built) if g is not None]
    print(
        f"potentials + graphs, {args.processes} processes: {graph_seconds:.1f} s = "
        f"{graph_seconds * per_1000:.1f} s per 1,000 structures (target <= 30 s; "
        f"original PotNet here: 277 s per 1,000 on 2 cores)"
    )
    print(
        f"  built {len(sizes)}, failed {len(failures)} {failures[:5]}; sites per primitive cell: "
        f"median {np.median(sizes):.0f}, max {sizes.max()}; {sum(vacuum)} 2D/1D-looking cells built; "
        f"potential edges {int((sizes**2).sum())}"
    )

    torch.set_num_threads(args.processes)
    data = [g.to_data() for g, _ in built if g is not None]
    torch.manual_seed(0)
    model = PotNet(ModelSettings())
    start = time.perf_counter()
    vectors = embed_graphs(model, data)
    embed_seconds = time.perf_counter() - start
    print(
        f"random-mode embeddings (hidden 256, {args.processes} torch threads): {embed_seconds:.1f} s = "
        f"{embed_seconds * 1000 / len(data):.1f} s per 1,000; finite: {np.isfinite(vectors).all()}"
    )
    own, children = peak_memory_mb()
    print(f"peak memory: main process {own:.0f} MB (all graphs + model), largest worker {children:.0f} MB")

    largest = paths[int(np.argmax([len(g.numbers) if g is not None else 0 for g, _ in built]))]
    atoms = read_atoms(largest)
    lattice, frac = np.array(atoms.lattice_mat), np.array(atoms.frac_coords) % 1.0
    for copies in (1, 2):  # the largest real cell, and twice it (the 200-site limit's scale)
        cell = lattice * [[copies], [1], [1]]
        cell_frac = np.concatenate([(frac + [k, 0, 0]) / [copies, 1, 1] for k in range(copies)])
        with threadpool_limits(1):
            start = time.perf_counter()
            pair_potentials(cell, cell_frac)
            local_edges(cell, cell_frac, settings.cutoff, settings.max_neighbors)
        print(
            f"{largest.name} x{copies}: {len(cell_frac)} sites, potentials + local edges "
            f"{time.perf_counter() - start:.2f} s in 1 process (original PotNet: 8.1 s at 80 sites, "
            f"59.5 s at 216)"
        )

    bulk = [p for p in paths if not p.name.startswith(VACUUM_PREFIXES)][: args.subset]
    cells = []
    for path in bulk:
        atoms = read_atoms(path)
        cells.append((np.array(atoms.lattice_mat), np.array(atoms.frac_coords) % 1.0))
    with threadpool_limits(1):
        start = time.perf_counter()
        ours = [pair_potentials(lattice, frac) for lattice, frac in cells]
        ours_seconds = time.perf_counter() - start
        start = time.perf_counter()
        grid = [per_pair_grid_sums(lattice, frac) for lattice, frac in cells]
        grid_seconds = time.perf_counter() - start
    deviation = max(np.abs(a - b).max() for a, b in zip(ours, grid))
    print(
        f"side by side, first {len(cells)} bulk structures as given (no primitive reduction), 1 process: "
        f"vectorised {ours_seconds:.2f} s, per-pair 7x7x7 grid {grid_seconds:.2f} s, "
        f"ratio {grid_seconds / ours_seconds:.1f}x; largest |difference| {deviation:.2e} "
        f"(the grid's truncation error on skewed cells)"
    )


if __name__ == "__main__":
    main()
