"""The `descriptors` method's fixed columns and its leak rule, apart from their computation
(matfuse.descriptors, which needs pymatgen and spglib), so that the fit (AutoGluon's env, which
has neither) can leave out what gives its target away.

Two groups:
- scale-free (`SCALE_FREE`): space group, crystal system, centering, point-group order,
  inversion, symmetry orbits, primitive sites, lattice ratios and angles, nearest-neighbour
  distances relative to (V/N)^(1/3), Hoppe's effective coordination number, the packing
  fraction of spheres of half the nearest-neighbour distance. No length or mass scale.
- scale (`SCALE`): volume per atom, density, mean nearest-neighbour distance in Å. They give
  a target defined from the cell volume (or a density) away: `leaking_columns` names them for
  such a target, and `matfuse.train` drops them from that target's models (only those).
"""

CRYSTAL_SYSTEMS = ("triclinic", "monoclinic", "orthorhombic", "tetragonal", "trigonal", "hexagonal", "cubic")
# first letter of the Hermann-Mauguin symbol; A, B and C are one base-centred class
CENTERINGS = {"P": "P", "A": "C", "B": "C", "C": "C", "I": "I", "F": "F", "R": "R"}
SCALE_FREE = (
    ["spacegroup_number", "point_group_order", "centrosymmetric", "symmetry_orbits", "sites_primitive"]
    + [f"system_{name}" for name in CRYSTAL_SYSTEMS]
    + [f"centering_{name}" for name in dict.fromkeys(CENTERINGS.values())]
    + [f"{cell}_{name}" for cell in ("conv", "prim") for name in ("b_a", "c_a", "alpha", "beta", "gamma")]
    + [f"nn_rel_{stat}" for stat in ("min", "mean", "max", "std")]
    + [f"econ_{stat}" for stat in ("min", "mean", "max", "std")]
    + ["packing_nn"]
)
SCALE = ["volume_per_atom", "density", "nn_distance_mean"]
NAMES = SCALE_FREE + SCALE
# the modality's value columns (matfuse.dataset.modality_columns reads the `emb_` prefix)
COLUMNS = [f"emb_{name}" for name in NAMES]
# target fields that the scale group gives away (targets.py: `volume` is the cell's, Å³)
LEAKY_FIELDS = ("volume", "density")


def leaking_columns(target):
    """The columns that give `target` ({field, per}, as config defines it) away: the scale
    group for a target made from the cell volume or a density (Vol/atom), else none."""
    return [f"emb_{name}" for name in SCALE] if target.get("field") in LEAKY_FIELDS else []
