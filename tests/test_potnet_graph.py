"""CIF -> PotNet graph on real Alexandria structures, and its invariances."""

import numpy as np
import pytest
from pymatgen.core import Structure

from matfuse.potnet.graph import (
    GraphSettings,
    StructureRejected,
    atom_features,
    build_graphs,
    graph_or_reason,
)

SETTINGS = GraphSettings()


@pytest.fixture(scope="module")
def real_cif(potnet_alexandria_cifs):
    """The first real 12-site Alexandria structure."""
    for path in potnet_alexandria_cifs:
        if len(Structure.from_file(path)) == 12:
            return path
    raise AssertionError("no 12-site structure")


def _variants(cif, tmp_path):
    """The same crystal as a 2x1x2 supercell, with atoms permuted, and translated."""
    structure = Structure.from_file(cif)
    supercell = structure.copy()
    supercell.make_supercell([2, 1, 2])
    order = np.random.default_rng(1).permutation(len(structure))
    permuted = Structure.from_sites([structure[i] for i in order])
    translated = structure.copy()
    translated.translate_sites(range(len(structure)), [0.37, 0.11, -0.42])
    paths = {}
    for name, variant in [("supercell", supercell), ("permuted", permuted), ("translated", translated)]:
        paths[name] = tmp_path / f"{name}.cif"
        variant.to(filename=str(paths[name]))
    return paths


def _sorted_rows(array):
    return array[np.lexsort(np.round(array, 6).T[::-1])]


def test_graph_of_a_real_structure(real_cif):
    graph, reason = graph_or_reason(real_cif, SETTINGS)
    assert reason == ""
    n = len(graph.numbers)
    assert graph.features.shape == (n, 92)
    assert graph.potentials.shape == (n, n, 3)
    np.testing.assert_allclose(graph.potentials, graph.potentials.transpose(1, 0, 2), atol=1e-10)
    assert graph.edge_distance.max() <= SETTINGS.cutoff
    assert graph.edge_distance.min() > 0.5
    neighbours = np.bincount(graph.edge_index[1], minlength=n)
    assert neighbours.min() >= 1
    # more than max_neighbors only where the cut falls inside a shell of equal distances
    for atom in np.flatnonzero(neighbours > SETTINGS.max_neighbors):
        distances = np.sort(graph.edge_distance[graph.edge_index[1] == atom])
        assert distances[-1] - distances[SETTINGS.max_neighbors - 1] <= 1e-4
    data = graph.to_data()
    assert data.pot_index.shape == (2, n * n)
    assert data.x.dtype == data.pot_value.dtype == data.edge_distance.dtype


def test_supercell_permutation_and_translation_give_the_same_graph(real_cif, tmp_path):
    reference, _ = graph_or_reason(real_cif, SETTINGS)
    n = len(reference.numbers)
    for name, path in _variants(real_cif, tmp_path).items():
        graph, reason = graph_or_reason(path, SETTINGS)
        assert reason == "", name
        assert len(graph.numbers) == n, f"{name}: not reduced to the primitive cell"
        assert sorted(graph.numbers) == sorted(reference.numbers)
        np.testing.assert_allclose(
            np.sort(graph.edge_distance), np.sort(reference.edge_distance), atol=1e-5, err_msg=name
        )
        np.testing.assert_allclose(
            _sorted_rows(graph.potentials.reshape(-1, 3)),
            _sorted_rows(reference.potentials.reshape(-1, 3)),
            atol=1e-6,
            err_msg=name,
        )


def test_failures_are_reasons_not_exceptions(real_cif, tmp_path):
    broken = tmp_path / "broken.cif"
    broken.write_text("data_broken\n_cell_length_a 3.0\n")
    too_small = GraphSettings(max_sites=4)
    assert graph_or_reason(tmp_path / "missing.cif", SETTINGS)[1].startswith("JARVIS could not read")
    assert graph_or_reason(broken, SETTINGS)[1].startswith("JARVIS could not read")
    graph, reason = graph_or_reason(real_cif, too_small)
    assert graph is None and reason.startswith("too large: 12 sites")
    doubled = Structure.from_file(real_cif)
    doubled.append(doubled[0].species, doubled[0].frac_coords + 1e-3)
    doubled.to(filename=str(tmp_path / "doubled.cif"))
    assert graph_or_reason(tmp_path / "doubled.cif", SETTINGS)[1].startswith("overlapping sites")
    with pytest.raises(StructureRejected, match=r"\[118\]"):
        atom_features(np.array([8, 118]))


def test_worker_processes_build_the_same_graphs(potnet_alexandria_cifs):
    paths = potnet_alexandria_cifs[:40]
    serial = build_graphs(paths, SETTINGS, processes=1, chunk_size=8)
    parallel = build_graphs(paths, SETTINGS, processes=2, chunk_size=8)
    for (a, _), (b, _) in zip(serial, parallel):
        np.testing.assert_array_equal(a.potentials, b.potentials)
        np.testing.assert_array_equal(a.edge_index, b.edge_index)
