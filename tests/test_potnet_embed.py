"""The structure-modality table: methods, failures, invariances, and a test split never read."""

import socket

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from pymatgen.core import Structure
from scipy.stats import spearmanr

from matfuse.potnet import EmbeddingSettings, embed_structures, potnet_embeddings
from matfuse.potnet.embed import EMBEDDING_COLUMNS
from matfuse.potnet.model import ModelSettings
from matfuse.potnet.train import TrainingSettings, out_of_fold_splits

SMALL = EmbeddingSettings(
    model=ModelSettings(hidden=32),
    training=TrainingSettings(epochs=4, patience=2, validation_fraction=0.25, batch_size=8),
)


def _manifest(paths, ids=None):
    ids = ids or [p.stem.removeprefix("alexandria_") for p in paths]
    return pd.DataFrame({"mat_id": ids, "ok": True, "reason": "", "cif": [str(p) for p in paths]})


def _vectors(table):
    return table[EMBEDDING_COLUMNS].to_numpy()


@pytest.fixture(scope="module")
def variant_manifest(potnet_alexandria_cifs, tmp_path_factory):
    """A real 6-site structure, its 2x2x1 supercell, its atoms permuted, and translated."""
    directory = tmp_path_factory.mktemp("variants")
    source = next(p for p in potnet_alexandria_cifs if len(Structure.from_file(p)) == 6)
    structure = Structure.from_file(source)
    supercell = structure.copy()
    supercell.make_supercell([2, 2, 1])
    order = np.random.default_rng(2).permutation(len(structure))
    translated = structure.copy()
    translated.translate_sites(range(len(structure)), [0.2, -0.3, 0.45])
    variants = {
        "original": structure,
        "supercell": supercell,
        "permuted": Structure.from_sites([structure[i] for i in order]),
        "translated": translated,
    }
    paths = []
    for name, variant in variants.items():
        paths.append(directory / f"{name}.cif")
        variant.to(filename=str(paths[-1]))
    return _manifest(paths, list(variants))


@pytest.mark.parametrize("transformer", [False, True])
def test_random_embedding_ignores_cell_choice_order_and_origin(variant_manifest, potnet_alexandria_cifs, transformer):
    """In a study of 16 other real structures too (the norms are calibrated on the study's set:
    on four copies of one structure alone, some features would have no spread to scale by)."""
    settings = EmbeddingSettings(model=ModelSettings(hidden=32, transformer=transformer))
    study = pd.concat([variant_manifest, _manifest(potnet_alexandria_cifs[:16])], ignore_index=True)
    table = potnet_embeddings(study, "random", settings, seed=3)
    assert table["ok"].all()
    vectors = _vectors(table)[: len(variant_manifest)]
    assert np.isfinite(vectors).all() and np.abs(vectors).max() > 0
    for row in range(1, len(vectors)):
        np.testing.assert_allclose(vectors[row], vectors[0], rtol=1e-4, atol=1e-4 * np.abs(vectors[0]).max())


def test_random_embedding_is_fixed_by_the_seed(potnet_alexandria_cifs):
    manifest = _manifest(potnet_alexandria_cifs[:12])
    first = potnet_embeddings(manifest, "random", SMALL, seed=7)
    again = potnet_embeddings(manifest, "random", SMALL, seed=7, threads=2)
    other = potnet_embeddings(manifest, "random", SMALL, seed=8)
    np.testing.assert_array_equal(_vectors(first), _vectors(again))
    assert not np.allclose(_vectors(first), _vectors(other))
    assert first.attrs["embedding"].startswith("potnet-random")
    assert list(first.columns[:3]) == ["mat_id", "ok", "reason"] and len(first.columns) == 3 + 128


def test_saved_state_embeds_study_materials_exactly_as_the_study(potnet_alexandria_cifs, tmp_path):
    """A subset of the study (in another order, with a new structure) embedded with the saved
    state gets exactly the study's rows; a recalibration on the subset would not."""
    study = _manifest(potnet_alexandria_cifs[:16])
    state = tmp_path / "potnet_random.pt"
    table = potnet_embeddings(study, "random", SMALL, seed=4, state_path=state)
    subset = study.iloc[[11, 2, 7, 0]].reset_index(drop=True)
    new = pd.concat([subset, _manifest(potnet_alexandria_cifs[20:21])], ignore_index=True)
    again = embed_structures(new, SMALL, state, threads=2)
    assert again["ok"].all() and again.attrs["embedding"] == table.attrs["embedding"]
    expected = table.set_index("mat_id").loc[subset["mat_id"], EMBEDDING_COLUMNS].to_numpy()
    np.testing.assert_array_equal(_vectors(again)[: len(subset)], expected)
    recalibrated = potnet_embeddings(subset, "random", SMALL, seed=4)
    assert not np.allclose(_vectors(recalibrated), expected)


