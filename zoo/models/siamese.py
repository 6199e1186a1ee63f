"""Image similarity: a CNN tower embeds each image; the dot product of two embeddings is their similarity."""
import dataclasses
import typing

from mxnet.gluon import HybridBlock

from ..blocks import ContrastiveLoss, ConvTower, DotScorer, LogisticPairLoss, SquaredLoss
from ..registry import MODELS

# Pair losses by config name: each maps (score, target) to a per-pair loss.
PAIR_LOSSES = {
    "regression": lambda cfg: SquaredLoss(),                    # the dot product regressed onto the target
    "logistic": lambda cfg: LogisticPairLoss(cfg.scale, cfg.bias),
    "contrastive": lambda cfg: ContrastiveLoss(cfg.margin),
}


@MODELS.register("siamese_cnn")
class SiameseNet(HybridBlock):
    """``score = scorer(tower_a(a), tower_b(b))``, with one tower shared by both sides unless two are given.

    Parameters
    ----------
    tower_a : HybridBlock
        images ``(batch, C, H, W)`` -> ``(batch, dim)``.
    tower_b : HybridBlock or None
        A second tower for the right-hand image (None shares ``tower_a``).
    scorer : HybridBlock
        ``(u, v)`` -> ``(batch,)``; the dot product of unit vectors is the cosine.
    loss : Loss
        ``(score, target)`` -> ``(batch,)``.

    Inputs: ``a`` and ``b`` images ``(batch, C, H, W)``. Output: scores ``(batch,)``.
    """

    @dataclasses.dataclass
    class Config:
        name: str = "siamese_cnn"
        dim: int = 64
        channels: typing.List[int] = dataclasses.field(default_factory=lambda: [32, 64, 128])
        convs_per_stage: int = 1
        downsample: str = "stride"  # stride or pool
        normalize: bool = True
        backbone: str = ""          # e.g. resnet18_v1 from gluon.model_zoo.vision, for larger images
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

    @classmethod
    def create(cls, **kwargs):
        """From plain arguments, the fields of :class:`Config` (``dim=64, loss="logistic", ...``)."""
        cfg = cls.Config(**kwargs)
        if cfg.loss not in PAIR_LOSSES:
            raise ValueError("model.loss=%r: choose one of %s" % (cfg.loss, ", ".join(sorted(PAIR_LOSSES))))

        def tower(prefix):
            return ConvTower(cfg.dim, cfg.channels, cfg.convs_per_stage, cfg.normalize, cfg.backbone,
                             cfg.downsample, prefix=prefix)
        return cls(tower("tower_a_"), DotScorer(prefix="scorer_"), PAIR_LOSSES[cfg.loss](cfg),
                   None if cfg.shared else tower("tower_b_"), prefix="siamese_")

    @classmethod
    def from_config(cls, cfg, dataset):
        return cls.create(**dataclasses.asdict(cfg))

    @staticmethod
    def example_inputs(meta, batch=1):
        """Inputs of the right dtypes and shapes, e.g. for tracing an export."""
        import mxnet as mx
        return [mx.nd.zeros([batch] + list(meta["image_shape"]))] * 2

    def hybrid_forward(self, F, a, b):
        u = self.tower_a(a)                                   # (batch, dim)
        v = (self.tower_b or self.tower_a)(b)                 # (batch, dim)
        return self.scorer(u, v)                              # (batch,)

    def loss(self, *batch):
        """Per-pair loss for a batch ``(a, b, target)`` of image pairs, or ``(images, left, right, target)``:
        distinct images embedded once, and pairs of them by row number."""
        if len(batch) == 3:
            a, b, target = batch
            return self.loss_fn(self(a, b), target)
        images, left, right, target = batch
        u = self.tower_a(images)                               # (images, dim)
        v = u if self.tower_b is None else self.tower_b(images)
        score = self.scorer(u.take(left), v.take(right))       # (pairs,)
        return self.loss_fn(score, target)

    def embed(self, images):
        """``(batch, C, H, W)`` -> ``(batch, dim)`` by the left tower (the one gallery images go through)."""
        return self.tower_a(images)

    def embed_b(self, images):
        """The right-hand tower's embedding (the left one when the tower is shared)."""
        return (self.tower_b or self.tower_a)(images)
