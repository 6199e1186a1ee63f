import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from zoo import ops
from zoo.ops import arrays
from zoo.data.batches import iterate_batches, prefetch


def test_iterate_batches_covers_every_row_once():
    a, b = np.arange(10), np.arange(10) * 2
    batches = list(iterate_batches((a, b), 4, np.random.default_rng(0)))
    assert [len(x[0]) for x in batches] == [4, 4, 2]
    rows = np.concatenate([x[0] for x in batches])
    assert sorted(rows.tolist()) == list(range(10))
    assert all((x[1] == x[0] * 2).all() for x in batches)


def test_iterate_batches_repeats_for_a_seed_and_differs_across_seeds():
    a = np.arange(1000)
    first = [b[0].tolist() for b in iterate_batches((a,), 100, np.random.default_rng(5))]
    assert first == [b[0].tolist() for b in iterate_batches((a,), 100, np.random.default_rng(5))]
    assert first != [b[0].tolist() for b in iterate_batches((a,), 100, np.random.default_rng(6))]


def test_permutation_is_uniform():
    assert ops.load()
    rng, n, draws = np.random.default_rng(0), 6, 30000
    counts = np.zeros((n, n))  # counts[i, j]: times element i landed at position j
    for _ in range(draws):
        order = arrays.permutation(n, rng)
        assert order.dtype == np.int32 and sorted(order.tolist()) == list(range(n))
        counts[order, np.arange(n)] += 1
    expected = draws / n
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 60, chi2  # 25 degrees of freedom: p < 1e-4 if positions were not uniform
    big = arrays.permutation(3_000_003, rng)  # many elements per bucket; every one exactly once
    assert np.array_equal(np.sort(big), np.arange(3_000_003))


def test_random_draws_are_the_same_for_any_thread_count():
    assert ops.load()
    code = ("import numpy as np; from zoo.ops import arrays; r = np.random.default_rng(3); "
            "print(arrays.permutation(100_000, r)[:5].tolist(), "
            "arrays.alias_sample(np.linspace(0, 1, 7), np.arange(7, dtype=np.int32)[::-1].copy(), 50_000, r)"
            "[-5:].tolist(), "
            "arrays.grouped_positions(np.arange(90_000, dtype=np.int32) % 300, 300, r)[0][:5].tolist())")
    outputs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              env=dict(os.environ, OMP_NUM_THREADS=str(n))).stdout for n in (1, 2, 3)]
    assert outputs[0] and outputs[0] == outputs[1] == outputs[2]


def test_take_gathers_rows_like_numpy_and_checks_them():
    assert ops.load()
    rng = np.random.default_rng(1)
    rows = rng.integers(0, 100, 250).astype(np.int32)
    for a in (rng.integers(0, 9, 100).astype(np.int32), rng.random(100), rng.random((100, 3, 2)).astype(np.float32),
              np.arange(300, dtype=np.int16).reshape(100, 3)):
        np.testing.assert_array_equal(arrays.take(a, rows), a[rows])
    with pytest.raises(IndexError, match=r"outside \[0, 100\)"):
        arrays.take(np.zeros(100), np.array([3, 100], dtype=np.int32))


@pytest.mark.parametrize("depth", [0, 1, 3])
def test_prefetch_keeps_items_and_order(depth):
    assert list(prefetch(iter(range(50)), depth)) == list(range(50))


def test_prefetch_raises_the_producers_error_in_place():
    def produce():
        yield 1
        yield 2
        raise ValueError("ratings.csv:7: bad line")
    got = []
    with pytest.raises(ValueError, match="ratings.csv:7"):
        for item in prefetch(produce(), 2):
            got.append(item)
    assert got == [1, 2]


def test_prefetch_stops_its_thread_when_the_consumer_stops():
    before = threading.active_count()
    items = prefetch(iter(range(1000)), 2)
    assert next(items) == 0
    items.close()
    assert threading.active_count() == before


def test_split_rows_slices_rows_and_keeps_whole_arrays_whole():
    from zoo.data.batches import split_rows
    batch = (np.arange(7), np.arange(7) * 10, np.array([1, 2, 3]))
    parts = split_rows(batch, 2, whole=(2,))
    assert [p[0].tolist() for p in parts] == [[0, 1, 2], [3, 4, 5, 6]]
    assert [p[1].tolist() for p in parts] == [[0, 10, 20], [30, 40, 50, 60]]
    assert all(p[2].tolist() == [1, 2, 3] for p in parts)  # e.g. negatives shared by the whole batch
    assert len(split_rows((np.arange(1),), 2)) == 1  # no empty part


