import math
import statistics
import warnings

import numpy as np
import pytest

from matfuse import metrics
from matfuse.metrics import (
    CONSTANT_TRUTH,
    METRICS,
    bootstrap_metric_values,
    evaluate_predictions,
    metric_values,
)

Y_TRUE = [1.0, 2.0, 3.0, 4.0]
Y_PRED = [1.5, 2.0, 2.0, 5.0]


def test_metrics_match_hand_computed_values():
    # errors 0.5, 0, -1, 1; mean(y) = 2.5, deviations ±1.5, ±0.5
    values = metric_values(Y_TRUE, Y_PRED)
    assert values["mae"] == pytest.approx(2.5 / 4)
    assert values["rmse"] == pytest.approx(math.sqrt((0.25 + 0 + 1 + 1) / 4))  # 0.75
    assert values["mae_scaled"] == pytest.approx(0.625 / 1.0)  # MAD = (1.5+0.5+0.5+1.5)/4
    assert values["rmse_scaled"] == pytest.approx(0.75 / math.sqrt(1.25))  # RMSD = sqrt(5/4)


def test_rmsd_is_the_population_standard_deviation():
    y = np.array([0.3, 1.7, 2.2, 5.0, 4.1])
    mean_prediction = np.full_like(y, y.mean())
    values = metric_values(y, mean_prediction)
    assert values["rmse_scaled"] == pytest.approx(1.0)
    assert values["rmse"] / values["rmse_scaled"] == pytest.approx(statistics.pstdev(y))


def test_metric_values_work_along_the_last_axis():
    stacked = metric_values([Y_TRUE, [4.0, 3.0, 2.0, 1.0]], [Y_PRED, [4.0, 3.0, 2.0, 2.0]])
    assert stacked["mae"] == pytest.approx([0.625, 0.25])
    assert stacked["mae_scaled"] == pytest.approx([0.625, 0.25])


def test_constant_truth_leaves_scaled_metrics_undefined_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = evaluate_predictions(
            [2.0] * 5, [1.0, 2.0, 3.0, 2.0, 2.0], 50, 0.95, np.random.default_rng(0)
        )
    assert result["mae"].value == pytest.approx(0.4)
    assert result["mae"].reason == ""
    for metric in ("mae_scaled", "rmse_scaled"):
        assert math.isnan(result[metric].value)
        assert result[metric].reason == CONSTANT_TRUTH
        assert math.isnan(result[metric].ci_low) and math.isnan(result[metric].ci_high)


def test_no_test_materials_gives_nan_with_reason():
    result = evaluate_predictions([], [], 100, 0.95, np.random.default_rng(0))
    assert set(result) == set(METRICS)
    assert all(math.isnan(e.value) and e.reason == "no test predictions" for e in result.values())


def test_one_test_material_has_errors_but_no_interval():
    result = evaluate_predictions([1.0], [1.5], 100, 0.95, np.random.default_rng(0))
    assert result["mae"].value == pytest.approx(0.5)
    assert math.isnan(result["mae"].ci_low)
    assert "fewer than 2" in result["mae"].note
    assert math.isnan(result["mae_scaled"].value) and result["mae_scaled"].reason


def test_no_bootstrap_gives_values_without_interval():
    result = evaluate_predictions(Y_TRUE, Y_PRED, 0, 0.95, np.random.default_rng(0))
    assert result["rmse"].value == pytest.approx(0.75)
    assert math.isnan(result["rmse"].ci_low) and math.isnan(result["rmse"].ci_high)
    assert result["rmse"].note == "no CI: n_bootstrap = 0"


def _noisy(n, seed=1):
    rng = np.random.default_rng(seed)
    y = rng.normal(0, 1, n)
    return y, y + rng.normal(0, 0.5, n)


def test_bootstrap_is_deterministic_given_the_generator():
    y, y_hat = _noisy(60)
    first = evaluate_predictions(y, y_hat, 300, 0.95, np.random.default_rng(7))
    again = evaluate_predictions(y, y_hat, 300, 0.95, np.random.default_rng(7))
    other = evaluate_predictions(y, y_hat, 300, 0.95, np.random.default_rng(8))
    assert first == again
    assert first["mae"].ci_low != other["mae"].ci_low


def test_interval_contains_the_estimate_and_narrows_with_more_materials():
    widths = {}
    for n in (50, 800):
        y, y_hat = _noisy(n)
        result = evaluate_predictions(y, y_hat, 1000, 0.95, np.random.default_rng(0))
        for metric, estimate in result.items():
            assert estimate.ci_low < estimate.value < estimate.ci_high, (n, metric)
        widths[n] = {m: e.ci_high - e.ci_low for m, e in result.items()}
    for metric in METRICS:
        # the width shrinks like 1/sqrt(n): 16 times the materials, about a quarter the width
        assert widths[800][metric] < 0.4 * widths[50][metric], metric


def test_higher_confidence_gives_a_wider_interval():
    y, y_hat = _noisy(100)
    narrow = evaluate_predictions(y, y_hat, 500, 0.5, np.random.default_rng(0))["rmse"]
    wide = evaluate_predictions(y, y_hat, 500, 0.99, np.random.default_rng(0))["rmse"]
    assert wide.ci_low < narrow.ci_low < narrow.ci_high < wide.ci_high


