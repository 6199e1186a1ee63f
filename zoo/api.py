"""The Python API for notebooks and scripts; ``tools/*.py`` are thin shells over it.

    >>> import zoo
    >>> zoo.list_models()
    ['mf', 'siamese_cnn', 'skipgram']
    >>> run = zoo.load_run("runs/movielens_mf-...")
    >>> run.recommend(user=1, k=5)
"""
import collections
import functools
import json
import os

import mxnet as mx
import numpy as np

from .registry import MODELS
from .eval.inference import predict
from .pipeline import build_dataset, load_model
from .eval.words import nearest, unit_rows


RATING_BLOCK = 1024  # items a user is scored for at once by Run.recommend and Run.predict
Prediction = collections.namedtuple("Prediction", "user item rating known")
Prediction.__doc__ = """A predicted rating: raw ``user`` and ``item`` ids, the clipped ``rating``, and ``known``:
whether both ids were in the training data (else the rating is the model's baseline)."""


def build_model(name, **kwargs):
    """A registered model from plain arguments: ``build_model("mf", num_users=10, num_items=20, dim=8)``."""
    cls = MODELS.get(name)
    return cls.create(**kwargs) if hasattr(cls, "create") else cls(**kwargs)


def load_run(run_dir, checkpoint="best"):
    """A trained run: its config, model (with the ``checkpoint``'s parameters) and saved id maps or vocabulary."""
    return Run(run_dir, checkpoint)


