"""The `descriptors` method: a fixed, label-free column set, invariant to the cell chosen; the
columns that give a volume target away are kept from that target's models; bad structures
keep their reason; the saved state gives a study material its row again (`matfuse predict`)."""

import numpy as np
import pandas as pd
import pytest
import torch
from pymatgen.core import Lattice, Structure

from matfuse.descriptor_columns import COLUMNS, NAMES, SCALE, leaking_columns
from matfuse.descriptors import DescriptorSettings, structure_descriptors
from matfuse.modelspec import EMBEDDING_WEIGHTS
from matfuse.potnet import EmbeddingSettings, embed_structures, potnet_embeddings
from matfuse.predict import modality_tables
from matfuse.train import model_inputs

FCC = Structure(Lattice.cubic(3.6), ["Cu"] * 4, [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])


def _manifest(paths, ids=None):
    ids = ids or [p.stem for p in paths]
    return pd.DataFrame({"mat_id": ids, "ok": True, "reason": "", "cif": [str(p) for p in paths]})


def _variants(structure, seed):
    """The structure, two supercells (one skewed), its sites permuted, and translated."""
    supercell = structure.copy()
    supercell.make_supercell([2, 1, 3])
    skewed = structure.copy()
    skewed.make_supercell([[1, 1, 0], [-1, 1, 0], [0, 0, 1]])
    order = np.random.default_rng(seed).permutation(len(structure))
    translated = structure.copy()
    translated.translate_sites(range(len(structure)), [0.2, -0.3, 0.45])
    return [structure, supercell, skewed, Structure.from_sites([structure[i] for i in order]), translated]


def test_every_descriptor_ignores_cell_choice_order_and_origin(potnet_alexandria_cifs):
    """On 12 real structures (3-24 sites, several space groups)."""
    groups = set()
    for seed, path in enumerate(potnet_alexandria_cifs[:12]):
        rows = [structure_descriptors(s) for s in _variants(Structure.from_file(path), seed)]
        assert all(list(row) == NAMES for row in rows)
        groups.add(rows[0]["spacegroup_number"])
        for row in rows[1:]:
            np.testing.assert_allclose([row[n] for n in NAMES], [rows[0][n] for n in NAMES], rtol=1e-7, atol=1e-7)
    assert len(groups) > 2


def test_a_known_crystal_gets_its_textbook_values():
    """fcc Cu: Fm-3m, 48 point operations, one site, 12 neighbours, packing π/√18."""
    values = structure_descriptors(FCC)
    assert values["spacegroup_number"] == 225 and values["point_group_order"] == 48
    assert values["centrosymmetric"] == 1 and values["sites_primitive"] == 1 and values["symmetry_orbits"] == 1
    assert values["system_cubic"] == 1 and values["centering_F"] == 1
    assert sum(values[f"centering_{c}"] for c in "PCIFR") == 1
    assert values["prim_alpha"] == pytest.approx(60) and values["conv_c_a"] == pytest.approx(1)
    assert values["econ_mean"] == pytest.approx(12, abs=0.05)
    assert values["packing_nn"] == pytest.approx(np.pi / np.sqrt(18))
    assert values["volume_per_atom"] == pytest.approx(3.6**3 / 4)
    assert values["nn_distance_mean"] == pytest.approx(3.6 / np.sqrt(2))


def test_only_the_scale_group_carries_a_length_scale():
    """Stretching the cell (same shape) moves volume, density and Å distances, nothing else."""
    stretched = FCC.copy()
    stretched.scale_lattice(FCC.volume * 1.3)
    before, after = structure_descriptors(FCC), structure_descriptors(stretched)
    moved = [n for n in NAMES if not np.isclose(before[n], after[n], rtol=1e-9)]
    assert moved == SCALE


