"""Labelled images for similarity learning: idx files (MNIST, Fashion-MNIST), a folder per class, or a file of
scored pairs; pairs are drawn per epoch from the labels."""
import csv
import dataclasses
import os
import typing

import numpy as np

from ..config import NON_NEGATIVE, POSITIVE, between, one_of
from ..registry import DATASETS
from . import augment
from .batches import split_rows
from .download import DataError, data_folder, download
from .idx import read_idx
from .splits import random_split

# Downloads for a real user; md5 of the original gzipped files.
IDX_SOURCES = {
    "mnist": ("https://ossci-datasets.s3.amazonaws.com/mnist/", {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"}),
    "fashion-mnist": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"}),
}
IDX_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")


def load_idx_split(root, split, variant="mnist"):
    """``(images uint8 (N, 1, H, W), labels int64)`` of the train or test files in ``root`` (gzipped or not),
    downloaded from the ``variant``'s home when absent."""
    arrays = []
    for stem in IDX_FILES[split]:
        path = next((os.path.join(root, stem + ext) for ext in (".gz", "") if
                     os.path.exists(os.path.join(root, stem + ext))), None)
        if path is None:
            path = _download_idx(root, stem + ".gz", variant)
        arrays.append(read_idx(path))
    images, labels = arrays
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError("%s: %s images %s do not match labels %s" % (root, split, images.shape, labels.shape))
    return images[:, None], labels.astype(np.int64)


def _download_idx(root, filename, variant):
    if variant not in IDX_SOURCES:
        raise DataError("%s not found in %s, and data.variant=%r has no download (choose %s, or put the idx "
                        "files there)" % (filename, root, variant, ", ".join(IDX_SOURCES)))
    base, md5s = IDX_SOURCES[variant]
    try:
        return download(base + filename, os.path.join(root, filename), md5s[filename])
    except DataError as err:
        raise DataError("%s not found in %s and the download failed (%s); put the idx files there" % (
            filename, root, err)) from None


def load_folder(root, channels=1, size=0):
    """``(images uint8 (N, C, H, W), labels, class names)`` from ``root/<class>/<image>``."""
    classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    if not classes:
        raise DataError("%s has no class sub-folders" % root)
    images, labels = [], []
    for label, name in enumerate(classes):
        for filename in sorted(os.listdir(os.path.join(root, name))):
            if filename.lower().endswith(IMAGE_EXTENSIONS):
                images.append(read_image(os.path.join(root, name, filename), channels, (size, size) if size else None))
                labels.append(label)
    if not images:
        raise DataError("no images (%s) under %s" % (", ".join(IMAGE_EXTENSIONS), root))
    shapes = sorted({img.shape for img in images})
    if len(shapes) > 1:
        raise DataError("%s holds images of different sizes (%s): set data.image_size to resize them to one square"
                        % (root, ", ".join("%dx%d" % shape[1:] for shape in shapes[:3])))
    return np.stack(images), np.array(labels, np.int64), classes


def read_image(path, channels=1, size=None):
    """An image file as uint8 ``(C, H, W)``, resized to ``size = (H, W)`` when given."""
    import mxnet as mx
    try:
        img = mx.image.imread(path, flag=0 if channels == 1 else 1)
    except mx.base.MXNetError as err:
        raise DataError("cannot decode image %s: %s" % (path, str(err).strip().splitlines()[-1])) from None
    if size and tuple(img.shape[:2]) != tuple(size):
        img = mx.image.imresize(img, size[1], size[0])
    return img.asnumpy().transpose(2, 0, 1)


def write_png(path, image):
    """A uint8 image ``(C, H, W)`` (C = 1 or 3) or ``(H, W)`` as a PNG file (zlib only, no imaging library)."""
    import struct
    import zlib
    image = np.asarray(image, np.uint8)
    image = image.transpose(1, 2, 0) if image.ndim == 3 else image[:, :, None]   # (H, W, C)
    h, w, c = image.shape
    raw = b"".join(b"\x00" + image[y].tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", w, h, 8, 0 if c == 1 else 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) +
                chunk(b"IEND", b""))
    return path


def sample_pairs(labels, n, positive_share, rng):
    """``(a, b, same)``: ``n`` anchor indices, partners that share the anchor's class with probability
    ``positive_share`` (never the anchor itself) and otherwise come from another class, and the 0/1 targets.
    Vectorized over all pairs."""
    order = np.argsort(labels, kind="stable")
    classes, starts, sizes = np.unique(labels[order], return_index=True, return_counts=True)
    if len(classes) < 2 or sizes.max() < 2:
        raise DataError("pairs need at least two classes and a class with two images")
    anchors = rng.integers(0, len(labels), n)
    cls = np.searchsorted(classes, labels[anchors])
    same = (rng.random(n) < positive_share) & (sizes[cls] > 1)
    # positive: another member of the class (a random non-zero step from the anchor's place in its class)
    place = np.argsort(order)[anchors] - starts[cls]
    step = rng.integers(1, np.maximum(sizes[cls], 2))
    positive = order[starts[cls] + (place + step) % sizes[cls]]
    # negative: a random member of a random other class
    other = (cls + rng.integers(1, len(classes), n)) % len(classes)
    negative = order[starts[other] + (rng.random(n) * sizes[other]).astype(np.int64)]
    return anchors, np.where(same, positive, negative), same.astype(np.float32)


def pair_relations(labels, images=None, same_class="positive", weight=1.0):
    """Every image's relation to every image of a batch, float32 ``(n, n)``: 1 a positive pair, 0 a negative,
    -1 no pair (an image with itself). Images of different labels are negatives; two of the same label are what
    ``same_class`` says (``positive``, ``negative`` or ``ignore``), except two views of one image (the same
    number in ``images``, when given), which are positives."""
    labels = np.asarray(labels)
    same = labels[:, None] == labels[None, :]
    relations = np.where(same, {"positive": weight, "negative": 0.0, "ignore": -1.0}[same_class], 0.0)
    if images is not None:
        images = np.asarray(images)
        relations[images[:, None] == images[None, :]] = 1.0
    np.fill_diagonal(relations, -1)
    return relations.astype(np.float32)


@DATASETS.register("images")
class ImagePairs:
    """Image pairs for similarity learning.

    Sources: ``idx`` (``root`` holds ``train-images-idx3-ubyte[.gz]`` and the label and ``t10k`` files, as MNIST
    and Fashion-MNIST ship them), ``folder`` (``root/<class>/<image>``, split at random), or ``pairs`` (``root``
    holds a CSV ``path_a,path_b,similarity``, paths relative to it).

    Batches are ``(images, left, right, target)``: float32 images ``(n, C, H, W)`` scaled to [0, 1], the pairs
    among them as int32 row numbers ``(pairs,)`` twice, and the target similarity ``(pairs,)`` (1 same class, 0
    not; or the file's score). By default a batch is ``batch_size`` pairs of their own images (``n = 2 *
    pairs``); with ``pairs_per_image = k`` (labelled sources) it is ``batch_size`` distinct images and ``k *
    batch_size`` pairs drawn among them, so each image is embedded once for ``2k`` pairs on average. With
    ``targets="classes"`` (labelled sources, for proxy losses) batches are ``(images, classes)``: ``batch_size``
    training images and their class numbers int32 ``(n,)``, the training classes numbered from 0
    (``meta["num_classes"]`` of them); ``targets="instances"`` numbers the training images instead. With
    ``targets="relations"`` (labelled sources, for in-batch pair losses) they are ``(images, anchors,
    relations)``: ``batch_size`` training images, each in ``views`` augmented copies (``n = views *
    batch_size``), the anchors ``arange(n)`` int32 and every anchor's relation to every image float32 ``(n, n)``
    (:func:`pair_relations`: two views of an image are positives, two images of a class what ``same_class``
    says).
    :meth:`split_batch` cuts a batch into self-contained parts (each with the images its pairs use), one a device.

    ``train_classes`` / ``test_classes`` give the unseen-class protocol of metric learning: e.g. digits 0-4 to
    train and validate on, the test images of 5-9 to retrieve among.
    """

    task = "image_retrieval"  # how the evaluation layer scores it: retrieval among a split's images

    @dataclasses.dataclass
    class Config:
        PATHS = ("root",)
        CHECKS = {"source": one_of("idx", "folder", "pairs"), "channels": one_of(1, 3), "image_size": NON_NEGATIVE,
                  "positive_share": between(0, 1), "pairs_per_epoch": NON_NEGATIVE,
                  "valid_ratio": between(0, 1, high_open=True),
                  "test_ratio": between(0, 1, low_open=True, high_open=True), "eval_pairs": POSITIVE,
                  "shift": NON_NEGATIVE, "rotate": between(0, 180), "pairs_per_image": NON_NEGATIVE,
                  "targets": one_of("pairs", "classes", "instances", "relations"), "views": POSITIVE,
                  "same_class": one_of("positive", "negative", "ignore"),
                  "same_class_weight": between(0, 1, low_open=True)}
        name: str = "images"
        source: str = "idx"           # idx, folder or pairs
        variant: str = "mnist"        # idx downloads: mnist or fashion-mnist
        root: str = ""                # empty: ~/.cache/zoo/VARIANT
        pairs_file: str = "pairs.csv"  # source pairs: the CSV inside root
        channels: int = 1             # folder and pairs sources: 1 (grey) or 3 (colour)
        image_size: int = 0           # folder and pairs sources: resize to a square; 0 keeps the size
        positive_share: float = 0.5
        pairs_per_epoch: int = 0      # 0: one pair per training image
        valid_ratio: float = 0.1
        test_ratio: float = 0.2       # folder and pairs sources (idx files come split)
        eval_pairs: int = 10000
        shift: int = 0                # training images move by up to this many pixels (augmentation)
        rotate: float = 0.0           # training images turn by up to this many degrees (augmentation)
        pairs_per_image: int = 0      # > 0: batches of distinct images, paired among themselves this many times
        targets: str = "pairs"        # pairs: (images, left, right, similarity); classes: (images, class number);
                                      # instances: (images, image number), each training image a class of its own;
                                      # relations: (images, anchors, each pair's relation), for in-batch pair losses
        views: int = 1                # relations: augmented copies of each image in a batch (each other's positives)
        same_class: str = "positive"  # relations: two images of a class are a positive, negative or ignored pair
        same_class_weight: float = 1.0  # relations: the weight of such a positive (a view's is 1)
        # The unseen-class protocol (labelled sources): train_classes to train and validate on, test_classes to
        # retrieve among (their test images); empty: every class. Labels (idx) or class folder names (folder).
        train_classes: typing.List[typing.Any] = dataclasses.field(default_factory=list)
        test_classes: typing.List[typing.Any] = dataclasses.field(default_factory=list)
        # validation on classes held out of training (a valid_ratio share of the training part's images of these),
        # to choose settings for unseen classes without the test split
        valid_classes: typing.List[typing.Any] = dataclasses.field(default_factory=list)
        seed: int = 0

    def __init__(self, source="idx", variant="mnist", root="", pairs_file="pairs.csv", channels=1, image_size=0,
                 positive_share=0.5, pairs_per_epoch=0, valid_ratio=0.1, test_ratio=0.2, eval_pairs=10000, shift=0,
                 pairs_per_image=0, targets="pairs", train_classes=(), test_classes=(), valid_classes=(), seed=0,
                 rotate=0.0, views=1, same_class="positive", same_class_weight=1.0):
        root = data_folder(root, variant)
        self.positive_share, self.eval_pairs, self.shift, self.seed = positive_share, eval_pairs, shift, seed
        self.rotate, self.views, self.same_class, self.same_class_weight = rotate, views, same_class, same_class_weight
        self.pairs_per_image = pairs_per_image
        rng = np.random.default_rng(seed)
        self.pairs, names = None, None
        if source == "idx":
            train_x, train_y = load_idx_split(root, "train", variant)
            test_x, test_y = load_idx_split(root, "test", variant)
            self.images = np.concatenate([train_x, test_x])
            self.labels = np.concatenate([train_y, test_y])
            train, test = np.arange(len(train_x)), np.arange(len(train_x), len(self.images))
        elif source == "folder":
            self.images, self.labels, names = load_folder(root, channels, image_size)
            train, test = random_split(len(self.labels), test_ratio, rng)
        elif source == "pairs":
            self.images, self.pairs = self._load_pairs(root, pairs_file, channels, image_size)
            self.labels = None
            train, test = random_split(len(self.pairs[0]), test_ratio, rng)
        else:
            raise DataError("unknown data.source %r: choose idx, folder or pairs" % source)
        test = self._of_classes(test, test_classes, names, "data.test_classes")
        if len(valid_classes):
            held = self._of_classes(train, valid_classes, names, "data.valid_classes")
            train = np.setdiff1d(self._of_classes(train, train_classes, names, "data.train_classes"), held)
            valid = random_split(len(held), valid_ratio, np.random.default_rng([seed, 1]), held)[1]
        else:
            train = self._of_classes(train, train_classes, names, "data.train_classes")
            train, valid = random_split(len(train), valid_ratio, np.random.default_rng([seed, 1]), train)
        self.splits = {"train": train, "valid": valid, "test": test}
        if not len(train) or not len(test):
            raise DataError("%s: the train or test split is empty (data.test_ratio, data.valid_ratio, "
                            "data.train_classes, data.test_classes)" % root)
        self.pairs_per_epoch = pairs_per_epoch or len(train)
        self.meta = {"image_shape": list(self.images.shape[1:]), "targets": targets}
        self.targets = targets
        if targets != "pairs":
            if self.labels is None:
                raise DataError("data.targets=%s needs labelled images: the pairs source has none" % targets)
            # the training classes (or images) numbered 0..C-1, a proxy each, whichever labels they have
            self.target_of = np.full(len(self.images), -1, np.int32)
            if targets in ("classes", "relations"):
                classes, number = np.unique(self.labels[train], return_inverse=True)
            else:
                classes, number = train, np.arange(len(train))
            self.target_of[train] = number
            self.meta["num_classes"] = len(classes)

    def _of_classes(self, index, classes, names, key):
        """The images of ``index`` whose class is one of ``classes`` (labels, or folder names when ``names``
        lists the folders); all of them when ``classes`` is empty."""
        if not len(classes):
            return index
        if self.labels is None:
            raise DataError("%s needs labelled images: the pairs source has none" % key)
        wanted = []
        for c in classes:
            label = names.index(c) if names is not None and c in names else c
            if not isinstance(label, (int, np.integer)) or not (self.labels == label).any():
                raise DataError("%s: no class %r among the images (their classes: %s)" % (
                    key, c, ", ".join(map(str, names if names is not None else np.unique(self.labels)))))
            wanted.append(label)
        return index[np.isin(self.labels[index], wanted)]

    @staticmethod
    def _load_pairs(root, pairs_file, channels, size):
        path = os.path.join(root, pairs_file)
        if not os.path.exists(path):
            raise DataError("pairs file %s not found (data.root, data.pairs_file)" % path)
        names, rows = {}, []
        with open(path, newline="", encoding="utf-8") as f:
            for lineno, row in enumerate(csv.reader(f), 1):
                if not row or row[0].startswith("#") or (lineno == 1 and row[-1] == "similarity"):
                    continue
                try:
                    a, b, score = row[0], row[1], float(row[2])
                except (IndexError, ValueError):
                    raise DataError("%s:%d: expected path_a,path_b,similarity" % (path, lineno)) from None
                rows.append((names.setdefault(a, len(names)), names.setdefault(b, len(names)), score))
        images = np.stack([read_image(os.path.join(root, name), channels, (size, size) if size else None)
                           for name in names])
        a, b, score = (np.array(col) for col in zip(*rows))
        return images, (a.astype(np.int64), b.astype(np.int64), score.astype(np.float32))

    @classmethod
    def from_config(cls, cfg, eval_cfg=None):
        return cls(**{k: v for k, v in dataclasses.asdict(cfg).items() if k != "name"})

    def num_examples(self, split):
        return self.pairs_per_epoch if split == "train" and self.pairs is None else len(self.splits[split])

    def split_pairs(self, split, n, rng):
        """``(a, b, target)`` image-index pairs of a split."""
        idx = self.splits[split]
        if self.pairs is not None:
            a, b, score = (col[idx] for col in self.pairs)
            return a, b, score
        a, b, same = sample_pairs(self.labels[idx], n, self.positive_share, rng)
        return idx[a], idx[b], same

    def batches(self, split, batch_size, shuffle=True, seed=0):
        """``(images, left, right, target)`` batches of a split (see the class)."""
        rng = np.random.default_rng(seed)
        if self.targets != "pairs" and split == "train":
            yield from self._class_batches(batch_size, rng, shuffle)
            return
        if self.pairs_per_image and split == "train" and self.labels is not None:
            yield from self._image_batches(batch_size, rng)
            return
        a, b, target = self.split_pairs(split, self.num_examples(split), rng)
        if shuffle:
            perm = rng.permutation(len(a))
            a, b, target = a[perm], b[perm], target[perm]
        shift, turn = (self.shift, self.rotate) if split == "train" else (0, 0)
        for start in range(0, len(a), batch_size):
            s = slice(start, start + batch_size)
            m = len(target[s])
            rows = np.arange(m, dtype=np.int32)
            yield self.pixels(np.concatenate([a[s], b[s]]), shift, rng, turn), rows, rows + m, target[s]

    def split_batch(self, batch, parts):
        """``parts`` self-contained sub-batches, one a device: the pairs in consecutive slices, each with the
        images its pairs use and its row numbers renumbered to them (images and their classes: consecutive
        slices; with ``targets="relations"``, every part all of the images and a slice of the anchors, so that
        the parts' pairs and BatchNorm's statistics are those of the whole batch). The losses are those of the
        whole batch (BatchNorm's batch statistics, taken per part, are what can differ)."""
        if self.targets == "relations":
            return split_rows(batch, parts, whole=(0,))
        if len(batch) == 2:
            return split_rows(batch, parts)
        images, left, right, target = batch
        bounds = [len(target) * p // parts for p in range(parts + 1)]
        out = []
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            if hi > lo:
                used = np.unique(np.concatenate([left[lo:hi], right[lo:hi]]))
                out.append((images[used], np.searchsorted(used, left[lo:hi]).astype(np.int32),
                            np.searchsorted(used, right[lo:hi]).astype(np.int32), target[lo:hi]))
        return out

    def _class_batches(self, batch_size, rng, shuffle):
        """``(images, class or image numbers int32)`` of the training images (``pairs_per_epoch`` of them an
        epoch), or ``(images, anchors, relations)``."""
        train = self.splits["train"]
        images = (rng.permutation(train) if shuffle else train)[:self.pairs_per_epoch]
        for start in range(0, len(images), batch_size):
            index = images[start:start + batch_size]
            if self.targets == "relations":
                index = np.tile(index, self.views)  # each view augmented on its own
                yield (self.pixels(index, self.shift, rng, self.rotate), np.arange(len(index), dtype=np.int32),
                       pair_relations(self.target_of[index], index if self.views > 1 else None, self.same_class,
                                      self.same_class_weight))
            else:
                yield self.pixels(index, self.shift, rng, self.rotate), self.target_of[index]

    def _image_batches(self, batch_size, rng):
        """Distinct images per batch, and pairs among them drawn from their labels (``pairs_per_image`` each)."""
        images = rng.permutation(self.splits["train"])[:self.pairs_per_epoch]
        for start in range(0, len(images), batch_size):
            index = images[start:start + batch_size]
            left, right, same = sample_pairs(self.labels[index], self.pairs_per_image * len(index),
                                             self.positive_share, rng)
            yield (self.pixels(index, self.shift, rng, self.rotate), left.astype(np.int32), right.astype(np.int32),
                   same)

    def pixels(self, index, shift=0, rng=None, rotate=0.0):
        """Images ``index`` as float32 in [0, 1]; with ``rotate``, each turned by a random angle of up to
        ``rotate`` degrees either way (:func:`zoo.data.augment.rotate`); with ``shift``, each moved by a random
        offset of up to ``shift`` pixels each way (zeros fill in)."""
        images = self.images[index].astype(np.float32) / 255.0
        if rotate:
            images = augment.rotate(images, rotate, rng)
        if not shift:
            return images
        n, _, h, w = images.shape
        padded = np.pad(images, ((0, 0), (0, 0), (shift, shift), (shift, shift)))
        dy, dx = rng.integers(0, 2 * shift + 1, n), rng.integers(0, 2 * shift + 1, n)
        out = np.empty_like(images)
        for oy in range(2 * shift + 1):          # one slice per offset, not per image
            for ox in range(2 * shift + 1):
                rows = np.flatnonzero((dy == oy) & (dx == ox))
                out[rows] = padded[rows, :, oy:oy + h, ox:ox + w]
        return out

    def eval_sets(self, final=False):
        return [s for s in (("valid", "test") if final else ("valid",)) if len(self.splits[s])]

    def evaluation_pairs(self, split):
        """``(a, b, target)``: ``eval_pairs`` image-index pairs of a split, drawn with a fixed seed (all of the
        file's pairs of the split for the ``pairs`` source)."""
        return self.split_pairs(split, self.eval_pairs, np.random.default_rng([self.seed, 2]))

    def evaluation_images(self, split, a, b):
        """Image indices a split is evaluated on: all of the split's images (labelled sources), else those of its
        pairs ``a``, ``b``."""
        return self.splits[split] if self.labels is not None else np.unique(np.concatenate([a, b]))

    def state(self):
        return {}
