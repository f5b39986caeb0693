"""Repeated splits end to end: a small real study (modalities tabular and text, so three
combinations, on one target, two repeats, the baselines) through tables, figures and report."""

import pandas as pd
import pytest
import yaml
from workflow_helpers import copy_workflow, snakemake

TARGET = "e_form"


@pytest.fixture(scope="module")
def repeated(tmp_path_factory):
    """A scratch copy whose study is one target, modalities tabular and text, two repeats."""
    workdir = copy_workflow(tmp_path_factory.mktemp("repeats"))
    study = yaml.safe_load((workdir / "config/config.yaml").read_text())
    study["targets"] = {TARGET: study["targets"][TARGET]}  # a merged --configfile cannot drop targets
    study["modalities"] = ["tabular", "text"]
    (workdir / "config/config.yaml").write_text(yaml.safe_dump(study, allow_unicode=True))
    tiny = yaml.safe_load((workdir / "config/tiny.yaml").read_text())
    tiny["evaluate"]["repeats"] = 2
    (workdir / "config/tiny.yaml").write_text(yaml.safe_dump(tiny, allow_unicode=True))
    snakemake(workdir, "--cores", "2")
    return workdir


@pytest.mark.workflow
def test_repeats_refit_every_model_and_baseline_on_their_own_split(repeated):
    split = pd.read_csv(repeated / "results/data/split.csv", dtype={"mat_id": str})
    tests = [set(split.loc[(split["repeat"] == r) & (split["split"] == "test"), "mat_id"]) for r in (0, 1)]
    assert tests[0] != tests[1] and len(tests[0]) == len(tests[1])
    for combo in ("text", "tabular+text", "baseline_mean", "baseline_median", "baseline_composition_gbr"):
        for repeat in (0, 1):
            predictions = pd.read_parquet(repeated / f"results/predictions/{combo}/{TARGET}/repeat_{repeat}.parquet")
            assert set(predictions["mat_id"]) <= tests[repeat] and len(predictions) > 0, (combo, repeat)
    assert (repeated / "results/models/text/e_form/repeat_1").is_dir()


@pytest.mark.workflow
def test_baselines_and_the_paired_test_reach_the_table(repeated):
    metrics = pd.read_csv(repeated / "results/metrics/metrics.csv")
    mae = metrics[metrics["metric"] == "mae"].set_index("combo")
    assert mae["ok"].all() and (mae["repeats"] == 2).all()
    assert mae.loc[[c for c in mae.index if c.startswith("baseline_")], "baseline"].all()
    others = mae[mae["value"] > mae["value"].min()]
    assert mae.loc[mae["value"] == mae["value"].min(), "matches_best"].all()
    assert others["vs_best_low"].notna().all()
    assert (others["matches_best"] == (others["vs_best_low"] <= 0)).all()
    table = (repeated / "results/tables/mae.md").read_text()
    for label in ("baseline: mean", "baseline: median", "baseline: composition_gbr", "tabular+text"):
        assert f"| {label}" in table
    assert "**" in table and "≈:" in table and "means over 2 seeded" in table
    csv = pd.read_csv(repeated / "results/tables/mae.csv")
    assert csv["baseline"].sum() == 3 and f"{TARGET}_matches_best" in csv
    snapshot = yaml.safe_load((repeated / "results/metrics/run_config.yaml").read_text())
    assert snapshot["evaluate"]["repeats"] == 2 and "threads" not in snapshot["train"]


@pytest.mark.workflow
def test_the_paper_comparison_says_whether_the_ordering_is_reproduced(repeated):
    beside = (repeated / "results/tables/paper_mae.md").read_text()
    assert "Paper's ordering reproduced? e_form: Spearman ρ =" in beside
    run = (repeated / "results/report/run.html").read_text()
    assert "2 seeded train/test splits" in run and "does <b>not</b> reproduce" in run
