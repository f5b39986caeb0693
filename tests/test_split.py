"""The train/test splits: seeded, exact in size, independent of input order, one per repeat."""

import hashlib

import pytest

from matfuse.split import make_split, read_split

IDS = [f"agm{i:09d}" for i in range(117)]


def test_exact_size_sorted_and_seeded():
    split = make_split(IDS, 0.15, seed=42)
    assert list(split.columns) == ["mat_id", "repeat", "split"]
    assert set(split["repeat"]) == {0}
    assert list(split["mat_id"]) == sorted(IDS)
    assert (split["split"] == "test").sum() == round(0.15 * 117) == 18
    assert set(split["split"]) == {"train", "test"}
    assert make_split(IDS, 0.15, seed=42).equals(split)
    assert not make_split(IDS, 0.15, seed=43).equals(split)


def test_independent_of_input_order():
    assert make_split(IDS[::-1], 0.2, seed=1).equals(make_split(IDS, 0.2, seed=1))


@pytest.mark.parametrize("dropped", range(0, 117, 10))
def test_dropping_one_material_moves_at_most_one_other(dropped):
    base = make_split(IDS, 0.15, seed=5).set_index("mat_id")["split"]
    rest = IDS[:dropped] + IDS[dropped + 1 :]
    fewer = make_split(rest, 0.15, seed=5).set_index("mat_id")["split"]
    assert (base.loc[rest] != fewer).sum() <= 1


def test_test_set_is_spread_over_the_ids():
    """Not a block of neighbouring ids: hashes scatter them (ids are ordered by chemistry)."""
    split = make_split(IDS, 0.15, seed=42)["split"]
    test_positions = [i for i, s in enumerate(split) if s == "test"]
    assert min(test_positions) < 30 and max(test_positions) > 87


def test_duplicates_and_empty_sides_are_refused():
    with pytest.raises(ValueError, match="duplicate ids: a"):
        make_split(["a", "a", "b"], 0.5, seed=0)
    with pytest.raises(
        ValueError, match="split.test_fraction=0.15 of 3 materials gives 0 test rows"
    ):
        make_split(["a", "b", "c"], 0.15, seed=0)


def test_repeat_zero_is_the_papers_single_split_and_other_repeats_differ():
    """Repeat 0 ranks by sha256("{seed}:{mat_id}") exactly as the single split always did."""
    split = make_split(IDS, 0.15, seed=42, repeats=4)
    by_hash = sorted(IDS, key=lambda i: hashlib.sha256(f"42:{i}".encode()).digest())[:18]
    tests = [set(split.loc[(split["repeat"] == r) & (split["split"] == "test"), "mat_id"]) for r in range(4)]
    assert tests[0] == set(by_hash)
    assert make_split(IDS, 0.15, seed=42).equals(split[split["repeat"] == 0])
    assert all(len(t) == 18 for t in tests)
    assert len({frozenset(t) for t in tests}) == 4
    assert make_split(IDS, 0.15, seed=42, repeats=4).equals(split)


def test_read_split_keeps_ids_as_text_and_selects_a_repeat(tmp_path):
    path = tmp_path / "split.csv"
    make_split(["007", "010", "3", "42"], 0.5, seed=1, repeats=2).to_csv(path, index=False)
    one = read_split(path, repeat=1)
    assert list(one.columns) == ["mat_id", "split"] and list(one["mat_id"]) == ["007", "010", "3", "42"]
    with pytest.raises(ValueError, match="no rows for repeat 5"):
        read_split(path, repeat=5)
