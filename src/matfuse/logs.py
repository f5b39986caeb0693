"""Send a rule's logging, warnings and stray stderr (tqdm, AutoGluon) into its Snakemake log."""

import contextlib
import logging
import sys
from pathlib import Path


@contextlib.contextmanager
def log_to(path, console_level=None):
    """Log to `path` for the duration; an exception is logged with its traceback.

    The console (the job's stderr, which Snakemake shows) then gets the error itself in one line
    and where its traceback is, and the script exits with status 1: a failed job shows what to
    act on, not a second copy of the traceback. With `console_level` (e.g. logging.WARNING),
    records from that level up also go to the console: for what a user must not miss.
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
        except Exception as err:
            if console_level is not None:
                root.removeHandler(console)  # the one line below is the console's copy
            logging.getLogger("matfuse").exception("failed")
            sys.stderr.write(f"{type(err).__name__}: {err}\n(traceback in {path})\n")
            raise SystemExit(1) from None
        finally:
            root.removeHandler(handler)
            if console_level is not None:
                root.removeHandler(console)
