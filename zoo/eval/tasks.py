"""One evaluator per task. A dataset names its task (``dataset.task``) and provides the arrays; the evaluator
runs the model through the public methods every model of that task has:

- ``ratings``: ``model(*inputs)`` -> predicted ratings ``(batch,)`` (``dataset.inputs(users, items)``).
- ``ranking``: ``model.score(*dataset.inputs(users))`` (or ``model(...)`` when it has no ``score``) -> scores of
  every catalog item ``(batch, num_items)``.
- ``words``: ``model.embeddings()`` -> word vectors ``(vocab, dim)``.
- ``image_retrieval``: ``model.embed(images)`` and ``model.embed_b(images)`` -> ``(N, dim)`` (the left and right
  embeddings; ``model.symmetric`` when they are one), and ``model.score(u, v)`` -> ``(N,)`` for embeddings of
  pairs.

Each evaluator is ``evaluator(model, name) -> {metric: value}`` for the names ``dataset.eval_sets(final)`` gives.
"""
import numpy as np

from ..registry import Registry
from .inference import predict
from .metrics import retrieval_metrics, regression_metrics, roc_auc
from .ranking import ranking_metrics
from .words import analogy_score, similarity_score

EVALUATORS = Registry("evaluation task")


def evaluator_for(dataset, device, batch_size=65536):
    """The evaluator of ``dataset.task``, bound to the dataset, the device and a batch size."""
    return EVALUATORS.get(dataset.task)(dataset, device, batch_size)


class Evaluator:
    """Base: ``self(model, name)`` gives one evaluation set's metrics; :meth:`run` gives several."""

    def __init__(self, dataset, device, batch_size=65536):
        self.dataset, self.device, self.batch_size = dataset, device, batch_size

    def predict(self, method, *arrays):
        return predict(method, arrays, self.device, self.batch_size)

    def run(self, model, names):
        """``{name: {metric: value}}``."""
        return {name: self(model, name) for name in names}


@EVALUATORS.register("ratings")
class RatingEvaluator(Evaluator):
    """RMSE, MAE and count of a split, predictions clipped to the dataset's rating range; with ``eval.ranking``,
    also the ranking metrics of :mod:`zoo.eval.ranking` with the raw predictions as scores (clipping would tie
    the top of the list)."""

    def __call__(self, model, split):
        ds = self.dataset
        users, items, ratings = ds.arrays(split)
        chunk = ds.eval_chunk or len(users) or 1   # rows of wide extra inputs (SVD++'s rated items) come in chunks
        pred = [self.predict(model, *ds.inputs(users[i:i + chunk], items[i:i + chunk]))
                for i in range(0, len(users), chunk)]
        pred = np.clip(np.concatenate(pred or [np.zeros(0, np.float32)]), *ds.rating_range)
        metrics = regression_metrics(pred, ratings)
        if getattr(ds, "ks", None):  # eval.ranking: the ranking protocol on the predicted (unclipped) ratings
            num_items = ds.meta["num_items"]

            def score(rows):
                users = np.repeat(rows.astype(np.int32), num_items)
                items = np.tile(np.arange(num_items, dtype=np.int32), len(rows))
                return self.predict(model, *ds.inputs(users, items)).reshape(len(rows), num_items)
            metrics.update(ranking_metrics(score, ds.positives["train"], ds.positives[split], num_items, ds.ks,
                                           ds.candidates, ds.block))
        return metrics


@EVALUATORS.register("words")
class WordEvaluator(Evaluator):
    """Spearman correlation on word-similarity sets, 3CosAdd accuracy on analogy sets, by the input vectors."""

    def __call__(self, model, name):
        kind, items = self.dataset.evaluation_set(name)
        vectors, index = model.embeddings(), self.dataset.vocab.token_to_idx
        score = analogy_score if kind == "analogy" else similarity_score
        return score(vectors, index, items)


@EVALUATORS.register("image_retrieval")
class RetrievalEvaluator(Evaluator):
    """Retrieval among a split's images by the embeddings' dot product (labelled sources): Recall@1/2/4/8, MAP@R
    and R-precision (:func:`~zoo.eval.metrics.retrieval_metrics`; with ``data.test_classes``, among classes the
    model never saw), and the ROC AUC of the scores of the dataset's evaluation pairs. Each image is embedded
    once; pairs are scored on the embeddings."""

    def __call__(self, model, split):
        ds = self.dataset
        if ds.labels is not None and len(np.unique(ds.labels[ds.splits[split]])) < 2:
            # one class (e.g. data.test_classes: [9]): retrieval is measured, pairs of two classes cannot be drawn
            return retrieval_metrics(self.predict(model.embed, ds.pixels(ds.splits[split])),
                                     ds.labels[ds.splits[split]])
        a, b, target = ds.evaluation_pairs(split)
        idx = ds.evaluation_images(split, a, b)
        left = self.predict(model.embed, ds.pixels(idx))
        right = left if model.symmetric else self.predict(model.embed_b, ds.pixels(idx))
        position = np.full(len(ds.images), -1)
        position[idx] = np.arange(len(idx))
        scores = self.predict(model.score, left[position[a]], right[position[b]])
        if ds.labels is None:
            return dict(regression_metrics(scores, target), pair_auc=roc_auc(scores, target > np.median(target)))
        return dict(retrieval_metrics(left, ds.labels[idx]), pair_auc=roc_auc(scores, target))


@EVALUATORS.register("ranking")
class RankingEvaluator(Evaluator):
    """Precision, recall, NDCG and hit rate at the dataset's K over its users (see :mod:`zoo.eval.ranking`):
    candidates are the catalog minus each user's training positives."""

    def __call__(self, model, split):
        ds = self.dataset

        def score(rows):
            return self.predict(getattr(model, "score", model), *ds.inputs(rows))
        return ranking_metrics(score, ds.positives["train"], ds.positives[split], ds.meta["num_items"], ds.ks,
                               ds.candidates, ds.block)
