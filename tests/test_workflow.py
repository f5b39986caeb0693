"""The whole DAG on the 117 real Alexandria entries with tiny training settings."""

import io
import json
import math
import os
import re

import pandas as pd
import pytest
import yaml
from PIL import Image
from workflow_helpers import copy_workflow, planned_jobs, snakemake


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return copy_workflow(tmp_path_factory.mktemp("workflow"))


def test_one_model_directory_needs_only_its_own_fit(workdir):
    jobs = planned_jobs(workdir, "results/models/text/gap/repeat_0")
    assert jobs["fit_model"] == 1
    assert not {"evaluate_models", "metric_table", "metric_figure"} & set(jobs)


def test_one_table_needs_every_model_but_no_figure(workdir):
    jobs = planned_jobs(workdir, "results/tables/mae.md")
    assert jobs["metric_table"] == 1 and "metric_figure" not in jobs
    assert jobs["fit_model"] == planned_jobs(workdir)["fit_model"]


@pytest.fixture(scope="module")
def tiny_study(workdir):
    snakemake(workdir, "--cores", "2")
    return workdir


@pytest.mark.workflow
def test_tiny_study_makes_every_table_and_figure_with_finite_numbers(tiny_study):
    metrics = pd.read_csv(tiny_study / "results/metrics/metrics.csv")
    assert metrics["ok"].all(), metrics.loc[~metrics["ok"], ["combo", "target", "reason"]]
    finite = metrics["value"].map(math.isfinite)
    assert finite[metrics["metric"].isin(["mae", "rmse"])].all()
    # Only 1 of the 117 real entries has a band gap: where the test split's true values are
    # constant, the scaled metrics are undefined, and say so.
    undefined = metrics[~finite]
    assert undefined["reason"].str.contains("constant").all(), undefined
    assert set(undefined["target"]) <= {"gap"}
    for table in ("mae", "rmse", "mae_scaled", "rmse_scaled"):
        assert (tiny_study / f"results/tables/{table}.md").read_text().count("\n") >= 3
        assert not pd.read_csv(tiny_study / f"results/tables/{table}.csv").empty
        # ours beside the paper's: one row per combination, each cell "ours / theirs"
        beside = (tiny_study / f"results/tables/paper_{table}.md").read_text()
        assert sum(line.startswith(("| tabular", "| image", "| text")) for line in beside.splitlines()) == 7
        assert " / " in beside
    for figure in ("errors_bars", "scaled_bars", "scaled_heatmap"):
        with Image.open(tiny_study / f"results/figures/{figure}.png") as image:
            assert image.width > 400 and image.height > 300


@pytest.mark.workflow
def test_tiny_study_keeps_its_bookkeeping(tiny_study):
    materials = pd.read_parquet(tiny_study / "results/data/materials.parquet")
    rejected = pd.read_csv(tiny_study / "results/data/rejected.csv")
    assert len(materials) + len(rejected) == 117
    aligned = pd.read_parquet(tiny_study / "results/dataset/aligned.parquet")
    excluded = pd.read_csv(tiny_study / "results/dataset/excluded.csv")
    assert len(aligned) + len(excluded) == len(materials)
    status = json.loads((tiny_study / "results/predictions/text/gap/repeat_0.json").read_text())
    assert status["ok"] and status["backbones"]["text"]["source"] == "package"
    for costly in ("sample_materials", "write_cifs", "train/text/gap/repeat_0"):
        assert (tiny_study / f"results/benchmarks/{costly}.tsv").exists()


@pytest.mark.workflow
def test_report_holds_tables_figures_benchmarks_and_config_with_captions(tiny_study):
    snakemake(tiny_study, "--report", "results/report.html")
    html = (tiny_study / "results/report.html").read_text()
    items = [f"results/tables/{t}.csv" for t in ("mae", "rmse", "mae_scaled", "rmse_scaled")]
    items += [f"results/figures/{f}.png" for f in ("errors_bars", "scaled_bars", "scaled_heatmap")]
    items += ["results/metrics/metrics.csv", "results/report/benchmarks.csv", "results/report/benchmarks.png"]
    items += ["results/report/config.yaml", "results/report/run.html"]
    items += [f"results/tables/paper_{t}.md" for t in ("mae", "rmse")]
    assert [item for item in items if item not in html] == []
    # captions; the run described from the configuration stored with its results
    assert "Mean absolute error (MAE) on the test split" in html
    run = (tiny_study / "results/report/run.html").read_text()
    assert "117 materials from the alexandria source" in run and "structure embedding random" in run
    assert "does <b>not</b> reproduce" in run and "data.n_materials is 117" in run
    benchmarks = pd.read_csv(tiny_study / "results/report/benchmarks.csv")
    assert {"sample_materials", "write_cifs", "train"} <= set(benchmarks["step"])
    assert (benchmarks["wall_s"] > 0).all()
    config = yaml.safe_load((tiny_study / "results/report/config.yaml").read_text())
    assert config["data"]["n_materials"] == 117
    # the report of a finished run describes that run, whatever config --report is given
    snakemake(tiny_study, "--report", "results/report2.html", "--config", "seed=7")
    assert yaml.safe_load((tiny_study / "results/report/config.yaml").read_text())["seed"] == 42


