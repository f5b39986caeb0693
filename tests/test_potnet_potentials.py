"""The periodic potential sums against known constants, PotNet's own values and brute force."""

import numpy as np
import pytest
from pymatgen.core import Structure

from matfuse.potnet.lattice import lattice_points
from matfuse.potnet.potentials import pair_potentials

A = 5.64  # Å, rock salt, the textbook Madelung check
PRIMITIVE = np.array([[0, A / 2, A / 2], [A / 2, 0, A / 2], [A / 2, A / 2, 0]])
CONVENTIONAL = np.eye(3) * A
COULOMB, LONDON, PAULI = 0, 1, 2

# Values measured with the original PotNet code (its Coulomb sum is truncated at R = 3, which
# leaves errors of a few 1e-6; its London and Pauli sums agree with brute force to ~1e-8).
# The "conventional" cell is the doc's two-site test cell, not the 8-site rock-salt cell.
REFERENCE = {
    "primitive": (
        PRIMITIVE,
        [[0, 0, 0], [0.5, 0.5, 0.5]],
        {"Na-Na": [-0.812919077, 0.00359253477, 1.02223652], "Na-Cl": [-0.193219048, 0.0131139039, 0.0719133922]},
    ),
    "conventional": (
        CONVENTIONAL,
        [[0, 0, 0], [0.5, 0, 0]],
        {"Na-Na": [-0.503066941, 0.000261038232, 1.00537782], "Na-Cl": [-0.0170093923, 0.00415751068, 0.0597824647]},
    ),
}


@pytest.mark.parametrize("cell", REFERENCE)
def test_rock_salt_pairs_match_potnet_reference(cell):
    lattice, frac, expected = REFERENCE[cell]
    potentials = pair_potentials(lattice, np.array(frac, dtype=float))
    for (i, j), name in [((0, 0), "Na-Na"), ((0, 1), "Na-Cl")]:
        coulomb, london, pauli = expected[name]
        assert potentials[i, j, COULOMB] == pytest.approx(coulomb, abs=5e-6)
        assert potentials[i, j, LONDON] == pytest.approx(london, abs=1e-8)
        assert potentials[i, j, PAULI] == pytest.approx(pauli, abs=1e-8)
    np.testing.assert_allclose(potentials, potentials.transpose(1, 0, 2), atol=1e-12)


def _madelung(lattice, frac, charges, nearest):
    """-d * sum_j q_0 q_j Z(1; r_0 - r_j): the electrostatic energy of site 0 in units of 1/d."""
    potentials = pair_potentials(lattice, np.array(frac, dtype=float), precision=1e-12)
    return -nearest * charges[0] * (potentials[0, :, COULOMB] @ np.array(charges))


ROCK_SALT_CONVENTIONAL = [
    [0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0],  # Na
    [0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5], [0.5, 0.5, 0.5],  # Cl
]


def test_madelung_constant_of_rock_salt_in_either_cell():
    primitive = _madelung(PRIMITIVE, [[0, 0, 0], [0.5, 0.5, 0.5]], [1, -1], A / 2)
    conventional = _madelung(CONVENTIONAL, ROCK_SALT_CONVENTIONAL, [1] * 4 + [-1] * 4, A / 2)
    assert primitive == pytest.approx(1.747564594633, rel=1e-9)
    assert conventional == pytest.approx(1.747564594633, rel=1e-9)


def test_madelung_constant_of_cesium_chloride():
    a = 4.12
    madelung = _madelung(np.eye(3) * a, [[0, 0, 0], [0.5, 0.5, 0.5]], [1, -1], a * np.sqrt(3) / 2)
    assert madelung == pytest.approx(1.762674773070, rel=1e-9)


@pytest.fixture(scope="module")
def skewed_real_cell(potnet_alexandria_cifs):
    """A real triclinic Alexandria structure (TiInH, 24 sites, a 25 Å axis)."""
    structure = Structure.from_file(potnet_alexandria_cifs[0])
    assert len(structure) == 24
    return structure.lattice.matrix, structure.frac_coords


@pytest.mark.parametrize("lattice", [PRIMITIVE, "real"])
def test_sums_converge_within_the_requested_precision(lattice, skewed_real_cell):
    frac = np.array([[0, 0, 0], [0.5, 0.5, 0.5]])
    if isinstance(lattice, str):
        lattice, frac = skewed_real_cell
    exact = pair_potentials(lattice, frac, precision=1e-14)
    errors = [
        np.abs(pair_potentials(lattice, frac, precision=p) - exact).max()
        for p in (1e-3, 1e-5, 1e-7, 1e-9, 1e-11)
    ]
    assert all(e <= p for e, p in zip(errors, (1e-3, 1e-5, 1e-7, 1e-9, 1e-11)))
    assert errors == sorted(errors, reverse=True)


def _brute_force(lattice, frac, kernel, cutoff):
    """Plain sums over every translation within `cutoff` (r = 0 kept: the kernel decides)."""
    cart = frac @ lattice
    translations = lattice_points(lattice, cutoff + np.ptp(cart, axis=0).sum())
    out = np.empty((len(cart), len(cart)))
    for i in range(len(cart)):
        for j in range(len(cart)):
            r = np.linalg.norm(cart[i] - cart[j] + translations, axis=1)
            out[i, j] = kernel(r[r <= cutoff]).sum()
    return out


def test_london_and_pauli_equal_brute_force_sums(skewed_real_cell):
    lattice, frac = skewed_real_cell
    potentials = pair_potentials(lattice, frac)
    volume = abs(np.linalg.det(lattice))
    beta = 3.0 / np.sqrt(volume ** (1 / 3))
    pauli = _brute_force(lattice, frac, lambda r: np.exp(-beta * r), 40.0)
    np.testing.assert_allclose(potentials[..., PAULI], pauli, atol=1e-8)
    cutoff = 60.0
    with np.errstate(divide="ignore"):
        london = _brute_force(lattice, frac, lambda r: np.where(r > 0, r, np.inf) ** -6.0, cutoff)
    # beyond the cutoff the lattice looks like a continuum: tail 4 pi / (3 V R^3)
    london += 4 * np.pi / (3 * volume * cutoff**3)
    np.testing.assert_allclose(potentials[..., LONDON], london, atol=2e-8)


def test_supercell_images_add_up_to_the_primitive_sums(skewed_real_cell):
    """Sum over the supercell images of j of the (i, j') sums = the primitive (i, j) sum.

    Holds for Coulomb (background included) and London; not for PotNet's Pauli sum, whose decay
    is rescaled by the cell volume, which is why graphs are built on the primitive cell."""
    lattice, frac = skewed_real_cell
    n = len(frac)
    primitive = pair_potentials(lattice, frac)
    shift = np.array([[0, 0, 0], [1, 0, 0]])
    super_frac = np.concatenate([(frac + s) / [2, 1, 1] for s in shift])
    supercell = pair_potentials(lattice * [[2], [1], [1]], super_frac)
    summed = supercell[:n, :n] + supercell[:n, n:]
    np.testing.assert_allclose(summed[..., :2], primitive[..., :2], atol=1e-7)


def test_translation_and_permutation_only_relabel_pairs(skewed_real_cell):
    lattice, frac = skewed_real_cell
    reference = pair_potentials(lattice, frac)
    order = np.random.default_rng(0).permutation(len(frac))
    moved = (frac[order] + [0.31, -0.77, 0.05]) % 1.0
    np.testing.assert_allclose(pair_potentials(lattice, moved), reference[order][:, order], atol=1e-9)
