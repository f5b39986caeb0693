"""The same config gives the same predictions: two clean runs of the tiny study, one target,
every combination (image models included), each in its own scratch copy."""

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from workflow_helpers import copy_workflow, snakemake

MODALITIES = ["tabular", "image", "text"]
COMBOS = ["+".join(c) for size in (1, 2, 3) for c in itertools.combinations(MODALITIES, size)]
TARGET = "e_form"


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Only the seven fits of one target (and what they need) are built, in two clean copies."""
    predictions = [f"results/predictions/{combo}/{TARGET}.parquet" for combo in COMBOS]
    runs = []
    for name in ("first", "second"):
        workdir = copy_workflow(tmp_path_factory.mktemp(name))
        snakemake(workdir, "--cores", "2", targets=predictions)
        runs.append(workdir)
    return runs


@pytest.mark.workflow
def test_two_clean_runs_give_identical_predictions(two_runs):
    differ = {}
    for combo in COMBOS:
        a, b = (pd.read_parquet(run / f"results/predictions/{combo}/{TARGET}.parquet") for run in two_runs)
        assert len(a) > 0, combo
        assert list(a["mat_id"]) == list(b["mat_id"]), combo
        if not np.array_equal(a["y_pred"].to_numpy(), b["y_pred"].to_numpy()):
            differ[combo] = float(np.abs(a["y_pred"] - b["y_pred"]).max())
        status = [json.loads((run / f"results/predictions/{combo}/{TARGET}.json").read_text()) for run in two_runs]
        assert status[0]["ok"] and status[0]["stopped_by"] == status[1]["stopped_by"] == "max_epochs", status
        assert status[0]["global_step"] == status[1]["global_step"]
    assert differ == {}  # combination: largest difference


@pytest.mark.workflow
def test_two_clean_runs_draw_identical_pictures(two_runs):
    first, second = (sorted((run / "results/modalities/images/png").glob("*.png")) for run in two_runs)
    assert [p.name for p in first] == [p.name for p in second] and len(first) > 100
    differ = [a.name for a, b in zip(first, second) if a.read_bytes() != b.read_bytes()]
    assert differ == []


@pytest.mark.workflow
def test_the_random_init_image_backbone_is_drawn_from_the_seed(two_runs):
    first, second = ((run / "resources/backbones/image/pytorch_model.bin").read_bytes() for run in two_runs)
    assert first == second
    meta = json.loads((two_runs[0] / "resources/backbones/image/matfuse_backbone.json").read_text())
    assert meta["source"] == "random_init" and meta["seed"] == 42
