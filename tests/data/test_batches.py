import threading

import numpy as np
import pytest

from zoo.data.batches import iterate_batches, prefetch


def test_iterate_batches_covers_every_row_once():
    a, b = np.arange(10), np.arange(10) * 2
    batches = list(iterate_batches((a, b), 4, np.random.default_rng(0)))
    assert [len(x[0]) for x in batches] == [4, 4, 2]
    rows = np.concatenate([x[0] for x in batches])
    assert sorted(rows.tolist()) == list(range(10))
    assert all((x[1] == x[0] * 2).all() for x in batches)


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
