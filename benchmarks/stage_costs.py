"""What each stage of the study costs per 1,000 materials at two sizes, and which one dominates at
100,000.

Runs the whole workflow (`snakemake --cores N`) in a scratch copy of this repository on a seeded
sample of the mp_dev development set (../shared/data/mp_dev, `table` source) at each size, with
config/dev_mp.yaml's CPU settings narrowed to one target, one split and a fixed small number of
epochs, so that a fit's cost is per epoch and comparable across sizes. From each rule's
`benchmark:` file (wall s, CPU s of the job's process tree, peak RSS) it prints per stage: CPU-s
per 1,000 materials at each size, the growth exponent b of the stage's total CPU (cost ~ n^b,
from the two sizes), its extrapolation to 100,000 materials and its share there, plus the DAG's
planning time (a dry run after the study). Sizes run one after another, so both see this
machine's load; CPU seconds are the figure to trust on a shared machine, wall seconds are not.

    PYTHONPATH=src python benchmarks/stage_costs.py                       # 1,000 and 8,000
    PYTHONPATH=src python benchmarks/stage_costs.py --sizes 200 400 --epochs 1 --keep /tmp/sc
    PYTHONPATH=src python benchmarks/stage_costs.py --combos tabular image text    # no fusion fits
"""

import argparse
import math
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
EXTRAPOLATE_TO = 100_000
# a stage whose CPU grew up to n^1.2 between the sizes is taken as linear plus a start-up cost
LINEAR_UP_TO = 1.2


def copy_repository(dest):
    """The tracked files of this checkout (as they are now), without results or caches."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def stage(path):
    """The stage a benchmark file measures: its rule, and a fit's combination."""
    parts = path.parts
    if parts[0] == "train":
        return f"fit {parts[1]}" if not parts[1].startswith("baseline_") else "baselines"
    if parts[0] == "render_images":
        return "render_images"
    # the embedding's file carries its method (potnet_embeddings_{method}); the others are their rule
    return "potnet_embeddings" if path.stem.startswith("potnet_embeddings_") else path.stem


def stage_costs(workdir):
    """{stage: (wall s, CPU s, peak RSS MiB)} summed over a stage's jobs (peak: their largest)."""
    rows = []
    bench = workdir / "results/benchmarks"
    for tsv in bench.rglob("*.tsv"):
        record = pd.read_csv(tsv, sep="\t").iloc[-1]
        rows.append((stage(tsv.relative_to(bench)), record["s"], record["cpu_time"], record["max_rss"]))
    frame = pd.DataFrame(rows, columns=["stage", "wall_s", "cpu_s", "rss_mib"])
    return frame.groupby("stage").agg(wall_s=("wall_s", "sum"), cpu_s=("cpu_s", "sum"), rss_mib=("rss_mib", "max"))


