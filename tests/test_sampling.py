"""Reservoir sampling, one stream or many merged: deterministic per seed, uniform over all
k-subsets of the items."""

import itertools
import random
from collections import Counter

import pytest
from scipy.stats import chisquare

from matfuse.sampling import merge_reservoirs, reservoir_sample, sample_streams, stream_seed

SEEDS = range(3000)


def test_same_seed_same_sample_in_stream_order():
    first, n_seen = reservoir_sample(range(1000), 10, seed=7)
    again, _ = reservoir_sample(iter(range(1000)), 10, seed=7)
    other, _ = reservoir_sample(range(1000), 10, seed=8)
    assert n_seen == 1000
    assert first == again == sorted(first)
    assert len(set(first)) == 10
    assert other != first


def test_short_stream_is_taken_whole():
    assert reservoir_sample("abc", 5, seed=0) == (["a", "b", "c"], 3)
    assert reservoir_sample([], 5, seed=0) == ([], 0)


def subset_p_value(sampler, n=6, k=2):
    """Chi-square p-value of the sampled k-subsets of range(n) against all being equally likely."""
    counts = Counter(tuple(sorted(sampler(range(n), k, seed))) for seed in SEEDS)
    observed = [counts[s] for s in itertools.combinations(range(n), k)]
    return chisquare(observed).pvalue


def test_every_subset_equally_likely():
    """Fixed seeds, so deterministic; a biased sampler fails it (next test)."""
    assert subset_p_value(lambda items, k, seed: reservoir_sample(items, k, seed)[0]) > 0.01


def off_by_one_reservoir(items, k, seed):
    """The classic bug: item i replaces with probability k/i instead of k/(i+1)."""
    rng = random.Random(seed)
    reservoir = []
    for i, item in enumerate(items):
        if i < k:
            reservoir.append(item)
        elif (slot := rng.randrange(i)) < k:
            reservoir[slot] = item
    return reservoir


def test_the_uniformity_check_catches_a_biased_sampler():
    assert subset_p_value(off_by_one_reservoir) < 1e-6


def test_uniform_over_items_of_chained_files():
    """Each item of three 'files' of different sizes is picked k/n of the time."""
    files = [range(0, 5), range(5, 25), range(25, 30)]
    k, n = 7, 30
    counts = Counter(
        item
        for seed in SEEDS
        for item in reservoir_sample(itertools.chain.from_iterable(files), k, seed)[0]
    )
    assert sum(counts.values()) == k * len(SEEDS)
    assert chisquare([counts[i] for i in range(n)]).pvalue > 0.01


def split_into_files(items, sizes):
    """range(n) cut into consecutive 'files' of the given sizes."""
    items, bounds = list(items), list(itertools.accumulate(sizes, initial=0))
    assert bounds[-1] == len(items)
    return [items[a:b] for a, b in zip(bounds, bounds[1:])]


def merged_sample(files, k, seed):
    """One reservoir per file, seeded by position, then the exact merge: what workers do."""
    reservoirs = (reservoir_sample(f, k, stream_seed(seed, i)) for i, f in enumerate(files))
    return merge_reservoirs(reservoirs, k, seed)[0]


# Smaller than k, larger than k, equal to k and empty files: every case of the merge.
FILE_SIZES = [1, 4, 0, 3]


def test_merged_reservoirs_every_subset_equally_likely():
    sampler = lambda items, k, seed: merged_sample(split_into_files(items, FILE_SIZES), k, seed)
    assert subset_p_value(sampler, n=sum(FILE_SIZES), k=3) > 0.01


def naive_merge(items, k, seed):
    """The tempting shortcut: a uniform k-subset of the concatenated reservoirs. A file
    smaller than k has all its items in its reservoir, so they are picked too often."""
    files = split_into_files(items, FILE_SIZES)
    reservoirs = [reservoir_sample(f, k, stream_seed(seed, i))[0] for i, f in enumerate(files)]
    pooled = [item for reservoir in reservoirs for item in reservoir]
    return random.Random(seed).sample(pooled, k)


def test_the_uniformity_check_catches_a_naive_merge():
    assert subset_p_value(naive_merge, n=sum(FILE_SIZES), k=3) < 1e-6


def test_merged_reservoirs_uniform_over_items_of_files_of_different_sizes():
    files = [range(0, 5), range(5, 25), range(25, 30), range(30, 31)]
    k, n = 7, 31
    counts = Counter(item for seed in SEEDS for item in merged_sample(files, k, seed))
    assert sum(counts.values()) == k * len(SEEDS)
    assert chisquare([counts[i] for i in range(n)]).pvalue > 0.01


def test_merged_sample_is_in_file_then_stream_order_and_counts_everything():
    files = [range(0, 500), range(500, 520), range(520, 2000)]
    reservoirs = [reservoir_sample(f, 50, stream_seed(3, i)) for i, f in enumerate(files)]
    sample, n_seen = merge_reservoirs(reservoirs, 50, seed=3)
    assert n_seen == 2000 and len(set(sample)) == 50 and sample == sorted(sample)
    assert merge_reservoirs(reservoirs, 50, seed=3)[0] == sample
    assert merge_reservoirs(reservoirs, 50, seed=4)[0] != sample


def test_fewer_items_than_k_in_all_files_takes_them_all():
    files = [range(0, 3), range(3, 3), range(3, 5)]
    assert sample_streams(list, files, 10, seed=0) == ([0, 1, 2, 3, 4], 5)
    assert sample_streams(list, [], 10, seed=0) == ([], 0)


def test_a_reservoir_of_the_wrong_size_is_refused():
    with pytest.raises(ValueError, match=r"stream 1: a reservoir of 2 items for 9 items"):
        merge_reservoirs([([0, 1, 2], 3), ([5, 6], 9)], 3, seed=0)


def test_same_sample_whatever_the_number_of_processes():
    files = [range(i * 1000, i * 1000 + size) for i, size in enumerate([700, 30, 1000, 0, 250])]
    one = sample_streams(list, files, 40, seed=11, processes=1)
    assert one[1] == 1980 and len(one[0]) == 40
    for processes in (2, 3, 8):
        assert sample_streams(list, files, 40, seed=11, processes=processes) == one
