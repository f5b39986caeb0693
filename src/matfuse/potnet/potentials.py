"""PotNet's three periodic potential sums for every atom pair of a crystal, vectorised.

For atoms i, j with v = r_i - r_j and lattice L (rows = lattice vectors), summed over all
translations Lk (the k with Lk + v = 0 left out, except in the Pauli sum):
- Coulomb  Z(1; v): the Epstein zeta function, i.e. sum |Lk + v|^-1 continued analytically;
  equal to the Ewald potential with a neutralising background (Madelung constants follow from it).
- London   sum |Lk + v|^-6 (absolutely convergent; evaluated by the same Ewald split).
- Pauli    sum exp(-(alpha / sqrt(gamma)) |Lk + v|), gamma = det(L)^(1/3), the r = 0 term kept.

The Ewald split is exact for any splitting parameter; it is chosen so that the real-space part
needs the same translations as the Pauli sum. One set of translations serves all pairs, and the
reciprocal part comes from cos/sin structure factors in one matrix product, so the cost per pair
is a few hundred vector operations instead of a Python-level sum per pair.
Cutoffs follow from `precision`, an absolute bound on each sum's truncation error.
"""

import math

import numpy as np
from scipy.special import erfc, erfcinv

from matfuse.potnet.lattice import lattice_points, minimal_displacements

# Rows of translations x pairs evaluated at once: bounds the memory of one chunk to ~100 MB.
_CHUNK_ELEMENTS = 1 << 21


def pair_potentials(lattice, frac, pauli_alpha=3.0, precision=1e-8):
    """(n, n, 3) array: the Coulomb, London and Pauli lattice sums of every ordered pair (i, j).

    `lattice` holds the lattice vectors as rows (Å), `frac` the fractional coordinates (n, 3).
    The sums are symmetric in (i, j)."""
    lattice = np.asarray(lattice, dtype=float)
    frac = np.asarray(frac, dtype=float)
    volume = abs(np.linalg.det(lattice))
    beta = pauli_alpha / math.sqrt(volume ** (1 / 3))
    cutoff, alpha, g_cutoff = _cutoffs(volume, beta, precision)
    reciprocal = 2 * math.pi * np.linalg.inv(lattice).T
    # One more reciprocal shell: the continuum tail estimate is optimistic for coarse shells.
    g_cutoff += np.linalg.norm(reciprocal, axis=1).max()

    real = _real_space(lattice, frac, alpha, beta, cutoff)
    recip_coulomb, recip_london = _reciprocal_space(reciprocal, frac @ lattice, alpha, g_cutoff, volume)

    n = len(frac)
    self_pair = np.eye(n, dtype=bool)
    coulomb = real[..., 0] + recip_coulomb - math.pi / (alpha**2 * volume)
    coulomb[self_pair] -= 2 * alpha / math.sqrt(math.pi)
    london = real[..., 1] + recip_london + math.pi**1.5 * alpha**3 / (3 * volume)
    london[self_pair] -= alpha**6 / 6
    return np.stack([coulomb, london, real[..., 2]], axis=-1)


