"""Fit one AutoGluon MultiModalPredictor for one modality combination and one target.

A failed fit must not stop the other models: it is recorded in the status file (ok=false,
with the reason) and an empty predictions table, and the job itself succeeds.
"""

import json
import logging
import os
import time
from pathlib import Path

import pandas as pd

from matfuse.backbones import read_backbone
from matfuse.dataset import modality_columns
from matfuse.split import read_split

log = logging.getLogger(__name__)

# AutoMM column type and hyperparameter key of each modality's backbone.
COLUMN_TYPES = {"tabular": "numerical", "image": "image_path", "text": "text"}
BACKBONE_KEYS = {"image": "model.timm_image.checkpoint_name", "text": "model.hf_text.checkpoint_name"}


def hyperparameters(settings, backbones, threads, num_gpus):
    """AutoMM hyperparameters from config; backbones always point at local directories."""
    hp = {
        "optim.max_epochs": settings["max_epochs"],
        "env.batch_size": settings["batch_size"],
        "env.per_gpu_batch_size": settings["per_device_batch_size"],
        "env.num_gpus": num_gpus,
        # Data-loader workers pay off only when a GPU does the maths; on CPUs they compete.
        "env.num_workers": max(threads - 1, 0) if num_gpus else 0,
        "env.num_workers_inference": max(threads - 1, 0) if num_gpus else 0,
        # Its default augmentation calls nltk.download(wordnet): a network access.
        "model.hf_text.text_trivial_aug_maxscale": 0.0,
    }
    for modality, directory in backbones.items():
        hp[BACKBONE_KEYS[modality]] = str(directory)
    hp.update(settings.get("hyperparameters") or {})
    return hp


def available_gpus(requested):
    import torch

    return min(requested, torch.cuda.device_count()) if torch.cuda.is_available() else 0


def fit_model(
    dataset,
    combo,
    target,
    backbone_dirs,
    settings,
    seed,
    threads,
    model_dir,
    predictions,
    status,
    embedding=None,
    split=None,
    repeat=0,
):
    """Fit, predict the test split, write predictions and status; never raise for a bad fit."""
    modalities = combo.split("+")
    backbones = {read_backbone(d)["modality"]: Path(d) for d in backbone_dirs}
    record = {
        "combo": combo,
        "target": target,
        "repeat": int(repeat),
        "ok": False,
        "reason": "",
        "fit_seconds": None,
        "n_train": 0,
        "n_test": 0,
        "backbones": {m: read_backbone(d) for m, d in backbones.items()},
        "embedding": embedding if "tabular" in modalities else None,
        "device": "cpu",
    }
    result = pd.DataFrame({"mat_id": [], "y_true": [], "y_pred": []})
    try:
        result = _fit_and_predict(
            dataset, split, repeat, modalities, target, backbones, settings, seed, threads, model_dir, record
        )
        record["ok"] = True
    except Exception as err:  # recorded, so the other models and the evaluation go on
        log.exception("fit of %s / %s failed", combo, target)
        record["reason"] = f"{type(err).__name__}: {err}"
        Path(model_dir).mkdir(parents=True, exist_ok=True)
        (Path(model_dir) / "FAILED.txt").write_text(record["reason"] + "\n")
    result.to_parquet(predictions, index=False)
    Path(status).write_text(json.dumps(record, indent=2))
    return record


def _fit_and_predict(dataset, split, repeat, modalities, target, backbones, settings, seed, threads, model_dir, record):
    import torch
    from autogluon.multimodal import MultiModalPredictor

    torch.set_num_threads(threads)
    table = pd.read_parquet(dataset)
    # the repeat's split (aligned materials only); a table that still carries `split` uses it
    if split is not None:
        table = table.drop(columns="split", errors="ignore").merge(
            read_split(split, repeat), on="mat_id", validate="one_to_one"
        )
    features = [c for m in modalities for c in modality_columns(table.columns, m)]
    missing = [m for m in modalities if not modality_columns(table.columns, m)]
    if missing:
        raise ValueError(f"the aligned table has no column for modality {missing}")
    column_types = {c: COLUMN_TYPES[m] for m in modalities for c in modality_columns(table.columns, m)}
    train = table.loc[table["split"] == "train", features + [target]]
    test = table.loc[table["split"] == "test"]
    record["n_train"], record["n_test"] = len(train), len(test)
    num_gpus = available_gpus(settings["gpus"])
    # the GPUs a scheduler (SLURM --gpus) gave this job; unset when run outside one
    log.info("CUDA_VISIBLE_DEVICES=%s", os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>"))
    record["device"] = "cuda" if num_gpus else "cpu"
    hp = hyperparameters(settings, {m: backbones[m] for m in modalities if m in backbones}, threads, num_gpus)
    log.info("fitting %s on %d train rows, columns %s, hyperparameters %s", target, len(train), column_types, hp)
    predictor = MultiModalPredictor(
        label=target, problem_type="regression", eval_metric="mae", path=model_dir, presets=settings["presets"]
    )
    start = time.perf_counter()
    predictor.fit(
        train,
        column_types=column_types,
        hyperparameters=hp,
        time_limit=settings["time_limit"],
        seed=seed,
    )
    record["fit_seconds"] = round(time.perf_counter() - start, 2)
    y_pred = predictor.predict(test[features], as_pandas=False)
    return pd.DataFrame({"mat_id": test["mat_id"].to_numpy(), "y_true": test[target].to_numpy(), "y_pred": y_pred})
