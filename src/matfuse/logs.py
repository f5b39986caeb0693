"""Send a rule's logging, warnings and stray stderr (tqdm, AutoGluon) into its Snakemake log."""

import contextlib
import logging
import sys
from pathlib import Path


@contextlib.contextmanager
def log_to(path, console_level=None):
    """Log to `path` for the duration; an exception is logged with its traceback, then re-raised.

    With `console_level` (e.g. logging.WARNING), records from that level up also go to the
    job's own stderr, which Snakemake shows on the console: for what a user must not miss.
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", buffering=1) as stream:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        if console_level is not None:
            console = logging.StreamHandler(sys.stderr)  # bound now, before the redirect below
            console.setLevel(console_level)
            console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
            root.addHandler(console)
        root.setLevel(logging.INFO)
        logging.captureWarnings(True)
        try:
            with contextlib.redirect_stderr(stream), contextlib.redirect_stdout(stream):
                yield logging.getLogger("matfuse")
        except Exception:
            logging.getLogger("matfuse").exception("failed")
            raise
        finally:
            root.removeHandler(handler)
            if console_level is not None:
                root.removeHandler(console)