class Run:
    """A trained run folder, ready for queries.

    Attributes: ``cfg`` (the config), ``model``, ``arrays`` (id maps or vocabulary saved with the model) and
    ``dataset`` (rebuilt from the config on first use; needed only for queries that look at the data).
    """

    def __init__(self, run_dir, checkpoint="best"):
        self.run_dir = run_dir
        self.cfg, self.model, self.arrays = load_model(run_dir, checkpoint)

    @functools.cached_property
    def dataset(self):
        dataset = build_dataset(self.cfg)
        for key, saved in self.arrays.items():
            if not np.array_equal(saved, dataset.state()[key]):
                raise ValueError("the data behind %s changed since training (%s differ); point data.root at the "
                                 "files the run was trained on" % (self.run_dir, key))
        return dataset

    # ----------------------------------------------------------------------------------------- export
    def export_mxnet(self, folder):
        """``FOLDER/model-symbol.json`` and ``model-0000.params`` of the model's forward pass (ratings clipped to
        the data's range), for ``gluon.SymbolBlock.imports(json, input_names, params)``, and ``FOLDER/ids.json``
        (see :meth:`export_onnx`). Returns ``{"symbol", "params", "ids", "inputs"}``."""
        os.makedirs(folder, exist_ok=True)
        block, inputs = self._served()
        block(*inputs)  # the cached graph is what gets exported
        prefix = os.path.join(folder, "model")
        block.export(prefix, epoch=0)
        return {"symbol": prefix + "-symbol.json", "params": prefix + "-0000.params", "ids": self._write_ids(folder),
                "inputs": ["data%d" % i for i in range(len(inputs))]}

    def export_onnx(self, folder):
        """``FOLDER/model.onnx``: the model's forward pass, its inputs named as the model names them
        (``users``, ``items`` for MF; float32 row numbers, as MXNet's ONNX export wants ids), its output
        ``scores`` (ratings clipped to the data's range), and ``FOLDER/ids.json``: the raw ids (or words) in row
        order, so ``row = ids["user_ids"].index(raw_id)``. Needs the ``export`` extra. Returns
        ``{"model", "ids", "inputs"}``."""
        import tempfile
        import onnx
        _, inputs = self._served()
        cannot = ("%s cannot be exported to ONNX: %%s (e.g. svdpp, or ranking_mf with data.history, multiplies "
                  "sparse rows, which ONNX lacks); export it with --format mxnet" % self.run_dir)
        sparse = [name for name, x in zip(getattr(self.model, "input_names", ()), inputs) if x.stype != "default"]
        if sparse:
            raise ValueError(cannot % ("its input %s is sparse" % ", ".join(sparse)))
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "model.onnx")
        with tempfile.TemporaryDirectory() as tmp:
            exported = self.export_mxnet(tmp)
            try:
                mx.onnx.export_model(exported["symbol"], exported["params"], [x.shape for x in inputs],
                                     [np.float32] * len(inputs), path, dynamic=True,
                                     dynamic_input_shapes=[(None,) + x.shape[1:] for x in inputs])
            except AttributeError as err:  # MXNet's exporter: "No conversion function registered for op type X"
                raise ValueError(cannot % err) from err
        names = list(getattr(self.model, "input_names", ["data%d" % i for i in range(len(inputs))]))
        graph = onnx.load(path)
        _rename(graph.graph, dict(zip(["data%d" % i for i in range(len(inputs))], names)))
        _rename(graph.graph, {graph.graph.output[0].name: "scores"})
        constants = {t.name for t in graph.graph.initializer}  # weights are constants, not inputs to feed
        kept = [i for i in graph.graph.input if i.name not in constants]
        del graph.graph.input[:]
        graph.graph.input.extend(kept)
        onnx.save(graph, path)
        return {"model": path, "ids": self._write_ids(folder), "inputs": names}

    def _served(self):
        """The block to export (the model, its rating predictions clipped to the data's range) and example
        inputs."""
        inputs = self.model.example_inputs(self.model.meta)
        bounds = self.model.meta.get("rating_range")
        if not bounds:
            return self.model, inputs
        block = Clipped(self.model, *bounds)
        block.hybridize()
        return block, inputs

    def _write_ids(self, folder):
        path = os.path.join(folder, "ids.json")
        ids = {k: [v.item() if hasattr(v, "item") else v for v in self.arrays[k].tolist()]
               for k in ("user_ids", "item_ids", "vocab") if k in self.arrays}
        with open(path, "w", encoding="utf-8") as f:
            json.dump(ids, f)
        return path

    # ---------------------------------------------------------------------------------------- ratings
    def recommend(self, user, k=10):
        """``[(raw item id, predicted rating, title)]``, best first, among the items ``user`` (a raw id) has not
        rated in training."""
        self._require("user_ids", "recommend", "a rating run (mf, svdpp)")
        _check_k(k)
        if isinstance(user, str) or not isinstance(user, (int, np.integer)):
            raise KeyError("user %r: give the raw user id as a number, as in the ratings file" % (user,))
        ds = self.dataset
        if user not in ds.user_map:
            raise KeyError("unknown user %r: raw user ids run from %d to %d" % (
                user, ds.user_map.ids[0], ds.user_map.ids[-1]))
        index = ds.user_map.index([user])[0]
        if ds.task == "ranking":  # the model scores the whole catalog; the user's training positives are left out
            scores = predict(getattr(self.model, "score", self.model), ds.inputs([index]), mx.cpu())[0]
            indptr, liked = ds.positives["train"]
            items = np.setdiff1d(np.flatnonzero(ds.candidates), liked[indptr[index]:indptr[index + 1]])
            return self._items(items.astype(np.int32), scores[items], k)
        items = np.setdiff1d(np.arange(ds.meta["num_items"], dtype=np.int32), ds.rated(index))
        return self._items(items, self._ratings(index, items), k)

    def _ratings(self, user, items):
        """The clipped predicted ratings of user (index) for items (indices), with the inputs the model takes
        (SVD++'s rated items too, repeated for every item), a block of items at a time."""
        ds, scores = self.dataset, []
        for start in range(0, len(items), RATING_BLOCK):
            block = items[start:start + RATING_BLOCK]
            scores.append(predict(self.model, ds.inputs(np.full(len(block), user, np.int32), block), mx.cpu()))
        return np.clip(np.concatenate(scores) if scores else np.zeros(0, np.float32), *ds.rating_range)

    def predict(self, user, item):
        """Surprise's ``predict``: ``user``'s rating of ``item`` (raw ids), as a :class:`Prediction`
        ``(user, item, rating, known)``, the rating clipped to the data's range. ``known`` is False when either id
        is not in the training data; the rating then comes from what the model learned of the other: the global
        offset (the training mean for a model without one) plus the known user's or item's bias."""
        self._require("user_ids", "predict", "a rating run (mf, svdpp)")
        ds, model = self.dataset, self.model
        u = int(ds.user_map.index([user])[0]) if user in ds.user_map else None
        i = int(ds.item_map.index([item])[0]) if item in ds.item_map else None
        if u is not None and i is not None:
            return Prediction(user, item, float(self._ratings(u, np.array([i], np.int32))[0]), True)
        offset = getattr(getattr(model, "scorer", None), "offset", None)
        rating = (float(offset.data().asnumpy()[0]) if offset is not None
                  else float(ds.ratings[ds.splits["train"]].mean()))
        for index, bias in ((u, getattr(model, "user_bias", None)), (i, getattr(model, "item_bias", None))):
            if index is not None and bias is not None:
                rating += float(bias(mx.nd.array([index], dtype="int32")).asnumpy().ravel()[0])
        return Prediction(user, item, float(np.clip(rating, *ds.rating_range)), False)

    def fold_in_liked(self, items, reg=1.0):
        """A new user of a ranking run from the raw ids of items they liked, every trained parameter frozen. With
        a history tower (``data.history``) the user vector is that tower's embedding of the liked items (the
        user's own id vector, which a new user lacks, left at zero); without one, the vector ``u`` that fits
        score 1 on the liked items and 0 on the rest of the catalog, in closed form (``u = (V^T V + reg I)^-1 V^T
        y``, ``V`` the item vectors). Returns a :class:`FoldedUser` whose scores add the item biases; it
        recommends among the items not liked."""
        from .models import RankingMF
        ds = self.dataset
        if ds.task != "ranking" or not isinstance(self.model, RankingMF):
            raise ValueError("fold_in_liked solves for a ranking_mf user; %s is a %s run"
                             % (self.run_dir, self.cfg.model.name))
        if not len(items):
            raise ValueError("fold_in_liked needs at least one liked item")
        unknown = [i for i in items if i not in ds.item_map]
        if unknown:
            raise KeyError("unknown item %r" % unknown[0])
        catalog = np.flatnonzero(ds.candidates).astype(np.int32)
        nd_items = mx.nd.array(catalog, dtype="int32")
        v = self.model.item_tower(nd_items).asnumpy().astype(np.float64)                 # (catalog, dim)
        bias = (self.model.item_bias(nd_items).asnumpy()[:, 0] if self.model.item_bias is not None
                else np.zeros(len(catalog)))
        liked = np.isin(catalog, ds.item_map.index(items))
        if self.model.meta.get("history"):
            liked_rows = np.unique(ds.item_map.index(items))
            table = self.model.user_tower.bag.weight.data().asnumpy()             # (num_items, dim)
            vector = table[liked_rows].sum(axis=0).astype(np.float64) / np.sqrt(len(liked_rows))  # as the data weighs
        else:
            vector = np.linalg.solve(v.T @ v + reg * np.eye(v.shape[1]), v.T @ liked.astype(np.float64))
        scores = np.full(ds.meta["num_items"], -np.inf)
        scores[catalog] = v @ vector + bias
        return FoldedUser(self, vector, 0.0, set(catalog[liked].tolist()), None, None, None, scores=scores,
                          clip=False)

    def _require(self, array, what, kind):
        if array not in self.arrays:
            raise ValueError("%s is a %s run: %s needs %s" % (self.run_dir, self.cfg.model.name, what, kind))

    def fold_in(self, items, ratings, reg=None):
        """Fit a new user's vector and bias from a few ``(raw item id, rating)`` pairs, with every item
        parameter frozen, and return a :class:`FoldedUser` that predicts and recommends for them.

        For the dot-product scorer the fit is a ridge regression in closed form:
        ``rating - offset - item_bias = u . v_item + user_bias``, with the model's own ``reg``.
        """
        self._require("item_ids", "fold_in", "a rating run (mf)")
        from .blocks import DotScorer
        from .models import MatrixFactorization
        model = self.model
        if (type(model).hybrid_forward is not MatrixFactorization.hybrid_forward
                or type(model.scorer) is not DotScorer or len(model.example_inputs(model.meta)) != 2):
            raise ValueError("fold_in solves for a new user in closed form, which holds for biased MF's dot product; "
                             "%s scores otherwise (train the user in, or use recommend for known users)"
                             % type(model).__name__)
        if not len(items) or len(items) != len(ratings):
            raise ValueError("fold_in needs as many ratings as items, at least one (got %d items, %d ratings)"
                             % (len(items), len(ratings)))
        ds = self.dataset
        lo, hi = ds.rating_range
        outside = [r for r in ratings if not lo <= r <= hi]
        if outside:
            raise ValueError("rating %r is outside the data's range %g..%g" % (outside[0], lo, hi))
        unknown = [i for i in items if i not in ds.item_map]
        if unknown:
            raise KeyError("unknown item %r" % unknown[0])
        rows = ds.item_map.index(items)
        v, item_bias, offset = self._item_side(np.arange(ds.meta["num_items"], dtype=np.int32))
        target = np.asarray(ratings, np.float64) - offset - item_bias[rows]
        design = np.hstack([v[rows], np.ones((len(rows), 1))])       # (n, dim + 1): vector, then bias
        strength = self.cfg.model.reg if reg is None else reg
        solution = np.linalg.solve(design.T @ design + strength * len(rows) * np.eye(design.shape[1]),
                                   design.T @ target)
        return FoldedUser(self, solution[:-1], solution[-1], set(rows.tolist()), v, item_bias, offset)

    def _item_side(self, items):
        model, nd_items = self.model, mx.nd.array(items, dtype="int32")
        v = model.item_tower(nd_items).asnumpy()
        bias = model.item_bias(nd_items).asnumpy()[:, 0] if model.item_bias is not None else np.zeros(len(items))
        offset = model.scorer.offset.data().asnumpy()[0] if hasattr(model.scorer, "offset") else 0.0
        return v.astype(np.float64), bias.astype(np.float64), float(offset)

    def _items(self, items, scores, k):
        ds = self.dataset
        top = np.argsort(-scores, kind="stable")[:k]
        raw = ds.item_map.ids[items[top]]
        return [(int(r), float(scores[i]), ds.titles.get(int(r), "")) for r, i in zip(raw, top)]

    # ------------------------------------------------------------------------------------------- words
    @functools.cached_property
    def vocab(self):
        self._require("vocab", "word queries", "a word2vec run (skipgram)")
        return [str(w) for w in self.arrays["vocab"]]

    def word_vectors(self):
        """``(vocab_size, dim)`` numpy: the input vectors, row ``i`` for ``vocab[i]``."""
        return self.model.embeddings()

    @functools.cached_property
    def vectors(self):
        """The run's word vectors as :class:`~zoo.vectors.Vectors` (``similarity``, ``most_similar(positive=...,
        negative=...)``, ``doesnt_match``, evaluations on your own files, ``save``)."""
        from .vectors import Vectors
        return Vectors(self.vocab, self.word_vectors())

    def most_similar(self, word, k=10):
        """``[(word, cosine)]`` nearest to ``word``."""
        return self._nearest([word], k)

    def analogy(self, a, b, c, k=10):
        """``[(word, cosine)]`` nearest to ``b - a + c`` (a is to b as c is to ?)."""
        return self._nearest([a, b, c], k)

    def _nearest(self, words, k):
        _check_k(k)
        if any(not str(w).strip() for w in words):
            raise KeyError("a query word is empty: give a word of the run's vocabulary")
        index = {w: i for i, w in enumerate(self.vocab)}
        words = [w.lower() for w in words]
        unknown = [w for w in words if w not in index]
        if unknown:
            raise KeyError("unknown word %r: not in the run's vocabulary of %d words" % (unknown[0], len(index)))
        vectors, rows = self.word_vectors(), [index[w] for w in words]
        if len(rows) == 1:
            query = vectors[rows[0]]
        else:
            first, second, third = unit_rows(vectors, rows)
            query = second - first + third
        return [(self.vocab[i], score) for i, score in nearest(vectors, query, k, exclude=rows)]

    # ------------------------------------------------------------------------------------------ images
    def embed(self, images):
        """Embeddings ``(N, dim)`` of float32 images ``(N, C, H, W)`` in [0, 1] (uint8 images in 0..255 are
        scaled; a single ``(C, H, W)`` image is taken as a batch of one)."""
        if "image_shape" not in self.model.meta:
            raise ValueError("%s is a %s run: embed needs an image run (siamese_cnn)" % (
                self.run_dir, self.cfg.model.name))
        images = np.asarray(images)
        if images.dtype == np.uint8:
            images = images.astype(np.float32) / 255.0
        if images.ndim == 3:
            images = images[None]
        shape = tuple(self.model.meta["image_shape"])
        if images.ndim != 4 or images.shape[1:] != shape:
            raise ValueError("images of shape %s: embed takes (N, %d, %d, %d) (or one (C, H, W) image)"
                             % (images.shape, *shape))
        return predict(self.model.embed, (images.astype(np.float32),), mx.cpu(), 4096)

    def similar_images(self, path, k=5, split="test"):
        """``[(number, label, score)]``: the images of ``split`` that score highest against the image file
        ``path``, numbered within the split (0 is its first image, as :meth:`save_image` numbers them)."""
        from .data.images import read_image
        _check_k(k)
        if not os.path.isfile(path):
            raise KeyError("image %s not found" % path)
        ds = self.dataset
        channels, height, width = ds.meta["image_shape"]
        query = read_image(path, channels, (height, width))[None].astype(np.float32) / 255.0
        gallery = ds.splits[split]
        scores = self.embed(ds.pixels(gallery)) @ self.embed(query)[0]
        top = np.argsort(-scores, kind="stable")[:k]
        labels = ds.labels if ds.labels is not None else np.full(len(ds.images), -1)
        return [(int(i), int(labels[gallery[i]]), float(scores[i])) for i in top]

    def save_image(self, number, path, split="test"):
        """Write image ``number`` of ``split`` (numbered as :meth:`similar_images` numbers them) as a PNG, e.g.
        to try it as a query. Returns its label."""
        from .data.images import write_png
        ds = self.dataset
        gallery = ds.splits[split]
        if not 0 <= number < len(gallery):
            raise KeyError("image %d: the %s split has images 0 to %d" % (number, split, len(gallery) - 1))
        write_png(path, ds.images[gallery[number]])
        return int(ds.labels[gallery[number]]) if ds.labels is not None else None