def test_bootstrap_resamples_pairs_and_recomputes_the_denominator():
    y, y_hat = _noisy(9)
    resampled = bootstrap_metric_values(y, y_hat, 25, np.random.default_rng(3))
    indices = np.random.default_rng(3).integers(0, 9, size=(25, 9))
    for b, index in enumerate(indices):
        t, p = y[index], y_hat[index]
        mae = statistics.fmean(abs(a - c) for a, c in zip(p, t))
        mad = statistics.fmean(abs(a - statistics.fmean(t)) for a in t)
        assert resampled["mae"][b] == pytest.approx(mae)
        assert resampled["mae_scaled"][b] == pytest.approx(mae / mad)
        assert resampled["rmse_scaled"][b] * statistics.pstdev(t) == pytest.approx(
            resampled["rmse"][b]
        )


def test_blocked_resampling_equals_one_block(monkeypatch):
    y, y_hat = _noisy(30)
    whole = bootstrap_metric_values(y, y_hat, 100, np.random.default_rng(5))
    monkeypatch.setattr(metrics, "_BLOCK_VALUES", 7 * 30)
    blocked = bootstrap_metric_values(y, y_hat, 100, np.random.default_rng(5))
    for metric in METRICS:
        np.testing.assert_array_equal(whole[metric], blocked[metric])


def test_resamples_with_constant_truth_are_left_out_and_counted():
    # one magnetic material among eight: a resample misses it about a third of the time
    y = np.array([0.0] * 7 + [0.05])
    y_hat = np.array([0.001, 0.0, 0.002, 0.0, 0.0, 0.001, 0.0, 0.03])
    result = evaluate_predictions(y, y_hat, 400, 0.95, np.random.default_rng(0))
    scaled = result["mae_scaled"]
    dropped = int(scaled.note.split(" of ")[0])
    assert 60 < dropped < 240
    assert "left out of the CI" in scaled.note
    assert np.isfinite(scaled.ci_low) and np.isfinite(scaled.ci_high)
    assert result["mae"].note == ""


@pytest.mark.parametrize(
    "y_true, y_pred, n_bootstrap, confidence, message",
    [
        ([1.0, 2.0], [1.0], 10, 0.95, "must be equal"),
        ([1.0, np.nan], [1.0, 2.0], 10, 0.95, "finite"),
        ([1.0, 2.0], [1.0, np.inf], 10, 0.95, "finite"),
        ([1.0, 2.0], [1.0, 2.0], 10, 1.5, "confidence"),
        ([1.0, 2.0], [1.0, 2.0], -1, 0.95, "n_bootstrap"),
        ([1.0, 2.0], [1.0, 2.0], 2.5, 0.95, "n_bootstrap"),
    ],
)
def test_bad_arguments_are_refused(y_true, y_pred, n_bootstrap, confidence, message):
    with pytest.raises(ValueError, match=message):
        evaluate_predictions(y_true, y_pred, n_bootstrap, confidence, np.random.default_rng(0))


def _rngs(k, seed=0):
    return [np.random.default_rng([seed, r]) for r in range(k)], np.random.default_rng([seed, 99])


def test_one_repeat_is_exactly_the_plain_bootstrap():
    from matfuse.metrics import evaluate_predictions, evaluate_repeats

    rng = np.random.default_rng(3)
    y = rng.normal(size=50)
    p = y + rng.normal(0, 0.3, 50)
    plain = evaluate_predictions(y, p, 300, 0.95, np.random.default_rng(7))
    repeated, _ = evaluate_repeats([(y, p)], 300, 0.95, [np.random.default_rng(7)], np.random.default_rng(1))
    assert plain == repeated


def test_the_interval_widens_when_repeats_disagree():
    """Same within-split noise; in one study the repeats' error levels differ widely."""
    from matfuse.metrics import evaluate_repeats

    rng = np.random.default_rng(0)
    splits = [rng.normal(size=100) for _ in range(5)]
    noise = [rng.normal(0, 1, 100) for _ in range(5)]
    agree = [(y, y + 0.5 * e) for y, e in zip(splits, noise)]
    disagree = [(y, y + s * e) for y, e, s in zip(splits, noise, (0.1, 0.3, 0.5, 0.7, 0.9))]
    width = {}
    for name, study in (("agree", agree), ("disagree", disagree)):
        est, _ = evaluate_repeats(study, 500, 0.95, *_rngs(5))
        width[name] = est["mae"].ci_high - est["mae"].ci_low
    assert width["disagree"] > 2 * width["agree"]


def test_paired_bootstrap_separates_different_predictors_not_identical_ones():
    from matfuse.metrics import evaluate_repeats, paired_difference

    rng = np.random.default_rng(1)
    study = [rng.normal(size=80) for _ in range(3)]
    noise = [rng.normal(size=80) for _ in range(3)]
    good = [(y, y + 0.3 * e) for y, e in zip(study, noise)]
    bad = [(y, y + 0.6 * e) for y, e in zip(study, noise)]
    draws = {n: evaluate_repeats(s, 400, 0.95, *_rngs(3))[1]["mae"] for n, s in (("good", good), ("bad", bad))}
    low, high = paired_difference(draws["bad"], draws["good"], 0.95)
    assert low > 0  # clearly worse: separated
    same = evaluate_repeats(good, 400, 0.95, *_rngs(3))[1]["mae"]
    assert paired_difference(same, draws["good"], 0.95) == (0.0, 0.0)