def test_the_scale_group_is_kept_from_a_volume_targets_models_only():
    assert leaking_columns({"field": "volume", "per": "nsites"}) == [f"emb_{n}" for n in SCALE]
    assert leaking_columns({"field": "e_form"}) == [] and leaking_columns({"field": "total_mag", "per": "volume"}) == []
    table = pd.DataFrame(np.ones((2, len(COLUMNS))), columns=COLUMNS).assign(
        mat_id=["a", "b"], volume_per_atom=1.0, e_form=0.0, text="Cu4"
    )
    definition = {"field": "volume", "per": "nsites"}
    volume = model_inputs(table, ["tabular", "text"], "volume_per_atom", {"text": None}, definition)
    assert set(COLUMNS) - set(volume) == {f"emb_{n}" for n in SCALE} and volume["text"] == "text"
    assert set(model_inputs(table, ["tabular"], "e_form", {}, {"field": "e_form"})) == set(COLUMNS)
    # beside other methods, the view's columns carry its name and the same ones are kept back
    named = table.rename(columns={c: f"descriptors_{c}" for c in COLUMNS})
    volume = model_inputs(named, ["tabular-descriptors"], "volume_per_atom", {}, definition)
    assert {c for c in named.columns if c.startswith("descriptors_")} - set(volume) == {f"descriptors_emb_{n}" for n in SCALE}
    assert set(volume.values()) == {"numerical"}


def test_bad_structures_keep_their_reason_and_the_others_their_row(potnet_alexandria_cifs, tmp_path):
    broken = tmp_path / "broken.cif"
    broken.write_text("not a cif\n")
    disordered = FCC.copy()
    disordered.replace_species({"Cu": {"Cu": 0.5, "Au": 0.5}})
    disordered.to(filename=str(tmp_path / "disordered.cif"))
    manifest = _manifest([*potnet_alexandria_cifs[:2], broken, tmp_path / "disordered.cif", potnet_alexandria_cifs[2]])
    manifest.loc[4, ["ok", "reason"]] = [False, "CIF writer failed: test"]
    table = potnet_embeddings(manifest, "descriptors", threads=2)
    assert list(table.columns) == ["mat_id", "ok", "reason", *COLUMNS]
    assert table["ok"].tolist() == [True, True, False, False, False]
    assert table.loc[2, "reason"].startswith("pymatgen could not read")
    assert "disordered" in table.loc[3, "reason"] and table.loc[4, "reason"] == "no CIF: CIF writer failed: test"
    values = table[COLUMNS].to_numpy()
    assert np.isfinite(values[:2]).all() and np.isnan(values[2:]).all()
    assert table.attrs["embedding"].startswith("descriptors")


def test_predict_rebuilds_a_study_materials_row(potnet_alexandria_cifs, tmp_path):
    """The study's table and state, then predict's own feature step (modality_tables) on a
    subset in another order with a new structure, from the model directory alone."""
    settings = EmbeddingSettings(descriptors=DescriptorSettings(symprec=0.001))
    study = _manifest(potnet_alexandria_cifs[:10])
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    table = potnet_embeddings(study, "descriptors", settings, threads=2, state_path=model_dir / EMBEDDING_WEIGHTS)
    subset = pd.concat([study.iloc[[7, 2, 5]], _manifest(potnet_alexandria_cifs[20:21])], ignore_index=True)
    spec = {
        "modalities": ["tabular"],
        "embeddings": {"method": "descriptors", "descriptors": {"symprec": 0.001}, "weights": EMBEDDING_WEIGHTS},
    }
    again = modality_tables(spec, model_dir, None, subset, tmp_path, threads=1)["tabular"]
    assert again["ok"].all()
    expected = table.set_index("mat_id").loc[subset["mat_id"][:3], COLUMNS].to_numpy()
    np.testing.assert_array_equal(again[COLUMNS].to_numpy()[:3], expected)
    # a state of other columns (another matfuse version) is refused rather than misread
    state = torch.load(model_dir / EMBEDDING_WEIGHTS, weights_only=True)
    torch.save({**state, "columns": COLUMNS[:-1]}, tmp_path / "old.pt")
    with pytest.raises(ValueError, match="other columns"):
        embed_structures(subset, settings, tmp_path / "old.pt")