def _real_space(lattice, frac, alpha, beta, cutoff):
    """Short-range sums over translations: erfc(a r)/r, the London Ewald kernel, exp(-b r)."""
    n = len(frac)
    displacements = minimal_displacements(lattice, frac)
    rows, cols = np.triu_indices(n)
    pairs = displacements[rows, cols]
    translations = lattice_points(lattice, cutoff + np.linalg.norm(pairs, axis=1).max())
    chunk = max(1, _CHUNK_ELEMENTS // len(translations))
    sums = np.empty((len(pairs), 3))
    for start in range(0, len(pairs), chunk):
        vectors = pairs[start : start + chunk, None, :] + translations[None, :, :]
        r = np.sqrt(np.einsum("ptk,ptk->pt", vectors, vectors))
        sums[start : start + chunk, 2] = np.exp(-beta * r).sum(axis=1)
        r[r < 1e-10] = np.inf  # the excluded r = 0 term of the Coulomb and London sums
        inverse = 1 / r
        inverse2 = inverse * inverse
        a2 = alpha * alpha
        london = np.exp(-a2 * r * r) * inverse2 * (inverse2 * (inverse2 + a2) + a2 * a2 / 2)
        sums[start : start + chunk, 0] = (erfc(alpha * r) * inverse).sum(axis=1)
        sums[start : start + chunk, 1] = london.sum(axis=1)
    full = np.empty((n, n, 3))
    full[rows, cols] = sums
    full[cols, rows] = sums
    return full


def _reciprocal_space(reciprocal, cart, alpha, g_cutoff, volume):
    """Long-range Ewald parts as (C diag(w) C^T + S diag(w) S^T): cos(G.(r_i - r_j)) summed."""
    g = lattice_points(reciprocal, g_cutoff)
    g2 = np.einsum("ij,ij->i", g, g)
    g, g2 = g[g2 > 1e-12], g2[g2 > 1e-12]
    y = g2 / (4 * alpha**2)
    coulomb_weight = 4 * math.pi / volume * np.exp(-y) / g2
    london_weight = math.pi**1.5 / (2 * volume) * (np.sqrt(g2) / 2) ** 3 * _upper_gamma_minus_3_2(y)
    phase = cart @ g.T
    cos, sin = np.cos(phase), np.sin(phase)
    weights = np.stack([coulomb_weight, london_weight])
    sums = np.einsum("ig,wg,jg->wij", cos, weights, cos) + np.einsum("ig,wg,jg->wij", sin, weights, sin)
    return sums[0], sums[1]


def _upper_gamma_minus_3_2(y):
    """Γ(-3/2, y) from Γ(1/2, y) = √π erfc(√y) by the recurrence Γ(a, y) = (Γ(a+1, y) - y^a e^-y)/a."""
    root = np.sqrt(y)
    gamma_half = math.sqrt(math.pi) * erfc(root)
    gamma_minus_half = 2 * (np.exp(-y) / root - gamma_half)
    return (2 / 3) * (np.exp(-y) / (y * root) - gamma_minus_half)


def _pauli_cutoff(beta, volume, precision):
    """Radius beyond which sum exp(-b r) adds less than `precision` (continuum tail estimate)."""
    radius = math.log(1 / precision) / beta
    for _ in range(6):
        tail = 4 * math.pi / volume * (radius**2 / beta + 2 * radius / beta**2 + 2 / beta**3)
        radius = max(radius, math.log(tail / precision) / beta)
    return radius


def _cutoffs(volume, beta, precision):
    """Real-space radius, Ewald splitting parameter and reciprocal radius for `precision`.

    Starts from the balanced split sqrt(pi)/V^(1/3); when the Pauli sum needs a longer radius
    anyway, the split moves so the real-space part uses it, which shrinks the reciprocal part."""
    alpha = math.sqrt(math.pi) / volume ** (1 / 3)
    cutoff = _erfcinv_clamped(precision / _real_tail_scale(alpha, volume)) / alpha
    pauli = _pauli_cutoff(beta, volume, precision)
    if pauli > cutoff:
        cutoff = pauli
        for _ in range(4):
            alpha = _erfcinv_clamped(precision / _real_tail_scale(alpha, volume)) / cutoff
    g_cutoff = 2 * alpha * _erfcinv_clamped(precision / _reciprocal_tail_scale(alpha))
    return cutoff, alpha, g_cutoff


def _real_tail_scale(alpha, volume):
    """Tail of the real-space sums beyond r is about this times erfc(alpha r)."""
    return max(2 * math.pi / (volume * alpha**2), math.pi**1.5 * alpha**3 / volume)


def _reciprocal_tail_scale(alpha):
    """Tail of the reciprocal sums beyond G is about this times erfc(G / (2 alpha))."""
    return max(2 * alpha / math.sqrt(math.pi), alpha**6)


def _erfcinv_clamped(value):
    return float(erfcinv(min(value, 1.0)))