def test_random_embedding_does_not_grow_with_the_cell(potnet_alexandria_cifs):
    """On the 44 real structures (3-72 sites) the norm does not rise with the number of sites
    (summed messages with uncalibrated norms: Spearman +0.76; now about -0.5, as mean pooling
    over more, more varied atoms averages more out)."""
    table = potnet_embeddings(_manifest(potnet_alexandria_cifs), "random", SMALL, seed=1, threads=2)
    sites = np.array([len(Structure.from_file(p)) for p in potnet_alexandria_cifs])
    rho = spearmanr(np.linalg.norm(_vectors(table), axis=1), np.log(sites))[0]
    assert rho < 0.25


def test_a_state_that_does_not_match_the_settings_is_refused(potnet_alexandria_cifs, tmp_path):
    study = _manifest(potnet_alexandria_cifs[:4])
    state = tmp_path / "potnet_random.pt"
    potnet_embeddings(study, "random", SMALL, seed=4, state_path=state)
    with pytest.raises(ValueError, match="does not match embeddings.model"):
        embed_structures(study, EmbeddingSettings(model=ModelSettings(hidden=48)), state)


def test_one_broken_structure_does_not_stop_the_others(potnet_alexandria_cifs, tmp_path):
    broken = tmp_path / "broken.cif"
    broken.write_text("not a cif\n")
    manifest = _manifest(potnet_alexandria_cifs[:3] + [broken, tmp_path / "absent.cif"])
    manifest.loc[1, ["ok", "reason"]] = [False, "CIF writer failed: test"]
    table = potnet_embeddings(manifest, "random", SMALL, seed=0)
    assert table["ok"].tolist() == [True, False, True, False, False]
    assert table.loc[1, "reason"] == "no CIF: CIF writer failed: test"
    assert table.loc[3, "reason"].startswith("JARVIS could not read")
    assert np.isnan(_vectors(table)[~table["ok"]]).all()
    assert np.isfinite(_vectors(table)[table["ok"]]).all()


@pytest.fixture(scope="module")
def labelled(potnet_sample_entries, tmp_path_factory):
    """24 small real Alexandria entries with CIFs, two targets, and an 18/6 train/test split."""
    directory = tmp_path_factory.mktemp("labelled")
    entries = sorted(potnet_sample_entries, key=lambda e: (len(e["structure"]["sites"]), e["data"]["mat_id"]))
    rows, targets = [], []
    for entry in entries[:24]:
        structure = Structure.from_dict(entry["structure"])
        mat_id = entry["data"]["mat_id"]
        path = directory / f"{mat_id}.cif"
        structure.to(filename=str(path))
        rows.append(path)
        targets.append((mat_id, entry["data"]["e_form"], structure.volume / len(structure)))
    manifest = _manifest(rows, [t[0] for t in targets])
    targets = pd.DataFrame(targets, columns=["mat_id", "e_form", "volume_per_atom"])
    split = pd.DataFrame({"mat_id": manifest["mat_id"], "split": ["train"] * 18 + ["test"] * 6})
    split = split.sample(frac=1.0, random_state=0).reset_index(drop=True)
    return manifest, targets, split


def test_trained_mode_never_reads_a_test_target(labelled):
    """Poisoned or missing test-split targets leave the embeddings bit for bit unchanged
    (training with 2 threads is deterministic too, or this would fail)."""
    manifest, targets, split = labelled
    test = targets["mat_id"].isin(split.loc[split["split"] == "test", "mat_id"])
    clean = potnet_embeddings(manifest, "trained", SMALL, seed=5, split=split, targets=targets, threads=2)
    assert clean["ok"].all() and clean.attrs["embedding"].startswith("potnet-trained")
    for poison in (np.nan, 1e30, -1e30):
        poisoned = targets.copy()
        poisoned.loc[test, ["e_form", "volume_per_atom"]] = poison
        table = potnet_embeddings(manifest, "trained", SMALL, seed=5, split=split, targets=poisoned, threads=2)
        np.testing.assert_array_equal(_vectors(table), _vectors(clean))
    without_test_rows = potnet_embeddings(
        manifest, "trained", SMALL, seed=5, split=split, targets=targets[~test], threads=2
    )
    np.testing.assert_array_equal(_vectors(without_test_rows), _vectors(clean))
    # and the training itself did something: the trained network is not the random one
    random = potnet_embeddings(manifest, "random", SMALL, seed=5)
    assert not np.allclose(_vectors(random), _vectors(clean))


