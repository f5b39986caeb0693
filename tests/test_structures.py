"""CIFs of real materials: written once, reloaded as JARVIS Atoms, failures recorded."""

import json

import pandas as pd
import pytest
import yaml
from jarvis.core.atoms import Atoms
from pymatgen.core import Structure

from matfuse.materials import sample_materials
from matfuse.structures import check_round_trip, load_atoms, write_cifs

from conftest import REPO

CONFIG = yaml.safe_load((REPO / "config" / "config.yaml").read_text())


@pytest.fixture(scope="module")
def materials(alexandria_sample):
    data = {**CONFIG["data"], "n_materials": 117, "min_materials": 2}
    return sample_materials([alexandria_sample], data, CONFIG["targets"], seed=42)[0]


def test_every_real_material_round_trips_to_jarvis_atoms(tmp_path, materials):
    manifest = write_cifs(materials, tmp_path / "cif")
    assert list(manifest.columns) == ["mat_id", "ok", "reason", "cif"]
    assert manifest["ok"].all(), manifest[~manifest["ok"]]
    assert list(manifest["mat_id"]) == list(materials["mat_id"])
    for row, structure_json in zip(manifest.itertuples(), materials["structure"]):
        assert row.cif == str(tmp_path / "cif" / f"{row.mat_id}.cif")
        atoms = load_atoms(row.cif)
        structure = Structure.from_dict(json.loads(structure_json))
        assert isinstance(atoms, Atoms)
        assert atoms.num_atoms == len(structure)
        assert atoms.volume == pytest.approx(structure.volume, rel=1e-6)
        assert sorted(atoms.elements) == sorted(s.specie.symbol for s in structure)


def test_unchanged_cifs_are_not_rewritten_changed_ones_are(tmp_path, materials):
    cif_dir = tmp_path / "cif"
    write_cifs(materials, cif_dir)
    before = {p.name: p.stat().st_mtime_ns for p in cif_dir.glob("*.cif")}
    first = cif_dir / f"{materials['mat_id'][0]}.cif"
    first.write_text("stale")
    write_cifs(materials, cif_dir)
    after = {p.name: p.stat().st_mtime_ns for p in cif_dir.glob("*.cif")}
    changed = {name for name in before if after[name] != before[name]}
    assert changed == {first.name}
    assert first.read_text().startswith("# generated using pymatgen")


def test_cifs_of_materials_no_longer_in_the_table_are_removed(tmp_path, materials):
    write_cifs(materials, tmp_path)
    write_cifs(materials.iloc[:5], tmp_path)
    assert sorted(p.stem for p in tmp_path.glob("*.cif")) == sorted(materials["mat_id"][:5])


def test_a_broken_structure_is_a_failed_row_not_an_exception(tmp_path, materials):
    broken = materials.iloc[:3].copy()
    broken.loc[broken.index[1], "structure"] = json.dumps({"sites": []})
    manifest = write_cifs(broken, tmp_path)
    assert list(manifest["ok"]) == [True, False, True]
    failed = manifest.iloc[1]
    assert failed["reason"].startswith("KeyError")
    assert failed["cif"] == ""


def test_round_trip_check_catches_a_different_cell(tmp_path, materials):
    structure = Structure.from_dict(json.loads(materials["structure"][0]))
    write_cifs(materials.iloc[:1], tmp_path)
    atoms = load_atoms(tmp_path / f"{materials['mat_id'][0]}.cif")
    check_round_trip(structure, atoms)
    with pytest.raises(ValueError, match="reloaded lattice"):
        check_round_trip(structure.copy().scale_lattice(structure.volume * 1.01), atoms)
    moved = structure.copy()
    moved.translate_sites([0], [0.01, 0, 0])
    with pytest.raises(ValueError, match="reloaded sites differ"):
        check_round_trip(moved, atoms)
    with pytest.raises(ValueError, match="reloaded 6 sites, expected 5"):
        check_round_trip(structure.copy().remove_sites([0]), atoms)


def test_manifest_is_a_valid_parquet(tmp_path, materials):
    write_cifs(materials.iloc[:2], tmp_path / "cif").to_parquet(tmp_path / "m.parquet")
    assert pd.read_parquet(tmp_path / "m.parquet")["ok"].dtype == bool
