"""Several structure-embedding methods side by side in one study: each method is its own
structure view (`tabular-<method>`) with its own models, rows and marks, and `matfuse predict`
rebuilds each model's features. A real study on the tiny settings, structure modality only, one
target: the label-free descriptors beside CHGNet's pretrained features."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from workflow_helpers import copy_workflow, matfuse_predict, planned_jobs, snakemake

TARGET = "e_form"
METHODS = ["descriptors", "chgnet"]
SIDE_BY_SIDE = {"embeddings": {"method": METHODS}}


def _study(workdir, modalities):
    """The tiny study narrowed to one target and `modalities`, with both methods side by side."""
    study = yaml.safe_load((workdir / "config/config.yaml").read_text())
    study["targets"] = {TARGET: study["targets"][TARGET]}  # a merged --configfile cannot drop targets
    study["modalities"] = modalities
    (workdir / "config/config.yaml").write_text(yaml.safe_dump(study, allow_unicode=True))
    (workdir / "methods.yaml").write_text(yaml.safe_dump(SIDE_BY_SIDE))
    return workdir


@pytest.fixture(scope="module")
def side_by_side(tmp_path_factory):
    workdir = _study(copy_workflow(tmp_path_factory.mktemp("methods")), ["tabular"])
    snakemake(workdir, "--cores", "2", configfiles=["methods.yaml"])
    return workdir


def test_every_combination_takes_at_most_one_method(tmp_path):
    """With every modality: one model per combination and method, none with two methods."""
    workdir = _study(copy_workflow(tmp_path), ["tabular", "image", "text"])
    plan = planned_jobs(workdir, configfiles=["methods.yaml"])
    # per method: tabular, +image, +text, +image+text; then image, text, image+text
    assert plan["fit_model"] == 4 * len(METHODS) + 3
    assert plan["potnet_embeddings"] == len(METHODS)


@pytest.mark.workflow
def test_each_method_has_its_own_columns_models_and_predictions(side_by_side):
    aligned = pd.read_parquet(side_by_side / "results/dataset/aligned.parquet")
    split = pd.read_csv(side_by_side / "results/data/split.csv", dtype={"mat_id": str})
    test_ids = set(split.loc[split["split"] == "test", "mat_id"])
    assert not [c for c in aligned.columns if c.startswith("emb_")]
    for method in METHODS:
        combo = f"tabular-{method}"
        status = json.loads((side_by_side / f"results/predictions/{combo}/{TARGET}/repeat_0.json").read_text())
        assert status["ok"] and status["embedding"] == method, status
        spec = json.loads((side_by_side / f"results/models/{combo}/{TARGET}/repeat_0/matfuse_model.json").read_text())
        assert spec["embeddings"]["method"] == method and spec["modalities"] == [combo]
        assert spec["columns"] and all(c.startswith(f"{method}_emb_") for c, _ in spec["columns"])
        predictions = pd.read_parquet(side_by_side / f"results/predictions/{combo}/{TARGET}/repeat_0.parquet")
        assert set(predictions["mat_id"]) == test_ids & set(aligned["mat_id"])


@pytest.mark.workflow
def test_tables_and_report_name_each_method_and_mark_the_pretrained_one(side_by_side):
    table = (side_by_side / "results/tables/mae.md").read_text()
    assert "| tabular-chgnet §" in table and "| tabular-descriptors |" in table
    assert "§ structure embedding chgnet: CHGNet 0.3.0 features, pretrained on Materials Project" in table
    assert "Structure embedding descriptors: label-free symmetry and geometry descriptors" in table
    run = (side_by_side / "results/report/run.html").read_text()
    assert "structure embedding descriptors, chgnet" in run


@pytest.mark.workflow
def test_predict_rebuilds_each_methods_features(side_by_side, tmp_path):
    split = pd.read_csv(side_by_side / "results/data/split.csv", dtype={"mat_id": str})
    test_ids = sorted(split.loc[split["split"] == "test", "mat_id"])
    cifs = [side_by_side / "results/structures/cif" / f"{mat_id}.cif" for mat_id in test_ids]
    for method in METHODS:
        combo = f"tabular-{method}"
        expected = pd.read_parquet(side_by_side / f"results/predictions/{combo}/{TARGET}/repeat_0.parquet")
        got = matfuse_predict(side_by_side, f"results/models/{combo}/{TARGET}/repeat_0", cifs, tmp_path / f"{method}.csv")
        ok = got[got["status"] == "ok"].set_index("id")
        assert sorted(ok.index) == sorted(expected["mat_id"]), method
        assert np.array_equal(ok.loc[expected["mat_id"], "prediction"].to_numpy(), expected["y_pred"].to_numpy()), method