def test_saved_trained_weights_embed_new_structures_as_the_fit_did(labelled, tmp_path):
    """`matfuse predict` embeds with the weights the study's `trained` fit saved (the whole train
    split's model): a test material's vector bit for bit, in any subset and order (no split, no
    targets); a train material's study row came from a model without it, so it differs."""
    manifest, targets, split = labelled
    state = tmp_path / "potnet_trained.pt"
    fitted = potnet_embeddings(
        manifest, "trained", SMALL, seed=5, split=split, targets=targets, threads=2, state_path=state
    ).set_index("mat_id")
    test_ids = split.loc[split["split"] == "test", "mat_id"]
    subset = manifest[manifest["mat_id"].isin(test_ids)].iloc[::-1].reset_index(drop=True)
    again = embed_structures(subset, SMALL, state, threads=1)
    np.testing.assert_array_equal(_vectors(again), fitted.loc[subset["mat_id"], EMBEDDING_COLUMNS].to_numpy())
    train = manifest[~manifest["mat_id"].isin(test_ids)].reset_index(drop=True)
    whole_split_model = _vectors(embed_structures(train, SMALL, state, threads=1))
    out_of_fold = fitted.loc[train["mat_id"], EMBEDDING_COLUMNS].to_numpy()
    assert not np.isclose(whole_split_model, out_of_fold).all(axis=1).any()


def test_a_train_materials_row_never_depends_on_its_own_target(labelled):
    """Out of fold: changing one train material's target leaves the rows of its fold (itself
    included) bit for bit the same, and moves the rows of the other folds and of the test split,
    whose models read it."""
    manifest, targets, split = labelled
    folds = out_of_fold_splits(split, set(manifest["mat_id"]), SMALL.training.folds, seed=5)
    assert len(folds) == SMALL.training.folds
    held = [ids for _, ids in folds]
    assert sorted(m for ids in held for m in ids) == sorted(split.loc[split["split"] == "train", "mat_id"])
    clean = potnet_embeddings(manifest, "trained", SMALL, seed=5, split=split, targets=targets, threads=2)
    changed = targets.copy()
    changed.loc[changed["mat_id"] == held[0][0], "e_form"] += 3.0
    moved = potnet_embeddings(manifest, "trained", SMALL, seed=5, split=split, targets=changed, threads=2)
    same = np.all(_vectors(clean) == _vectors(moved), axis=1)
    in_fold = clean["mat_id"].isin(held[0]).to_numpy()
    assert same[in_fold].all()
    assert not same[~in_fold].any()


def test_trained_mode_needs_train_targets(labelled):
    manifest, targets, split = labelled
    with pytest.raises(ValueError, match="needs the split and the targets"):
        potnet_embeddings(manifest, "trained", SMALL, split=split)
    train_id = split.loc[split["split"] == "train", "mat_id"].iloc[0]
    with pytest.raises(ValueError, match="no targets for train materials"):
        potnet_embeddings(
            manifest, "trained", SMALL, split=split, targets=targets[targets["mat_id"] != train_id]
        )


def test_chgnet_features_load_offline_and_ignore_the_cell_choice(variant_manifest, monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network use in an offline test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    table = potnet_embeddings(variant_manifest, "chgnet")
    assert table["ok"].all()
    assert "pretrained on Materials Project" in table.attrs["embedding"]
    vectors = _vectors(table)
    for row in range(1, len(vectors)):
        np.testing.assert_allclose(vectors[row], vectors[0], atol=1e-4)


def test_unknown_method_is_refused(variant_manifest):
    with pytest.raises(ValueError, match="unknown embedding method 'frozen'"):
        potnet_embeddings(variant_manifest, "frozen")


def test_config_files_hold_the_published_defaults():
    """config/config.yaml's embeddings section is PotNet's defaults; tiny.yaml only shrinks it."""
    config = yaml.safe_load((Path(__file__).parents[1] / "config" / "config.yaml").read_text())
    assert EmbeddingSettings.from_config(config["embeddings"]) == EmbeddingSettings()
    assert config["embeddings"]["method"] == "random"
