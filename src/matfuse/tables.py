"""Metric tables in the paper's layout (rows = combinations, columns = targets), as CSV for
machines and Markdown for people, and one metric of ours beside the paper's.

CSV layout (`write_metric_table`): one row per combination; column `modalities` (as in the
paper's tables), then per target key `t`: `t` (value), `t_ci_low`, `t_ci_high`, `t_best` (True
for the lowest value of the column, ties included), `t_matches_best` (the paired bootstrap
cannot tell it from the best), then `pretrained` (False when any of the row's models has a
backbone that is not pretrained) and `baseline` (a baseline row, not a trained model). A missing or failed model leaves its
value and interval empty; its reason is in metrics.csv and the Markdown footnotes.
"""

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from matfuse.dataset import STRUCTURE, structure_modality
from matfuse.layout import (
    METRIC_NAMES,
    SCALED_METRICS,
    combo_label,
    decimals_for,
    PRETRAINED_MARK,
    embedding_lines,
    metric_grid,
    models_named,
    note_parts,
    pretrained_embedding,
    target_heading,
)

log = logging.getLogger(__name__)

DAGGER = "†"
DOUBLE_DAGGER = "‡"
WORSE_THAN_PART = "⊖"  # the figures mark the lowest with ▼
MISSING = "—"
ALIKE = "≈"
_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
# The paper's Etot/atom errors look like energies per cell (method.md); ours are per atom.
PER_ATOM_ENERGY_TARGET = "e_total_per_atom"


def write_metric_table(metrics_df, metric, targets, csv_path, md_path, confidence=None):
    """Write one metric's table as CSV and Markdown (best per column in bold, footnotes for
    missing values, † for combinations whose backbone is not pretrained)."""
    grid = metric_grid(metrics_df, metric, targets)
    _grid_csv(grid, targets).to_csv(csv_path, index=False)
    Path(md_path).write_text(_grid_markdown(grid, metric, targets, confidence))
    log.info("%s table: %d combinations × %d targets", metric, len(_combos(grid)), len(targets))


# The paper's structure embedding was a random, untrained PotNet: among several methods side by
# side, the `random` view's rows are the ones its `tabular` rows compare with.
PAPER_STRUCTURE_VIEW = {structure_modality("random", several=True): STRUCTURE}


def paper_combo(combo):
    """The paper's name of a combination (`tabular-random+text` -> `tabular+text`)."""
    return "+".join(PAPER_STRUCTURE_VIEW.get(part, part) for part in combo.split("+"))


def _paper_value(paper, combo, target):
    """The paper's value of our combination for a target, or NaN where it has none."""
    name = paper_combo(combo)
    return float(paper.at[name, target]) if name in paper.index and target in paper.columns else np.nan


def write_paper_comparison(metrics_df, metric, targets, paper_csv, md_path, confidence=None, differences=()):
    """Write ours beside the paper's values of one metric as Markdown: cells `ours / paper`,
    marked ≈ where the paper's value lies inside our confidence interval.

    `paper_csv`: the paper's table of that metric (column `modalities`, then target keys), e.g.
    config/reference/paper_mae.csv. `differences`: how the run's settings differ from the
    paper's study (matfuse.report.paper_differences), said beside the numbers.
    """
    grid = metric_grid(metrics_df, metric, targets)
    paper = pd.read_csv(paper_csv, index_col="modalities")
    footnotes = _Footnotes()
    decimals = _column_decimals(grid, targets)

    def cell_text(combo, target):
        ours = grid.loc[(combo, target)]
        theirs = _paper_value(paper, combo, target)
        ours_text = (
            _number(ours["value"], decimals[target])
            if np.isfinite(ours["value"])
            else MISSING + footnotes.mark(ours["reason"])
        )
        # The paper's numbers as printed there (3 decimals), not padded to our precision.
        theirs_text = np.format_float_positional(theirs, trim="-") if np.isfinite(theirs) else "n/a"
        inside = np.isfinite(theirs) and ours["ci_low"] <= theirs <= ours["ci_high"]
        return f"{ours_text} / {theirs_text}" + (" ≈" if inside else "")

    notes = [
        f"{METRIC_NAMES[metric]}: ours / the paper's (Costa, Oliveira, Ramos 2025: 1,000 "
        "Alexandria materials, one 85/15 split). Our sample, split and fits are our own; "
        f"≈: the paper's value lies inside our {_ci_name(confidence)}."
    ]
    if PER_ATOM_ENERGY_TARGET in targets:
        notes.append(
            f"{target_heading(targets, PER_ATOM_ENERGY_TARGET, metric)}: energy_total / nsites "
            "here (per atom); the paper's values (MAE 5–14) look like energies per cell, so "
            "that column is not comparable."
        )
    if differences:
        notes.append("This run differs from the paper's study in: " + "; ".join(differences) + ".")
    notes.append(ordering_summary(grid, paper, targets))
    table = _markdown_grid(grid, metric, targets, cell_text)
    Path(md_path).write_text(
        _document(
            f"{METRIC_NAMES[metric]}: ours vs the paper",
            notes,
            table,
            footnotes.lines() + _dagger_lines(grid),
        )
    )


