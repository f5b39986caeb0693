"""Reservoir sampling: deterministic per seed, uniform over all k-subsets of the stream."""

import itertools
import random
from collections import Counter

from scipy.stats import chisquare

from matfuse.sampling import reservoir_sample

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
