"""Test-split error metrics of one model, with percentile-bootstrap confidence intervals.

Definitions (the paper's Methods), for true values y and predictions ŷ of the n test
materials:

- ``mae``  = mean |ŷ − y|
- ``rmse`` = sqrt(mean (ŷ − y)²)
- ``mae_scaled``  = MAE / MAD, MAD = mean |y − mean(y)| (mean absolute deviation of the true values)
- ``rmse_scaled`` = RMSE / RMSD, RMSD = sqrt(mean (y − mean(y))²), the *population* standard
  deviation of the true values (ddof = 0), so that RMSE/RMSD = 1 exactly for predicting the mean.

A scaled metric of 1 is what predicting the test mean scores; below 1 the model beats it.
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


def evaluate_predictions(y_true, y_pred, n_bootstrap, confidence, rng):
    """Point value and percentile-bootstrap interval of each metric.

    `rng` (a numpy Generator) draws the resamples; the interval at level `confidence` is the
    [(1 − c)/2, (1 + c)/2] quantile range of the resampled values. Resamples whose true values
    are all equal leave a scaled metric undefined; they are left out of its interval and
    counted in the note. Returns {metric: MetricEstimate}.
    """
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} must be equal 1-d")
    if not (np.isfinite(y_true).all() and np.isfinite(y_pred).all()):
        raise ValueError("y_true and y_pred must be finite")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    if int(n_bootstrap) != n_bootstrap or n_bootstrap < 0:
        raise ValueError(f"n_bootstrap must be a non-negative integer, got {n_bootstrap}")
    n_bootstrap = int(n_bootstrap)
    n = y_true.size
    if n == 0:
        return {m: MetricEstimate(np.nan, reason="no test predictions") for m in METRICS}

    point = metric_values(y_true, y_pred)
    if n < 2:
        resampled, ci_note = None, "no CI: fewer than 2 test materials"
    elif n_bootstrap == 0:
        resampled, ci_note = None, "no CI: n_bootstrap = 0"
    else:
        resampled, ci_note = bootstrap_metric_values(y_true, y_pred, n_bootstrap, rng), ""

    tail = (1 - confidence) / 2
    estimates = {}
    for metric in METRICS:
        value = float(point[metric])
        if np.isnan(value):
            estimates[metric] = MetricEstimate(np.nan, reason=CONSTANT_TRUTH)
            continue
        if resampled is None:
            estimates[metric] = MetricEstimate(value, note=ci_note)
            continue
        defined = resampled[metric][~np.isnan(resampled[metric])]
        dropped = n_bootstrap - defined.size
        note = (
            f"{dropped} of {n_bootstrap} bootstrap resamples had constant true values "
            "and are left out of the CI"
            if dropped
            else ""
        )
        low, high = np.quantile(defined, [tail, 1 - tail]) if defined.size else (np.nan, np.nan)
        estimates[metric] = MetricEstimate(value, float(low), float(high), note=note)
    return estimates
