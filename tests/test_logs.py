"""A job's log takes everything; what a user must not miss also reaches the console."""

import logging
import sys

from matfuse.logs import log_to


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
