"""The seeded train/test splits every model uses: one per evaluation repeat."""

import hashlib
import logging
from collections.abc import Iterable

import pandas as pd

from matfuse import ids

log = logging.getLogger(__name__)


def _rank_key(seed, repeat):
    """Repeat 0 hashes "{seed}:{mat_id}" (the paper's single split, unchanged); repeat r > 0
    hashes "{seed}:{r}:{mat_id}", so every repeat is its own seeded split."""
    prefix = f"{seed}:" if repeat == 0 else f"{seed}:{repeat}:"
    return lambda mat_id: hashlib.sha256(f"{prefix}{mat_id}".encode()).digest()


def make_split(ids: Iterable[str], test_fraction: float, seed: int, repeats: int = 1) -> pd.DataFrame:
    """`mat_id, repeat, split` (train/test), sorted by repeat then id; round(test_fraction * n)
    test rows per repeat.

    Ids are ranked by a seeded hash and the lowest ranks are the test set. So a split depends
    only on the set of ids, the seed and the repeat, not on their order, and a material added
    or dropped upstream moves at most one other material across. `round` is Python's (half to
    even).
    """
    ids = sorted(map(str, ids))
    duplicates = sorted({a for a, b in zip(ids, ids[1:]) if a == b})
    if duplicates:
        raise ValueError(f"duplicate ids: {', '.join(duplicates[:5])}")
    if repeats < 1:
        raise ValueError(f"evaluate.repeats must be at least 1, got {repeats}")
    n_test = round(test_fraction * len(ids))
    if not 0 < n_test < len(ids):
        raise ValueError(
            f"split.test_fraction={test_fraction} of {len(ids)} materials gives {n_test} test "
            "rows; both train and test need at least one"
        )
    frames = []
    for repeat in range(repeats):
        test = set(sorted(ids, key=_rank_key(seed, repeat))[:n_test])
        frames.append(
            pd.DataFrame(
                {"mat_id": ids, "repeat": repeat, "split": ["test" if i in test else "train" for i in ids]}
            )
        )
    log.info("split: %d train, %d test (seed %d) in each of %d repeats", len(ids) - n_test, n_test, seed, repeats)
    return pd.concat(frames, ignore_index=True)


def read_split(path, repeat=None):
    """The split file (ids as text); with `repeat`, only that repeat's rows, `mat_id, split`."""
    split = ids.read_csv(path, dtype={"split": str})
    if repeat is None:
        return split
    rows = split.loc[split["repeat"] == int(repeat), ["mat_id", "split"]].reset_index(drop=True)
    if rows.empty:
        raise ValueError(f"{path} has no rows for repeat {repeat} (repeats: {sorted(split['repeat'].unique())})")
    return rows


def with_split(table, path, repeat):
    """`table` with the `split` column of one repeat (as read_split), one row per material."""
    return table.drop(columns="split", errors="ignore").merge(
        read_split(path, repeat), on="mat_id", validate="one_to_one"
    )
