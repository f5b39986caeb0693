"""Fit one AutoGluon MultiModalPredictor for one modality combination and one target.

Config and input errors (an unknown `train.hyperparameters` key, a missing PNG, a broken
backbone directory, a modality or target without its column) raise before anything is
fitted, so the job fails with the reason. Only the fit itself (predictor.fit / predict) may
fail and be recorded instead (ok=false, with the reason, and an empty predictions table), so
that one model that cannot train does not stop the others.

`train.max_epochs` bounds a fit; `train.time_limit` is a safety net. How the fit went is read
from Lightning's own messages (ModelCheckpoint, the fit loop, Timer, EarlyStopping) and
written to the status file, one JSON object with these fields:

  combo, target     the model
  ok                the fit and the test predictions succeeded
  reason            why not (exception type and message); "" when ok
  fit_seconds       wall seconds of predictor.fit; null when it raised
  n_train, n_test   rows fitted on, rows predicted
  max_epochs        train.max_epochs the fit ran under
  time_limit        train.time_limit (seconds) the fit ran under
  epochs_completed  epochs reached: 1-based epoch of the last validation (the last one may be
                    partial when time_limit or early stopping ended it mid-epoch); 0 if none
  best_epoch        1-based epoch of the best validation score; null when none was logged
  global_step       optimiser steps at the last validation
  stopped_by        max_epochs | time_limit | early_stopping | unknown (no message seen)
  barely_trained    true when stopped_by is time_limit or fewer than BARELY_TRAINED_EPOCHS
                    epochs completed: tables, figures and the report mark such models
  backbones         each modality's matfuse_backbone.json
  embedding         the structure-embedding method when the model uses `tabular`, else null
  dropped_columns   feature columns left out because they give this target away (the
                    descriptors' volume, density and Å distances for Vol/atom), else []
  device            cpu | cuda

A fitted model directory also gets matfuse_model.json (matfuse.modelspec): the settings its
features were built with, so that `matfuse predict` can build them for new structures.
"""

import json
import logging
import os
import re
import shutil
import time
from pathlib import Path

import pandas as pd

from matfuse.backbones import read_backbone
from matfuse.dataset import base_modality, is_structure, modality_columns, source_column
from matfuse.descriptor_columns import leaking_columns
from matfuse.modelspec import EMBEDDING_WEIGHTS, model_spec, write_model_spec
from matfuse.split import with_split

log = logging.getLogger(__name__)

# AutoMM column type and hyperparameter key of each modality's backbone.
COLUMN_TYPES = {"tabular": "numerical", "image": "image_path", "text": "text"}
BACKBONE_KEYS = {"image": "model.timm_image.checkpoint_name", "text": "model.hf_text.checkpoint_name"}
# Files AutoMM loads from a local backbone directory: its config and one weights file.
BACKBONE_WEIGHTS = ("pytorch_model.bin", "model.safetensors")
BARELY_TRAINED_EPOCHS = 2
# `train.tabular_backbone`: AutoMM's model of the numeric (tabular) columns. Its presets already
# name ft_transformer (AutoMM 1.6), so that choice leaves AutoMM's own model list; `mlp` swaps in
# its numerical MLP, keeping the image and text models and the fusion of those presets.
TABULAR_BACKBONES = ("ft_transformer", "mlp")
MLP_MODEL_NAMES = ["numerical_mlp", "timm_image", "hf_text", "document_transformer", "fusion_mlp"]

# Lightning's own messages (rank_zero_info, early stopping's log.info) that say how training went.
LIGHTNING_LOGGERS = ("lightning.pytorch.utilities.rank_zero", "lightning.pytorch.callbacks.early_stopping")
CHECKPOINT_MESSAGE = re.compile(r"Epoch (\d+), global step (\d+):")
BEST_MESSAGE = re.compile(r"reached (\S+) \(best (\S+)\)")
# In order of precedence: a time-limit hit is reported even when it struck in the last epoch.
STOP_MESSAGES = {
    "time_limit": "Time limit reached",
    "early_stopping": "did not improve in the last",
    "max_epochs": "`max_epochs=",
}


