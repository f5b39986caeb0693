"""The workflow stays `snakemake --lint` and `snakefmt --check` clean."""

import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO

BIN = Path(sys.executable).parent


def test_snakemake_lint_is_clean():
    proc = subprocess.run(
        [BIN / "snakemake", "--lint", "--configfile", "config/tiny.yaml"],
        cwd=REPO, capture_output=True, text=True,
        # rules/common.smk imports matfuse: this checkout's, not whichever is installed
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )
    assert proc.returncode == 0 and "Congratulations" in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def test_snakefmt_check_is_clean():
    proc = subprocess.run([BIN / "snakefmt", "--check", "."], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
