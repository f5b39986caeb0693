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
