import warnings

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from synthetic_models import CONFIG_TARGETS, write_model, write_study

from matfuse.evaluate import collect_metrics
from matfuse.figures import FIGURES, combo_colour, draw_figure

# figure size × 150 dpi for 7 combinations × 7 targets
EXPECTED_SIZE = {
    "errors_bars": (2760, 1305),
    "scaled_bars": (2655, 1275),
    "scaled_heatmap": (2880, 997),
}


@pytest.fixture(scope="module")
def study_metrics(tmp_path_factory):
    """Metrics of a synthetic 7 × 7 study with one failed fit, through metrics.csv."""
    folder = tmp_path_factory.mktemp("study")
    predictions, statuses = write_study(folder / "predictions")
    collect_metrics(predictions, statuses, 200, 0.95, 42).to_csv(folder / "metrics.csv")
    return pd.read_csv(folder / "metrics.csv")


def _pixels(path):
    with Image.open(path) as image:
        image.load()
        return image.size, np.asarray(image.convert("RGB"))


def _has_colour(pixels, colour, tolerance=3):
    rgb = np.array(colour) * 255
    return bool((np.abs(pixels.astype(float) - rgb).max(axis=-1) <= tolerance).any())


@pytest.mark.parametrize("figure", FIGURES)
def test_figures_are_drawn_with_every_combination(study_metrics, tmp_path, figure):
    path = tmp_path / f"{figure}.png"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. a glyph missing from the font (μ, Å, ³, ·)
        draw_figure(study_metrics, figure, CONFIG_TARGETS, path, confidence=0.95)
    size, pixels = _pixels(path)
    assert size == EXPECTED_SIZE[figure]
    assert (pixels < 250).any(axis=-1).mean() > 0.05  # not blank
    if figure != "scaled_heatmap":
        combos = list(dict.fromkeys(study_metrics["combo"]))
        for combo in combos:
            assert _has_colour(pixels, combo_colour(combo, combos)), combo


def test_colours_are_fixed_per_combination():
    assert combo_colour("text", ["text"]) == combo_colour("text", ["image+text", "text", "image"])
    assert combo_colour("tabular", ["tabular"]) != combo_colour("image", ["image"])
    # three structure-embedding methods side by side: 15 combinations, 15 colours, no grey
    views = ["tabular-random", "tabular-descriptors", "tabular-chgnet"]
    combos = [*views, "image", "text", "image+text"]
    combos += [f"{v}+{m}" for v in views for m in ("image", "text", "image+text")]
    colours = {combo_colour(c, combos) for c in combos}
    assert len(colours) == 15 and not any(r == g == b for r, g, b in colours)


def test_figures_survive_a_target_without_any_model(tmp_path):
    models = [
        write_model(tmp_path, "text", "gap", [1.0, 2.0, 3.0], [1.5, 2.0, 2.5]),
        write_model(tmp_path, "text", "e_form", ok=False, reason="no data"),
    ]
    metrics = collect_metrics([m[0] for m in models], [m[1] for m in models], 50, 0.95, 0)
    targets = {t: CONFIG_TARGETS[t] for t in ("gap", "e_form")}
    for figure in FIGURES:
        path = tmp_path / f"{figure}.png"
        draw_figure(metrics, figure, targets, path)
        assert _pixels(path)[1].std() > 0


def test_unknown_figure_is_refused(study_metrics, tmp_path):
    with pytest.raises(ValueError, match="unknown figure"):
        draw_figure(study_metrics, "pie", CONFIG_TARGETS, tmp_path / "pie.png")


def test_one_huge_interval_does_not_flatten_the_bars(study_metrics, tmp_path):
    """Nearly constant test values give resamples with a tiny MAD: CI bounds 1e5 × the value."""
    outlier = study_metrics.copy()
    row = outlier.index[(outlier["metric"] == "mae_scaled") & outlier["value"].notna()][0]
    outlier.loc[row, "ci_high"] = 1e5
    combos = list(dict.fromkeys(study_metrics["combo"]))

    def bar_area(metrics, name):
        draw_figure(metrics, "scaled_bars", CONFIG_TARGETS, tmp_path / name, confidence=0.95)
        pixels = _pixels(tmp_path / name)[1].astype(float)
        colours = [np.array(combo_colour(c, combos)) * 255 for c in combos]
        return sum(int((np.abs(pixels - rgb).max(axis=-1) <= 3).sum()) for rgb in colours)

    assert bar_area(outlier, "outlier.png") > 0.8 * bar_area(study_metrics, "plain.png")


@pytest.mark.parametrize("figure", ["errors_bars", "scaled_bars"])
def test_baselines_are_drawn_in_their_greys(tmp_path, figure):
    predictions, statuses = write_study(tmp_path / "predictions", n_test=60, repeats=2, baselines=True)
    metrics = collect_metrics(predictions, statuses, 50, 0.95, 0)
    draw_figure(metrics, figure, CONFIG_TARGETS, tmp_path / "f.png", confidence=0.95)
    pixels = _pixels(tmp_path / "f.png")[1]
    combos = list(dict.fromkeys(metrics["combo"]))
    for baseline in ("baseline_mean", "baseline_median"):
        assert _has_colour(pixels, combo_colour(baseline, combos)), baseline
    assert combo_colour("baseline_mean", combos) not in [combo_colour(c, combos) for c in combos[:7]]
