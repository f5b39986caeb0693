import numpy as np
import pandas as pd
import pytest

from matfuse.evaluate import COLUMNS
from matfuse.tables import write_metric_table, write_paper_comparison

TARGETS = {
    "gap": {"field": "band_gap_ind", "label": "Gap", "unit": "eV"},
    "mag_per_volume": {"field": "total_mag", "per": "volume", "label": "Mag/vol", "unit": "μB/Å³"},
    "e_total_per_atom": {"field": "energy_total", "per": "nsites", "unit": "eV/atom"},
}


def _row(combo, target, value, metric="mae", ok=True, reason="", pretrained=True, note=""):
    low, high = (value * 0.9, value * 1.1) if np.isfinite(value) else (np.nan, np.nan)
    return dict(
        combo=combo,
        target=target,
        metric=metric,
        value=value,
        ci_low=low,
        ci_high=high,
        n_test=150,
        ok=ok,
        reason=reason,
        pretrained=pretrained,
        note=note,
    )


def _metrics(tmp_path, rows):
    """Through metrics.csv and back, as the table rule reads it."""
    path = tmp_path / "metrics.csv"
    pd.DataFrame(rows, columns=COLUMNS).to_csv(path, index=False)
    return pd.read_csv(path)


STUDY = [
    # deliberately out of the paper's order
    _row(
        "image+text",
        "gap",
        0.10,
        pretrained=False,
        note="image backbone swin_base randomly initialised",
    ),
    _row(
        "image+text",
        "mag_per_volume",
        0.00512,
        pretrained=False,
        note="image backbone swin_base randomly initialised",
    ),
    _row(
        "image+text",
        "e_total_per_atom",
        0.20,
        pretrained=False,
        note="image backbone swin_base randomly initialised",
    ),
    _row("text", "gap", 0.13),
    _row("text", "mag_per_volume", 0.00498),
    _row("text", "e_total_per_atom", np.nan, ok=False, reason="fit failed: out of memory"),
    _row("tabular", "gap", 0.10, note="structure embedding random"),
    _row("tabular", "mag_per_volume", 0.0091, note="structure embedding random"),
    {
        **_row(
            "tabular",
            "e_total_per_atom",
            0.30,
            note="structure embedding random; no CI: n_bootstrap = 0",
        ),
        "ci_low": np.nan,
        "ci_high": np.nan,
    },
]


def _table(tmp_path, rows, metric="mae"):
    write_metric_table(
        _metrics(tmp_path, rows),
        metric,
        TARGETS,
        tmp_path / "t.csv",
        tmp_path / "t.md",
        confidence=0.95,
    )
    return pd.read_csv(tmp_path / "t.csv"), (tmp_path / "t.md").read_text()


def _md_rows(markdown):
    lines = [line for line in markdown.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines]


def test_rows_follow_the_paper_order_and_columns_the_config(tmp_path):
    csv, markdown = _table(tmp_path, STUDY)
    rows = _md_rows(markdown)
    assert rows[0] == ["Combination", "Gap (eV)", "Mag/vol (μB/Å³)", "e_total_per_atom (eV/atom)"]
    assert [r[0] for r in rows[2:]] == ["tabular", "text", "image+text †"]
    assert list(csv["modalities"]) == ["tabular", "text", "image+text"]
    assert list(csv.columns) == ["modalities"] + [
        f"{t}{s}" for t in TARGETS for s in ("", "_ci_low", "_ci_high", "_best", "_matches_best")
    ] + ["pretrained", "baseline"]


def test_scaled_metrics_are_headed_without_units(tmp_path):
    rows = [{**r, "metric": "mae_scaled"} for r in STUDY]
    _, markdown = _table(tmp_path, rows, metric="mae_scaled")
    assert _md_rows(markdown)[0] == ["Combination", "Gap", "Mag/vol", "e_total_per_atom"]
    assert "1 = predicting the test mean" in markdown


