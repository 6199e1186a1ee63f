"""MovieLens read as implicit feedback, for top-K recommendation: a rating >= ``positive_threshold`` is a positive.

Every MovieLens variant and split that :class:`~zoo.data.MovieLens` reads works here. The catalog is the items of
the training part; a user's training positives are never candidates for that user.
"""
import dataclasses
import typing

import numpy as np

from ..config import POSITIVE, between, each
from ..registry import DATASETS
from .batches import iterate_batches, split_rows
from .download import DataError
from .movielens import MovieLens
from .positives import positives


@DATASETS.register("movielens_implicit")
class MovieLensImplicit:
    """Positive (user, item) pairs of MovieLens.

    Training batches are ``(users, items)``: int32 ``(batch,)`` each, a positive pair per row (the model learns to
    rank ``items`` first for ``users``). With ``history``, ``(users, history, items)``: ``history`` float32
    ``(batch, num_items)`` is each user's row of training positives scaled by ``1 / sqrt(count)`` (dense: for
    catalogs of up to about 10^8 user-item cells).
    """

    task = "ranking"  # how the evaluation layer scores it: precision, recall, NDCG, hit rate at K

    @dataclasses.dataclass
    class Config(MovieLens.Config):
        CHECKS = dict(MovieLens.Config.CHECKS, input_dropout=between(0, 1, high_open=True))
        name: str = "movielens_implicit"
        positive_threshold: float = 4.0   # a rating at or above it is a positive
        history: bool = False             # add each user's training positives to every batch
        per_user: bool = False            # a training row per user: (users, history, all its positives)
        input_dropout: float = 0.0        # per_user: share of a user's positives hidden from its history input

    @dataclasses.dataclass
    class EvalConfig:
        CHECKS = {"k": each(POSITIVE), "block": POSITIVE}
        k: typing.List[int] = dataclasses.field(default_factory=lambda: [10, 20])
        block: int = 1024                 # users scored at once (memory: block x catalog)

    def __init__(self, positive_threshold=4.0, history=False, per_user=False, input_dropout=0.0, k=(10, 20),
                 block=1024, **movielens):
        self.ratings = MovieLens(**movielens)
        r = self.ratings
        liked = r.ratings >= positive_threshold
        self.splits = {name: idx[liked[idx]] for name, idx in r.splits.items()}
        if not len(self.splits["train"]):
            raise DataError("no training rating reaches data.positive_threshold=%g" % positive_threshold)
        num_users, num_items = len(r.user_map), len(r.item_map)
        train = r.splits["train"]
        self.candidates = np.zeros(num_items, bool)
        self.candidates[r.items[train]] = True      # the catalog: items of the training part
        self.positives = {name: positives(r.users[idx], r.items[idx], num_users)
                          for name, idx in self.splits.items()}
        self.ks, self.block = list(k), block
        self.per_user, self.input_dropout = per_user, input_dropout
        if per_user and not history:
            raise DataError("data.per_user needs data.history: true (the rows of positives are the input)")
        self.history = self._history_matrix(num_users, num_items) if history else None
        self.meta = {"num_users": num_users, "num_items": num_items, "history": bool(history),
                     "per_user": bool(per_user)}
        self.user_map, self.item_map, self.titles = r.user_map, r.item_map, r.titles

    @classmethod
    def from_config(cls, cfg, eval_cfg=None):
        kwargs = {k: v for k, v in dataclasses.asdict(cfg).items() if k != "name"}
        if eval_cfg is not None:
            kwargs.update(k=eval_cfg.k, block=eval_cfg.block)
        return cls(**kwargs)

    def _history_matrix(self, num_users, num_items):
        if num_users * num_items > 10 ** 8:
            raise ValueError("data.history needs a dense %d x %d matrix; use it with a smaller data set"
                             % (num_users, num_items))
        indptr, indices = self.positives["train"]
        matrix = np.zeros((num_users, num_items), np.float32)
        rows = np.repeat(np.arange(num_users), np.diff(indptr))
        matrix[rows, indices] = 1.0
        return matrix / np.sqrt(np.maximum(matrix.sum(axis=1, keepdims=True), 1.0))

    def inputs(self, users):
        """Model inputs for user rows: ``(users,)``, with ``history`` ``(users, history rows)``."""
        users = np.asarray(users, np.int32)
        return (users,) if self.history is None else (users, self.history[users])

    def num_examples(self, split):
        if self.per_user and split == "train":
            return int((np.diff(self.positives["train"][0]) > 0).sum())
        return len(self.splits[split])

    def batches(self, split, batch_size, shuffle=False, seed=0):
        if self.per_user and split == "train":
            yield from self._user_batches(batch_size, np.random.default_rng(seed) if shuffle else None)
            return
        idx = self.splits[split]
        arrays = (self.ratings.users[idx], self.ratings.items[idx])
        rng = np.random.default_rng(seed) if shuffle else None
        for users, items in iterate_batches(arrays, batch_size, rng):
            yield self.inputs(users) + (items,)

    def _user_batches(self, batch_size, rng):
        """``(users, history, targets)``: each user with training positives once, ``targets`` its 0/1 row of
        positives, ``history`` the same row with ``input_dropout`` of it hidden, scaled by 1 / sqrt(kept)."""
        users = np.flatnonzero(np.diff(self.positives["train"][0]) > 0).astype(np.int32)
        if rng is not None:
            users = rng.permutation(users)
        for start in range(0, len(users), batch_size):
            rows = users[start:start + batch_size]
            targets = (self.history[rows] > 0).astype(np.float32)
            kept = targets
            if self.input_dropout and rng is not None:
                kept = targets * (rng.random(targets.shape) >= self.input_dropout)
            history = kept / np.sqrt(np.maximum(kept.sum(axis=1, keepdims=True), 1.0))
            yield rows, history.astype(np.float32), targets

    @staticmethod
    def split_batch(batch, parts):
        return split_rows(batch, parts)

    def eval_sets(self, final=False):
        return [s for s in (("valid", "test") if final else ("valid",)) if len(self.splits[s])]

    def state(self):
        return {"user_ids": self.user_map.ids, "item_ids": self.item_map.ids}
