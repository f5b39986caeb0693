"""Lattice geometry shared by the potential sums and the neighbour graph."""

import numpy as np


def lattice_points(matrix, radius):
    """Every lattice vector (rows of `matrix` combined with integers) no longer than `radius`.

    The box of integer coefficients is bounded through the dual vectors, which is exact for any
    basis, however skewed (vacuum cells of 2D/1D materials included)."""
    dual_norms = np.linalg.norm(np.linalg.inv(matrix), axis=0)
    reach = np.ceil(radius * dual_norms).astype(int)
    axes = [np.arange(-k, k + 1) for k in reach]
    coefficients = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    points = coefficients @ matrix
    return points[np.einsum("ij,ij->i", points, points) <= radius * radius]


def minimal_displacements(lattice, frac):
    """Cartesian r_j - r_i for all (i, j), with the fractional difference wrapped into [-1/2, 1/2).

    Wrapping keeps the vectors short, so a lattice sum around them needs few translations."""
    delta = frac[None, :, :] - frac[:, None, :]
    delta -= np.round(delta)
    return delta @ lattice
