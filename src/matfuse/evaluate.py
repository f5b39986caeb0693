"""Metrics of every trained model and baseline in one long table (the `metrics.csv` contract).

Each model (combination × target, fitted once per repeated split) contributes one row per
metric: the mean over repeats with a two-stage bootstrap interval (matfuse.metrics). A model whose fit failed, or whose predictions cannot
be used, still gets its rows: value NaN, `ok` False and the reason — never silently missing.

Column meanings: `ok` — the model fitted and its predictions were usable; `reason` — why `value`
is NaN ("" when it is defined; a scaled metric can be undefined for a fitted model);
`pretrained` — every backbone named in the model's status is pretrained (True when it names
none); `note` — "; "-separated qualifiers: not-pretrained backbones, the structure-embedding
method, fits that stopped on the time limit or barely trained, caveats of the confidence
interval (see `note_kind`); `repeats` — the number of repeated splits averaged; `repeat_sd` —
the standard deviation of the metric over them; `baseline` — a baseline, not a trained model;
`vs_best_low`, `vs_best_high` — the paired-bootstrap interval of (this − the target's best
usable row) for this metric, pooled over repeats; `matches_best` — that interval reaches 0: the
paired test cannot tell this row from the best (True for the best itself); `best_part` — for a
combination of two or more modalities, its part (a single modality or a smaller combination of its
modalities: image+text for tabular+image+text) with the lowest value of this metric (empty
otherwise, or when none of its parts is usable); `vs_part_low`, `vs_part_high` —
the paired-bootstrap interval of (this − best_part): above 0, fusing made the model worse than
its best part beyond noise; below 0, better.
"""

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from matfuse.metrics import METRICS, evaluate_repeats, metric_values, paired_difference

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
    "repeats",
    "repeat_sd",
    "baseline",
    "vs_best_low",
    "vs_best_high",
    "matches_best",
    "best_part",
    "vs_part_low",
    "vs_part_high",
]
NOTE_SEPARATOR = "; "
_BACKBONE_MARK = " backbone "
_EMBEDDING_PREFIX = "structure embedding "
_TRAINING_PREFIX = "training: "
BASELINE_PREFIX = "baseline_"


def backbone_note(modality, backbone):
    """How a not-pretrained backbone is named in a note, e.g. 'image backbone swin randomly initialised'."""
    state = "randomly initialised" if backbone.get("source") == "random_init" else "not pretrained"
    return f"{modality}{_BACKBONE_MARK}{backbone.get('name', '?')} {state}"


def note_kind(part):
    """Which kind of qualifier one note part is: 'backbone', 'embedding', 'training' or 'metric'."""
    if part.startswith(_EMBEDDING_PREFIX):
        return "embedding"
    if part.startswith(_TRAINING_PREFIX):
        return "training"
    if _BACKBONE_MARK in part:
        return "backbone"
    return "metric"


def bootstrap_rng(seed, target, repeat=0):
    """The resampling generator of one target's repeat, stable across runs and processes.

    Derived from the seed, the target and the repeat only, so every combination of a target is
    scored on the same resamples of the (mat_id-sorted) test materials: combinations are
    compared on identical resamples. Repeat 0's is the single split's generator, unchanged.
    """
    digest = int.from_bytes(hashlib.sha256(target.encode()).digest()[:8], "little")
    return np.random.default_rng([int(seed), digest] + ([int(repeat)] if repeat else []))


def repeat_choice_rng(seed, target):
    """The generator that picks repeats in the two-stage bootstrap of one target."""
    digest = hashlib.sha256(f"{target}:repeats".encode()).digest()
    return np.random.default_rng([int(seed), int.from_bytes(digest[:8], "little")])


def is_baseline(combo):
    return str(combo).startswith(BASELINE_PREFIX)


class TooManyFailures(RuntimeError):
    pass


