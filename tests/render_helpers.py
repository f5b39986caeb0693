"""Structures and paths the render tests share: two textbook crystals and real Alexandria CIFs."""

from pathlib import Path

from pymatgen.core import Lattice, Structure

REPO = Path(__file__).resolve().parents[1]
ALEXANDRIA_CIFS = REPO / "data" / "alexandria" / "lemat_genbench_structures_only"
DOC_IMAGES = REPO / "docs" / "images"
# Real Alexandria structures of several kinds: 3-5 sites, one a 2D cell with vacuum (agm2000...).
REAL_IDS = ["agm001153991", "agm003887773", "agm001105121", "agm2000059509"]


def rock_salt():
    """NaCl, conventional cubic cell."""
    return Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]]
    )


def perovskite():
    """SrTiO3, cubic perovskite."""
    return Structure(
        Lattice.cubic(3.905),
        ["Sr", "Ti", "O", "O", "O"],
        [[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]],
    )


def huge_cell():
    """A corrupt lattice (10⁴⁰ Å): finite in Python, beyond WebGL's 32-bit floats, so the page
    draws nothing at all: a blank picture."""
    return Structure(Lattice.cubic(1e40), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])


def real_cif(mat_id):
    path = ALEXANDRIA_CIFS / f"alexandria_{mat_id}.cif"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: data/alexandria ships only some structures")
    return path


def write_cif(structure, path):
    structure.to(filename=str(path))
    return path
