"""How metrics are laid out for readers, shared by tables and figures: the combination order,
target headings with units, and one metric as a combination × target grid."""

import math

import numpy as np
import pandas as pd

from matfuse.dataset import base_modality
from matfuse.evaluate import BASELINE_PREFIX, NOTE_SEPARATOR, is_baseline, note_kind

MODALITY_ORDER = ("tabular", "image", "text")
METRIC_NAMES = {
    "mae": "MAE",
    "rmse": "RMSE",
    "mae_scaled": "MAE/MAD",
    "rmse_scaled": "RMSE/RMSD",
}
SCALED_METRICS = ("mae_scaled", "rmse_scaled")
# Where each structure-embedding method's features come from, said wherever they are compared.
# Pretrained ones mark their rows (§): what they learned elsewhere is not this study's doing.
EMBEDDING_ORIGINS = {
    "random": "an untrained PotNet seeded from config",
    "trained": "a PotNet trained on the study's train split",
    "chgnet": "CHGNet 0.3.0 features, pretrained on Materials Project relaxations (MPtrj): partly in-sample on "
    "Materials Project data",
    "descriptors": "label-free symmetry and geometry descriptors (spglib, pymatgen)",
}
PRETRAINED_EMBEDDINGS = ("chgnet",)
PRETRAINED_MARK = "§"


def combo_sort_key(combo):
    """The paper's order: singles, then pairs, then all three, each in modality order
    (tabular, image, text, tabular+image, tabular+text, image+text, tabular+image+text).
    Structure views of several embedding methods (`tabular-<method>`) take tabular's place,
    unknown modalities sort after the known ones, baselines after every model."""
    parts = combo.split("+")
    bases = [base_modality(p) for p in parts]
    rank = [MODALITY_ORDER.index(b) if b in MODALITY_ORDER else len(MODALITY_ORDER) for b in bases]
    return (is_baseline(combo), len(parts), rank, parts)


def combo_label(combo):
    """A row's name for readers: the combination, or `baseline: mean` for a baseline."""
    return f"baseline: {combo.removeprefix(BASELINE_PREFIX)}" if is_baseline(combo) else combo


def ordered_combos(combos):
    return sorted(set(combos), key=combo_sort_key)


def target_heading(targets, key, metric):
    """`Gap (eV)`: the target's label (default: its key) with its unit, unitless for scaled metrics."""
    spec = targets.get(key) or {}
    label = spec.get("label") or key
    unit = spec.get("unit")
    return f"{label} ({unit})" if unit and metric not in SCALED_METRICS else label


def metric_grid(metrics, metric, targets):
    """One metric as a grid: rows = combinations present in `metrics` (paper order, the same
    for every metric), columns = the config's targets in config order. Each cell carries value,
    ci_low, ci_high, n_test, ok, reason, note, pretrained, best (lowest of its column, among
    at least two), matches_best (the paired test cannot tell it from the best; not the best
    itself), baseline, best_part with vs_part_low/high (metrics.csv) and worse_than_part (the
    paired test puts it above its best part); a (combination, target) without a
    row in `metrics` gets reason 'no metrics row'.

    Returns a DataFrame indexed by (combo, target) in grid order.
    """
    if metric not in METRIC_NAMES:
        raise ValueError(f"unknown metric {metric!r}; expected one of {list(METRIC_NAMES)}")
    rows = metrics[metrics["metric"] == metric]
    unknown = sorted(set(rows["target"]) - set(targets))
    if unknown:
        raise ValueError(f"metrics name targets missing from the config: {unknown}")
    combos = ordered_combos(metrics["combo"])
    index = pd.MultiIndex.from_product([combos, list(targets)], names=["combo", "target"])
    grid = rows.set_index(["combo", "target"]).reindex(index)
    grid["reason"] = grid["reason"].fillna("")
    grid.loc[grid["metric"].isna(), "reason"] = "no metrics row"
    grid["note"] = grid["note"].fillna("")
    # Read back from CSV, a missing flag is NaN: only an explicit False marks a combination.
    grid["pretrained"] = ~grid["pretrained"].astype(str).str.lower().eq("false")
    grid["ok"] = grid["ok"].astype(str).str.lower().eq("true")
    for column in ("value", "ci_low", "ci_high", "n_test"):
        grid[column] = pd.to_numeric(grid[column], errors="coerce")
    grid["best"] = _lowest_per_target(grid["value"])
    matches = grid["matches_best"] if "matches_best" in grid else pd.Series(False, index=grid.index)
    grid["matches_best"] = matches.astype(str).str.lower().eq("true") & ~grid["best"] & grid["best"].groupby(level="target").transform("any")
    grid["baseline"] = [is_baseline(c) for c in grid.index.get_level_values("combo")]
    # metrics of an older matfuse have no comparison with the parts: nothing is marked
    grid["best_part"] = grid["best_part"].fillna("").astype(str) if "best_part" in grid else ""
    for column in ("vs_part_low", "vs_part_high"):
        grid[column] = pd.to_numeric(grid[column], errors="coerce") if column in grid else np.nan
    grid["worse_than_part"] = grid["vs_part_low"] > 0
    return grid


def _lowest_per_target(values):
    """True where a value is the lowest finite value of its target (ties all True), among at
    least two: a lone value is not marked best."""
    by_target = values.groupby(level="target")
    compared = by_target.transform("count") >= 2
    return compared & np.isclose(values, by_target.transform("min"), rtol=1e-12, atol=0)


def models_named(where, grid):
    """A short name for a set of (combo, target) cells of `grid`: "every model", whole
    combinations ("image (every target)") or the cells themselves, so that a note shared by
    most models stays one line instead of listing all of them."""
    where = set(where)
    cells = [c for c in grid.index if not is_baseline(c[0])]
    if set(cells) <= where:
        return "every model"
    targets = {t for _, t in grid.index}
    names = []
    for combo in dict.fromkeys(c for c, _ in sorted(where)):
        mine = {t for c, t in where if c == combo}
        names += [f"{combo} (every target)"] if mine == targets else [f"{combo}/{t}" for t in sorted(mine)]
    return ", ".join(names)


def note_parts(note, kind):
    """The parts of a metrics `note` of one kind ('backbone', 'embedding', 'training', 'metric')."""
    return [p for p in str(note).split(NOTE_SEPARATOR) if p and note_kind(p) == kind]


def decimals_for(values):
    """Decimals that give the smallest magnitude among `values` three significant digits
    (at least 3, as in the paper's tables), so 0.00512 and 10.384 both read well."""
    finite = np.abs(np.asarray(values, dtype=float))
    finite = finite[np.isfinite(finite) & (finite > 0)]
    if not finite.size:
        return 3
    return int(min(8, max(3, 2 - math.floor(math.log10(finite.min())))))


def embedding_methods(grid):
    """The structure-embedding methods the grid's models name (e.g. ['random'])."""
    parts = {p for note in grid["note"] for p in note_parts(note, "embedding")}
    return sorted(p.removeprefix("structure embedding ") for p in parts)


def pretrained_embedding(grid, combo):
    """Whether a combination's models take pretrained structure features (CHGNet)."""
    return any(m in PRETRAINED_EMBEDDINGS for m in embedding_methods(grid.loc[[combo]]))


def embedding_lines(grid):
    """One line per structure-embedding method of the grid: what its features come from, marked
    § when pretrained."""
    return [
        (f"{PRETRAINED_MARK} " if m in PRETRAINED_EMBEDDINGS else "")
        + f"structure embedding {m}: {EMBEDDING_ORIGINS.get(m, 'origin not recorded')}"
        for m in embedding_methods(grid)
    ]