def test_lowest_per_column_is_bold_with_ties(tmp_path):
    csv, markdown = _table(tmp_path, STUDY)
    rows = {r[0]: r[1:] for r in _md_rows(markdown)[2:]}
    assert rows["tabular"][0] == "**0.100** [0.090, 0.110]"
    assert rows["image+text †"][0].startswith("**0.100**")  # a tie: both are best
    assert rows["text"][0] == "0.130 [0.117, 0.143]"
    # small values keep three significant digits
    assert rows["text"][1] == "**0.00498** [0.00448, 0.00548]"
    assert list(csv["gap_best"]) == [True, False, True]
    assert list(csv["mag_per_volume_best"]) == [False, True, False]
    assert list(csv["e_total_per_atom_best"]) == [False, False, True]


def test_missing_values_show_a_dash_and_their_reason(tmp_path):
    csv, markdown = _table(tmp_path, STUDY)
    rows = {r[0]: r[1:] for r in _md_rows(markdown)[2:]}
    assert rows["text"][2] == "— ²"
    assert "\n² fit failed: out of memory\n" in markdown
    assert np.isnan(csv.loc[csv["modalities"] == "text", "e_total_per_atom"]).all()
    # a value without an interval carries its note as a footnote
    assert rows["tabular"][2] == "0.300 ¹"  # footnotes are numbered row by row
    assert "\n¹ no CI: n_bootstrap = 0\n" in markdown


def test_a_combination_without_rows_for_a_target_is_missing(tmp_path):
    rows = [r for r in STUDY if not (r["combo"] == "tabular" and r["target"] == "gap")]
    _, markdown = _table(tmp_path, rows)
    assert _md_rows(markdown)[2][1].startswith("— ")
    assert "no metrics row" in markdown


def test_not_pretrained_and_embedding_are_footnoted(tmp_path):
    csv, markdown = _table(tmp_path, STUDY)
    assert (
        "† image backbone swin_base randomly initialised: not the pretrained setting." in markdown
    )
    assert "Structure embedding random: an untrained PotNet seeded from config." in markdown
    assert list(csv["pretrained"]) == [True, True, False]
    assert "n = 150 materials" in markdown and "95% bootstrap CI" in markdown


def test_embedding_methods_side_by_side_keep_tabulars_place_and_pretrained_ones_are_marked(tmp_path):
    rows = [
        _row(combo, target, value, note=f"structure embedding {method}")
        for target in TARGETS
        for combo, method, value in (
            ("tabular-random+text", "random", 0.3),
            ("tabular-chgnet", "chgnet", 0.1),
            ("tabular-random", "random", 0.4),
        )
    ] + [_row("text", t, 0.2) for t in TARGETS]
    csv, markdown = _table(tmp_path, rows)
    labels = [r[0] for r in _md_rows(markdown)[1:]]
    assert labels == ["---", "tabular-chgnet §", "tabular-random", "text", "tabular-random+text"]
    assert (
        "§ structure embedding chgnet: CHGNet 0.3.0 features, pretrained on Materials Project relaxations"
        " (MPtrj): partly in-sample on Materials Project data." in markdown
    )
    assert "Structure embedding random: an untrained PotNet seeded from config." in markdown


def test_unknown_metric_and_unconfigured_target_are_refused(tmp_path):
    metrics = _metrics(tmp_path, STUDY)
    with pytest.raises(ValueError, match="unknown metric"):
        write_metric_table(metrics, "r2", TARGETS, tmp_path / "t.csv", tmp_path / "t.md")
    with pytest.raises(ValueError, match="gap"):
        write_metric_table(
            metrics, "mae", {"mag_per_volume": {}}, tmp_path / "t.csv", tmp_path / "t.md"
        )