class LightningMessages(logging.Handler):
    """Collects Lightning's training messages during one fit (used as a context manager)."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())

    def __enter__(self):
        for name in LIGHTNING_LOGGERS:
            logger = logging.getLogger(name)
            logger.setLevel(logging.INFO)
            logger.addHandler(self)
        return self

    def __exit__(self, *exc):
        for name in LIGHTNING_LOGGERS:
            logging.getLogger(name).removeHandler(self)

    def summary(self):
        """epochs_completed, best_epoch, global_step and stopped_by, as in the status file."""
        epochs, step, best = 0, 0, None
        for message in self.messages:
            checkpoint = CHECKPOINT_MESSAGE.search(message)
            if not checkpoint:
                continue
            epochs, step = int(checkpoint[1]) + 1, int(checkpoint[2])
            scores = BEST_MESSAGE.search(message)
            if scores and scores[1] == scores[2]:  # this validation is the best so far
                best = epochs
        stops = [why for why, text in STOP_MESSAGES.items() if any(text in m for m in self.messages)]
        return {
            "epochs_completed": epochs,
            "best_epoch": best,
            "global_step": step,
            "stopped_by": stops[0] if stops else "unknown",
        }


def barely_trained(summary):
    return summary["stopped_by"] == "time_limit" or summary["epochs_completed"] < BARELY_TRAINED_EPOCHS


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
        # torch's deterministic algorithms where they exist (Lightning warns where they do not),
        # so that the same config gives the same model.
        "env.deterministic": "warn",
        # Its default augmentation calls nltk.download(wordnet): a network access.
        "model.hf_text.text_trivial_aug_maxscale": 0.0,
    }
    for modality, directory in backbones.items():
        hp[BACKBONE_KEYS[modality]] = str(directory)
    tabular = settings.get("tabular_backbone", "ft_transformer")
    if tabular not in TABULAR_BACKBONES:
        raise ValueError(f"train.tabular_backbone: {tabular!r} is not one of {', '.join(TABULAR_BACKBONES)}")
    if tabular == "mlp":
        hp["model.names"] = MLP_MODEL_NAMES
    hp.update(settings.get("hyperparameters") or {})
    return hp


def check_hyperparameters(hp, presets):
    """AutoMM's own key check, run before fitting so that a typo fails the job."""
    from autogluon.multimodal.utils.config import get_config

    try:
        get_config(problem_type="regression", presets=presets, overrides=hp)
    except KeyError as err:
        # AutoMM's message goes on to list every override; its first sentence names the key
        raise ValueError(f"train.hyperparameters: {str(err.args[0]).split(' You may')[0]}") from err


def load_backbones(backbone_dirs):
    """Each modality's backbone directory; a directory AutoMM could not load raises here."""
    backbones = {}
    for directory in map(Path, backbone_dirs):
        try:
            meta = read_backbone(directory)
        except (OSError, ValueError) as err:
            raise ValueError(f"backbone {directory} is broken (rerun resolve_backbone): {err}") from err
        if not (directory / "config.json").is_file() or not any((directory / w).is_file() for w in BACKBONE_WEIGHTS):
            raise ValueError(
                f"backbone {directory} is broken (rerun resolve_backbone): it needs config.json and one of "
                f"{', '.join(BACKBONE_WEIGHTS)}"
            )
        backbones[meta["modality"]] = (directory, meta)
    return backbones


def model_inputs(table, modalities, target, backbones, definition=None):
    """Feature columns and their AutoMM types, without those that give the target away
    (`definition`: its config {field, per}; by default the target's name is its field);
    raises when an input the fit needs is missing."""
    missing = [m for m in modalities if not modality_columns(table.columns, m)]
    if missing:
        raise ValueError(f"the aligned table has no column for modality {missing}")
    if target not in table.columns:
        raise ValueError(f"the aligned table has no column for target {target!r}")
    unresolved = [m for m in modalities if m in BACKBONE_KEYS and m not in backbones]
    if unresolved:
        raise ValueError(f"no backbone directory given for modality {unresolved}")
    leaks = set(leaking_columns(definition or {"field": target}))
    column_types = {
        c: COLUMN_TYPES[base_modality(m)]
        for m in modalities
        for c in modality_columns(table.columns, m)
        if source_column(m, c) not in leaks
    }
    for column, kind in column_types.items():
        if kind == "image_path":
            absent = table.loc[~table[column].map(lambda p: isinstance(p, str) and Path(p).is_file()), "mat_id"]
            if len(absent):
                raise ValueError(f"{len(absent)} image(s) missing, e.g. {', '.join(absent.head(5))} ({column!r})")
    return column_types


def in_prediction_order(table):
    """The rows to predict in mat_id order. AutoMM predicts a batch at once, and a row's result
    moved by a float32 ulp with its place in the batch (tabular models): in a fixed order,
    `matfuse predict` gives the study's test predictions again however the structures are given."""
    return table.sort_values("mat_id", kind="stable").reset_index(drop=True)


def feature_frame(table, column_types):
    """What the predictor is given: the feature columns, in the order it was fitted on (the
    test rows here, new structures in `matfuse predict`)."""
    return table[list(column_types)]


