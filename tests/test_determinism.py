"""The same config gives the same predictions: two clean runs of the tiny study, one target,
every combination (image models included), each in its own scratch copy. And `matfuse predict`
on the study's own test CIFs gives its test predictions again, bit for bit.

Renders are compared byte for byte too: pymatgen's order of equidistant neighbours once varied
between processes, and with it the draw order of translucent polyhedra (matfuse.render.compat).
"""

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from workflow_helpers import copy_workflow, matfuse_predict, snakemake

MODALITIES = ["tabular", "image", "text"]
COMBOS = ["+".join(c) for size in (1, 2, 3) for c in itertools.combinations(MODALITIES, size)]
TARGET = "e_form"


def prediction_file(combo, ext="parquet"):
    return f"results/predictions/{combo}/{TARGET}/repeat_0.{ext}"


def predictions(run, combo, ext="parquet"):
    return run / prediction_file(combo, ext)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Only the seven fits of one target (and what they need) are built, in two clean copies."""
    targets = [prediction_file(combo) for combo in COMBOS]
    runs = []
    for name in ("first", "second"):
        workdir = copy_workflow(tmp_path_factory.mktemp(name))
        snakemake(workdir, "--cores", "2", targets=targets)
        runs.append(workdir)
    return runs


def differing_pictures(runs):
    """{png name: pixels that differ} between the two runs' renders."""
    first, second = (sorted((run / "results/modalities/images/png").glob("*.png")) for run in runs)
    assert [p.name for p in first] == [p.name for p in second] and len(first) > 100
    differ = {}
    for a, b in zip(first, second):
        if a.read_bytes() != b.read_bytes():
            pa, pb = (np.asarray(Image.open(p).convert("RGB")) for p in (a, b))
            differ[a.name] = int((pa != pb).any(axis=-1).sum())
    return differ


def prediction_differences(runs, combos):
    """{combo: largest |difference|} of the combinations whose predictions are not bit-identical."""
    differ = {}
    for combo in combos:
        a, b = (pd.read_parquet(predictions(run, combo)) for run in runs)
        assert len(a) > 0, combo
        assert list(a["mat_id"]) == list(b["mat_id"]), combo
        if not np.array_equal(a["y_pred"].to_numpy(), b["y_pred"].to_numpy()):
            differ[combo] = float(np.abs(a["y_pred"] - b["y_pred"]).max())
        status = [json.loads(predictions(run, combo, "json").read_text()) for run in runs]
        assert status[0]["ok"] and status[0]["stopped_by"] == status[1]["stopped_by"] == "max_epochs", status
        assert status[0]["global_step"] == status[1]["global_step"]
    return differ


@pytest.mark.workflow
def test_two_clean_runs_give_identical_predictions(two_runs):
    assert prediction_differences(two_runs, COMBOS) == {}  # combination: largest difference


@pytest.mark.workflow
def test_two_clean_runs_draw_identical_pictures(two_runs):
    assert differing_pictures(two_runs) == {}  # picture: pixels that differ


@pytest.mark.workflow
def test_the_random_init_image_backbone_is_drawn_from_the_seed(two_runs):
    first, second = ((run / "resources/backbones/image/pytorch_model.bin").read_bytes() for run in two_runs)
    assert first == second
    meta = json.loads((two_runs[0] / "resources/backbones/image/matfuse_backbone.json").read_text())
    assert meta["source"] == "random_init" and meta["seed"] == 42


@pytest.mark.workflow
def test_matfuse_predict_on_the_test_cifs_gives_the_studys_test_predictions(two_runs, tmp_path):
    """Every combination, through the command line: the same ids and the same bits; a broken
    CIF among them is listed with its reason and the others are still predicted."""
    study = two_runs[0]
    broken = tmp_path / "broken.cif"
    broken.write_text("data_broken\n_cell_length_a 3.0\n")
    split = pd.read_csv(study / "results/data/split.csv", dtype={"mat_id": str})
    test_ids = list(split.loc[(split["repeat"] == 0) & (split["split"] == "test"), "mat_id"])
    cifs = [str(study / "results/structures/cif" / f"{mat_id}.cif") for mat_id in test_ids]
    wrong = {}
    for combo in COMBOS:
        expected = pd.read_parquet(predictions(study, combo))
        out = tmp_path / f"{combo}.csv"
        got = matfuse_predict(study, f"results/models/{combo}/{TARGET}/repeat_0", [*cifs, broken], out)
        assert list(got["id"]) == [*test_ids, "broken"], combo
        assert got.iloc[-1]["status"] == "failed" and "unparsable CIF" in got.iloc[-1]["reason"], combo
        assert np.isnan(got["prediction"].iloc[-1])
        # the test materials the study predicted (its aligned ones: here all of them) are predicted
        ok = got[got["status"] == "ok"].set_index("id")
        assert sorted(ok.index) == sorted(expected["mat_id"]), combo
        paired = ok.loc[expected["mat_id"], "prediction"].to_numpy()
        if not np.array_equal(paired, expected["y_pred"].to_numpy().astype(float)):
            wrong[combo] = float(np.abs(paired - expected["y_pred"].to_numpy()).max())
    assert wrong == {}  # combination: largest difference from the study's test predictions
