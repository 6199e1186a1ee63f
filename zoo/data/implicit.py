"""MovieLens read as implicit feedback, for top-K recommendation: a rating >= ``positive_threshold`` is a positive.

Every MovieLens variant and split that :class:`~zoo.data.MovieLens` reads works here. The catalog is the items of
the training part; a user's training positives are never candidates for that user.
"""
import dataclasses
import typing

import numpy as np

from ..config import POSITIVE, at_least, between, each
from ..registry import DATASETS
from .batches import iterate_batches, split_rows
from .download import DataError
from .movielens import MovieLens
from .positives import entries, implicit_feedback, weighted_rows, weighted_selection
from .skipgram import UnigramSampler


@DATASETS.register("movielens_implicit")
class MovieLensImplicit:
    """Positive (user, item) pairs of MovieLens.

    Training batches (``history``, present with ``history``, is a :class:`~zoo.rows.SparseRows` ``(batch,
    num_items)``: each user's training positives, weighted ``1 / sqrt(count)``; CSR, so it costs the positives,
    not the catalog):

    - a positive pair per row: ``(users, [history,] items)``, int32 ``(batch,)`` each (the model learns to rank
      ``items`` first for ``users``);
    - ``per_user``: a row per user, ``(users, history, targets)``, ``targets`` float32 ``(batch, num_items)`` its
      0/1 row of positives (``input_dropout`` of them left out of ``history``);
    - ``negatives=K``: ``(users, [history,] candidates, logq)``: ``candidates`` int32 ``(batch, 1 + K)``, the
      positive then ``K`` items drawn with probability proportional to ``count ** negative_alpha`` (``count``: the
      item's training positives; 0 draws uniformly from the catalog), ``logq`` float32 ``(batch, 1 + K)`` the
      log-probability of drawing each;
    - ``in_batch``: ``(users, [history,] items, logq, label)``: ``items`` int32 ``(batch_size,)`` the distinct
      positives of the batch (every row's negatives are the others' positives), padded to ``batch_size``;
      ``logq`` float32 ``(1, batch_size)`` the log of each one's share of the training positives (how often it
      lands in a batch), ``+inf`` on the padding; ``label`` int32 ``(batch,)`` the position of each row's own
      item in ``items``.

    Negatives are drawn here, in the data code, never in the graph.
    """

    task = "ranking"  # how the evaluation layer scores it: precision, recall, NDCG, hit rate at K

    @dataclasses.dataclass
    class Config(MovieLens.Config):
        CHECKS = dict(MovieLens.Config.CHECKS, input_dropout=between(0, 1, high_open=True),
                      negatives=at_least(0), negative_alpha=at_least(0.0))
        name: str = "movielens_implicit"
        positive_threshold: float = 4.0   # a rating at or above it is a positive
        history: bool = False             # add each user's training positives to every batch
        per_user: bool = False            # a training row per user: (users, history, all its positives)
        input_dropout: float = 0.0        # per_user: share of a user's positives hidden from its history input
        negatives: int = 0                # K sampled negatives a row (for model.loss bpr, sampled_softmax)
        negative_alpha: float = 0.0       # negatives drawn proportional to popularity ** alpha (0: uniform)
        in_batch: bool = False            # the batch's positives are each row's candidates (model.loss in_batch)

    @dataclasses.dataclass
    class EvalConfig:
        CHECKS = {"k": each(POSITIVE), "block": POSITIVE}
        k: typing.List[int] = dataclasses.field(default_factory=lambda: [10, 20])
        block: int = 1024                 # users scored at once (memory: block x catalog)

    def __init__(self, positive_threshold=4.0, history=False, per_user=False, input_dropout=0.0, negatives=0,
                 negative_alpha=0.0, in_batch=False, k=(10, 20), block=1024, **movielens):
        self.ratings = MovieLens(**movielens)
        r = self.ratings
        num_users, num_items = len(r.user_map), len(r.item_map)
        self.splits, self.candidates, self.positives = implicit_feedback(  # the catalog: items of the training part
            r.users, r.items, r.ratings, r.splits, num_users, num_items, positive_threshold)
        if not len(self.splits["train"]):
            raise DataError("no training rating reaches data.positive_threshold=%g" % positive_threshold)
        self.ks, self.block = list(k), block
        self.per_user, self.input_dropout = per_user, input_dropout
        if per_user and not history:
            raise DataError("data.per_user needs data.history: true (the rows of positives are the input)")
        if sum((bool(per_user), negatives > 0, bool(in_batch))) > 1:
            raise DataError("data.per_user, data.negatives and data.in_batch are different batch layouts: "
                            "choose one")
        self.history = bool(history)
        counts = np.bincount(r.items[self.splits["train"]], minlength=num_items).astype(np.float64)
        self.negatives, self.in_batch = int(negatives), bool(in_batch)
        if negatives:
            weights = np.where(self.candidates, counts ** negative_alpha, 0.0)
            self.sampler = UnigramSampler(weights, power=1.0)
            with np.errstate(divide="ignore"):
                self.logq = np.log(self.sampler.probabilities).astype(np.float32)
        if in_batch:
            with np.errstate(divide="ignore"):
                self.logq = np.log(counts / counts.sum()).astype(np.float32)
        self.meta = {"num_users": num_users, "num_items": num_items, "history": bool(history),
                     "per_user": bool(per_user), "negatives": int(negatives), "in_batch": bool(in_batch)}
        self.user_map, self.item_map, self.titles = r.user_map, r.item_map, r.titles

    @classmethod
    def from_config(cls, cfg, eval_cfg=None):
        kwargs = {k: v for k, v in dataclasses.asdict(cfg).items() if k != "name"}
        if eval_cfg is not None:
            kwargs.update(k=eval_cfg.k, block=eval_cfg.block)
        return cls(**kwargs)

    def inputs(self, users):
        """Model inputs for user rows: ``(users,)``, with ``history`` ``(users, history)``."""
        users = np.asarray(users, np.int32)
        if not self.history:
            return (users,)
        return users, weighted_selection(self.positives["train"], users, self.meta["num_items"])

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
        rng = np.random.default_rng(seed)  # the order when shuffling, then the negatives
        for users, items in iterate_batches(arrays, batch_size, rng if shuffle else None):
            if split != "train":
                yield self.inputs(users) + (items,)
            elif self.negatives:
                candidates = np.concatenate([items[:, None], self.sampler((len(items), self.negatives), rng)], axis=1)
                yield self.inputs(users) + (candidates, self.logq[candidates])
            elif self.in_batch:
                distinct, label = np.unique(items, return_inverse=True)
                # padded to batch_size columns, so every step has one shape (a new shape re-plans the graph); a
                # padding column has logq +inf: its corrected score is -inf, out of the softmax
                padded = np.zeros(batch_size, np.int32)
                padded[:len(distinct)] = distinct
                logq = np.full((1, batch_size), np.inf, np.float32)
                logq[0, :len(distinct)] = self.logq[distinct]
                yield self.inputs(users) + (padded, logq, label.astype(np.int32))
            else:
                yield self.inputs(users) + (items,)

    def _user_batches(self, batch_size, rng):
        """``(users, history, targets)``: each user with training positives once, ``targets`` its 0/1 row of
        positives, ``history`` the same positives with ``input_dropout`` of them left out, weighted 1 / sqrt(kept).
        The random draws are one per positive, not one per catalog item."""
        indptr, items = self.positives["train"]
        users = np.flatnonzero(np.diff(indptr) > 0).astype(np.int32)
        if rng is not None:
            users = rng.permutation(users)
        num_items = self.meta["num_items"]
        for start in range(0, len(users), batch_size):
            rows = users[start:start + batch_size]
            row_of, cols = entries((indptr, items), rows)
            targets = np.zeros((len(rows), num_items), np.float32)
            targets[row_of, cols] = 1.0
            if self.input_dropout and rng is not None:
                keep = rng.random(len(cols)) >= self.input_dropout
                row_of, cols = row_of[keep], cols[keep]
            yield rows, weighted_rows(len(rows), row_of, cols, self.meta["num_items"]), targets

    def split_batch(self, batch, parts):
        """Rows split evenly; with ``in_batch``, the batch's items and their ``logq`` go whole to every part (the
        labels point into them), so each row meets the same candidates as on one device."""
        n = len(batch)
        return split_rows(batch, parts, whole=(n - 3, n - 2) if self.in_batch and not self.per_user else ())

    def eval_sets(self, final=False):
        return [s for s in (("valid", "test") if final else ("valid",)) if len(self.splits[s])]

    def state(self):
        return {"user_ids": self.user_map.ids, "item_ids": self.item_map.ids}
