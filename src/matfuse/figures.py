"""The paper's figures as PNG: MAE and RMSE bars per target, bars of the scaled metrics, heat
maps of the scaled metrics. Every combination keeps one colour in every figure; baselines are
grey, hatched bars; ≈ marks what the paired test cannot tell from the lowest; a model without a
value is drawn as a gap marked ×, with the reasons listed under the figure. Titles name the
structure-embedding method, so figures of different methods cannot be mistaken."""

import itertools
import logging
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import TwoSlopeNorm  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch, Rectangle  # noqa: E402

from matfuse.evaluate import is_baseline  # noqa: E402
from matfuse.layout import (  # noqa: E402
    METRIC_NAMES,
    MODALITY_ORDER,
    PRETRAINED_MARK,
    combo_label,
    combo_sort_key,
    embedding_lines,
    embedding_methods,
    metric_grid,
    models_named,
    note_parts,
    pretrained_embedding,
    target_heading,
)

log = logging.getLogger(__name__)

FIGURES = ("errors_bars", "scaled_bars", "scaled_heatmap")
# DejaVu Sans ships with matplotlib and has μ, Å, ³ and ·, which the units need.
STYLE = {"font.family": "DejaVu Sans", "font.size": 11, "axes.titlesize": 12, "savefig.dpi": 150}
# tab10 by position in the full paper order, so a combination has one colour in every figure.
PAPER_COMBOS = [
    "+".join(c)
    for size in range(1, len(MODALITY_ORDER) + 1)
    for c in itertools.combinations(MODALITY_ORDER, size)
]
# tab10, then tab20's light shades and tab20b, without their greys (the baselines'): 38 colours,
# so that a study of several structure-embedding methods (4k + 3 combinations for k methods)
# repeats none.
_PALETTE = (
    [c for i, c in enumerate(plt.get_cmap("tab10").colors) if i != 7]
    + [c for i, c in enumerate(plt.get_cmap("tab20").colors) if i % 2 and i != 15]
    + list(plt.get_cmap("tab20b").colors)
)
# Baselines: greys, hatched.
_BASELINE_GREYS = ("0.35", "0.55", "0.75")
BASELINE_HATCH = "//"
NO_VALUE = "×"
ALIKE = "≈"
# Bar charts keep CI bounds up to this many times the tallest bar on the axis (see _bar_groups).
CI_AXIS_FACTOR = 3
# Scaled-metric bars go to a log axis when the largest value is this many times the smallest.
LOG_SPREAD = 20


def combo_colour(combo, combos):
    """Colour of a combination: by its place in the paper's seven (tab10), others after them;
    baselines a grey each."""
    if is_baseline(combo):
        baselines = sorted(c for c in set(combos) | {combo} if is_baseline(c))
        return matplotlib.colors.to_rgb(_BASELINE_GREYS[baselines.index(combo) % len(_BASELINE_GREYS)])
    extra = [c for c in sorted(combos, key=combo_sort_key) if c not in PAPER_COMBOS and not is_baseline(c)]
    order = [c for c in PAPER_COMBOS + extra]
    return _PALETTE[order.index(combo) % len(_PALETTE)]


def draw_figure(metrics_df, figure, targets, path, confidence=None):
    """Draw `figure` (one of FIGURES) from the long metrics table into the PNG `path`."""
    if figure not in FIGURES:
        raise ValueError(f"unknown figure {figure!r}; expected one of {list(FIGURES)}")
    metrics = ("mae", "rmse") if figure == "errors_bars" else ("mae_scaled", "rmse_scaled")
    grids = {m: metric_grid(metrics_df, m, targets) for m in metrics}
    with plt.rc_context(STYLE):
        if figure == "scaled_heatmap":
            fig = _heatmaps(grids, targets)
        else:
            bars = _errors_bars if figure == "errors_bars" else _scaled_bars
            fig = bars(grids, targets, _ci_text(confidence))
        fig.savefig(path)
        plt.close(fig)
    log.info("%s written to %s", figure, path)


