import json
import os
import subprocess
import sys

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from synthetic_models import RANDOM_IMAGE, PRETRAINED_TEXT, write_model

import matfuse
from matfuse.evaluate import COLUMNS, TooManyFailures, bootstrap_rng, collect_metrics
from matfuse.metrics import METRICS, metric_values

Y = np.array([1.0, 2.0, 3.0, 4.0, 2.5, 0.5])
Y_HAT = np.array([1.5, 2.0, 2.0, 5.0, 2.0, 1.0])


def _collect(models, n_bootstrap=200, seed=42):
    predictions, statuses = zip(*models)
    return collect_metrics(list(predictions), list(statuses), n_bootstrap, 0.95, seed)


def _model_rows(frame, combo, target):
    return frame[(frame["combo"] == combo) & (frame["target"] == target)].set_index("metric")


def test_every_model_gets_one_row_per_metric_with_its_values(tmp_path):
    frame = _collect(
        [
            write_model(tmp_path, "text", "gap", Y, Y_HAT, backbones={"text": PRETRAINED_TEXT}),
            write_model(
                tmp_path,
                "image+text",
                "gap",
                Y,
                Y + 0.1,
                backbones={"text": PRETRAINED_TEXT, "image": RANDOM_IMAGE},
            ),
        ]
    )
    assert list(frame.columns) == COLUMNS
    assert len(frame) == 8
    rows = _model_rows(frame, "text", "gap")
    expected = metric_values(Y, Y_HAT)
    for metric in METRICS:
        assert rows.at[metric, "value"] == pytest.approx(expected[metric])
        assert rows.at[metric, "ci_low"] <= rows.at[metric, "value"] <= rows.at[metric, "ci_high"]
    assert rows["ok"].all() and (rows["reason"] == "").all() and (rows["n_test"] == 6).all()
    assert rows["pretrained"].all() and (rows["note"] == "").all()
    fused = _model_rows(frame, "image+text", "gap")
    assert not fused["pretrained"].any()
    assert (fused["note"] == "image backbone swin_base randomly initialised").all()


def test_a_failed_fit_is_reported_with_its_reason(tmp_path):
    failed = write_model(
        tmp_path,
        "tabular",
        "e_form",
        ok=False,
        reason="CUDA out of memory",
        embedding="potnet_random",
    )
    status = json.loads(failed[1].read_text())
    failed[1].write_text(json.dumps({**status, "n_test": 17}))
    frame = _collect([failed, write_model(tmp_path, "text", "e_form", Y, Y_HAT)])
    rows = _model_rows(frame, "tabular", "e_form")
    assert list(rows.index) == list(METRICS)
    assert rows["value"].isna().all() and rows["ci_low"].isna().all()
    assert (~rows["ok"]).all()
    assert (rows["reason"] == "fit failed: CUDA out of memory").all()
    assert (rows["n_test"] == 17).all()
    assert (rows["note"] == "structure embedding potnet_random").all()
    assert _model_rows(frame, "text", "e_form")["ok"].all()


@pytest.mark.parametrize(
    "spoil, reason",
    [
        (lambda p, s: s.write_text("{not json"), "unreadable"),
        (lambda p, s: s.write_text(json.dumps({"ok": True})), "unreadable: KeyError('combo')"),
        (lambda p, s: p.write_bytes(b"PAR1 truncated"), "predictions"),
        (
            lambda p, s: pd.DataFrame(
                {"mat_id": ["a", "b"], "y_true": [1.0, np.nan], "y_pred": [1.0, 2.0]}
            ).to_parquet(p),
            "non-finite",
        ),
        (
            lambda p, s: pd.DataFrame(
                {"mat_id": ["a", "a"], "y_true": [1.0, 2.0], "y_pred": [1.0, 2.0]}
            ).to_parquet(p),
            "duplicate mat_id",
        ),
        (
            lambda p, s: pd.DataFrame({"mat_id": [], "y_true": [], "y_pred": []}).to_parquet(p),
            "no test predictions",
        ),
    ],
)
def test_an_unusable_model_is_reported_and_the_others_go_on(tmp_path, spoil, reason):
    broken = write_model(tmp_path, "image", "gap", Y, Y_HAT)
    spoil(*broken)
    frame = _collect([broken, write_model(tmp_path, "text", "gap", Y, Y_HAT)])
    rows = _model_rows(frame, "image", "gap")  # named from the path when the status is broken
    assert len(rows) == 4 and rows["value"].isna().all() and (~rows["ok"]).all()
    assert rows["reason"].str.contains(reason, regex=False).all()
    assert _model_rows(frame, "text", "gap")["value"].notna().all()


