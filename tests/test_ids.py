"""Ids that look like numbers come through the data stages as written: `007` stays `007`."""

import pandas as pd
import pytest
import yaml
from test_startup import TABLE, run
from workflow_helpers import copy_workflow

from matfuse import ids
from matfuse.dataset import align_dataset
from matfuse.materials import sample_materials
from matfuse.split import make_split
from matfuse.structures import write_cifs
from matfuse.text import text_table

from conftest import REPO

TABLE_FIXTURE = REPO / "tests" / "data" / "table_fixture"
CONFIG = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
NUMERIC_LOOKING = ["007", "12", "1e3", "0012", "NA"]


@pytest.fixture
def id_table(tmp_path):
    """The five real fixture structures under numeric-looking ids, as a CSV table."""
    table = pd.read_csv(TABLE_FIXTURE / "materials.csv")
    table["id"] = NUMERIC_LOOKING
    table["cif"] = [str(TABLE_FIXTURE / path) for path in table["cif"]]
    # made-up values under the field names of the default targets (their dictionary merges)
    for field in ("band_gap_ind", "e_form", "e_above_hull", "energy_total", "total_mag", "dos_ef"):
        table[field] = [0.0, 0.5, 1.0, 1.5, 2.0]
    path = tmp_path / "ids.csv"
    table.to_csv(path, index=False)
    return path


def test_read_csv_keeps_ids_as_written(tmp_path):
    path = tmp_path / "split.csv"
    path.write_text("mat_id,split,x\n007,train,1\n1e3,test,NA\nNA,train,\n")
    table = ids.read_csv(path)
    assert list(table["mat_id"]) == ["007", "1e3", "NA"]
    assert table["x"].isna().tolist() == [False, True, True]  # other columns parse as usual


def test_read_csv_of_numeric_ids_merges_with_text_ids(tmp_path):
    """The bug: split.csv read without dtype gave int64 ids that text ids could not merge on."""
    path = tmp_path / "split.csv"
    pd.DataFrame({"mat_id": ["12", "0012"], "split": ["train", "test"]}).to_csv(path, index=False)
    merged = pd.DataFrame({"mat_id": ["12", "0012"]}).merge(ids.read_csv(path), on="mat_id")
    assert merged["split"].tolist() == ["train", "test"]


def test_the_stage_functions_keep_numeric_looking_ids(tmp_path, id_table):
    """What the scripts of sample -> split -> CIFs -> text -> align call, in order, on files."""
    data = {
        **CONFIG["data"],
        **TABLE,
        "n_materials": 5,
        "min_materials": 2,
        "table": {**TABLE["table"], "path": str(id_table)},
    }
    materials, targets, rejected = sample_materials([id_table], data, CONFIG["targets"], seed=42)
    assert rejected.empty, rejected
    files = {name: tmp_path / f"{name}.parquet" for name in ("materials", "targets", "cifs", "text")}
    materials.to_parquet(files["materials"], index=False)
    targets.to_parquet(files["targets"], index=False)
    stored = pd.read_parquet(files["materials"], columns=["mat_id"])["mat_id"]
    make_split(stored, 0.4, seed=42).to_csv(tmp_path / "split.csv", index=False)
    write_cifs(pd.read_parquet(files["materials"]), tmp_path / "cif").to_parquet(files["cifs"], index=False)
    text_table(pd.read_parquet(files["materials"])).to_parquet(files["text"], index=False)
    aligned, excluded = align_dataset(
        files["materials"], files["targets"], tmp_path / "split.csv", files["cifs"],
        {"text": files["text"]}, min_materials=2,
    )
    assert excluded.empty
    assert sorted(aligned["mat_id"]) == sorted(NUMERIC_LOOKING)
    assert aligned.set_index("mat_id").loc["007", "formula"] == "GdTl"
    assert sorted(p.stem for p in (tmp_path / "cif").glob("*.cif")) == sorted(NUMERIC_LOOKING)


@pytest.mark.workflow
def test_the_workflow_keeps_numeric_looking_ids(tmp_path, id_table):
    """The same stages as rules and scripts: `results/dataset/aligned.parquet`, text only."""
    (tmp_path / "wf").mkdir()
    workdir = copy_workflow(tmp_path / "wf")
    override = {
        "data": {**TABLE, "n_materials": 5, "min_materials": 2, "table": {"path": str(id_table)}},
        "modalities": ["text"],
        "split": {"test_fraction": 0.4},
    }
    proc = run(workdir, override, "--cores", "1", "results/dataset/aligned.parquet")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = workdir / "results"
    assert ids.read_csv(results / "data/rejected.csv").empty
    assert sorted(ids.read_csv(results / "data/split.csv")["mat_id"]) == sorted(NUMERIC_LOOKING)
    assert sorted(p.stem for p in (results / "structures/cif").glob("*.cif")) == sorted(NUMERIC_LOOKING)
    aligned = pd.read_parquet(results / "dataset/aligned.parquet")
    assert sorted(aligned["mat_id"]) == sorted(NUMERIC_LOOKING)
    assert aligned.set_index("mat_id").loc["007", "formula"] == "GdTl"
    assert ids.read_csv(results / "dataset/excluded.csv").empty
