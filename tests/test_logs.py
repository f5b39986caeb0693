"""A failing script's console output is its error in one line; the traceback is in its log."""

import subprocess
import sys

from conftest import REPO

SCRIPT = """
from matfuse.logs import log_to
with log_to({log!r}):
    raise ValueError("data.table.path: 'x.csv' is broken")
"""


def test_a_failure_prints_one_line_and_keeps_the_traceback_in_the_log(tmp_path):
    log = tmp_path / "logs" / "job.log"
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(log=str(log))],
        capture_output=True, text=True, env={"PYTHONPATH": str(REPO / "src")},
    )
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "ValueError: data.table.path: 'x.csv' is broken",
        f"(traceback in {log})",
    ]
    assert "Traceback" in log.read_text() and "is broken" in log.read_text()
