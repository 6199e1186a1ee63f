"""What the image models share: the config fields of a :class:`~zoo.blocks.ConvTower`, and the retrieval
members of a model with one tower."""
import dataclasses
import typing

from ..blocks import ConvTower
from ..config import POSITIVE, each, one_of


@dataclasses.dataclass
class ConvTowerConfig:
    """An image model's ``Config`` extends this (its own ``name`` keeps the first place) and adds its loss's
    fields and checks (``CHECKS = dict(ConvTowerConfig.CHECKS, ...)``)."""
    CHECKS = {"dim": POSITIVE, "channels": each(POSITIVE), "convs_per_stage": POSITIVE,
              "downsample": one_of("stride", "pool"), "pooling": one_of("avg", "flatten")}
    name: str = ""
    dim: int = 64
    channels: typing.List[int] = dataclasses.field(default_factory=lambda: [32, 64, 128])
    convs_per_stage: int = 1
    downsample: str = "stride"  # stride or pool
    pooling: str = "avg"        # avg (global average) or flatten (the last feature map, its layout kept)
    backbone: str = ""          # e.g. resnet18_v1 from gluon.model_zoo.vision, for larger images


def conv_tower(cfg, normalize, prefix):
    """The :class:`~zoo.blocks.ConvTower` a :class:`ConvTowerConfig` describes."""
    return ConvTower(cfg.dim, cfg.channels, cfg.convs_per_stage, normalize, cfg.backbone, cfg.downsample,
                     cfg.pooling, prefix=prefix)


class OneTowerRetrieval:
    """Retrieval by a model whose one ``tower`` embeds queries and gallery alike as unit vectors and whose
    ``scorer`` (a :class:`~zoo.blocks.DotScorer`) scores two embeddings by their dot product, their cosine; mixed
    into ``proxy_cnn`` and ``metric_cnn``, whose losses need no penalty."""

    symmetric = True  # one tower embeds queries and gallery

    def regularization(self, *inputs):
        """None: no penalty."""
        return None

    def embed(self, images):
        """``(batch, C, H, W)`` -> unit vectors ``(batch, dim)``."""
        return self.tower(images)

    def embed_b(self, images):
        """The gallery's embedding: the same tower's."""
        return self.embed(images)

    def score(self, u, v):
        """Scores ``(batch,)`` of embedding pairs ``u``, ``v`` ``(batch, dim)``: their cosine."""
        return self.scorer(u, v)
