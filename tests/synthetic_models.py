"""Prediction and status files in the training stage's format (contracts.md), written from
synthetic numbers, so evaluation, tables and figures are tested without fitting models."""

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

CONFIG_TARGETS = yaml.safe_load((Path(__file__).parents[1] / "config" / "config.yaml").read_text())[
    "targets"
]
COMBOS = [
    "+".join(c)
    for size in (1, 2, 3)
    for c in itertools.combinations(("tabular", "image", "text"), size)
]
PRETRAINED_TEXT = {"name": "all-MiniLM-L6-v2", "source": "package", "pretrained": True}
RANDOM_IMAGE = {"name": "swin_base", "source": "random_init", "pretrained": False}
# Rough stand-ins for how good each combination is, as a fraction of the spread of the target.
QUALITY = dict(zip(COMBOS, (0.95, 0.72, 0.7, 0.7, 0.68, 0.6, 0.62)))


def write_model(
    directory,
    combo,
    target,
    y_true=(),
    y_pred=(),
    ok=True,
    reason="",
    backbones=None,
    embedding=None,
    mat_ids=None,
    repeat=0,
    extra_status=None,
):
    """One model's `{combo}/{target}/repeat_{repeat}.parquet` and `.json`; returns their paths."""
    folder = Path(directory) / combo / target
    folder.mkdir(parents=True, exist_ok=True)
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    ids = mat_ids if mat_ids is not None else [f"agm{i:09d}" for i in range(len(y_true))]
    predictions = folder / f"repeat_{repeat}.parquet"
    pd.DataFrame({"mat_id": ids, "y_true": y_true, "y_pred": y_pred}).to_parquet(predictions)
    status = folder / f"repeat_{repeat}.json"
    status.write_text(
        json.dumps(
            {
                "combo": combo,
                "target": target,
                "repeat": repeat,
                "ok": ok,
                "reason": reason,
                "fit_seconds": 1.0,
                "n_train": 4 * len(y_true),
                "n_test": len(y_true),
                "backbones": backbones or {},
                "embedding": embedding,
                "device": "cpu",
                **(extra_status or {}),
            }
        )
    )
    return predictions, status


def synthetic_truth(target, n, rng):
    """True values shaped like the Alexandria targets (many exact zeros for gap, mag, DOS)."""
    zeros = rng.random(n)
    draw = {
        "gap": lambda: np.where(zeros < 0.6, 0.0, rng.exponential(1.5, n)),
        "e_form": lambda: rng.normal(-1.2, 0.9, n),
        "e_above_hull": lambda: rng.exponential(0.25, n),
        "e_total_per_atom": lambda: rng.normal(-5.5, 1.8, n),
        "mag_per_volume": lambda: np.where(zeros < 0.75, 0.0, rng.exponential(0.02, n)),
        "volume_per_atom": lambda: rng.lognormal(np.log(18), 0.35, n),
        "dos_per_atom": lambda: np.where(zeros < 0.6, 0.0, rng.exponential(0.4, n)),
    }
    return draw[target]()


def write_study(
    directory, n_test=150, seed=0, failed=("tabular+image", "dos_per_atom"), repeats=1, baselines=False
):
    """7 combinations × 7 targets of synthetic models (and, with `baselines`, the mean and median
    baselines) in each of `repeats` splits: image backbones randomly initialised, tabular on a
    random PotNet embedding, one failed fit. Returns (predictions, statuses)."""
    rng = np.random.default_rng(seed)
    predictions, statuses = [], []
    combos = COMBOS + (["baseline_mean", "baseline_median"] if baselines else [])
    for repeat in range(repeats):
        truth = {t: synthetic_truth(t, n_test, rng) for t in CONFIG_TARGETS}
        ids = [f"agm{repeat:02d}{i:07d}" for i in range(n_test)]
        for combo, target in itertools.product(combos, CONFIG_TARGETS):
            y = truth[target]
            if combo.startswith("baseline_"):
                centre = y.mean() if combo == "baseline_mean" else np.median(y)
                y_pred = np.full(n_test, centre + rng.normal(0, 0.05 * y.std()))
            else:
                spread, q = y.std(), QUALITY[combo] * rng.uniform(0.85, 1.15)
                y_pred = y.mean() + (1 - q / 2) * (y - y.mean()) + rng.normal(0, q * spread, n_test)
            modalities = combo.split("+")
            backbones = {"text": PRETRAINED_TEXT} if "text" in modalities else {}
            if "image" in modalities:
                backbones["image"] = RANDOM_IMAGE
            fail = (combo, target) == tuple(failed)
            paths = write_model(
                directory,
                combo,
                target,
                [] if fail else y,
                [] if fail else y_pred,
                ok=not fail,
                reason="CUDA out of memory (synthetic)" if fail else "",
                backbones=backbones,
                embedding="random" if "tabular" in modalities else None,
                mat_ids=[] if fail else ids,
                repeat=repeat,
            )
            predictions.append(paths[0])
            statuses.append(paths[1])
    return predictions, statuses
