"""Seeded uniform sampling of streams whose lengths are unknown until their end.

One stream: `reservoir_sample`. Many streams (the 45 Alexandria files): `sample_streams` reads
each in its own process into a reservoir and `merge_reservoirs` merges them exactly, so the
sample is as uniform as one reservoir over the chained streams, memory stays at about k items a
process, and the sample depends on the seed and the streams' order, never on the processes.
"""

import logging
import pickle
import random
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")
S = TypeVar("S")
log = logging.getLogger(__name__)
# SeedSequence spawn keys: one family for the streams' reservoirs, one for the merge.
STREAM_KEY, MERGE_KEY = 0, 1


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


def stream_seed(seed: int, index: int) -> int:
    """The reservoir seed of the stream at position `index`: from the global seed and that
    position only, so it does not depend on which process reads the stream, or when."""
    sequence = np.random.SeedSequence(seed, spawn_key=(STREAM_KEY, index))
    return int(sequence.generate_state(1, np.uint64)[0])


def merge_reservoirs(
    reservoirs: Iterable[tuple[list[T], int]], k: int, seed: int
) -> tuple[list[T], int]:
    """A uniform k-subset of the union of streams, from each stream's reservoir and length.

    Each reservoir must be a uniform min(k, n)-subset of its stream's n items, in stream order
    and drawn independently (what `reservoir_sample` returns with `stream_seed`). They are
    folded in the order given: of the k kept from the streams so far plus the next one, how
    many come from the former is an exact seeded hypergeometric draw (so the counts per stream
    are multivariate hypergeometric, as in one k-sample of the union), and each part is a
    uniform subsample of a uniform reservoir, hence uniform over its stream. The result is
    distributed as `reservoir_sample` over the chained streams, in stream order, and only two
    reservoirs are held at a time. Counts must stay below 10**9 (numpy's hypergeometric).
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(MERGE_KEY,)))
    kept: list[T] = []
    n_total = 0
    for position, (reservoir, n_items) in enumerate(reservoirs):
        if len(reservoir) != min(k, n_items):
            raise ValueError(
                f"stream {position}: a reservoir of {len(reservoir)} items for {n_items} items "
                f"in the stream, not min(k={k}, {n_items})"
            )
        n_before, n_total = n_total, n_total + n_items
        if n_total <= k:
            kept += reservoir
            continue
        from_before = int(rng.hypergeometric(n_before, n_items, k)) if n_before else 0
        kept = _subsample(kept, from_before, rng) + _subsample(reservoir, k - from_before, rng)
    return kept, n_total


def _subsample(items: list[T], size: int, rng: np.random.Generator) -> list[T]:
    """A uniform `size`-subset of `items`, in their order."""
    if size == len(items):
        return items
    return [items[i] for i in np.sort(rng.choice(len(items), size=size, replace=False))]


def _reservoir_of(read: Callable[[S], Iterable[T]], source: S, k: int, seed: int):
    """One stream's reservoir, its items pickled: they cross to the parent process anyway, and
    wait there for the merge in a seventh of the memory (an Alexandria entry: 35 KB as dicts,
    5 KB pickled) without scattering k entries of every file over its heap."""
    reservoir, n_items = reservoir_sample(read(source), k, seed)
    return [pickle.dumps(item, pickle.HIGHEST_PROTOCOL) for item in reservoir], n_items


def sample_streams(
    read: Callable[[S], Iterable[T]], sources: Sequence[S], k: int, seed: int, processes: int = 1
) -> tuple[list[T], int]:
    """A uniform k-sample of the items of all streams `read(source)`, in source then stream
    order, and the number of items; each source is read by one of `processes` forked workers.

    The same seed and sources give the same sample for any `processes` (each stream's seed comes
    from its position, the merge runs in source order). `read` and the sources must pickle.
    Fork, as in potnet.graph: a Snakemake script is never re-imported by the workers.
    """
    jobs = [(read, source, k, stream_seed(seed, i)) for i, source in enumerate(sources)]
    workers = min(processes, len(jobs))
    if workers <= 1:
        results = (_reservoir_of(*job) for job in jobs)
        kept, n_items = merge_reservoirs(_logged(results, sources), k, seed)
    else:
        with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
            results = _in_order(pool, _reservoir_of, jobs, ahead=2 * workers)
            kept, n_items = merge_reservoirs(_logged(results, sources), k, seed)
    return [pickle.loads(item) for item in kept], n_items


def _in_order(pool: Executor, function: Callable, jobs: Sequence[tuple], ahead: int) -> Iterator:
    """function(*job) for each job, in job order, with at most `ahead` jobs submitted and not
    yet consumed: a slow first file never lets finished reservoirs pile up without bound."""
    pending: deque = deque()
    for job in jobs:
        pending.append(pool.submit(function, *job))
        if len(pending) >= ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _logged(results: Iterable[tuple[list, int]], sources: Sequence[Any]) -> Iterator:
    for position, (source, result) in enumerate(zip(sources, results), start=1):
        log.info("%s (%d of %d): %d items", source, position, len(sources), result[1])
        yield result