def ordering_summary(grid, paper, targets):
    """Whether the paper's ordering of the combinations is reproduced, per target: Spearman's ρ
    between our values and the paper's over the combinations both have, and whether the paper's
    best is our best or one the paired test cannot tell from it (baselines left out)."""
    parts = []
    for target in targets:
        if target not in paper.columns:
            continue
        ours = grid.xs(target, level="target")
        ours = ours.loc[~ours["baseline"] & np.isfinite(ours["value"])]
        theirs = pd.Series({c: _paper_value(paper, c, target) for c in ours.index}, dtype=float).dropna()
        common = list(theirs.index)
        if len(common) < 2:
            parts.append(f"{target}: too few combinations to compare")
            continue
        rho = ours.loc[common, "value"].corr(theirs, method="spearman")
        paper_best, our_best = theirs.idxmin(), ours.loc[common, "value"].idxmin()
        if paper_best == our_best:
            verdict = f"the paper's best ({paper_best}) is ours too"
        elif ours.at[paper_best, "matches_best"]:
            verdict = f"the paper's best ({paper_best}) cannot be told from ours ({our_best})"
        else:
            verdict = f"the paper's best ({paper_best}) is not ours ({our_best})"
        parts.append(f"{target}: Spearman ρ = {rho:.2f} over {len(common)}; {verdict}")
    return "Paper's ordering reproduced? " + "; ".join(parts) + "."


def _combos(grid):
    return list(dict.fromkeys(grid.index.get_level_values("combo")))


def _grid_csv(grid, targets):
    table = pd.DataFrame({"modalities": _combos(grid)})
    for target in targets:
        cells = grid.xs(target, level="target")
        for column, suffix in (("value", ""), ("ci_low", "_ci_low"), ("ci_high", "_ci_high")):
            table[target + suffix] = cells[column].to_numpy()
        table[target + "_best"] = cells["best"].to_numpy()
        table[target + "_matches_best"] = cells["matches_best"].to_numpy()
    table["pretrained"] = grid["pretrained"].groupby(level="combo", sort=False).all().to_numpy()
    table["baseline"] = grid["baseline"].groupby(level="combo", sort=False).all().to_numpy()
    return table


def _grid_markdown(grid, metric, targets, confidence):
    footnotes = _Footnotes()
    decimals = _column_decimals(grid, targets)
    table = _markdown_grid(
        grid,
        metric,
        targets,
        lambda combo, target: _cell(grid.loc[(combo, target)], decimals[target], footnotes),
    )
    n_test = grid.loc[grid["ok"], "n_test"].dropna().astype(int)
    if not len(n_test):
        n_text = "no usable model"
    elif n_test.min() == n_test.max():
        n_text = f"n = {n_test.min()} materials"
    else:
        n_text = f"n = {n_test.min()}–{n_test.max()} materials"
    intro = (
        f"{METRIC_NAMES[metric]} on the test split ({n_text}). Rows: modality combinations; "
        f"columns: targets. Cells: value [{_ci_name(confidence)}]; lowest per column in **bold**; "
        f"{ALIKE}: a paired bootstrap of the difference (pooled over repeats) cannot tell it from "
        "the lowest. Rows `baseline: …` are baselines fitted on the same splits (train mean, train "
        "median, gradient boosting on element fractions)."
    )
    repeats = pd.to_numeric(grid["repeats"], errors="coerce").dropna() if "repeats" in grid else []
    if len(repeats) and repeats.max() > 1:
        intro += (
            f" Values are means over {int(repeats.max())} seeded train/test splits; the interval "
            "includes the between-split variance."
        )
    if metric in SCALED_METRICS:
        intro += " 1 = predicting the test mean; below 1 beats it."
    embedding = [f"{line[0].upper()}{line[1:]}." for line in embedding_lines(grid)]
    return _document(
        METRIC_NAMES[metric],
        [intro],
        table,
        footnotes.lines() + _dagger_lines(grid) + _training_lines(grid) + _part_lines(grid, decimals) + embedding,
    )