def test_the_non_finite_reason_names_the_material(tmp_path):
    model = write_model(
        tmp_path,
        "text",
        "gap",
        [1.0, 2.0, 3.0],
        [1.0, np.inf, 2.0],
        mat_ids=["agm1", "agm2", "agm3"],
    )
    assert "agm2" in _collect([model])["reason"].iloc[0]


def test_intervals_are_deterministic_and_independent_of_row_order(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.normal(size=40)
    y_hat = y + rng.normal(0, 0.3, 40)
    ids = [f"agm{i:03d}" for i in range(40)]
    order = rng.permutation(40)
    first = _collect([write_model(tmp_path / "a", "text", "gap", y, y_hat, mat_ids=ids)])
    shuffled = _collect(
        [
            write_model(
                tmp_path / "b",
                "text",
                "gap",
                y[order],
                y_hat[order],
                mat_ids=[ids[i] for i in order],
            )
        ]
    )
    pd.testing.assert_frame_equal(first, shuffled)
    reseeded = _collect(
        [write_model(tmp_path / "a", "text", "gap", y, y_hat, mat_ids=ids)], seed=43
    )
    assert not np.allclose(first["ci_low"], reseeded["ci_low"])


def test_combinations_of_a_target_share_resamples(tmp_path):
    frame = _collect(
        [
            write_model(tmp_path, "text", "gap", Y, Y_HAT),
            write_model(tmp_path, "image", "gap", Y, Y_HAT),
            write_model(tmp_path, "image", "e_form", Y, Y_HAT),
        ]
    )
    text, image = _model_rows(frame, "text", "gap"), _model_rows(frame, "image", "gap")
    pd.testing.assert_frame_equal(text[["ci_low", "ci_high"]], image[["ci_low", "ci_high"]])
    other_target = _model_rows(frame, "image", "e_form")
    assert not np.allclose(image["ci_low"], other_target["ci_low"])


def test_bootstrap_seeds_do_not_depend_on_python_hash_salt():
    code = "from matfuse.evaluate import bootstrap_rng; print(bootstrap_rng(42, 'gap').integers(10**9))"
    package_root = str(Path(matfuse.__file__).parents[1])  # this checkout's src/
    draws = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": salt, "PYTHONPATH": package_root},
        ).stdout
        for salt in ("1", "2")
    }
    assert draws == {f"{bootstrap_rng(42, 'gap').integers(10**9)}\n"}


def test_predictions_and_statuses_must_pair(tmp_path):
    a = write_model(tmp_path, "text", "gap", Y, Y_HAT)
    b = write_model(tmp_path, "text", "e_form", Y, Y_HAT)
    with pytest.raises(ValueError, match="e_form"):
        collect_metrics([a[0]], [a[1], b[1]], 10, 0.95, 0)


def test_two_statuses_naming_the_same_model_are_refused(tmp_path):
    a = write_model(tmp_path, "text", "gap", Y, Y_HAT)
    b = write_model(tmp_path / "copy", "text", "gap", Y, Y_HAT)
    with pytest.raises(ValueError, match="two status files"):
        collect_metrics([a[0], b[0]], [a[1], b[1]], 10, 0.95, 0)


