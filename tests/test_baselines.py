"""Baselines are fitted on their repeat's train rows only and predict exactly its test rows."""

import json

import numpy as np
import pandas as pd
import pytest

from matfuse.baselines import element_fractions, fit_baseline
from matfuse.split import make_split

FORMULAS = ["NaCl", "KCl", "LiF", "MgO", "CaO", "SrTiO3", "BaTiO3", "Fe2O3", "Al2O3", "ZnS"]


@pytest.fixture
def study(tmp_path):
    rng = np.random.default_rng(0)
    ids = [f"{i:03d}" for i in range(120)]  # numeric-looking ids stay text
    formulas = [FORMULAS[i % len(FORMULAS)] for i in range(120)]
    # a target set by the composition (oxygen fraction) plus a little noise
    oxygen = element_fractions(formulas).get("O", 0).to_numpy()
    pd.DataFrame(
        {"mat_id": ids, "formula": formulas, "e_form": -3 * oxygen + rng.normal(0, 0.05, 120)}
    ).to_parquet(tmp_path / "aligned.parquet")
    make_split(ids, 0.2, seed=1, repeats=2).to_csv(tmp_path / "split.csv", index=False)
    return tmp_path


def _fit(folder, name, repeat=1):
    fit_baseline(folder / "aligned.parquet", folder / "split.csv", repeat, name, "e_form", 3,
                 folder / f"{name}.parquet", folder / f"{name}.json")
    return pd.read_parquet(folder / f"{name}.parquet"), json.loads((folder / f"{name}.json").read_text())


def test_element_fractions_sum_to_one():
    fractions = element_fractions(["SrTiO3", "NaCl"])
    assert list(fractions.columns) == ["Cl", "Na", "O", "Sr", "Ti"]
    assert fractions.sum(axis=1).tolist() == pytest.approx([1.0, 1.0])
    assert fractions.at[0, "O"] == pytest.approx(0.6)


def test_baselines_use_the_train_rows_of_their_repeat_and_predict_its_test_ids(study):
    split = pd.read_csv(study / "split.csv", dtype={"mat_id": str})
    rows = split[split["repeat"] == 1]
    table = pd.read_parquet(study / "aligned.parquet").merge(rows, on="mat_id")
    train_mean = table.loc[table["split"] == "train", "e_form"].mean()
    mean, status = _fit(study, "mean")
    assert list(mean["mat_id"]) == sorted(rows.loc[rows["split"] == "test", "mat_id"])
    assert mean["y_pred"].to_numpy() == pytest.approx(np.full(len(mean), train_mean))
    assert status["combo"] == "baseline_mean" and status["baseline"] and status["repeat"] == 1
    assert status["n_train"] == 96 and status["n_test"] == 24


def test_the_composition_model_learns_the_composition_and_is_seeded(study):
    gbr, _ = _fit(study, "composition_gbr")
    mean, _ = _fit(study, "mean")
    mae = lambda t: (t["y_pred"] - t["y_true"]).abs().mean()  # noqa: E731
    assert mae(gbr) < 0.3 * mae(mean)
    again, _ = _fit(study, "composition_gbr")
    assert again.equals(gbr)