@pytest.mark.workflow
def test_rebuilding_one_figure_runs_only_its_rule(tiny_study):
    assert planned_jobs(tiny_study) == {}
    (tiny_study / "results/figures/scaled_heatmap.png").unlink()
    assert planned_jobs(tiny_study) == {"metric_figure": 1, "all": 1}
    snakemake(tiny_study, "--cores", "1", targets=["results/figures/scaled_heatmap.png"])
    assert planned_jobs(tiny_study) == {}  # as before, for the tests below


# 7 combinations x 7 targets; 4 of the combinations hold the image modality; 3 baselines x 7.
FITS, IMAGE_FITS, BASELINE_FITS = 49, 28, 21
# what a new metrics table reruns (tables, figures, paper comparisons, benchmarks, the run's config)
AFTER_FITS = {
    "evaluate_models": 1,
    "report_config": 1,
    "metric_table": 4,
    "metric_figure": 3,
    "compare_with_paper": 4,
    "benchmark_summary": 1,
    "all": 1,
}
RUN_ONLY_SETTINGS = {
    "train": {"mem_mb": 9000, "runtime": 99, "threads": 1, "gpus": 1, "fits_per_gpu": 2},
    "embeddings": {"threads": 1, "mem_mb": 9000, "runtime": 99},
    "images": {"pages": 1, "scene_workers": 2, "timeout": 30, "retries": 3, "browser": {"executable": "/x/chrome"}},
    "data": {"threads": 1, "alexandria": {"base_url": "https://example.org/elsewhere"}},
}


def override(workdir, name, settings):
    path = workdir / f"{name}.yaml"
    path.write_text(yaml.safe_dump(settings))
    return [path.name]


@pytest.mark.workflow
@pytest.mark.parametrize("section,key", [(s, k) for s, keys in RUN_ONLY_SETTINGS.items() for k in keys])
def test_changing_how_jobs_run_reruns_nothing(tiny_study, section, key):
    changed = {section: {key: RUN_ONLY_SETTINGS[section][key]}}
    assert planned_jobs(tiny_study, configfiles=override(tiny_study, "run_only", changed)) == {}


@pytest.mark.workflow
def test_changing_the_epochs_refits_every_model_and_nothing_upstream(tiny_study):
    jobs = planned_jobs(tiny_study, configfiles=override(tiny_study, "epochs", {"train": {"max_epochs": 2}}))
    assert jobs == {"fit_model": FITS, **AFTER_FITS}


@pytest.mark.workflow
def test_changing_the_image_size_rerenders_and_refits_but_keeps_data_and_other_modalities(tiny_study):
    jobs = planned_jobs(tiny_study, configfiles=override(tiny_study, "size", {"images": {"size": 128}}))
    # every model and baseline trains on the aligned table, which holds the image paths
    renders = {"render_images": 2, "join_image_shards": 1, "align_dataset": 1}
    fits = {"fit_model": FITS, "fit_baseline": BASELINE_FITS}
    assert jobs == {**renders, **fits, **AFTER_FITS}


@pytest.mark.workflow
def test_a_deleted_png_is_rendered_again_and_refits_only_image_models(tiny_study):
    aligned = pd.read_parquet(tiny_study / "results/dataset/aligned.parquet")
    png = tiny_study / aligned["image"].iloc[0]
    before, stat = png.read_bytes(), png.stat()
    png.unlink()
    assert planned_jobs(tiny_study) == {"render_image": 1, "fit_model": IMAGE_FITS, **AFTER_FITS}
    snakemake(tiny_study, "--cores", "1", targets=[str(png.relative_to(tiny_study))])
    with Image.open(png) as again, Image.open(io.BytesIO(before)) as first:
        assert again.size == first.size and again.tobytes() == first.tobytes()
    os.utime(png, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # as before, for the other tests
    assert planned_jobs(tiny_study) == {}


@pytest.mark.workflow
def test_delete_all_output_would_remove_every_cif_and_png(tiny_study):
    out = snakemake(tiny_study, "--dry-run", "--delete-all-output")
    listed = set(re.findall(r"^Would delete (.+)$", out.stdout + out.stderr, re.M))
    pngs = sorted((tiny_study / "results/modalities/images/png").glob("*.png"))
    assert len(pngs) > 50
    assert [f for f in pngs if str(f.relative_to(tiny_study)) not in listed] == []
    assert "results/structures/cif" in listed  # the folder of CIFs, a directory output


@pytest.mark.workflow
def test_fits_per_gpu_lets_that_many_gpu_fits_run_at_once(tiny_study):
    """Two GPU fits (CPU here: CUDA sees none) with room for both: the second starts before the
    first ends. With the old limit of one GPU fit at a time it could not. Runs last: it refits."""
    fits = [f"results/predictions/text/{target}/repeat_0.parquet" for target in ("e_form", "gap")]
    packed = override(tiny_study, "packed", {"train": {"gpus": 1, "fits_per_gpu": 2, "threads": 1}})
    out = snakemake(tiny_study, "--cores", "2", "--forcerun", *fits, targets=fits, configfiles=packed)
    events = re.findall(r"^(?:local)?(rule fit_model:|Finished jobid)", out.stdout + out.stderr, re.M)
    assert events[:2] == ["rule fit_model:", "rule fit_model:"], events
