"""A job's log takes everything; the console gets what a user must not miss, and a failure in one line."""

import logging
import subprocess
import sys

from conftest import REPO

from matfuse.logs import log_to

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



def _job(path, **kwargs):
    with log_to(path, **kwargs) as log:
        log.info("rendered 3 of 10")
        log.warning("IMAGE BACKBONE x IS RANDOMLY INITIALISED")
        print("a stray progress bar", file=sys.stderr)


def test_console_level_copies_warnings_to_the_console(tmp_path, capsys):
    _job(tmp_path / "job.log", console_level=logging.WARNING)
    console = capsys.readouterr().err
    assert "RANDOMLY INITIALISED" in console
    assert "rendered 3 of 10" not in console and "stray" not in console
    text = (tmp_path / "job.log").read_text()
    assert all(s in text for s in ["rendered 3 of 10", "RANDOMLY INITIALISED", "stray"])


def test_without_console_level_the_console_stays_quiet(tmp_path, capsys):
    _job(tmp_path / "job.log")
    assert capsys.readouterr().err == ""
    assert "RANDOMLY INITIALISED" in (tmp_path / "job.log").read_text()
