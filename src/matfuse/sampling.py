"""Seeded uniform sampling of a stream whose length is unknown until its end."""

import random
from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")


def reservoir_sample(items: Iterable[T], k: int, seed: int) -> tuple[list[T], int]:
    """A uniform random k-subset of `items` in stream order, and how many items were seen.

    Reservoir sampling (Vitter's algorithm R): one pass, memory for k items only, so a sample
    over many large files never holds more than k entries. Every k-subset is equally likely;
    the same seed and the same stream give the same sample. Fewer than k items: all of them.
    """
    rng = random.Random(seed)
    reservoir: list[tuple[int, T]] = []
    n_seen = 0
    for n_seen, item in enumerate(items, start=1):
        if n_seen <= k:
            reservoir.append((n_seen, item))
        else:
            slot = rng.randrange(n_seen)
            if slot < k:
                reservoir[slot] = (n_seen, item)
    reservoir.sort(key=lambda indexed: indexed[0])
    return [item for _, item in reservoir], n_seen
