"""LIBMF's order for a rating matrix: the ratings grouped into user-block x item-block tiles once, each epoch the
tiles in a fresh random order that keeps the tiles of a round on disjoint rows (Zhuang et al., "A Fast Parallel
SGD for Matrix Factorization in Shared Memory Systems", RecSys 2013).

The ratings are reordered once, tile after tile (random within a tile); an epoch's batches are then copies of
whole tiles' slices, sequential reads, where a shuffled epoch gathers every example from a random place. Within a
tile the users and items of the examples are few, so the rows they read stay in the cache. An epoch visits every
tile once, in ``blocks`` rounds: a round is ``blocks`` tiles that share no user block and no item block (a random
Latin square), which is LIBMF's condition for threads to update side by side without locks; zoo's kernels split a
batch's rows among threads themselves, so for them what counts is the cheap, cache-local batch.
"""
import numpy as np


class BlockedRatings:
    """Rating arrays reordered once into ``blocks x blocks`` tiles, batched tile by tile each epoch.

    Parameters
    ----------
    arrays : sequence of numpy arrays
        The examples along the first axis, e.g. ``(users, items, ratings)``.
    users, items : int
        Positions in ``arrays`` of the two id columns whose blocks make the tiles.
    num_users, num_items : int
        Id ranges of those columns.
    blocks : int
        Blocks a side: ``blocks ** 2`` tiles. Ids are dealt to blocks by a seeded random permutation, so blocks are
        balanced whatever the id order.
    seed : int or sequence
        Seeds the blocks and the order within tiles (fixed for the run, as LIBMF's); epochs differ in tile order.
    """

    def __init__(self, arrays, users, items, num_users, num_items, blocks=16, seed=0):
        from ..ops.arrays import grouped_positions, scatter  # imports mxnet, which the data modules do without
        if int(blocks) < 1:
            raise ValueError("blocks must be at least 1, got %r" % (blocks,))
        rng = np.random.default_rng(seed)
        self.blocks = int(blocks)
        user_block = self._deal(num_users, rng)
        item_block = self._deal(num_items, rng)
        tile = user_block[arrays[users]] * self.blocks + item_block[arrays[items]]
        pos, self.starts = grouped_positions(tile, self.blocks ** 2, rng)
        self.arrays = tuple(scatter(np.ascontiguousarray(a), pos) for a in arrays)

    def _deal(self, num_ids, rng):
        """Block of each id: a random permutation of the ids cut into ``blocks`` nearly equal parts."""
        return (rng.permutation(num_ids).astype(np.int64) * self.blocks // max(num_ids, 1)).astype(np.int32)

    def __len__(self):
        return len(self.arrays[0])

    def tile_order(self, rng):
        """An epoch's tiles: ``blocks`` rounds, each ``blocks`` tiles ``(ub, ib)`` whose user blocks are all
        different and whose item blocks are all different, every tile once; returns tile numbers ``ub * blocks +
        ib`` (int64, ``(blocks ** 2,)``)."""
        b = self.blocks
        user_blocks, item_blocks = rng.permutation(b), rng.permutation(b)
        rounds = []
        for shift in rng.permutation(b):  # a round: user block user_blocks[j] with item_blocks[(j + shift) % b]
            j = rng.permutation(b)
            rounds.append(user_blocks[j] * b + item_blocks[(j + shift) % b])
        return np.concatenate(rounds)

    def batches(self, batch_size, rng):
        """Yield tuples of ``batch_size`` examples (the last may be shorter): the tiles in :meth:`tile_order`'s
        order, cut into batches, every example once."""
        order = self.tile_order(rng)
        lo, hi = self.starts[order], self.starts[order + 1]
        ends = np.cumsum(hi - lo)                           # where each tile ends in the epoch's stream
        n = len(self)
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            first, last = np.searchsorted(ends, start, "right"), np.searchsorted(ends, stop, "left")
            pieces = []
            for t in range(first, last + 1):                # the tiles this batch overlaps, clipped to it
                begin = ends[t] - (hi[t] - lo[t])
                a, b = max(start, begin), min(stop, ends[t])
                if b > a:
                    pieces.append((lo[t] + a - begin, lo[t] + b - begin))
            yield tuple(np.concatenate([arr[a:b] for a, b in pieces]) for arr in self.arrays)