def test_repeats_are_averaged_and_rows_the_paired_test_cannot_separate_are_marked(tmp_path):
    rng = np.random.default_rng(5)
    models = []
    for repeat in range(3):
        y = rng.normal(size=60)
        ids = [f"m{repeat}{i:03d}" for i in range(60)]
        noise = {"text": rng.normal(size=60), "image": rng.normal(size=60)}  # equally good
        for combo, scale in (("text", 0.3), ("image", 0.3), ("baseline_mean", None)):
            pred = np.full(60, y.mean()) if scale is None else y + scale * noise[combo]
            models.append(write_model(tmp_path, combo, "gap", y, pred, mat_ids=ids, repeat=repeat,
                                      extra_status={"stopped_by": "time_limit", "epochs_completed": 1} if combo == "image" else None))
    frame = _collect(models)
    mae = frame[frame["metric"] == "mae"].set_index("combo")
    assert (mae["repeats"] == 3).all() and mae.at["baseline_mean", "baseline"]
    assert mae.at["text", "matches_best"] and mae.at["image", "matches_best"]
    assert not mae.at["baseline_mean", "matches_best"] and mae.at["baseline_mean", "vs_best_low"] > 0
    assert "training: stopped on train.time_limit after 1 epoch in 3 of 3 fits" in mae.at["image", "note"]


def test_a_combination_is_compared_with_its_best_single_modality(tmp_path):
    rng = np.random.default_rng(9)
    y = rng.normal(size=80)
    noise = rng.normal(size=80)
    scales = {"text": 0.2, "image": 0.6, "image+text": 0.5, "tabular": 0.1, "tabular+text": 0.1}
    models = [write_model(tmp_path, combo, "gap", y, y + scale * noise) for combo, scale in scales.items()]
    models.append(write_model(tmp_path, "baseline_mean", "gap", y, np.full(80, y.mean())))
    mae = _collect(models).query("metric == 'mae'").set_index("combo")
    # image+text is worse than text alone beyond noise; tabular+text cannot be told from tabular
    assert mae.at["image+text", "best_part"] == "text" and mae.at["image+text", "vs_part_low"] > 0
    assert mae.at["tabular+text", "best_part"] == "tabular"
    assert mae.at["tabular+text", "vs_part_low"] <= 0 <= mae.at["tabular+text", "vs_part_high"]
    for single in ("text", "image", "tabular", "baseline_mean"):
        assert mae.at[single, "best_part"] == "" and np.isnan(mae.at[single, "vs_part_low"])


def test_a_combination_of_three_is_compared_with_its_pairs_too(tmp_path):
    rng = np.random.default_rng(11)
    y = rng.normal(size=80)
    noise = rng.normal(size=80)
    # all three beat every single modality but lose to image+text: adding tabular hurt
    scales = {"tabular": 0.7, "image": 0.6, "text": 0.5, "image+text": 0.1, "tabular+text": 0.45,
              "tabular+image+text": 0.3}
    models = [write_model(tmp_path, combo, "gap", y, y + scale * noise) for combo, scale in scales.items()]
    models.append(write_model(tmp_path, "baseline_gbr", "gap", y, y + 0.05 * noise))
    mae = _collect(models).query("metric == 'mae'").set_index("combo")
    assert mae.at["tabular+image+text", "best_part"] == "image+text"
    assert mae.at["tabular+image+text", "vs_part_low"] > 0
    # a pair's parts are its singles only; a baseline is nobody's part
    assert mae.at["tabular+text", "best_part"] == "text" and mae.at["tabular+text", "vs_part_high"] < 0


def test_too_many_failed_fits_stop_the_evaluation_naming_them(tmp_path):
    models = [
        write_model(tmp_path, "tabular", "e_form", ok=False, reason="CUDA out of memory"),
        write_model(tmp_path, "text", "e_form", Y, Y_HAT),
    ]
    predictions, statuses = zip(*models)
    args = (list(predictions), list(statuses), 10, 0.95, 0)
    assert collect_metrics(*args, max_failed_fraction=0.5)["ok"].any()  # 1 of 2 is allowed
    with pytest.raises(TooManyFailures, match=r"1 of 2 models .* 0.4: tabular/e_form: fit failed: CUDA out of memory"):
        collect_metrics(*args, max_failed_fraction=0.4)
