"""Trivial and composition-only predictors, fitted on the same splits as the models, so every
table shows what a trained multimodal model has to beat.

- `mean`, `median`: the train split's mean / median of the target, predicted for every test
  material (for a target that is mostly zero the median is hard to beat);
- `composition_gbr`: scikit-learn's HistGradientBoostingRegressor on the element fractions of
  the reduced formula (seeded from config), the classic composition-only model.

They write predictions and a status file in the models' format, so the evaluation scores them
with the same code; their metrics rows have combo `baseline_{name}`.
"""

import json
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from matfuse.evaluate import BASELINE_PREFIX
from matfuse.split import with_split

log = logging.getLogger(__name__)

BASELINES = ("mean", "median", "composition_gbr")


def element_fractions(formulas):
    """One column per element seen in `formulas`, each row's atomic fractions (summing to 1)."""
    from pymatgen.core import Composition

    rows = []
    for formula in formulas:
        amounts = Composition(formula).get_el_amt_dict()
        total = sum(amounts.values())
        rows.append({el: amount / total for el, amount in amounts.items()})
    return pd.DataFrame(rows).fillna(0.0).reindex(sorted({k for r in rows for k in r}), axis=1)


def predict_baseline(name, train, test, target, seed):
    """Test predictions of baseline `name` fitted on the `train` rows only."""
    y = train[target].to_numpy(float)
    if name == "mean":
        return np.full(len(test), y.mean())
    if name == "median":
        return np.full(len(test), np.median(y))
    if name == "composition_gbr":
        from sklearn.ensemble import HistGradientBoostingRegressor

        # columns from every formula of the table: the element set carries no target values
        features = element_fractions(pd.concat([train["formula"], test["formula"]]))
        model = HistGradientBoostingRegressor(random_state=seed)
        model.fit(features.iloc[: len(train)].to_numpy(), y)
        return model.predict(features.iloc[len(train) :].to_numpy())
    raise ValueError(f"unknown baseline {name!r}; expected one of {list(BASELINES)}")


def fit_baseline(dataset, split, repeat, name, target, seed, predictions, status):
    """Fit baseline `name` on the repeat's train rows, predict its test rows, write both files."""
    table = with_split(pd.read_parquet(dataset, columns=["mat_id", "formula", target]), split, repeat)
    train = table[table["split"] == "train"].reset_index(drop=True)
    test = table[table["split"] == "test"].reset_index(drop=True)
    start = time.perf_counter()
    y_pred = predict_baseline(name, train, test, target, seed)
    record = {
        "combo": BASELINE_PREFIX + name,
        "target": target,
        "repeat": int(repeat),
        "baseline": True,
        "ok": True,
        "reason": "",
        "fit_seconds": round(time.perf_counter() - start, 2),
        "n_train": len(train),
        "n_test": len(test),
        "backbones": {},
        "embedding": None,
        "device": "cpu",
    }
    log.info("baseline %s / %s / repeat %s: %d train, %d test rows", name, target, repeat, len(train), len(test))
    pd.DataFrame({"mat_id": test["mat_id"], "y_true": test[target].to_numpy(float), "y_pred": y_pred}).to_parquet(
        predictions, index=False
    )
    Path(status).write_text(json.dumps(record, indent=2))
    return record
