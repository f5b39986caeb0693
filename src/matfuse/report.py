"""What `snakemake --report` shows beside the results: where the time and memory went, and
the configuration the results were made with."""

from pathlib import Path

import pandas as pd
import yaml

# Columns of a Snakemake benchmark file kept in the summary, with the names they get there.
BENCHMARK_COLUMNS = {"s": "wall_s", "cpu_time": "cpu_s", "max_rss": "max_rss_mb", "mean_load": "mean_load"}


def summarize_benchmarks(paths, root="results/benchmarks"):
    """One row per benchmarked job: its step (the first folder or the file name under `root`),
    the job (the rest of the path, e.g. `text/gap`) and the mean over its benchmark repeats."""
    rows = []
    for path in map(Path, paths):
        parts = path.relative_to(root).with_suffix("").parts
        measured = pd.read_csv(path, sep="\t")[list(BENCHMARK_COLUMNS)].rename(columns=BENCHMARK_COLUMNS)
        rows.append({"step": parts[0], "job": "/".join(parts[1:]), **measured.mean().round(2).to_dict()})
    return pd.DataFrame(rows, columns=["step", "job", *BENCHMARK_COLUMNS.values()])


def draw_benchmarks(summary, path):
    """Wall time and peak memory of every job side by side, one bar per job, coloured by step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{s} {j}".strip() for s, j in zip(summary["step"], summary["job"])]
    steps = list(dict.fromkeys(summary["step"]))
    colors = [plt.cm.tab10(steps.index(s) % 10) for s in summary["step"]]
    fig, axes = plt.subplots(1, 2, figsize=(11, 1.5 + 0.28 * len(summary)), sharey=True)
    for ax, column, xlabel in zip(axes, ["wall_s", "max_rss_mb"], ["wall time (s)", "peak memory, RSS (MB)"]):
        ax.barh(labels, summary[column], color=colors)
        ax.set_xlabel(xlabel)
        ax.grid(axis="x", alpha=0.3)
    axes[0].invert_yaxis()
    fig.suptitle("Benchmarked jobs of this run")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_config(config, path, source_files=()):
    """The configuration as YAML; the input files are listed too, since an environment variable
    (MATFUSE_ALEXANDRIA_FILES) can replace the ones config names."""
    header = "".join(f"# source file: {f}\n" for f in source_files)
    Path(path).write_text(header + yaml.safe_dump(config, sort_keys=False, allow_unicode=True, default_flow_style=None))


# The paper's study (Costa, Oliveira, Ramos 2025), as config values: what "reproduces" means.
PAPER_TARGETS = ["gap", "e_form", "e_above_hull", "e_total_per_atom", "mag_per_volume", "volume_per_atom", "dos_per_atom"]
PAPER_SETTINGS = {
    ("data", "source"): "alexandria",
    ("data", "n_materials"): 1000,
    ("split", "test_fraction"): 0.15,
    ("train", "presets"): "high_quality",
    ("embeddings", "method"): "random",
}
PAPER_MODALITIES = ["tabular", "image", "text"]


def _methods(method):
    """`random`, or `random, chgnet` for several methods side by side."""
    return ", ".join(method) if isinstance(method, list) else str(method)


def read_config(path):
    """A stored configuration snapshot (the `# source file:` header lines are YAML comments)."""
    return yaml.safe_load(Path(path).read_text())


def paper_differences(config):
    """How a run's configuration differs from the paper's study, one phrase each ([] = none)."""
    differences = []
    for (section, key), paper in PAPER_SETTINGS.items():
        ours = (config.get(section) or {}).get(key)
        if isinstance(ours, list) and len(ours) == 1:  # embeddings.method: [random] is `random`
            ours = ours[0]
        if ours != paper:
            differences.append(f"{section}.{key} is {ours!r} (the paper: {paper!r})")
    targets = list(config.get("targets") or {})
    if sorted(targets) != sorted(PAPER_TARGETS):
        differences.append(f"targets {targets} (the paper: its 7 targets {PAPER_TARGETS})")
    if sorted(config.get("modalities") or []) != sorted(PAPER_MODALITIES):
        differences.append(f"modalities {config.get('modalities')} (the paper: {PAPER_MODALITIES})")
    return differences


def repeats_note(config):
    repeats = (config.get("evaluate") or {}).get("repeats", 1)
    if repeats == 1:
        return "one train/test split, as in the paper"
    return (
        f"{repeats} seeded train/test splits, each model refitted on each and the metrics "
        "averaged (the paper used one split; repeat 0 is that split)"
    )


def write_run_description(config, metrics, path):
    """HTML for the report: what this run was, from the configuration stored with its results,
    and whether it reproduces the paper's study or how it differs."""
    import html

    data, train = config.get("data") or {}, config.get("train") or {}
    differences = paper_differences(config)
    models = metrics.loc[~metrics["baseline"].astype(str).str.lower().eq("true")]
    stopped = sorted(
        {f"{r.combo}/{r.target}" for r in models.itertuples() if "training: " in str(r.note)}
    )
    lines = [
        "<h2>This run</h2>",
        "<p>"
        + html.escape(
            f"{data.get('n_materials')} materials from the {data.get('source')} source (seed "
            f"{config.get('seed')}), {len(config.get('targets') or {})} targets, modalities "
            f"{', '.join(config.get('modalities') or [])}, structure embedding "
            f"{_methods((config.get('embeddings') or {}).get('method'))}, AutoGluon preset "
            f"{train.get('presets')} (at most {train.get('max_epochs')} epochs, time limit "
            f"{train.get('time_limit')} s per fit); {repeats_note(config)}. Baselines (train "
            "mean, train median, composition-only gradient boosting) are fitted on the same splits."
        )
        + "</p>",
    ]
    if differences:
        lines.append(
            "<p>This run does <b>not</b> reproduce the paper's study (Costa, Oliveira, Ramos 2025); "
            "it differs in:</p><ul>"
            + "".join(f"<li>{html.escape(d)}</li>" for d in differences)
            + "</ul>"
        )
    else:
        lines.append(
            "<p>This run reproduces the paper's study (Costa, Oliveira, Ramos 2025) with its "
            f"settings; {html.escape(repeats_note(config))}.</p>"
        )
    if stopped:
        lines.append(
            "<p>‡ Models whose fit stopped on the time limit or barely trained (see the tables' "
            f"notes): {html.escape(', '.join(stopped))}.</p>"
        )
    Path(path).write_text("<html><body>\n" + "\n".join(lines) + "\n</body></html>\n")