def predict_rows(predictor, features):
    return predictor.predict(features, as_pandas=False)


def split_rows(table):
    """Train and test rows of the aligned table, by its `split` column."""
    return table[table["split"] == "train"], table[table["split"] == "test"]


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
    featurisation=None,
    embedding_weights=None,
):
    """Fit on the train rows, predict the test rows, write predictions and status.

    `featurisation` (the rule's config: target, images, embeddings) and `embedding_weights`
    (the embedding model) go into the model directory (matfuse.modelspec). Raises for config
    and input errors; a failure of the fit itself is recorded, not raised.
    """
    # Backbones are local directories, so the hub is never asked; set before the imports below,
    # which read these once.
    os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    import torch

    modalities = combo.split("+")
    backbones = load_backbones(backbone_dirs)
    table = pd.read_parquet(dataset)
    if split is not None:  # the repeat's split (aligned materials only)
        table = with_split(table, split, repeat)
    definition = (featurisation or {}).get("target")
    column_types = model_inputs(table, modalities, target, backbones, definition)
    dropped = [c for m in modalities for c in modality_columns(table.columns, m) if c not in column_types]
    if dropped:
        log.warning("left out, as they give %s away: %s", target, ", ".join(dropped))
    features = list(column_types)
    train, test = split_rows(table)
    test = in_prediction_order(test)
    num_gpus = available_gpus(settings["gpus"])
    hp = hyperparameters(settings, {m: backbones[m][0] for m in modalities if m in backbones}, threads, num_gpus)
    check_hyperparameters(hp, settings["presets"])
    record = {
        "combo": combo,
        "target": target,
        "repeat": int(repeat),
        "ok": False,
        "reason": "",
        "fit_seconds": None,
        "n_train": len(train),
        "n_test": len(test),
        "max_epochs": settings["max_epochs"],
        "time_limit": settings["time_limit"],
        "backbones": {m: meta for m, (_, meta) in backbones.items()},
        "embedding": embedding if any(map(is_structure, modalities)) else None,
        "dropped_columns": dropped,
        "device": "cuda" if num_gpus else "cpu",
    }
    # the GPUs a scheduler (SLURM --gpus) gave this job; unset when run outside one
    log.info("CUDA_VISIBLE_DEVICES=%s", os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>"))
    torch.set_num_threads(threads)  # a fixed thread count keeps CPU reductions in the same order
    log.info("fitting %s on %d train rows, columns %s, hyperparameters %s", target, len(train), column_types, hp)
    result = pd.DataFrame({"mat_id": [], "y_true": [], "y_pred": []})
    messages = LightningMessages()
    try:
        with messages:
            y_pred, record["fit_seconds"] = _fit_and_predict(
                train[features + [target]], feature_frame(test, column_types), target, column_types, hp, settings,
                seed, model_dir,
            )
        result = pd.DataFrame({"mat_id": test["mat_id"].to_numpy(), "y_true": test[target].to_numpy(), "y_pred": y_pred})
        record["ok"] = True
    except Exception as err:  # the fit itself: recorded, so the other models and the evaluation go on
        log.exception("fit of %s / %s failed", combo, target)
        record["reason"] = f"{type(err).__name__}: {err}"
        Path(model_dir).mkdir(parents=True, exist_ok=True)
        (Path(model_dir) / "FAILED.txt").write_text(record["reason"] + "\n")
    if record["ok"]:
        spec = model_spec(combo, target, repeat, column_types, featurisation or {}, seed, threads, record["backbones"])
        write_model_spec(model_dir, spec)
        if embedding_weights:
            shutil.copyfile(embedding_weights, Path(model_dir) / EMBEDDING_WEIGHTS)
    summary = messages.summary()
    record.update(summary, barely_trained=barely_trained(summary))
    log.info("training: %s", summary)
    result.to_parquet(predictions, index=False)
    Path(status).write_text(json.dumps(record, indent=2))
    return record


def _fit_and_predict(train, test_features, target, column_types, hp, settings, seed, model_dir):
    """The AutoGluon calls, and nothing else: test predictions and fit seconds."""
    from autogluon.multimodal import MultiModalPredictor

    predictor = MultiModalPredictor(
        label=target, problem_type="regression", eval_metric="mae", path=model_dir, presets=settings["presets"]
    )
    start = time.perf_counter()
    predictor.fit(train, column_types=column_types, hyperparameters=hp, time_limit=settings["time_limit"], seed=seed)
    fit_seconds = round(time.perf_counter() - start, 2)
    return predict_rows(predictor, test_features), fit_seconds
