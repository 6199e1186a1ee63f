"""MovieLens ratings: files -> numpy arrays -> splits -> batches.

Every GroupLens release is supported; ``root`` is a folder that holds the release's files (``u.data`` for ml-100k,
``ratings.dat`` for ml-1m/ml-10m, ``ratings.csv`` otherwise). Missing files are downloaded from GroupLens.
"""
import csv
import dataclasses
import logging
import os
import typing
from collections import namedtuple

import numpy as np

from ..config import POSITIVE, at_least, between, each, one_of
from ..registry import DATASETS
from ..rows import SharedRows
from .batches import iterate_batches, split_rows
from .blocked import BlockedRatings
from .download import DataError, data_folder, download, extract_zip
from .idmap import IdMap
from .parse import read_columns
from .parsed import cached
from .positives import implicit_feedback, positives, weighted_selection
from .splits import kfold_split, random_split, temporal_split

log = logging.getLogger(__name__)

URL = "https://files.grouplens.org/datasets/movielens/%s.zip"

Variant = namedtuple("Variant", "ratings sep header titles title_sep encoding zip_dir md5 rating_range")
VARIANTS = {
    "ml-100k": Variant("u.data", "\t", False, "u.item", "|", "latin-1", "ml-100k",
                       "0e33842e24a9c977be4e0107933c0723", (1.0, 5.0)),
    "ml-1m": Variant("ratings.dat", "::", False, "movies.dat", "::", "latin-1", "ml-1m",
                     "c4d9eecfca2ab87c1945afe126590906", (1.0, 5.0)),
    "ml-10m": Variant("ratings.dat", "::", False, "movies.dat", "::", "utf-8", "ml-10M100K",
                      "ce571fd55effeba0271552578f2648bd", (0.5, 5.0)),
    "ml-20m": Variant("ratings.csv", ",", True, "movies.csv", None, "utf-8", "ml-20m",
                      "cd245b17a1ae2cc31bb14903e1204af3", (0.5, 5.0)),
    "ml-25m": Variant("ratings.csv", ",", True, "movies.csv", None, "utf-8", "ml-25m",
                      "6b51fb2759a8657d3bfcbfc42b592ada", (0.5, 5.0)),
    # "latest" releases change over time: the checksum is the .md5 file GroupLens publishes beside the zip.
    "ml-latest-small": Variant("ratings.csv", ",", True, "movies.csv", None, "utf-8", "ml-latest-small",
                               None, (0.5, 5.0)),
}
FOLDS = ("u1", "u2", "u3", "u4", "u5", "ua", "ub")  # ML-100K's canonical base/test pairs


def fetch(variant, root):
    """Make sure ``root`` holds the variant's files: download and extract the official zip when they are missing."""
    spec = VARIANTS[variant]
    if os.path.exists(os.path.join(root, spec.ratings)):
        return root
    archive = os.path.join(root, variant + ".zip")
    try:
        download(URL % variant, archive, spec.md5)
    except DataError as err:
        raise DataError("%s not found in %s and the download failed: %s. Put the files of %s (from %s) into %s, "
                        "or point data.root at a folder that has them" % (
                            spec.ratings, root, err, variant, URL % variant, root)) from None
    extract_zip(archive, root, subdir=spec.zip_dir)
    os.remove(archive)
    return root


def read_ratings(path, variant, skip_bad_lines=False):
    """Columns of a ratings file: ``(user_raw, item_raw, rating, timestamp, n_skipped)``; a large file is parsed
    once and then read from the cache (:mod:`zoo.data.parsed`)."""
    spec = VARIANTS[variant]
    lo, hi = spec.rating_range

    def parse():
        table, skipped, ids = read_columns(path, spec.sep, 4, header=spec.header, skip_bad_lines=skip_bad_lines,
                                           int_cols=(0, 1), checks={
            2: (lambda r: (r >= lo) & (r <= hi), "outside the rating range %g..%g" % (lo, hi))})
        return ids[:, 0], ids[:, 1], table[:, 2].astype(np.float32), table[:, 3].astype(np.int64), skipped
    users, items, ratings, times, skipped = cached(path, "movielens ratings %s %s" % (variant, skip_bad_lines), parse)
    return users, items, ratings, times, int(skipped)


def read_titles(root, variant):
    """``{raw item id: title}`` from the release's movie file; empty when the file is absent."""
    spec = VARIANTS[variant]
    path = os.path.join(root, spec.titles)
    if not os.path.exists(path):
        return {}
    titles = {}
    with open(path, encoding=spec.encoding, errors="replace", newline="") as f:
        if spec.title_sep is None:
            rows = csv.reader(f)
            next(rows, None)
        else:
            rows = (line.rstrip("\r\n").split(spec.title_sep) for line in f)
        for row in rows:
            if len(row) >= 2 and row[0].strip().isdigit():
                titles[int(row[0])] = row[1]
    return titles


