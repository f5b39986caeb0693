"""The one train/test split every model uses."""

import hashlib
import logging
from collections.abc import Iterable

import pandas as pd

log = logging.getLogger(__name__)


def make_split(ids: Iterable[str], test_fraction: float, seed: int) -> pd.DataFrame:
    """`mat_id, split` (train/test), sorted by id; round(test_fraction * n) test rows.

    Ids are ranked by a seeded hash, sha256("{seed}:{mat_id}"), and the lowest ranks are the
    test set. So the split depends only on the set of ids and the seed, not on their order,
    and a material added or dropped upstream moves at most one other material across.
    `round` is Python's (half to even).
    """
    ids = sorted(map(str, ids))
    duplicates = sorted({a for a, b in zip(ids, ids[1:]) if a == b})
    if duplicates:
        raise ValueError(f"duplicate ids: {', '.join(duplicates[:5])}")
    n_test = round(test_fraction * len(ids))
    if not 0 < n_test < len(ids):
        raise ValueError(
            f"split.test_fraction={test_fraction} of {len(ids)} materials gives {n_test} test "
            "rows; both train and test need at least one"
        )
    ranked = sorted(ids, key=lambda mat_id: hashlib.sha256(f"{seed}:{mat_id}".encode()).digest())
    test = set(ranked[:n_test])
    log.info("split: %d train, %d test (seed %d)", len(ids) - n_test, n_test, seed)
    return pd.DataFrame({"mat_id": ids, "split": ["test" if i in test else "train" for i in ids]})