def _errors_bars(grids, targets, ci_text):
    """One panel per target (units differ): MAE and RMSE groups, one bar per combination."""
    combos = _combos(grids)
    ncols = min(4, len(targets))
    nrows = -(-len(targets) // ncols)
    legend_rows = -(-len(combos) // 5)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(max(4.6 * ncols, 9), 3.6 * nrows + 0.9 + 0.3 * legend_rows), squeeze=False
    )
    axes = axes.ravel()
    beyond = []
    for ax, target in zip(axes, targets):
        beyond += _bar_groups(ax, grids, combos, [target], list(grids))
        ax.set_xticks(range(len(grids)), [METRIC_NAMES[m] for m in grids])
        ax.set_title(target_heading(targets, target, "mae"))
        unit = (targets.get(target) or {}).get("unit")
        ax.set_ylabel(f"error ({unit})" if unit else "error")
    for ax in axes[len(targets) :]:
        ax.axis("off")
    # in a spare panel of the grid when there is one, else right of the panels (its own width)
    spare = axes[len(targets)] if len(axes) > len(targets) else None
    _legend(fig, grids, combos, outside=spare is None, ax=spare)
    fig.suptitle(_title("MAE and RMSE on the test split", grids, f"error bars: {ci_text}"))
    _finish(fig, grids, beyond)
    return fig


def _scaled_bars(grids, targets, ci_text):
    """One panel per scaled metric: a group of combination bars per target, a line at 1."""
    combos = _combos(grids)
    fig, axes = plt.subplots(len(grids), 1, figsize=(max(9, 2.1 * len(targets) + 3), 8.5))
    beyond = []
    for ax, metric in zip(np.atleast_1d(axes), grids):
        beyond += _bar_groups(ax, grids, combos, list(targets), [metric])
        ax.set_xticks(range(len(targets)), [target_heading(targets, t, metric) for t in targets])
        scaled = grids[metric]["value"]
        values = scaled[np.isfinite(scaled) & (scaled > 0)]
        if len(values) and values.max() > LOG_SPREAD * values.min():
            # ratios over orders of magnitude (a target with near-constant test values): a linear
            # axis would flatten every other target's bars
            ax.set_yscale("log")
            ax.set_ylim(values.min() / 2, ax.get_ylim()[1])
            ax.set_ylabel(f"{METRIC_NAMES[metric]} (log scale)")
        else:
            ax.set_ylabel(METRIC_NAMES[metric])
        ax.axhline(1, color="black", linestyle="--", linewidth=1)
        ax.set_title(METRIC_NAMES[metric])
    reference = Line2D([], [], color="black", linestyle="--", label="1 = predicting the mean")
    _legend(fig, grids, combos, extra=[reference], outside=True)
    fig.suptitle(_title("Scaled errors on the test split", grids, f"error bars: {ci_text}"))
    _finish(fig, grids, beyond)
    return fig


def _bar_groups(ax, grids, combos, targets, metrics):
    """Bars at x = group index (one group per target × metric pair), one bar per combination.

    The axis follows the bars, not the intervals: a scaled metric on nearly constant test values
    has resamples with a tiny MAD/RMSD, and CI bounds thousands of times the value would flatten
    every bar. Bounds beyond CI_AXIS_FACTOR × the tallest bar end at the top with a ▲; returns
    those bars' targets, one per bar, for the figure's notes.
    """
    width = 0.8 / len(combos)
    bars, beyond = [], []
    for group, (target, metric) in enumerate(itertools.product(targets, metrics)):
        for i, combo in enumerate(combos):
            cell = grids[metric].loc[(combo, target)]
            x = group - 0.4 + width * (i + 0.5)
            if np.isfinite(cell["value"]):
                baseline = is_baseline(combo)
                ax.bar(
                    x, cell["value"], width, color=combo_colour(combo, combos),
                    hatch=BASELINE_HATCH if baseline else None, edgecolor="white" if baseline else None,
                )
                bars.append((x, cell, target))
            else:
                # at the axis' foot whatever its scale (x in data, y in axes coordinates)
                ax.plot(
                    x, 0, marker="x", color=combo_colour(combo, combos), ms=7, mew=2,
                    clip_on=False, zorder=3, transform=ax.get_xaxis_transform(),
                )
    tallest = max((cell["value"] for _, cell, _ in bars), default=1)
    with_ci = [(x, cell, name) for x, cell, name in bars if np.isfinite(cell["ci_low"]) and np.isfinite(cell["ci_high"])]
    top = 1.08 * max([tallest] + [c["ci_high"] for _, c, _ in with_ci if c["ci_high"] <= CI_AXIS_FACTOR * tallest])
    for x, cell, name in with_ci:
        high = min(cell["ci_high"], top)
        error = [[max(cell["value"] - cell["ci_low"], 0)], [max(high - cell["value"], 0)]]
        ax.errorbar(x, cell["value"], yerr=error, color="black", capsize=2, lw=0.9)
        if cell["ci_high"] > top:
            ax.plot(x, top, marker="^", color="black", ms=5, clip_on=False, zorder=3)
            beyond.append(name)
    marked = [(x, cell) for x, cell, _ in bars if cell["matches_best"] or cell["best"]]
    if marked:
        top *= 1.1  # a strip at the top for the marks, clear of bars and intervals
    for x, cell in marked:
        mark = ALIKE if cell["matches_best"] else "▼"
        ax.text(x, 0.985, mark, transform=ax.get_xaxis_transform(), ha="center", va="top", fontsize=9)
    ax.set_ylim(0, top)
    ax.set_xlim(-0.5, len(targets) * len(metrics) - 0.5)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    return beyond


def _heatmaps(grids, targets):
    """Combination × target maps of both scaled metrics; one diverging scale centred at 1."""
    combos = _combos(grids)
    values = {m: g["value"].unstack("target").loc[combos, list(targets)] for m, g in grids.items()}
    finite = np.concatenate([v.to_numpy(float).ravel() for v in values.values()])
    finite = finite[np.isfinite(finite)]
    norm = TwoSlopeNorm(vmin=0, vcenter=1, vmax=max(1.5, finite.max(initial=0)))
    width = max(10, 1.05 * len(targets) * len(grids) + 4.5)
    fig, axes = plt.subplots(1, len(grids), figsize=(width, 0.55 * len(combos) + 2.8))
    boxed = False
    for ax, (metric, table) in zip(np.atleast_1d(axes), values.items()):
        data = table.to_numpy(float)
        image = ax.imshow(np.ma.masked_invalid(data), cmap="coolwarm", norm=norm, aspect="auto")
        best = grids[metric]["best"].unstack("target").loc[combos, list(targets)].to_numpy()
        alike = grids[metric]["matches_best"].unstack("target").loc[combos, list(targets)].to_numpy()
        boxed = boxed or bool(best.any())
        for (row, col), value in np.ndenumerate(data):
            if np.isfinite(value):
                shade = np.mean(image.cmap(norm(value))[:3])
                ax.text(
                    col,
                    row,
                    f"{value:.2f}" + (f" {ALIKE}" if alike[row, col] else ""),
                    ha="center",
                    va="center",
                    fontsize=10,
                    color="white" if shade < 0.45 else "black",
                    fontweight="bold" if best[row, col] else "normal",
                )
                if best[row, col]:
                    ax.add_patch(
                        Rectangle(
                            (col - 0.5, row - 0.5), 1, 1, fill=False, lw=2.2, edgecolor="black"
                        )
                    )
            else:
                ax.add_patch(
                    Rectangle(
                        (col - 0.5, row - 0.5),
                        1,
                        1,
                        facecolor="0.9",
                        hatch="//",
                        edgecolor="0.6",
                        lw=0,
                    )
                )
                ax.text(col, row, NO_VALUE, ha="center", va="center", fontsize=12)
        ax.set_xticks(
            range(len(targets)),
            [target_heading(targets, t, metric) for t in targets],
            rotation=30,
            ha="right",
            rotation_mode="anchor",
        )
        ax.set_yticks(range(len(combos)), _combo_labels(grids, combos))
        models = sum(not is_baseline(c) for c in combos)
        if 0 < models < len(combos):
            ax.axhline(models - 0.5, color="black", lw=1.5)  # models above, baselines below
        ax.set_title(METRIC_NAMES[metric])
        ax.tick_params(length=0)
    fig.colorbar(image, ax=axes, shrink=0.9, label="scaled error")
    marks = "1 = predicting the mean" + ("; boxed: lowest per target" if boxed else "")
    if any(g["matches_best"].any() for g in grids.values()):
        marks += f"; {ALIKE}: not separable from it"
    fig.suptitle(_title("Scaled errors on the test split", grids, marks))
    _finish(fig, grids)
    return fig


def _legend(fig, grids, combos, extra=(), outside=False, ax=None):
    """The combinations' colours: right of the axes (`outside`, as wide as the legend) or in
    `ax`, a spare panel."""
    handles = [
        Patch(
            facecolor=combo_colour(c, combos),
            hatch=BASELINE_HATCH if is_baseline(c) else None,
            edgecolor="white" if is_baseline(c) else combo_colour(c, combos),
            label=label,
        )
        for c, label in zip(combos, _combo_labels(grids, combos))
    ] + list(extra)
    if any(g["matches_best"].any() or g["best"].any() for g in grids.values()):
        handles.append(Line2D([], [], ls="none", marker="$▼$", color="black", label="lowest"))
        handles.append(Line2D([], [], ls="none", marker="$≈$", color="black", label="not separable from the lowest"))
    if outside or ax is None:
        fig.legend(handles=handles, loc="outside right center", frameon=False)
    else:
        ax.legend(handles=handles, loc="center", frameon=False, title="combination")


def _title(what, grids, detail):
    """The figure's title: what it shows, the structure-embedding method, the marks."""
    grid = next(iter(grids.values()))
    methods = embedding_methods(grid)
    embedding = f"; structure embedding: {', '.join(methods)}" if methods else ""
    repeats = pd.to_numeric(grid["repeats"], errors="coerce").max() if "repeats" in grid else np.nan
    repeated = f", mean of {int(repeats)} splits" if np.isfinite(repeats) and repeats > 1 else ""
    return f"{what}{repeated}{embedding}\n({detail})"


def _finish(fig, grids, beyond=()):
    """Notes under the figure (missing values, not-pretrained backbones, CIs off the axis)."""
    notes = _notes(grids)
    if beyond:
        counts = ", ".join(f"{beyond.count(t)} of {t}" for t in dict.fromkeys(beyond))
        notes.append(
            f"▲ CI upper bound beyond the axis (over {CI_AXIS_FACTOR}× the tallest bar) for {len(beyond)} "
            f"bars ({counts}): the tables give the bounds"
        )
    # about 14 characters an inch at the notes' size: a narrow figure (few targets) wraps sooner
    width = min(150, int(14 * fig.get_figwidth()))
    lines = [line for note in notes for line in textwrap.wrap(note, width)]
    height = fig.get_figheight()
    bottom = (0.22 * len(lines) + 0.1) / height if lines else 0
    fig.set_layout_engine("constrained", rect=(0, bottom, 1, 1 - bottom))
    if lines:
        fig.text(0.01, bottom - 0.05 / height, "\n".join(lines), va="top", ha="left", fontsize=9)


def _notes(grids):
    notes = []
    missing = {}
    for grid in grids.values():
        for (combo, target), cell in grid[~np.isfinite(grid["value"])].iterrows():
            missing.setdefault(cell["reason"].splitlines()[0][:160], set()).add(f"{combo}/{target}")
    for reason, where in missing.items():
        notes.append(f"{NO_VALUE} no value for {', '.join(sorted(where))}: {reason}")
    backbone = {
        p
        for grid in grids.values()
        for note in grid.loc[~grid["pretrained"], "note"]
        for p in note_parts(note, "backbone")
    }
    notes += [f"† {p}: not the pretrained setting" for p in sorted(backbone)]
    grid = next(iter(grids.values()))
    training = {}
    for (combo, target), note in grid["note"].items():
        for part in note_parts(note, "training"):
            training.setdefault(part.removeprefix("training: "), set()).add((combo, target))
    notes += [f"‡ {models_named(w, grid)}: {p}" for p, w in training.items()]
    return notes + embedding_lines(grid)


def _combos(grids):
    return list(dict.fromkeys(next(iter(grids.values())).index.get_level_values("combo")))


def _combo_labels(grids, combos):
    """Row/legend labels: † for a backbone that is not pretrained, ‡ for fits that stopped on
    the time limit or barely trained, § for pretrained structure features."""
    labels = []
    for combo in combos:
        pretrained = all(g.loc[combo, "pretrained"].all() for g in grids.values())
        stopped = any(note_parts(n, "training") for g in grids.values() for n in g.loc[combo, "note"])
        features = any(pretrained_embedding(g, combo) for g in grids.values())
        labels.append(
            combo_label(combo)
            + ("" if pretrained else " †")
            + (" ‡" if stopped else "")
            + (f" {PRETRAINED_MARK}" if features else "")
        )
    return labels


def _ci_text(confidence):
    return f"{confidence:.0%} bootstrap CI" if confidence else "bootstrap CI"