def run_study(workdir, args, size):
    """The study at `size` materials in `workdir`; its stage costs and the dry run's seconds."""
    override = {
        "data": {"n_materials": size, "table": {"path": str(args.table)}},
        "study": {"targets": [args.target], "combos": args.combos},
        # epochs bound every fit, never the safety net: a fit's cost is then per epoch
        "train": {"max_epochs": args.epochs, "time_limit": 7 * 24 * 3600},
        "evaluate": {"repeats": 1},
    }
    (workdir / "stage_costs.yaml").write_text(yaml.safe_dump(override))
    cmd = [sys.executable, "-m", "snakemake", "--cores", str(args.cores)]
    cmd += ["--configfile", "config/dev_mp.yaml", "stage_costs.yaml"]
    env = {**os.environ, "PYTHONPATH": str(workdir / "src")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(workdir / "stage_costs.log", "w") as log:
        subprocess.run(cmd, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    total_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    start = time.perf_counter()
    subprocess.run([*cmd, "-n", "--quiet"], cwd=workdir, env=env, capture_output=True, check=True)
    return stage_costs(workdir), time.perf_counter() - start, total_cpu


def study_multiplier(name, epochs):
    """How many times the study (config/config.yaml) runs a stage this run ran once: every fit
    per target and repeat, at the study's epochs (a fit's cost taken as per epoch)."""
    study = yaml.safe_load((REPO / "config/config.yaml").read_text())
    runs = len(study["targets"]) * study["evaluate"]["repeats"]
    if name.startswith("fit "):
        return runs * study["train"]["max_epochs"] / epochs
    return runs if name == "baselines" else 1


def extrapolate(ca, cb, small, large):
    """CPU-s at EXTRAPOLATE_TO from two sizes: a start-up cost plus a cost per material, unless
    the stage grew faster than linearly (b > LINEAR_UP_TO), then the power law it followed."""
    if not (ca > 0 and cb > 0):
        return math.nan, "-", math.nan
    exponent = math.log(cb / ca) / math.log(large / small)
    if exponent > LINEAR_UP_TO:
        return exponent, "n^b", cb * (EXTRAPOLATE_TO / large) ** exponent
    per_material = max((cb - ca) / (large - small), 0.0)
    return exponent, "a+bn", cb + per_material * (EXTRAPOLATE_TO - large)


def table(costs, sizes, plan_s, epochs):
    small, large = sizes
    a, b = costs[small], costs[large]
    rows = []
    for name in sorted(set(a.index) | set(b.index)):
        ca, cb = a["cpu_s"].get(name, math.nan), b["cpu_s"].get(name, math.nan)
        exponent, model, at_target = extrapolate(ca, cb, small, large)
        rows.append(
            {
                "stage": name,
                f"CPU-s/1k @{small}": 1000 * ca / small,
                f"CPU-s/1k @{large}": 1000 * cb / large,
                f"wall-s/1k @{large}": 1000 * b["wall_s"].get(name, math.nan) / large,
                f"peak MiB @{small}": a["rss_mib"].get(name, math.nan),
                f"peak MiB @{large}": b["rss_mib"].get(name, math.nan),
                "growth b": exponent,
                "model": model,
                "CPU-h @100k": at_target / 3600,
                "study CPU-h @100k": at_target * study_multiplier(name, epochs) / 3600,
            }
        )
    frame = pd.DataFrame(rows).set_index("stage").sort_values("study CPU-h @100k", ascending=False)
    for column in ("CPU-h @100k", "study CPU-h @100k"):
        frame[column.replace("CPU-h", "share")] = frame[column] / frame[column].sum()
    print(frame.to_string(float_format=lambda v: f"{v:.3g}"))
    print(f"\nplanning (a dry run after the study): {plan_s[small]:.1f} s at {small}, {plan_s[large]:.1f} s at {large}")
    print(
        f"`CPU-h @100k`: this run's stages at 100,000 materials (fits: {epochs} epoch(s), one target, one"
        " split). `study CPU-h @100k`: the same times the study's fits (config/config.yaml: every"
        " target and repeat, at its epochs)."
    )
    for column in ("CPU-h @100k", "study CPU-h @100k"):
        top = frame[column].idxmax()
        print(
            f"{column}: `{top}` dominates, {frame.loc[top, column.replace('CPU-h', 'share')]:.0%} of"
            f" {frame[column].sum():.3g} CPU-h; rendering takes {frame.loc['render_images', column.replace('CPU-h', 'share')]:.0%}."
            if "render_images" in frame.index
            else f"{column}: `{top}` dominates"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[1000, 8000])
    parser.add_argument("--epochs", type=int, default=1, help="max_epochs of every fit")
    parser.add_argument("--target", default="e_form")
    parser.add_argument(
        "--combos",
        nargs="+",
        default="all",
        help="the modality combinations to fit (default all; e.g. `tabular image text` to time each"
        " modality's fit once and leave out the fusions: at 300 materials a fusion fit cost 1-1.6 times its"
        " parts' fits together)",
    )
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    parser.add_argument(
        "--table", type=Path, default=REPO.parent / "shared/data/mp_dev/mp_dev_8000.csv.gz"
    )
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it (else a temporary one)")
    args = parser.parse_args()
    args.table = args.table.resolve()
    if not args.table.exists():
        sys.exit(f"stage_costs.py: no development table at {args.table} (give --table)")
    root = args.keep or Path(tempfile.mkdtemp(prefix="stage_costs_"))
    costs, plan_s = {}, {}
    for size in sorted(args.sizes):
        workdir = copy_repository(Path(root) / f"n{size}")
        start = time.perf_counter()
        costs[size], plan_s[size], total_cpu = run_study(workdir, args, size)
        print(
            f"n={size}: the study took {time.perf_counter() - start:.0f} s wall and {total_cpu:.0f} CPU-s"
            " (getrusage of the reaped process tree: it misses processes that outlive their parent,"
            f" e.g. Chromium's); its benchmark files account for {costs[size]['cpu_s'].sum():.0f}"
            " (Snakemake samples a job's processes every 30 s: its last seconds and short-lived"
            " children are missed)",
            flush=True,
        )
    table(costs, sorted(args.sizes), plan_s, args.epochs)
    if not args.keep:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
