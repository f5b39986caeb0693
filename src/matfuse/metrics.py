"""Test-split error metrics of one model, with percentile-bootstrap confidence intervals, over
one or more repeated splits, and the paired comparison of two models on the same resamples.

Definitions (the paper's Methods), for true values y and predictions ŷ of the n test
materials:

- ``mae``  = mean |ŷ − y|
- ``rmse`` = sqrt(mean (ŷ − y)²)
- ``mae_scaled``  = MAE / MAD, MAD = mean |y − mean(y)| (mean absolute deviation of the true values)
- ``rmse_scaled`` = RMSE / RMSD, RMSD = sqrt(mean (y − mean(y))²), the *population* standard
  deviation of the true values (ddof = 0), so that RMSE/RMSD = 1 exactly for predicting the mean.

A scaled metric of 1 is what predicting the test mean scores; below 1 the model beats it.

Repeated splits (`evaluate_repeats`): the value is the mean over the k repeats of each repeat's
metric. Its interval comes from a two-stage (cluster) bootstrap that carries both sources of
uncertainty: every draw picks k repeats with replacement (between-split variance) and, for each
pick, resamples that repeat's test materials with replacement (within-split variance), then
averages the k resampled metrics; the interval is the percentile range of the draws. With one
repeat this is exactly the plain bootstrap of the test materials. Models of one target are
drawn on identical resamples (same generators, test materials sorted by id), so the difference
of two models' draws is a paired bootstrap of their difference, pooled over repeats.
"""

from dataclasses import dataclass

import numpy as np

METRICS = ("mae", "rmse", "mae_scaled", "rmse_scaled")

# Bootstrap resamples are drawn in blocks of at most this many values, so memory stays bounded
# however many test materials and resamples there are.
_BLOCK_VALUES = 2_000_000

CONSTANT_TRUTH = "true test values are constant (MAD = RMSD = 0): scaled metric undefined"


@dataclass(frozen=True)
class MetricEstimate:
    """A metric's point value and confidence interval; `reason` says why `value` is NaN,
    `note` qualifies a defined value (e.g. why it has no interval)."""

    value: float
    ci_low: float = np.nan
    ci_high: float = np.nan
    reason: str = ""
    note: str = ""


def metric_values(y_true, y_pred):
    """All four metrics over the last axis: arrays of shape (..., n) give arrays of shape (...).

    Scaled metrics are NaN where the true values are constant (zero denominator).
    """
    y_true = np.asarray(y_true, dtype=float)
    errors = np.asarray(y_pred, dtype=float) - y_true
    deviations = y_true - y_true.mean(axis=-1, keepdims=True)
    mae = np.abs(errors).mean(axis=-1)
    rmse = np.sqrt(np.square(errors).mean(axis=-1))
    mad = np.abs(deviations).mean(axis=-1)
    rmsd = np.sqrt(np.square(deviations).mean(axis=-1))
    return {
        "mae": mae,
        "rmse": rmse,
        "mae_scaled": _ratio(mae, mad),
        "rmse_scaled": _ratio(rmse, rmsd),
    }


