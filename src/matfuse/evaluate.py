"""Metrics of every trained model in one long table (the `metrics.csv` contract).

Each model contributes one row per metric. A model whose fit failed, or whose predictions cannot
be used, still gets its rows: value NaN, `ok` False and the reason — never silently missing.

Column meanings: `ok` — the model fitted and its predictions were usable; `reason` — why `value`
is NaN ("" when it is defined; a scaled metric can be undefined for a fitted model);
`pretrained` — every backbone named in the model's status is pretrained (True when it names
none); `note` — "; "-separated qualifiers: not-pretrained backbones, the structure-embedding
method, caveats of the confidence interval (see `note_kind`).
"""

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from matfuse.metrics import METRICS, evaluate_predictions

log = logging.getLogger(__name__)

COLUMNS = [
    "combo",
    "target",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "n_test",
    "ok",
    "reason",
    "pretrained",
    "note",
]
NOTE_SEPARATOR = "; "
_BACKBONE_MARK = " backbone "
_EMBEDDING_PREFIX = "structure embedding "


def backbone_note(modality, backbone):
    """How a not-pretrained backbone is named in a note, e.g. 'image backbone swin randomly initialised'."""
    state = "randomly initialised" if backbone.get("source") == "random_init" else "not pretrained"
    return f"{modality}{_BACKBONE_MARK}{backbone.get('name', '?')} {state}"


def note_kind(part):
    """Which kind of qualifier one note part is: 'backbone', 'embedding' or 'metric'."""
    if part.startswith(_EMBEDDING_PREFIX):
        return "embedding"
    if _BACKBONE_MARK in part:
        return "backbone"
    return "metric"


def bootstrap_rng(seed, target):
    """The resampling generator of one target, stable across runs and Python processes.

    Derived from the seed and the target only, so every combination of a target is scored on
    the same resamples of the (mat_id-sorted) test materials: combinations are compared on
    identical resamples.
    """
    digest = hashlib.sha256(target.encode()).digest()
    return np.random.default_rng([int(seed), int.from_bytes(digest[:8], "little")])


def collect_metrics(predictions, statuses, n_bootstrap, confidence, seed):
    """Metrics of each model, paired by path (`{combo}/{target}.parquet` with `.json`)."""
    pairs = _pair_by_stem(predictions, statuses)
    rows, seen = [], set()
    for prediction_path, status_path in pairs:
        model = _read_model(prediction_path, status_path)
        key = (model["combo"], model["target"])
        if key in seen:
            raise ValueError(f"two status files name combo {key[0]!r}, target {key[1]!r}")
        seen.add(key)
        rows.extend(_model_rows(model, n_bootstrap, confidence, seed))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    failed = frame.loc[~frame["ok"], ["combo", "target"]].drop_duplicates()
    log.info("%d models, %d not usable", len(pairs), len(failed))
    return frame


def _pair_by_stem(predictions, statuses):
    by_stem = {Path(p).with_suffix(""): Path(p) for p in predictions}
    status_by_stem = {Path(s).with_suffix(""): Path(s) for s in statuses}
    unpaired = sorted(map(str, set(by_stem) ^ set(status_by_stem)))
    if unpaired or len(by_stem) != len(predictions) or len(status_by_stem) != len(statuses):
        raise ValueError(
            f"predictions and statuses must pair one to one by path; unpaired: {unpaired}"
        )
    return [(by_stem[stem], status_by_stem[stem]) for stem in status_by_stem]


def _read_model(prediction_path, status_path):
    """The model's status fields and predictions, with `problem` saying why it is unusable ("")."""
    model = {
        "combo": status_path.parent.name,
        "target": status_path.stem,
        "n_test": 0,
        "pretrained": True,
        "notes": [],
        "problem": "",
    }
    try:
        status = json.loads(status_path.read_text())
        model.update(combo=status["combo"], target=status["target"])
        model["n_test"] = int(status.get("n_test") or 0)
        backbones = status.get("backbones") or {}
        model["pretrained"] = all(bool(b["pretrained"]) for b in backbones.values())
        model["notes"] = [backbone_note(m, b) for m, b in backbones.items() if not b["pretrained"]]
        if status.get("embedding"):
            model["notes"].append(f"{_EMBEDDING_PREFIX}{status['embedding']}")
        fit_ok, fit_reason = bool(status["ok"]), status.get("reason") or "no reason given"
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        model["problem"] = f"status {status_path} unreadable: {error!r}"
        return model
    if not fit_ok:
        model["problem"] = f"fit failed: {fit_reason}"
        return model
    try:
        table = pd.read_parquet(prediction_path, columns=["mat_id", "y_true", "y_pred"])
    except Exception as error:  # a corrupt or incomplete file: that model only
        model["problem"] = f"predictions {prediction_path} unreadable: {error!r}"
        return model
    model["problem"] = _prediction_problem(table)
    if not model["problem"]:
        if len(table) != model["n_test"]:
            log.warning(
                "%s/%s: status says n_test=%d, predictions have %d rows",
                model["combo"],
                model["target"],
                model["n_test"],
                len(table),
            )
        model["predictions"] = table.sort_values("mat_id", kind="stable")
        model["n_test"] = len(table)
    return model


def _prediction_problem(table):
    """Why a prediction table cannot be scored, or ''."""
    if table.empty:
        return "no test predictions"
    duplicated = table["mat_id"][table["mat_id"].duplicated()]
    if len(duplicated):
        return f"duplicate mat_id in predictions: {', '.join(map(str, duplicated.unique()[:5]))}"
    values = table[["y_true", "y_pred"]].apply(pd.to_numeric, errors="coerce")
    bad = table["mat_id"][~np.isfinite(values.to_numpy(dtype=float)).all(axis=1)]
    if len(bad):
        return f"{len(bad)} non-finite y_true/y_pred, e.g. {', '.join(map(str, bad[:5]))}"
    return ""


def _model_rows(model, n_bootstrap, confidence, seed):
    base = {
        "combo": model["combo"],
        "target": model["target"],
        "n_test": model["n_test"],
        "pretrained": model["pretrained"],
    }
    if model["problem"]:
        log.warning("%s/%s: %s", model["combo"], model["target"], model["problem"])
        missing = {"value": np.nan, "ci_low": np.nan, "ci_high": np.nan, "ok": False}
        note = NOTE_SEPARATOR.join(model["notes"])
        return [
            {**base, **missing, "metric": m, "reason": model["problem"], "note": note}
            for m in METRICS
        ]
    table = model["predictions"]
    estimates = evaluate_predictions(
        table["y_true"].to_numpy(float),
        table["y_pred"].to_numpy(float),
        n_bootstrap,
        confidence,
        bootstrap_rng(seed, model["target"]),
    )
    return [
        {
            **base,
            "metric": metric,
            "value": est.value,
            "ci_low": est.ci_low,
            "ci_high": est.ci_high,
            "ok": True,
            "reason": est.reason,
            "note": NOTE_SEPARATOR.join(model["notes"] + ([est.note] if est.note else [])),
        }
        for metric, est in estimates.items()
    ]