@DATASETS.register("movielens")
class MovieLens:
    """MovieLens ratings with contiguous ids and train/valid/test splits.

    Batches are ``(users, items, ratings)``: int32 ``(batch,)``, int32 ``(batch,)``, float32 ``(batch,)``.
    ``valid`` is carved at random from the training part (``valid_ratio``), never from the test split.
    With ``implicit``, batches are ``(users, items, rated, ratings)``: ``rated`` a :class:`~zoo.rows.SharedRows`
    ``(batch, num_items)``, each user's training items weighted ``1 / sqrt(count)`` (SVD++'s implicit feedback),
    in CSR form, once a distinct user: a batch costs its distinct users' ratings, whatever the catalog's size.
    Training batches come shuffled anew each epoch, or with ``order="blocks"`` in LIBMF's tile order
    (:class:`~zoo.data.blocked.BlockedRatings`, ``blocks`` a side), which makes batches of large data sets cheaper.
    """

    task = "ratings"  # how the evaluation layer scores it: rating metrics

    @dataclasses.dataclass
    class Config:
        PATHS = ("root",)  # stored resolved, so that a saved run finds its data from any folder
        CHECKS = {"variant": one_of(*sorted(VARIANTS)), "split": one_of("random", "temporal", "kfold", *FOLDS),
                  "folds": at_least(2), "fold": POSITIVE,
                  "test_ratio": between(0, 1, low_open=True, high_open=True),
                  "valid_ratio": between(0, 1, high_open=True), "order": one_of("shuffle", "blocks"),
                  "blocks": POSITIVE}
        name: str = "movielens"
        variant: str = "ml-latest-small"
        root: str = ""               # folder with the release's files; empty: ~/.cache/zoo/movielens/VARIANT
        split: str = "random"        # random, temporal, kfold, or (ml-100k) u1..u5, ua, ub
        folds: int = 5               # kfold: the ratings shuffled by seed and cut into this many parts ...
        fold: int = 1                # ... of which this one (1..folds) is the test split
        test_ratio: float = 0.1      # random and temporal splits (temporal: share of each user's latest ratings)
        valid_ratio: float = 0.05    # share of the training part held out for early stopping
        seed: int = 0
        skip_bad_lines: bool = False
        implicit: bool = False       # add each user's rated items (SVD++-style models) to every batch
        order: str = "shuffle"       # training order: shuffle (every epoch anew) or blocks (LIBMF's tiles)
        blocks: int = 16             # blocks: user and item blocks a side (blocks^2 tiles)

    @dataclasses.dataclass
    class EvalConfig:
        CHECKS = {"k": each(POSITIVE), "block": POSITIVE}
        ranking: bool = False             # also top-K metrics (as movielens_implicit's), from the predicted ratings
        k: typing.List[int] = dataclasses.field(default_factory=lambda: [10, 20])
        positive_threshold: float = 4.0   # ranking: a rating at or above it is a positive
        block: int = 1024                 # ranking: users scored at once (at most 2^22 user-item pairs)

    def __init__(self, variant="ml-latest-small", root="", split="random", test_ratio=0.1, valid_ratio=0.05,
                 seed=0, skip_bad_lines=False, implicit=False, folds=5, fold=1, order="shuffle", blocks=16,
                 ranking=False, k=(10, 20), positive_threshold=4.0, block=1024):
        if variant not in VARIANTS:
            raise DataError("unknown MovieLens variant %r (data.variant); choose one of: %s" % (
                variant, ", ".join(sorted(VARIANTS))))
        if split not in ("random", "temporal", "kfold") + FOLDS:
            raise DataError("unknown split %r (data.split); choose random, temporal, kfold, or one of %s" % (
                split, ", ".join(FOLDS)))
        if split == "kfold" and not 1 <= fold <= folds:
            raise DataError("data.fold=%d: choose a fold from 1 to data.folds=%d" % (fold, folds))
        if split in FOLDS and variant != "ml-100k":
            raise DataError("data.split=%s exists only for data.variant=ml-100k" % split)
        self.variant, self.root = variant, data_folder(root, "movielens", variant)
        fetch(variant, self.root)
        spec = VARIANTS[variant]
        self.skipped = 0
        if split in FOLDS:
            parts = [self._read(os.path.join(self.root, "%s.%s" % (split, kind)), skip_bad_lines)
                     for kind in ("base", "test")]
            users, items, ratings, times = (np.concatenate(cols) for cols in zip(*parts))
            n_base = len(parts[0][0])
            train, test = np.arange(n_base), np.arange(n_base, len(users))
        else:
            users, items, ratings, times = self._read(os.path.join(self.root, spec.ratings), skip_bad_lines)
            rng = np.random.default_rng(seed)
            if split == "random":
                train, test = random_split(len(users), test_ratio, rng)
            elif split == "kfold":
                train, test = kfold_split(len(users), folds, fold, rng)
            else:
                train, test = temporal_split(users, times, test_ratio)
        train, valid = random_split(len(train), valid_ratio, np.random.default_rng([seed, 1]), train)
        self.user_map, self.users = IdMap.fit(users)
        self.item_map, self.items = IdMap.fit(items)
        self.ratings = ratings
        self.splits = {"train": train, "valid": valid, "test": test}
        self._arrays = {}  # split -> its columns, made when first asked for
        for name in ("train", "test"):
            if not len(self.splits[name]):
                raise DataError("the %s split of %s is empty: check data.test_ratio and data.split" % (
                    name, self.root))
        if self.skipped:
            log.warning("skipped %d bad lines in %s (data.skip_bad_lines)", self.skipped, self.root)
        trained = np.zeros(len(self.user_map), dtype=bool)
        trained[self.users[train]] = True
        cold = np.unique(self.users[test][~trained[self.users[test]]]).size
        if cold:
            log.warning("%d users of the test split have no training ratings; their predictions rest on the item "
                        "bias and the mean alone", cold)
        self._titles = None  # read when first asked for: training never needs them
        self.implicit = None
        if implicit:  # each user's rated items in training, as CSR
            self.implicit = positives(self.users[train], self.items[train], len(self.user_map))
        self.rating_range = spec.rating_range
        if order not in ("shuffle", "blocks"):
            raise DataError("unknown order %r (data.order); choose shuffle or blocks" % (order,))
        self.order, self.blocks, self.seed, self._blocked = order, blocks, seed, None
        self.eval_chunk = 65536 if implicit else 0  # rows predicted at a time: each carries its user's rated items
        self.meta = {"num_users": len(self.user_map), "num_items": len(self.item_map),
                     "mean_rating": float(ratings[train].mean()), "rating_range": self.rating_range,
                     "implicit": bool(implicit)}
        self.ks = None  # eval.ranking: the top-K protocol of movielens_implicit on these splits
        if ranking:
            if implicit:
                raise DataError("eval.ranking scores every user-item pair, and data.implicit adds the user's rated "
                                "items to each: use it with a model without data.implicit")
            _, self.candidates, self.positives = implicit_feedback(
                self.users, self.items, self.ratings, self.splits, len(self.user_map), len(self.item_map),
                positive_threshold)
            self.ks, self.block = list(k), max(1, min(block, (1 << 22) // max(len(self.item_map), 1)))

    @property
    def titles(self):
        """``{raw movie id: title}`` from the data's movie file (empty for a variant without one)."""
        if self._titles is None:
            self._titles = read_titles(self.root, self.variant)
        return self._titles

    def _read(self, path, skip_bad_lines):
        users, items, ratings, times, skipped = read_ratings(path, self.variant, skip_bad_lines)
        self.skipped += skipped
        return users, items, ratings, times

    @classmethod
    def from_config(cls, cfg, eval_cfg=None):
        kwargs = {k: v for k, v in dataclasses.asdict(cfg).items() if k != "name"}
        if eval_cfg is not None:
            kwargs.update(dataclasses.asdict(eval_cfg))
        return cls(**kwargs)

    def arrays(self, split):
        """``(users, items, ratings)`` of a split; made once (every epoch asks for the training part's and the
        validation part's), read-only."""
        if split not in self._arrays:
            idx = self.splits[split]
            columns = self.users[idx], self.items[idx], self.ratings[idx]
            for a in columns:
                a.flags.writeable = False
            self._arrays[split] = columns
        return self._arrays[split]

    def inputs(self, users, items):
        """Model inputs for ``(users, items)``: with ``implicit``, the users' rows of rated items are added, a
        :class:`~zoo.rows.SharedRows` ``(batch, num_items)`` weighted ``|N(u)|^-1/2`` (SVD++'s)."""
        if self.implicit is None:
            return users, items
        return users, items, SharedRows.of(users, lambda distinct: weighted_selection(
            self.implicit, distinct, len(self.item_map)))

    def num_examples(self, split):
        return len(self.splits[split])

    def batches(self, split, batch_size, shuffle=False, seed=0):
        """Iterate ``(users, items, ratings)`` batches of a split (shuffled by ``seed`` if asked; with
        ``order="blocks"`` the training part's tiles in an order drawn from ``seed``, see
        :class:`~zoo.data.blocked.BlockedRatings`)."""
        rng = np.random.default_rng(seed) if shuffle else None
        if shuffle and split == "train" and self.order == "blocks":
            if self._blocked is None:  # once a run: the tiles and the order within them (seeded by data.seed)
                self._blocked = BlockedRatings(self.arrays("train"), 0, 1, len(self.user_map), len(self.item_map),
                                               self.blocks, seed=[self.seed, 2])
            stream = self._blocked.batches(batch_size, rng)
        else:
            stream = iterate_batches(self.arrays(split), batch_size, rng)
        for users, items, ratings in stream:
            yield self.inputs(users, items) + (ratings,)

    @staticmethod
    def split_batch(batch, parts):
        """A batch as ``parts`` self-contained sub-batches, one a device (rows split evenly)."""
        return split_rows(batch, parts)

    def eval_sets(self, final=False):
        """Validation each epoch; validation and test for the final results (empty splits left out)."""
        return [s for s in (("valid", "test") if final else ("valid",)) if self.num_examples(s)]

    def state(self):
        """The id maps, saved with the model so raw ids keep meaning the same rows."""
        return {"user_ids": self.user_map.ids, "item_ids": self.item_map.ids}

    def rated(self, user):
        """Item indices a user (index) rated in the training part."""
        train = self.splits["train"]
        return np.unique(self.items[train][self.users[train] == user])
