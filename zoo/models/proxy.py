"""Image similarity learned from classes: a CNN tower embeds each image, and the dot product scores it against one
learned proxy per training class (NormSoftmax / CosFace); retrieval then scores images by the same dot product."""
import dataclasses

import mxnet as mx
from mxnet.gluon import HybridBlock

from ..blocks import DotScorer, NormSoftmaxLoss, ProxyScorer
from ..config import above, at_least, one_of
from ..registry import MODELS
from .image_tower import ConvTowerConfig, OneTowerRetrieval, conv_tower


@MODELS.register("proxy_cnn")
class ProxyNet(OneTowerRetrieval, HybridBlock):
    """``scores = proxies(tower(images))``: each image's unit vector against every class proxy, trained with
    ``loss_fn(scores, classes)`` (see :class:`~zoo.models.Objective`), so a subclass that overrides
    :meth:`hybrid_forward` trains on its override. The proxies only train; :meth:`embed` and :meth:`score` (the
    dot product of two embeddings) serve retrieval, where classes never seen in training work as well.

    Parameters
    ----------
    tower : HybridBlock
        images ``(n, C, H, W)`` -> unit vectors ``(n, dim)``.
    proxies : HybridBlock
        ``(n, dim)`` -> ``(n, classes)``, e.g. :class:`~zoo.blocks.ProxyScorer`.
    loss : Loss
        ``(scores, classes)`` -> ``(n,)``, e.g. :class:`~zoo.blocks.NormSoftmaxLoss`.

    Inputs: ``images`` ``(n, C, H, W)``. Output: ``(n, classes)``. Needs ``data.targets: classes``.
    """

    num_targets = 1  # a batch is (images, classes)
    input_names = ("images",)

    @dataclasses.dataclass
    class Config(ConvTowerConfig):
        CHECKS = dict(ConvTowerConfig.CHECKS, loss=one_of("norm_softmax"), scale=above(0), margin=at_least(0.0))
        name: str = "proxy_cnn"
        loss: str = "norm_softmax"  # softmax over cosines to the class proxies
        scale: float = 16.0         # the cosines' multiplier (an inverse temperature)
        margin: float = 0.0         # taken from the true class's cosine (CosFace); 0 is NormSoftmax

    def __init__(self, tower, proxies, loss, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.tower = tower
            self.proxies = proxies
            self.loss_fn = loss
            self.scorer = DotScorer(prefix="scorer_")

    @classmethod
    def create(cls, num_classes, **kwargs):
        """From the number of training classes and the fields of :class:`Config` (``dim=64, scale=16, ...``)."""
        cfg = cls.Config(**kwargs)
        return cls(conv_tower(cfg, True, "tower_"), ProxyScorer(num_classes, cfg.dim, prefix="proxies_"),
                   NormSoftmaxLoss(cfg.scale, cfg.margin), prefix="proxy_")

    @classmethod
    def from_config(cls, cfg, meta):
        if meta.get("targets") not in ("classes", "instances"):
            raise ValueError("model proxy_cnn learns from image classes: set data.targets: classes (or instances)")
        return cls.create(meta["num_classes"], **{k: v for k, v in dataclasses.asdict(cfg).items() if k != "name"})

    @staticmethod
    def example_inputs(meta, batch=1):
        return [mx.nd.zeros([batch] + list(meta["image_shape"]))]

    def hybrid_forward(self, F, images):
        return self.proxies(self.tower(images))                           # (n, classes)
