"""`trained` mode: fit PotNet on the train split only, early-stopped on a slice of it, and
embed each train material with a model that did not see it (out of fold).

Only the rows of train-split materials are ever taken from the targets frame, so the test
split's targets cannot influence the embeddings (tests/test_potnet_embed.py checks it). A model
fitted on a material's own target embeds it optimistically, and AutoGluon, fitted on those rows,
would learn features that test materials do not have: so the train split is cut into `folds`
and each fold's materials are embedded by the model fitted on the other folds, while test
materials (and new structures, `matfuse predict`) get the model fitted on the whole train split.
"""

import copy
import dataclasses
import logging

import numpy as np
import pandas as pd
import torch
from torch_geometric.loader import DataLoader

from matfuse.potnet.model import PotNet

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class TrainingSettings:
    """PotNet's shipped recipe (AdamW, one-cycle, MSE, batch 64, lr 1e-3) plus early stopping."""

    epochs: int = 500
    patience: int = 50  # epochs without a better validation loss before stopping
    validation_fraction: float = 0.1  # of the train split, held out for early stopping
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-5
    folds: int = 5  # out-of-fold embeddings of the train split; 1: in-sample (the old behaviour)
    clip_norm: float = 1.0  # gradient norm clip: one bad batch must not throw the weights away


def out_of_fold_splits(split, graphs, folds, seed):
    """One split per fold: that fold's train materials (with a graph) moved out of `train`, so a
    model fitted on it never reads their targets; with the fold's mat_ids. Seeded, fixed order."""
    if folds < 2:
        return []
    train_ids = sorted(m for m in split.loc[split["split"] == "train", "mat_id"].astype(str) if m in graphs)
    if len(train_ids) < 2 * folds:
        raise ValueError(f"trained embeddings: {len(train_ids)} train materials are too few for {folds} folds")
    order = np.random.default_rng([seed, folds]).permutation(len(train_ids))
    out = []
    for fold in np.array_split(order, folds):
        held = {train_ids[i] for i in fold}
        fold_split = split.copy()
        fold_split.loc[fold_split["mat_id"].astype(str).isin(held), "split"] = "held_out"
        out.append((fold_split, sorted(held)))
    return out


def train_targets(split, targets):
    """Targets of the train-split materials only: (mat_ids, float array), test rows never read."""
    train_ids = split.loc[split["split"] == "train", "mat_id"].astype(str).tolist()
    if not train_ids:
        raise ValueError("trained embeddings: the split has no train materials")
    columns = [c for c in targets.columns if c != "mat_id"]
    positions = pd.Index(targets["mat_id"].astype(str)).get_indexer(train_ids)
    if (positions < 0).any():
        missing = [m for m, p in zip(train_ids, positions) if p < 0][:5]
        raise ValueError(f"trained embeddings: no targets for train materials {missing}")
    return train_ids, columns, targets.iloc[positions][columns].to_numpy(dtype=float)


def fit_potnet(graphs, split, targets, model_settings, training, seed):
    """PotNet fitted to the standardised train-split targets; `graphs` maps mat_id -> Data.

    Materials without a graph are left out; the best epoch on the validation slice is kept."""
    train_ids, columns, values = train_targets(split, targets)
    if not columns:
        raise ValueError("trained embeddings: the targets frame has no target columns")
    keep = [i for i, m in enumerate(train_ids) if m in graphs]
    train_ids, values = [train_ids[i] for i in keep], values[keep]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(train_ids))
    n_validation = max(1, round(training.validation_fraction * len(train_ids)))
    if len(train_ids) - n_validation < 2:
        raise ValueError(f"trained embeddings: only {len(train_ids)} train materials with a graph")
    validation, fit = order[:n_validation], order[n_validation:]
    mean = np.nanmean(values[fit], axis=0)
    std = np.nanstd(values[fit], axis=0)
    std = np.where(np.isfinite(std) & (std > 1e-12), std, 1.0)
    scaled = torch.tensor((values - mean) / std, dtype=torch.float32)
    log.info(
        "trained mode: %d fit + %d validation materials, %d targets %s",
        len(fit), len(validation), len(columns), columns,
    )

    def dataset(rows):
        out = []
        for i in rows:
            data = graphs[train_ids[i]].clone()
            data.y = scaled[i][None, :]
            out.append(data)
        return out

    torch.manual_seed(seed)
    model = PotNet(model_settings, n_outputs=len(columns))
    generator = torch.Generator().manual_seed(seed)
    fit_loader = DataLoader(
        dataset(fit),
        batch_size=training.batch_size,
        shuffle=True,
        generator=generator,
        drop_last=len(fit) > training.batch_size,
    )
    validation_loader = DataLoader(dataset(validation), batch_size=training.batch_size)
    # the loss of predicting the fit rows' mean (0 on standardised targets): what training must beat
    mean_loss = _masked_mse(torch.zeros_like(scaled[validation]), scaled[validation]).item()
    optimiser = torch.optim.AdamW(model.parameters(), lr=training.lr, weight_decay=training.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=training.lr, total_steps=training.epochs * len(fit_loader)
    )
    best_loss, best_state, best_epoch = np.inf, copy.deepcopy(model.state_dict()), 0
    for epoch in range(1, training.epochs + 1):
        model.train()
        fit_loss = 0.0
        for batch in fit_loader:
            optimiser.zero_grad()
            loss = _masked_mse(model(batch), batch.y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), training.clip_norm)
            optimiser.step()
            schedule.step()
            fit_loss += loss.item() * batch.num_graphs
        validation_loss = evaluate(model, validation_loader)
        log.info(
            "epoch %d: fit loss %.4f, validation loss %.4f (the mean predictor's: %.4f)",
            epoch, fit_loss / len(fit), validation_loss, mean_loss,
        )
        if validation_loss < best_loss:
            best_loss, best_state, best_epoch = validation_loss, copy.deepcopy(model.state_dict()), epoch
        elif epoch - best_epoch >= training.patience:
            log.info("early stop after epoch %d: best epoch %d", epoch, best_epoch)
            break
    model.load_state_dict(best_state)
    log.info(
        "kept epoch %d (validation loss %.4f on standardised targets, the mean predictor's %.4f)",
        best_epoch, best_loss, mean_loss,
    )
    if not best_loss < mean_loss:
        log.warning("the trained PotNet does not beat the mean predictor on its validation slice")
    return model.eval()


@torch.no_grad()
def evaluate(model, loader):
    """Mean masked MSE over a loader, in eval mode."""
    model.eval()
    total, count = 0.0, 0
    for batch in loader:
        total += _masked_mse(model(batch), batch.y).item() * batch.num_graphs
        count += batch.num_graphs
    return total / count


def _masked_mse(prediction, target):
    """MSE over the known targets only: a material may lack some target values."""
    known = torch.isfinite(target)
    if not known.any():
        return prediction.sum() * 0
    return torch.mean((prediction[known] - target[known]) ** 2)