@pytest.mark.parametrize("compiled", [True, False])
def test_grouped_positions_group_by_key_in_uniform_order(compiled, monkeypatch):
    if not compiled:
        monkeypatch.setattr(ops, "load", lambda: False)
    rng = np.random.default_rng(4)
    keys = rng.integers(0, 5, 1000).astype(np.int32)
    pos, starts = arrays.grouped_positions(keys, 7, rng)   # keys 5 and 6: empty groups
    assert pos.dtype == np.int32 and np.array_equal(np.sort(pos), np.arange(1000))
    np.testing.assert_array_equal(starts, np.concatenate([[0], np.cumsum(np.bincount(keys, minlength=7))]))
    grouped = arrays.scatter(keys, pos)
    np.testing.assert_array_equal(grouped, np.sort(keys))
    # within a group, each of its examples lands on each of its slots equally often
    keys = np.array([0, 1, 0, 0, 1, 0], np.int32)
    counts = np.zeros((6, 6))
    for _ in range(6000):
        pos, _ = arrays.grouped_positions(keys, 2, rng)
        counts[np.arange(6), pos] += 1
    group0 = counts[np.ix_([0, 2, 3, 5], range(4))]
    chi2 = ((group0 - 1500) ** 2 / 1500).sum()
    assert counts[np.ix_([1, 4], range(4))].sum() == 0 and chi2 < 45, chi2  # 9 dof: p < 1e-5 if not uniform
    with pytest.raises(IndexError, match=r"outside \[0, 2\)"):
        arrays.grouped_positions(np.array([0, 2], np.int32), 2, rng)


def test_scatter_places_rows_like_numpy():
    assert ops.load()
    rng = np.random.default_rng(5)
    pos = rng.permutation(100).astype(np.int32)
    for a in (rng.integers(0, 9, 100).astype(np.int32), rng.random(100), rng.random((100, 3)).astype(np.float32)):
        want = np.empty_like(a)
        want[pos] = a
        np.testing.assert_array_equal(arrays.scatter(a, pos), want)
    with pytest.raises(IndexError, match=r"outside \[0, 3\)"):
        arrays.scatter(np.zeros(3, np.float32), np.array([0, 1, 3], np.int32))


def blocked_example(blocks=4, n=5000, seed=0):
    from zoo.data.blocked import BlockedRatings
    rng = np.random.default_rng(seed)
    users, items = rng.integers(0, 50, n).astype(np.int32), rng.integers(0, 30, n).astype(np.int32)
    ratings = np.arange(n, dtype=np.float32)  # each example's number, to follow it
    return BlockedRatings((users, items, ratings), 0, 1, 50, 30, blocks, seed=seed), (users, items, ratings)


def test_blocked_rounds_keep_tiles_on_disjoint_blocks_and_visit_each_tile_once():
    tiles, _ = blocked_example(blocks=5)
    for epoch in range(3):
        order = tiles.tile_order(np.random.default_rng([0, epoch]))
        assert sorted(order.tolist()) == list(range(25))
        for round_ in order.reshape(5, 5):  # a round: no user block twice, no item block twice
            assert len(set((round_ // 5).tolist())) == 5 and len(set((round_ % 5).tolist())) == 5
    orders = [tiles.tile_order(np.random.default_rng([0, e])).tolist() for e in (0, 1, 0)]
    assert orders[0] == orders[2] != orders[1]


@pytest.mark.parametrize("batch_size", [64, 999, 5000, 8000])
def test_blocked_batches_cover_every_example_once_tile_by_tile(batch_size):
    tiles, (users, items, ratings) = blocked_example()
    batches = list(tiles.batches(batch_size, np.random.default_rng(9)))
    assert all(len(b[0]) == batch_size for b in batches[:-1]) and 0 < len(batches[-1][0]) <= batch_size
    u, i, r = (np.concatenate(column) for column in zip(*batches))
    seen = r.astype(np.int64)
    np.testing.assert_array_equal(np.sort(seen), np.arange(len(ratings)))  # every example once
    np.testing.assert_array_equal(u, users[seen])                           # its columns together
    np.testing.assert_array_equal(i, items[seen])
    # the stream is tile after tile: the tile number changes only where a tile ends (at most 16 runs)
    tile_of = {}
    for k, (a, b) in enumerate(zip(tiles.starts[:-1], tiles.starts[1:])):
        for number in tiles.arrays[2][a:b]:
            tile_of[int(number)] = k
    runs = 1 + np.count_nonzero(np.diff([tile_of[int(x)] for x in r]))
    assert runs == np.count_nonzero(np.diff(tiles.starts))


def test_blocked_order_is_fixed_by_its_seed():
    a, _ = blocked_example(seed=3)
    b, _ = blocked_example(seed=3)
    for x, y in zip(a.arrays, b.arrays):
        np.testing.assert_array_equal(x, y)
    with pytest.raises(ValueError, match="blocks must be at least 1"):
        blocked_example(blocks=0)