def collect_metrics(predictions, statuses, n_bootstrap, confidence, seed, max_failed_fraction=1.0):
    """Metrics of each model over its repeats, paired by path (`.parquet` with `.json`), with
    the paired comparison of every row against its target's best.

    Raises TooManyFailures, naming them, when more than `max_failed_fraction` of the models
    have no usable predictions: tables of mostly dashes would read as a result."""
    pairs = _pair_by_stem(predictions, statuses)
    runs = {}
    for prediction_path, status_path in pairs:
        run = _read_model(prediction_path, status_path)
        key = (run["combo"], run["target"], run["repeat"])
        if key in runs:
            raise ValueError(
                f"two status files name combo {key[0]!r}, target {key[1]!r}, repeat {key[2]}"
            )
        runs[key] = run
    rows = []
    for target in dict.fromkeys(t for _, t, _ in runs):
        rows.extend(_target_rows({k: r for k, r in runs.items() if k[1] == target}, target, n_bootstrap, confidence, seed))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    failed = frame.loc[~frame["ok"], ["combo", "target"]].drop_duplicates()
    n_models = len(frame) // len(METRICS)
    log.info("%d fits, %d models, %d not usable", len(pairs), n_models, len(failed))
    if n_models and len(failed) > max_failed_fraction * n_models:
        reasons = frame.loc[~frame["ok"]].drop_duplicates(["combo", "target"])
        named = "; ".join(f"{r.combo}/{r.target}: {r.reason}" for r in reasons.itertuples())
        raise TooManyFailures(
            f"{len(failed)} of {n_models} models have no usable predictions, more than "
            f"evaluate.max_failed_fraction = {max_failed_fraction}: {named}"
        )
    return frame


def _target_rows(runs, target, n_bootstrap, confidence, seed):
    """Rows of every model of one target; models are scored on the same resamples, then each
    is compared with the target's best, metric by metric."""
    repeats = sorted({r for _, _, r in runs})
    reference = _reference_ids(runs, repeats)
    models = {}
    for combo in dict.fromkeys(c for c, _, _ in runs):
        model_runs = [runs.get((combo, target, r)) for r in repeats]
        models[combo] = _combine_runs(combo, target, model_runs, repeats, reference)
        if not models[combo]["problem"]:
            per_repeat = [(t["y_true"].to_numpy(float), t["y_pred"].to_numpy(float)) for t in models[combo]["tables"]]
            models[combo]["estimates"], models[combo]["draws"] = evaluate_repeats(
                per_repeat,
                n_bootstrap,
                confidence,
                # fresh generators per model: every model is drawn on the same resamples
                [bootstrap_rng(seed, target, r) for r in repeats],
                repeat_choice_rng(seed, target),
            )
            models[combo]["repeat_sd"] = _repeat_sd(per_repeat)
    rows = []
    for model in models.values():
        rows.extend(_model_rows(model))
    _compare_with_best(rows, models, confidence)
    _compare_with_parts(rows, models, confidence)
    return rows


def _reference_ids(runs, repeats):
    """Per repeat, the test ids most usable runs share: the ids every model must predict."""
    reference = {}
    for repeat in repeats:
        id_sets = [tuple(r["predictions"]["mat_id"]) for (_, _, rp), r in runs.items() if rp == repeat and not r["problem"]]
        reference[repeat] = max(set(id_sets), key=id_sets.count) if id_sets else None
    return reference


def _combine_runs(combo, target, model_runs, repeats, reference):
    """One model over its repeats: the first problem of any repeat makes it unusable."""
    known = [r for r in model_runs if r is not None]
    model = {
        "combo": combo,
        "target": target,
        "repeats": len(repeats),
        "n_test": sum(r["n_test"] for r in known) // max(len(known), 1),
        "pretrained": all(r["pretrained"] for r in known),
        "notes": list(dict.fromkeys(n for r in known for n in r["notes"])) + _training_notes(known),
        "baseline": is_baseline(combo) or any(r["baseline"] for r in known),
        "problem": "",
    }
    for repeat, run in zip(repeats, model_runs):
        if run is None:
            model["problem"] = f"repeat {repeat}: no predictions"
        elif run["problem"]:
            model["problem"] = run["problem"] if len(repeats) == 1 else f"repeat {repeat}: {run['problem']}"
        elif tuple(run["predictions"]["mat_id"]) != reference[repeat]:
            model["problem"] = f"repeat {repeat}: test ids differ from the other models' of this repeat"
        if model["problem"]:
            return model
    model["tables"] = [r["predictions"] for r in model_runs]
    return model


def _training_notes(runs):
    """Notes for fits that stopped on the time limit or barely trained (status fields of the
    training stage, when present), with how many of the repeats."""
    notes = []
    for what, flagged in (
        ("stopped on train.time_limit", [r for r in runs if r["stopped_by"] == "time_limit"]),
        ("barely trained", [r for r in runs if r["barely_trained"]]),
    ):
        if flagged:
            epochs = sorted({r["epochs"] for r in flagged if r["epochs"] is not None})
            unit = "epoch" if epochs == [1] else "epochs"
            detail = f" after {'/'.join(map(str, epochs))} {unit}" if epochs else ""
            fits = "fit" if len(runs) == 1 else "fits"
            notes.append(f"{_TRAINING_PREFIX}{what}{detail} in {len(flagged)} of {len(runs)} {fits}")
    return notes