def _markdown_grid(grid, metric, targets, cell_text):
    """Markdown table lines: a header of target headings, one row per combination."""
    header = ["Combination"] + [target_heading(targets, t, metric) for t in targets]
    rows = [[_combo_label(grid, c)] + [cell_text(c, t) for t in targets] for c in _combos(grid)]
    return [_md_row(r) for r in [header, ["---"] * len(header), *rows]]


def _document(title, paragraphs, table, footnotes):
    """Title, paragraphs, table, then each footnote as its own paragraph."""
    blocks = [f"# {title}", *paragraphs, "\n".join(table), *footnotes]
    return "\n\n".join(blocks) + "\n"


def _cell(cell, decimals, footnotes):
    if not np.isfinite(cell["value"]):
        return MISSING + footnotes.mark(cell["reason"])
    value = _number(cell["value"], decimals)
    text = f"**{value}**" if cell["best"] else value + (f" {ALIKE}" if cell["matches_best"] else "")
    if np.isfinite(cell["ci_low"]) and np.isfinite(cell["ci_high"]):
        text += f" [{_number(cell['ci_low'], decimals)}, {_number(cell['ci_high'], decimals)}]"
    if cell["worse_than_part"]:
        text += f" {WORSE_THAN_PART}"
    if note_parts(cell["note"], "training"):
        text += f" {DOUBLE_DAGGER}"
    for part in note_parts(cell["note"], "metric"):
        text += footnotes.mark(part)
    return text


def _combo_label(grid, combo):
    """The row label, with † when one of the row's models has a backbone that is not pretrained,
    § when they take pretrained structure features."""
    return (
        combo_label(combo)
        + (f" {DAGGER}" if not grid.loc[combo, "pretrained"].all() else "")
        + (f" {PRETRAINED_MARK}" if pretrained_embedding(grid, combo) else "")
    )


def _dagger_lines(grid):
    """One † footnote per distinct not-pretrained backbone."""
    parts = sorted(
        {p for note in grid.loc[~grid["pretrained"], "note"] for p in note_parts(note, "backbone")}
    )
    return [f"{DAGGER} {p}: not the pretrained setting." for p in parts]


def _part_lines(grid, decimals):
    """Whether fusing ever hurt: the cells worse than their best part (a single modality or a
    smaller combination) beyond the paired test's noise (⊖), or that none is, when the table
    has combinations to judge."""
    judged = grid[grid["best_part"] != ""]
    if judged.empty:
        return []
    worse = judged[judged["worse_than_part"]]
    if worse.empty:
        return [
            "No combination is worse than its best part (a single modality or a smaller "
            "combination) beyond the paired test's noise."
        ]
    cells = [
        f"{combo}/{target} (its best part {row.best_part}: +{_number(row.vs_part_low, decimals[target])} to "
        f"+{_number(row.vs_part_high, decimals[target])})"
        for (combo, target), row in worse.iterrows()
    ]
    return [
        f"{WORSE_THAN_PART} Worse than its best part (a single modality or a smaller combination) "
        f"beyond the paired test's noise (the interval of the difference, pooled over repeats): "
        f"{', '.join(cells)}."
    ]


def _training_lines(grid):
    """One ‡ footnote per model whose fits stopped on the time limit or barely trained."""
    parts = {}
    for (combo, target), note in grid["note"].items():
        for part in note_parts(note, "training"):
            parts.setdefault(part.removeprefix("training: "), set()).add((combo, target))
    return [f"{DOUBLE_DAGGER} {models_named(where, grid)}: {p}." for p, where in parts.items()]


def _column_decimals(grid, targets):
    values = grid["value"]
    return {t: decimals_for(values.xs(t, level="target")) for t in targets}


def _number(value, decimals):
    return f"{value:.{decimals}f}"


def _ci_name(confidence):
    return f"{confidence:.0%} bootstrap CI" if confidence else "bootstrap CI"


def _md_row(cells):
    return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"


class _Footnotes:
    """Numbered footnotes, one number per distinct text, in order of first use."""

    def __init__(self):
        self.numbers = {}

    def mark(self, text):
        text = (str(text).splitlines() or ["no reason given"])[0][:300]
        number = self.numbers.setdefault(text, len(self.numbers) + 1)
        return " " + str(number).translate(_SUPERSCRIPT)

    def lines(self):
        return [f"{str(n).translate(_SUPERSCRIPT)} {text}" for text, n in self.numbers.items()]