class Clipped(mx.gluon.HybridBlock):
    """``model``'s predictions clipped to ``[low, high]`` (the rating range), as the evaluation clips them."""

    def __init__(self, model, low, high, **kwargs):
        super().__init__(prefix="", **kwargs)
        self.model, self.low, self.high = model, low, high

    def hybrid_forward(self, F, *inputs):
        return F.clip(self.model(*inputs), self.low, self.high)


def _rename(graph, names):
    """Rename values of an ONNX graph (inputs, outputs, node inputs and outputs) by ``names``."""
    for value in list(graph.input) + list(graph.output):
        value.name = names.get(value.name, value.name)
    for node in graph.node:
        node.input[:] = [names.get(n, n) for n in node.input]
        node.output[:] = [names.get(n, n) for n in node.output]


def _check_k(k):
    if not isinstance(k, (int, np.integer)) or k <= 0:
        raise ValueError("k=%r: ask for at least one result (k >= 1)" % (k,))


class FoldedUser:
    """A user fitted after training by :meth:`Run.fold_in`."""

    def __init__(self, run, vector, bias, rated, item_vectors, item_bias, offset, scores=None, clip=True):
        self.run, self.vector, self.bias, self.rated, self.clip = run, vector, bias, rated, clip
        self._scores = item_vectors @ vector + bias + item_bias + offset if scores is None else scores

    def _bounded(self, scores):
        return np.clip(scores, *self.run.dataset.rating_range) if self.clip else scores

    def predict(self, items):
        """Predicted ratings (a rating run: clipped to the rating range) or scores of raw item ids."""
        return self._bounded(self._scores[self.run.dataset.item_map.index(items)])

    def recommend(self, k=10):
        """``[(raw item id, predicted rating or score, title)]`` among the items the user did not rate or like."""
        items = np.array(sorted(set(np.flatnonzero(np.isfinite(self._scores)).tolist()) - self.rated), np.int32)
        return self.run._items(items, self._bounded(self._scores[items]), k)
