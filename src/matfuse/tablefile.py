"""Which files a table of the user's own may be, known in one place.

The workflow checks the suffix at start-up (before pymatgen is imported), and the table source
reads by it, so both take it from here.
"""

import gzip
from pathlib import Path

CSV_SUFFIXES = (".csv", ".csv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
WRONG_SUFFIX = "must end in .csv, .csv.gz or .parquet"


def table_kind(path) -> str | None:
    """"csv", "parquet", or None for a file of another kind."""
    name = Path(path).name.lower()
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    return None


def open_bytes(path):
    """The file's bytes, uncompressed when it is gzip-compressed."""
    return gzip.open(path, "rb") if str(path).lower().endswith(".gz") else open(path, "rb")