def _ratio(numerator, denominator):
    """numerator / denominator, NaN (not inf, no warning) where the denominator is 0."""
    numerator, denominator = np.broadcast_arrays(numerator, denominator)
    out = np.full(numerator.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def bootstrap_metric_values(y_true, y_pred, n_bootstrap, rng):
    """The four metrics on `n_bootstrap` resamples (with replacement) of the test materials.

    Each resample keeps (y, ŷ) pairs together and recomputes the scaled metrics' denominators on
    the resample. Returns {metric: array of shape (n_bootstrap,)}.
    """
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    n = y_true.size
    block = max(1, _BLOCK_VALUES // max(n, 1))
    parts = []
    for start in range(0, n_bootstrap, block):
        index = rng.integers(0, n, size=(min(block, n_bootstrap - start), n))
        parts.append(metric_values(y_true[index], y_pred[index]))
    return {m: np.concatenate([p[m] for p in parts]) if parts else np.empty(0) for m in METRICS}


def repeated_bootstrap(per_repeat, n_bootstrap, rngs, repeat_rng):
    """Draws of the mean-over-repeats metrics: {metric: array (n_bootstrap,)} (see the module).

    `per_repeat`: [(y_true, y_pred)] per repeat; `rngs`: one generator per repeat (within-split
    resamples); `repeat_rng`: picks the repeats. One repeat uses `rngs[0]` only, as the plain
    bootstrap does. A draw with an undefined metric on any pick is NaN for that metric.
    """
    k = len(per_repeat)
    if k == 1:
        return bootstrap_metric_values(*per_repeat[0], n_bootstrap, rngs[0])
    # slot j of draw b of repeat r has its own resample: shape (n_bootstrap, k) per repeat
    resampled = [
        {m: v.reshape(n_bootstrap, k) for m, v in bootstrap_metric_values(y, p, n_bootstrap * k, rng).items()}
        for (y, p), rng in zip(per_repeat, rngs)
    ]
    picks = repeat_rng.integers(0, k, size=(n_bootstrap, k))
    slots = np.arange(k)
    return {
        m: np.stack([r[m] for r in resampled])[picks, np.arange(n_bootstrap)[:, None], slots].mean(axis=1)
        for m in METRICS
    }


def percentile_interval(draws, confidence):
    """The [(1 − c)/2, (1 + c)/2] quantile range of the defined draws, and how many were NaN."""
    defined = draws[~np.isnan(draws)]
    tail = (1 - confidence) / 2
    low, high = np.quantile(defined, [tail, 1 - tail]) if defined.size else (np.nan, np.nan)
    return float(low), float(high), int(draws.size - defined.size)


def evaluate_repeats(per_repeat, n_bootstrap, confidence, rngs, repeat_rng):
    """Mean over repeats of each metric with its two-stage bootstrap interval (see the module).

    Returns ({metric: MetricEstimate}, {metric: draws or None}); the draws serve the paired
    comparison (`paired_difference`). One repeat gives exactly `evaluate_predictions`.
    """
    if len(per_repeat) == 1:
        return _evaluate(*per_repeat[0], n_bootstrap, confidence, rngs[0])
    arrays = [(np.asarray(y, dtype=float), np.asarray(p, dtype=float)) for y, p in per_repeat]
    for y, p in arrays:
        _check_inputs(y, p, n_bootstrap, confidence)
    n_bootstrap = int(n_bootstrap)
    points = [metric_values(y, p) for y, p in arrays]
    if min(y.size for y, _ in arrays) < 2 or n_bootstrap == 0:
        draws = None
        note = "no CI: fewer than 2 test materials" if n_bootstrap else "no CI: n_bootstrap = 0"
    else:
        draws, note = repeated_bootstrap(arrays, n_bootstrap, rngs, repeat_rng), ""
    estimates = {}
    for metric in METRICS:
        per = np.array([float(pt[metric]) for pt in points])
        if np.isnan(per).any():
            where = ", ".join(str(i) for i in np.flatnonzero(np.isnan(per)))
            estimates[metric] = MetricEstimate(np.nan, reason=f"{CONSTANT_TRUTH} (repeat {where})")
            continue
        if draws is None:
            estimates[metric] = MetricEstimate(per.mean(), note=note)
            continue
        low, high, dropped = percentile_interval(draws[metric], confidence)
        estimates[metric] = MetricEstimate(per.mean(), low, high, note=_dropped_note(dropped, n_bootstrap))
    return estimates, draws


def paired_difference(draws, best_draws, confidence):
    """Percentile interval of (model − best) over paired draws (NaN pairs left out)."""
    low, high, _ = percentile_interval(np.asarray(draws) - np.asarray(best_draws), confidence)
    return low, high


def _dropped_note(dropped, n_bootstrap):
    if not dropped:
        return ""
    return (
        f"{dropped} of {n_bootstrap} bootstrap resamples had constant true values "
        "and are left out of the CI"
    )


def _check_inputs(y_true, y_pred, n_bootstrap, confidence):
    if y_true.ndim != 1 or y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} must be equal 1-d")
    if not (np.isfinite(y_true).all() and np.isfinite(y_pred).all()):
        raise ValueError("y_true and y_pred must be finite")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    if int(n_bootstrap) != n_bootstrap or n_bootstrap < 0:
        raise ValueError(f"n_bootstrap must be a non-negative integer, got {n_bootstrap}")


def evaluate_predictions(y_true, y_pred, n_bootstrap, confidence, rng):
    """Point value and percentile-bootstrap interval of each metric.

    `rng` (a numpy Generator) draws the resamples; the interval at level `confidence` is the
    [(1 − c)/2, (1 + c)/2] quantile range of the resampled values. Resamples whose true values
    are all equal leave a scaled metric undefined; they are left out of its interval and
    counted in the note. Returns {metric: MetricEstimate}.
    """
    return _evaluate(y_true, y_pred, n_bootstrap, confidence, rng)[0]


def _evaluate(y_true, y_pred, n_bootstrap, confidence, rng):
    """(estimates, draws) of one split; draws is None where there is no interval."""
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    _check_inputs(y_true, y_pred, n_bootstrap, confidence)
    n_bootstrap = int(n_bootstrap)
    n = y_true.size
    if n == 0:
        return {m: MetricEstimate(np.nan, reason="no test predictions") for m in METRICS}, None

    point = metric_values(y_true, y_pred)
    if n < 2:
        resampled, ci_note = None, "no CI: fewer than 2 test materials"
    elif n_bootstrap == 0:
        resampled, ci_note = None, "no CI: n_bootstrap = 0"
    else:
        resampled, ci_note = bootstrap_metric_values(y_true, y_pred, n_bootstrap, rng), ""

    estimates = {}
    for metric in METRICS:
        value = float(point[metric])
        if np.isnan(value):
            estimates[metric] = MetricEstimate(np.nan, reason=CONSTANT_TRUTH)
            continue
        if resampled is None:
            estimates[metric] = MetricEstimate(value, note=ci_note)
            continue
        low, high, dropped = percentile_interval(resampled[metric], confidence)
        estimates[metric] = MetricEstimate(value, low, high, note=_dropped_note(dropped, n_bootstrap))
    return estimates, resampled
