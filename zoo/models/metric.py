"""Image similarity learned from the pairs inside a batch: a CNN tower embeds each image, the dot product scores
every anchor against every image of the batch, and a pair loss (multi-similarity, with or without a miner) turns
the scores of the pairs of the same and of different classes into a training signal."""
import dataclasses

import mxnet as mx
from mxnet.gluon import HybridBlock

from ..blocks import AllPairs, AllPairsScorer, DotScorer, MultiSimilarityLoss, MultiSimilarityMiner
from ..config import above, at_least, one_of
from ..registry import MODELS
from .image_tower import ConvTowerConfig, OneTowerRetrieval, conv_tower

MINERS = {"none": lambda cfg: AllPairs(), "multi_similarity": lambda cfg: MultiSimilarityMiner(cfg.epsilon)}


@MODELS.register("metric_cnn")
class InBatchMetricNet(OneTowerRetrieval, HybridBlock):
    """``sim = pairs(tower(images)[anchors], tower(images))``: each anchor image scored against every image of
    the batch, trained with ``loss_fn(sim, relations)`` (see :class:`~zoo.models.Objective`), so a subclass that
    overrides :meth:`hybrid_forward` trains on its override. :meth:`embed` and :meth:`score` serve retrieval.

    Each device gets all of a batch's images and a share of its anchors (``data.targets: relations``), so the
    pairs, the losses and BatchNorm's statistics on several devices are those of one.

    Parameters
    ----------
    tower : HybridBlock
        images ``(n, C, H, W)`` -> unit vectors ``(n, dim)``.
    pairs : HybridBlock
        ``(a, dim), (n, dim)`` -> ``(a, n)``, e.g. :class:`~zoo.blocks.AllPairsScorer`.
    loss : Loss
        ``(sim, relations)`` -> ``(a,)``, e.g. :class:`~zoo.blocks.MultiSimilarityLoss`.

    Inputs: ``images`` ``(n, C, H, W)`` and ``anchors`` ``(a,)`` int32 row numbers. Output: ``(a, n)``.
    """

    num_targets = 1  # a batch is (images, anchors, relations)
    input_names = ("images", "anchors")

    @dataclasses.dataclass
    class Config(ConvTowerConfig):
        CHECKS = dict(ConvTowerConfig.CHECKS, loss=one_of("multi_similarity"), miner=one_of(*sorted(MINERS)),
                      alpha=above(0), beta=above(0), epsilon=at_least(0.0))
        name: str = "metric_cnn"
        loss: str = "multi_similarity"
        alpha: float = 2.0          # weight of the positive pairs' term (pytorch-metric-learning's defaults)
        beta: float = 50.0          # weight of the negative pairs' term
        base: float = 0.5           # the cosine that separates pulling from pushing
        miner: str = "multi_similarity"  # or none: every pair
        epsilon: float = 0.1        # the miner's margin

    def __init__(self, tower, pairs, loss, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.tower = tower
            self.pairs = pairs
            self.loss_fn = loss
            self.scorer = DotScorer(prefix="scorer_")

    @classmethod
    def create(cls, **kwargs):
        """From the fields of :class:`Config` (``dim=64, miner="multi_similarity", ...``)."""
        cfg = cls.Config(**kwargs)
        loss = MultiSimilarityLoss(cfg.alpha, cfg.beta, cfg.base, MINERS[cfg.miner](cfg))
        return cls(conv_tower(cfg, True, "tower_"), AllPairsScorer(prefix="pairs_"), loss, prefix="metric_")

    @classmethod
    def from_config(cls, cfg, meta):
        if meta.get("targets") != "relations":
            raise ValueError("model metric_cnn learns from the pairs inside a batch: set data.targets: relations")
        return cls.create(**{k: v for k, v in dataclasses.asdict(cfg).items() if k != "name"})

    @staticmethod
    def example_inputs(meta, batch=1):
        return [mx.nd.zeros([batch] + list(meta["image_shape"])), mx.nd.arange(batch, dtype="int32")]

    def hybrid_forward(self, F, images, anchors):
        e = self.tower(images)                                            # (n, dim)
        return self.pairs(F.take(e, anchors), e)                          # (a, n)