def _repeat_sd(per_repeat):
    if len(per_repeat) < 2:
        return {m: np.nan for m in METRICS}
    values = [metric_values(y, p) for y, p in per_repeat]
    return {m: float(np.std([v[m] for v in values], ddof=1)) for m in METRICS}


def _compare_with_best(rows, models, confidence):
    """Fill vs_best_* and matches_best: per metric, each usable row against the lowest value."""
    for metric in METRICS:
        usable = [r for r in rows if r["metric"] == metric and np.isfinite(r["value"])]
        if not usable:
            continue
        best = min(usable, key=lambda r: r["value"])
        best_draws = _draws(models, best["combo"], metric)
        for row in usable:
            draws = _draws(models, row["combo"], metric)
            if row is best:
                row.update(vs_best_low=0.0, vs_best_high=0.0, matches_best=True)
            elif draws is None or best_draws is None:
                row["matches_best"] = False  # no interval: nothing says it is indistinguishable
            else:
                low, high = paired_difference(draws, best_draws, confidence)
                row.update(vs_best_low=low, vs_best_high=high, matches_best=bool(low <= 0))


def _compare_with_parts(rows, models, confidence):
    """Fill best_part and vs_part_*: per metric, each usable multimodal row against the best of
    its parts, single modalities and smaller combinations alike (the question fusion must
    answer: does adding a view ever hurt? tabular+image+text must not lose to image+text)."""
    for metric in METRICS:
        usable = {r["combo"]: r for r in rows if r["metric"] == metric and np.isfinite(r["value"])}
        by_views = {frozenset(combo.split("+")): r for combo, r in usable.items() if not r["baseline"]}
        for combo, row in usable.items():
            views = frozenset(combo.split("+"))
            parts = [r for part, r in by_views.items() if part < views]
            if row["baseline"] or not parts:
                continue
            best = min(parts, key=lambda r: r["value"])
            row["best_part"] = best["combo"]
            draws, part_draws = _draws(models, combo, metric), _draws(models, best["combo"], metric)
            if draws is not None and part_draws is not None:
                row["vs_part_low"], row["vs_part_high"] = paired_difference(draws, part_draws, confidence)


def _draws(models, combo, metric):
    """A model's bootstrap draws of one metric, or None when it has none (no interval)."""
    return (models[combo].get("draws") or {}).get(metric)


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
        "combo": status_path.parent.parent.name,
        "target": status_path.parent.name,
        "repeat": _repeat_from_path(status_path),
        "n_test": 0,
        "pretrained": True,
        "notes": [],
        "baseline": False,
        "stopped_by": None,
        "barely_trained": False,
        "epochs": None,
        "problem": "",
    }
    try:
        status = json.loads(status_path.read_text())
        model.update(combo=status["combo"], target=status["target"])
        model["repeat"] = int(status.get("repeat", model["repeat"]))
        model["baseline"] = bool(status.get("baseline", False))
        # written by the training stage when it knows them; older statuses lack them
        model["stopped_by"] = status.get("stopped_by")
        model["barely_trained"] = bool(status.get("barely_trained", False))
        model["epochs"] = status.get("epochs_completed")
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


def _repeat_from_path(path):
    """The repeat a `repeat_{r}.json` path names (0 for other names)."""
    stem = Path(path).stem
    return int(stem.removeprefix("repeat_")) if stem.startswith("repeat_") and stem[7:].isdigit() else 0


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


def _model_rows(model):
    base = {
        "combo": model["combo"],
        "target": model["target"],
        "n_test": model["n_test"],
        "pretrained": model["pretrained"],
        "repeats": model["repeats"],
        "baseline": model["baseline"],
        "vs_best_low": np.nan,
        "vs_best_high": np.nan,
        "matches_best": False,
        "best_part": "",
        "vs_part_low": np.nan,
        "vs_part_high": np.nan,
    }
    if model["problem"]:
        log.warning("%s/%s: %s", model["combo"], model["target"], model["problem"])
        missing = {"value": np.nan, "ci_low": np.nan, "ci_high": np.nan, "ok": False, "repeat_sd": np.nan}
        note = NOTE_SEPARATOR.join(model["notes"])
        return [
            {**base, **missing, "metric": m, "reason": model["problem"], "note": note}
            for m in METRICS
        ]
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
            "repeat_sd": model["repeat_sd"][metric],
        }
        for metric, est in model["estimates"].items()
    ]
