"""Towers: ids -> vectors."""
import mxnet as mx
from mxnet.gluon import HybridBlock, nn

from .init import ZooNormal
from .rowsum import row_sum


class EmbeddingTower(HybridBlock):
    """An embedding table, optionally followed by dense layers.

    Parameters
    ----------
    num_embeddings : int
        Rows of the table (number of distinct ids).
    dim : int
        Width of the embedding.
    hidden : sequence of int
        Widths of dense layers after the embedding; ``(500,)`` gives the classic ``Embedding -> FullyConnected``
        tower. The activation goes between dense layers, not after the last, so the output can take any sign.
    activation : str
        Activation between dense layers (any ``nn.Activation`` name).
    dropout : float
        Dropout rate before each dense layer (and on the output when there are none).
    sparse_grad : bool
        Row-sparse gradient for the table, so an optimizer step touches only the rows of the batch: on a large
        table a dense gradient makes every step cost the whole table.
    init_scale : float
        Standard deviation of the normal initialisation of the table; 0 starts it at zero (e.g. for biases).

    Inputs: ``ids`` of shape ``(batch,)`` (any numeric dtype; values in ``[0, num_embeddings)``).
    Output: ``(batch, out_dim)`` with ``out_dim = hidden[-1]`` if ``hidden`` else ``dim``.
    """

    def __init__(self, num_embeddings, dim, hidden=(), activation="relu", dropout=0.0, sparse_grad=True,
                 init_scale=0.1, **kwargs):
        super().__init__(**kwargs)
        self.num_embeddings, self.sparse_grad = num_embeddings, sparse_grad
        self.out_dim = hidden[-1] if hidden else dim
        with self.name_scope():
            self.embedding = nn.Embedding(num_embeddings, dim, sparse_grad=sparse_grad,
                                          weight_initializer=ZooNormal(init_scale) if init_scale else "zeros")
            self.layers = nn.HybridSequential()
            for i, width in enumerate(hidden):
                if dropout:
                    self.layers.add(nn.Dropout(dropout))
                last = i == len(hidden) - 1
                self.layers.add(nn.Dense(width, activation=None if last else activation, flatten=False))
            if dropout and not hidden:
                self.layers.add(nn.Dropout(dropout))

    def hybrid_forward(self, F, ids):
        x = self.embedding(ids)  # (batch, dim)
        # An empty HybridSequential, hybridized on its own (see zoo.blocks.hybridize_dense), fails in backward.
        return self.layers(x) if len(self.layers) else x  # (batch, out_dim)


class EmbeddingBag(HybridBlock):
    """A weighted sum of embedding rows per example (an "embedding bag"), e.g. of a user's liked items:
    ``out = rows @ table``, where ``rows[n, j]`` is the weight of id ``j`` in example ``n``. ``rows`` is made
    CSR (if it is not) before the product, which then costs its nonzeros, not ``batch x num_embeddings`` (a dense
    row times the table would), and the table's gradient is row_sparse: only the ids used are updated.

    Parameters
    ----------
    num_embeddings, dim, init_scale
        As :class:`EmbeddingTower`'s.

    Inputs: ``rows`` ``(batch, num_embeddings)`` float32, CSR or dense; or the distinct rows ``(n, num_embeddings)``
    and ``which`` ``(batch,)`` int32, example ``b``'s row being ``rows[which[b]]`` (examples that share a row,
    e.g. the ratings of one user, then cost it once: :class:`~zoo.rows.SharedRows`). Output: ``(batch, dim)``.
    """

    def __init__(self, num_embeddings, dim, init_scale=0.1, **kwargs):
        super().__init__(**kwargs)
        self.num_embeddings, self.dim = num_embeddings, dim
        with self.name_scope():
            self.weight = self.params.get("weight", shape=(num_embeddings, dim), grad_stype="row_sparse",
                                          init=ZooNormal(init_scale) if init_scale else "zeros")

    def hybrid_forward(self, F, rows, which=None, weight=None):
        bags = F.sparse.dot(F.cast_storage(rows, stype="csr"), weight)               # (n, dim)
        return bags if which is None else F.take(bags, which)                         # (batch, dim)


def l2_normalize(F, x, eps=1e-12):
    """Rows of ``x`` scaled to unit length, from elementary operators (``L2Normalization`` has no ONNX export)."""
    return F.broadcast_div(x, F.reshape(F.sqrt(row_sum(F, F.square(x)) + eps), shape=(-1, 1)))


class ConvTower(HybridBlock):
    """Images -> vectors: conv-batchnorm-relu stages that each halve the resolution, global average pooling (or
    the last feature map flattened), a projection to ``dim``, and optionally L2 normalisation (then dot products
    are cosines).

    Parameters
    ----------
    dim : int
        Size of the embedding.
    channels : sequence of int
        Output channels of each stage.
    convs_per_stage : int
        3x3 convolutions in each stage.
    downsample : str
        ``stride``: the stage's first convolution has stride 2 (about 4x cheaper on a CPU); ``pool``: 2x2 max
        pooling ends each stage.
    normalize : bool
        Scale each embedding to unit length.
    backbone : str
        Instead of the stages, the feature extractor of a ``gluon.model_zoo.vision`` network (e.g.
        ``resnet18_v1``), randomly initialised, for larger colour images.
    pooling : str
        ``avg``: global average pooling before the projection (where a feature is does not matter); ``flatten``:
        the last feature map projected as it is, so the embedding keeps the layout (a 6 is not a turned 9).

    Input: ``(batch, C, H, W)`` float32. Output: ``(batch, dim)``.
    """

    def __init__(self, dim=64, channels=(32, 64, 128), convs_per_stage=1, normalize=True, backbone="",
                 downsample="stride", pooling="avg", **kwargs):
        super().__init__(**kwargs)
        if downsample not in ("stride", "pool"):
            raise ValueError("downsample=%r: choose stride or pool" % downsample)
        if pooling not in ("avg", "flatten"):
            raise ValueError("pooling=%r: choose avg or flatten" % pooling)
        self.normalize = normalize
        with self.name_scope():
            if backbone:
                from mxnet.gluon.model_zoo import vision
                self.features = vision.get_model(backbone, pretrained=False).features
            else:
                self.features = nn.HybridSequential()
                for width in channels:
                    for i in range(convs_per_stage):
                        stride = 2 if downsample == "stride" and i == 0 else 1
                        self.features.add(nn.Conv2D(width, 3, strides=stride, padding=1, use_bias=False),
                                          nn.BatchNorm(), nn.Activation("relu"))
                    if downsample == "pool":
                        self.features.add(nn.MaxPool2D(2, ceil_mode=True))
                if pooling == "avg":
                    self.features.add(nn.GlobalAvgPool2D())
            self.projection = nn.Dense(dim)

    def hybrid_forward(self, F, images):
        x = self.projection(self.features(images))  # (batch, dim)
        return l2_normalize(F, x) if self.normalize else x
