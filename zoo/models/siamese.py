"""Image similarity: a CNN tower embeds each image; the dot product of two embeddings is their similarity."""
import dataclasses

import mxnet as mx
from mxnet.gluon import HybridBlock

from ..blocks import ContrastiveLoss, DotScorer, LogisticPairLoss, SquaredLoss
from ..config import above, one_of
from ..registry import MODELS
from .image_tower import ConvTowerConfig, conv_tower

# Pair losses by config name: each maps (score, target) to a per-pair loss.
PAIR_LOSSES = {
    "regression": lambda cfg: SquaredLoss(),                    # the dot product regressed onto the target
    "logistic": lambda cfg: LogisticPairLoss(cfg.scale, cfg.bias),
    "contrastive": lambda cfg: ContrastiveLoss(cfg.margin),
}


@MODELS.register("siamese_cnn")
class SiameseNet(HybridBlock):
    """``score = scorer(tower_a(images)[left], tower_b(images)[right])``, with one tower shared by both sides
    unless two are given.

    The forward takes a batch of images and pairs among them by row number, so that an image in several pairs is
    embedded once; the training objective is ``loss_fn(self(images, left, right), target)`` (see
    :class:`~zoo.models.Objective`). :meth:`embed`, :meth:`embed_b` and :meth:`score` serve retrieval.

    Parameters
    ----------
    tower_a : HybridBlock
        images ``(n, C, H, W)`` -> ``(n, dim)``.
    scorer : HybridBlock
        ``(u, v)`` -> ``(pairs,)``; the dot product of unit vectors is the cosine.
    loss : Loss
        ``(score, target)`` -> ``(pairs,)``.
    tower_b : HybridBlock or None
        A second tower for the right-hand image (None shares ``tower_a``).

    Inputs: ``images`` ``(n, C, H, W)``, ``left`` and ``right`` row numbers ``(pairs,)``. Output: ``(pairs,)``.
    """

    num_targets = 1  # a batch is (images, left, right, target)
    input_names = ("images", "left", "right")

    @dataclasses.dataclass
    class Config(ConvTowerConfig):
        CHECKS = dict(ConvTowerConfig.CHECKS, loss=one_of(*sorted(PAIR_LOSSES)), scale=above(0), margin=above(0))
        name: str = "siamese_cnn"
        normalize: bool = True
        shared: bool = True         # one tower for both images
        loss: str = "logistic"      # regression, logistic or contrastive
        scale: float = 10.0         # logistic: score multiplier
        bias: float = 0.0           # logistic: score offset
        margin: float = 1.0         # contrastive: distance margin

    def __init__(self, tower_a, scorer, loss, tower_b=None, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.tower_a = tower_a
            self.tower_b = tower_b
            self.scorer = scorer
            self.loss_fn = loss

    @property
    def symmetric(self):
        """True when both sides share one tower (``embed_b`` is ``embed``)."""
        return self.tower_b is None

    @classmethod
    def create(cls, **kwargs):
        """From plain arguments, the fields of :class:`Config` (``dim=64, loss="logistic", ...``)."""
        cfg = cls.Config(**kwargs)
        if cfg.loss not in PAIR_LOSSES:
            raise ValueError("model.loss=%r: choose one of %s" % (cfg.loss, ", ".join(sorted(PAIR_LOSSES))))

        return cls(conv_tower(cfg, cfg.normalize, "tower_a_"), DotScorer(prefix="scorer_"),
                   PAIR_LOSSES[cfg.loss](cfg), None if cfg.shared else conv_tower(cfg, cfg.normalize, "tower_b_"),
                   prefix="siamese_")

    @classmethod
    def from_config(cls, cfg, meta):
        if meta.get("targets", "pairs") != "pairs":
            raise ValueError("model siamese_cnn learns from image pairs: set data.targets: pairs (proxy_cnn learns "
                             "from data.targets: %s)" % meta["targets"])
        return cls.create(**{k: v for k, v in dataclasses.asdict(cfg).items() if k != "name"})

    @staticmethod
    def example_inputs(meta, batch=1):
        """Inputs of the right dtypes and shapes, e.g. for tracing an export: ``2 * batch`` images, ``batch``
        pairs (image ``i`` with image ``batch + i``)."""
        rows = mx.nd.arange(batch, dtype="int32")
        return [mx.nd.zeros([2 * batch] + list(meta["image_shape"])), rows, rows + batch]

    def hybrid_forward(self, F, images, left, right):
        u = self.tower_a(images)                                          # (n, dim)
        v = u if self.tower_b is None else self.tower_b(images)           # (n, dim)
        return self.scorer(F.take(u, left), F.take(v, right))             # (pairs,)

    def regularization(self, *inputs):
        """None: the pair losses need no penalty."""
        return None

    def embed(self, images):
        """``(batch, C, H, W)`` -> ``(batch, dim)`` by the left tower (the one gallery images go through)."""
        return self.tower_a(images)

    def embed_b(self, images):
        """The right-hand tower's embedding (the left one when the tower is shared)."""
        return (self.tower_b or self.tower_a)(images)

    def score(self, u, v):
        """Scores ``(batch,)`` of embedding pairs ``u``, ``v`` ``(batch, dim)``."""
        return self.scorer(u, v)
