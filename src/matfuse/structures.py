"""One CIF per material, each proven to load back as the JARVIS `Atoms` that PotNet reads.

CIFs go CIF -> pymatgen -> JARVIS Atoms (`load_atoms`), not through `Atoms.from_cif`: that
shells out to `cif2cell` (not installed; it prints an error per file), falls back to its own
parser, and moved some cell volumes by ~1e-3 Å³ on the real sample, where this path is exact.
A file is rewritten only when its text changes, so its mtime tells downstream rules the truth.
"""

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
from jarvis.core.atoms import Atoms
from pymatgen.core import Lattice, Structure
from pymatgen.io.cif import CifParser, CifWriter
from pymatgen.io.jarvis import JarvisAtomsAdaptor

log = logging.getLogger(__name__)

# CifWriter writes 8 decimals; these leave room for that rounding and nothing more.
LATTICE_RTOL = 1e-6
FRAC_TOL = 1e-6


def write_cifs(materials: pd.DataFrame, cif_dir) -> pd.DataFrame:
    """Write `cif_dir/{mat_id}.cif` for each material; the manifest `mat_id, ok, reason, cif`.

    A material whose CIF cannot be written, or does not load back faithfully, is a row with
    ok=False and its reason (its CIF, if written, stays for inspection). CIFs of materials no
    longer in the table are removed, so the folder matches the manifest.
    """
    cif_dir = Path(cif_dir)
    cif_dir.mkdir(parents=True, exist_ok=True)
    rows, n_written = [], 0
    for mat_id, structure_json in zip(materials["mat_id"], materials["structure"]):
        path = cif_dir / f"{mat_id}.cif"
        try:
            structure = Structure.from_dict(json.loads(structure_json))
            n_written += write_if_changed(path, str(CifWriter(structure)))
            check_round_trip(structure, load_atoms(path))
        except Exception as err:
            reason = f"{type(err).__name__}: {err}"
            log.warning("%s: %s", mat_id, reason)
            rows.append((mat_id, False, reason, str(path) if path.exists() else ""))
        else:
            rows.append((mat_id, True, "", str(path)))
    stale = {p for p in cif_dir.glob("*.cif")} - {cif_dir / f"{m}.cif" for m in materials["mat_id"]}
    for path in stale:
        path.unlink()
    manifest = pd.DataFrame(rows, columns=["mat_id", "ok", "reason", "cif"])
    log.info(
        "%d CIFs in %s (%d rewritten, %d stale removed), %d failed",
        int(manifest["ok"].sum()),
        cif_dir,
        n_written,
        len(stale),
        int((~manifest["ok"]).sum()),
    )
    return manifest


def write_if_changed(path: Path, text: str) -> bool:
    """Write `text` to `path` unless it already holds exactly that; True when written."""
    if path.exists() and path.read_text() == text:
        return False
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return True


def load_atoms(cif_path) -> Atoms:
    """A CIF as a JARVIS `Atoms`, the cell exactly as written.

    No primitive reduction, and no snapping of coordinates near 1/3, 1/4... to those values
    (`frac_tolerance=0`): the CIFs carry 8 decimals, which is what the structure had.
    """
    structure = CifParser(cif_path, frac_tolerance=0).parse_structures(primitive=False)[0]
    return JarvisAtomsAdaptor.get_atoms(structure)


def check_round_trip(structure: Structure, atoms: Atoms) -> None:
    """Raise ValueError unless `atoms` has the structure's cell and sites (in any order)."""
    if atoms.num_atoms != len(structure):
        raise ValueError(f"reloaded {atoms.num_atoms} sites, expected {len(structure)}")
    # JARVIS rounds its own abc/angles (to ~1e-6 Å), so read them off its raw matrix.
    reloaded = Lattice(atoms.lattice_mat)
    expected = np.array([*structure.lattice.abc, *structure.lattice.angles])
    got = np.array([*reloaded.abc, *reloaded.angles])
    if not np.allclose(got, expected, rtol=LATTICE_RTOL, atol=0):
        raise ValueError(f"reloaded lattice {got.round(6)} differs from {expected.round(6)}")
    species = np.array([site.specie.symbol for site in structure])
    reloaded_species = np.array(atoms.elements)
    delta = np.asarray(atoms.frac_coords)[None, :, :] - structure.frac_coords[:, None, :]
    distance = np.abs(delta - np.round(delta)).max(axis=2)
    matches = (distance < FRAC_TOL) & (species[:, None] == reloaded_species[None, :])
    if not (matches.any(axis=1).all() and matches.any(axis=0).all()):
        raise ValueError("reloaded sites differ from the structure's (species or positions)")