def test_paper_comparison_puts_ours_beside_theirs(tmp_path):
    paper = tmp_path / "paper_mae.csv"
    paper.write_text(
        "modalities,gap,mag_per_volume,e_total_per_atom\n"
        "tabular,0.147,0.009,10.384\ntext,0.130,0.006,5.416\n"
    )
    write_paper_comparison(
        _metrics(tmp_path, STUDY), "mae", TARGETS, paper, tmp_path / "c.md", confidence=0.95
    )
    markdown = (tmp_path / "c.md").read_text()
    rows = {r[0]: r[1:] for r in _md_rows(markdown)[2:]}
    assert rows["tabular"] == ["0.100 / 0.147", "0.00910 / 0.009 ≈", "0.300 / 10.384"]
    assert rows["text"] == ["0.130 / 0.13 ≈", "0.00498 / 0.006", "— ¹ / 5.416"]
    assert rows["image+text †"][0] == "0.100 / n/a"
    assert "per atom" in markdown and "per cell" in markdown
    assert "¹ fit failed: out of memory" in markdown


def test_the_random_view_of_several_methods_is_compared_with_the_papers_tabular(tmp_path):
    paper = tmp_path / "paper_mae.csv"
    paper.write_text("modalities,gap,mag_per_volume\ntabular,0.147,0.009\ntext,0.130,0.006\n")
    rows = [{**r, "combo": "tabular-random"} if r["combo"] == "tabular" else r for r in STUDY]
    rows += [{**r, "combo": "tabular-chgnet"} for r in STUDY if r["combo"] == "tabular"]
    write_paper_comparison(_metrics(tmp_path, rows), "mae", TARGETS, paper, tmp_path / "c.md", confidence=0.95)
    markdown = (tmp_path / "c.md").read_text()
    cells = {r[0]: r[1:] for r in _md_rows(markdown)[2:]}
    assert cells["tabular-random"][:2] == ["0.100 / 0.147", "0.00910 / 0.009 ≈"]
    assert [c.split(" / ")[1] for c in cells["tabular-chgnet"]] == ["n/a"] * 3
    assert "gap: Spearman ρ = -1.00 over 2; the paper's best (text) is not ours (tabular-random)" in markdown


def test_a_lone_value_is_not_marked_best(tmp_path):
    rows = [r for r in STUDY if r["combo"] == "text"]
    csv, markdown = _table(tmp_path, rows)
    assert "**" not in markdown.split("\n\n")[2]
    assert not csv[["gap_best", "mag_per_volume_best", "e_total_per_atom_best"]].any(axis=None)


def test_a_note_shared_by_many_models_names_them_in_short():
    from matfuse.layout import models_named

    cells = [(c, t) for c in ("text", "image", "baseline_mean") for t in ("gap", "e_form")]
    grid = pd.DataFrame({"value": range(len(cells))}, index=pd.MultiIndex.from_tuples(cells, names=["combo", "target"]))
    assert models_named(cells[:4], grid) == "every model"  # baselines need not share it
    assert models_named([("image", "gap"), ("image", "e_form"), ("text", "gap")], grid) == "image (every target), text/gap"


def test_a_combination_worse_than_its_best_part_is_marked_and_named(tmp_path):
    worse = {"best_part": "text", "vs_part_low": 0.012, "vs_part_high": 0.034}
    rows = [
        {**r, **worse} if (r["combo"], r["target"]) == ("image+text", "mag_per_volume") else r
        for r in STUDY
    ]
    _, markdown = _table(tmp_path, rows)
    cells = {r[0]: r[1:] for r in _md_rows(markdown)[2:]}
    assert cells["image+text †"][1].endswith(" ⊖") and not cells["image+text †"][0].endswith("⊖")
    assert "image+text/mag_per_volume (its best part text: +0.01200 to +0.03400)" in markdown
    # a combination no worse than its part: said in words; a study without one: nothing said
    alike = [{**r, **worse, "vs_part_low": -0.01} if r["combo"] == "image+text" else r for r in STUDY]
    assert "No combination is worse than its best part" in _table(tmp_path, alike)[1]
    assert "best part" not in _table(tmp_path, STUDY)[1]
