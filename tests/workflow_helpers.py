"""Run the real workflow in a scratch copy, so tests never touch the repository's results/."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ALEXANDRIA, REPO

WORKFLOW_FILES = ["Snakefile", "rules", "workflow", "config", "envs", "profiles"]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def copy_workflow(dest):
    for name in WORKFLOW_FILES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name)
        elif src.exists():
            shutil.copy(src, dest / name)
    return dest


def workflow_env(**extra):
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(REPO / "src"),
        MATFUSE_ALEXANDRIA_FILES=str(ALEXANDRIA / "sample.json.bz2"),
        HF_HUB_OFFLINE="1",
        PATH=f"{Path(sys.executable).parent}:{env['PATH']}",
    )
    env.update(extra)
    return env


def snakemake(workdir, *args, targets=(), timeout=3600, env=None, check=True, configfiles=()):
    """Run snakemake on the tiny config (then `configfiles`) in `workdir`; return the process."""
    # targets first: --configfile and --quiet take several values each
    cmd = [SNAKEMAKE, *targets, *args, "--configfile", "config/tiny.yaml", *configfiles]
    proc = subprocess.run(
        cmd, cwd=workdir, env=env or workflow_env(), capture_output=True, text=True, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{proc.stdout[-5000:]}\n{proc.stderr[-5000:]}")
    return proc


def planned_jobs(workdir, *targets, configfiles=()):
    """Job counts per rule from a dry run that builds `targets`."""
    out = snakemake(workdir, "-n", "--quiet", "rules", targets=targets, configfiles=configfiles).stdout
    return {m[0]: int(m[1]) for m in re.findall(r"^(\w+)\s+(\d+)$", out, re.M) if m[0] != "total"}


def matfuse_predict(study, model, cifs, out):
    """`matfuse predict` on CIF files through the command line, in the study's folder; its output
    table (predictions read back to the bit)."""
    import pandas as pd

    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    cmd = [sys.executable, "-m", "matfuse", "predict", "--model", str(model), "--cifs", *map(str, cifs), "--out", str(out)]
    proc = subprocess.run(cmd, cwd=study, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return pd.read_csv(out, keep_default_na=False, na_values={"prediction": [""]}, float_precision="round_trip")
