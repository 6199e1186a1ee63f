"""Towers: ids -> vectors."""
import mxnet as mx
from mxnet.gluon import HybridBlock, nn


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
        self.num_embeddings = num_embeddings
        self.out_dim = hidden[-1] if hidden else dim
        with self.name_scope():
            self.embedding = nn.Embedding(num_embeddings, dim, sparse_grad=sparse_grad,
                                          weight_initializer=mx.init.Normal(init_scale) if init_scale else "zeros")
            self.layers = nn.HybridSequential()
            for i, width in enumerate(hidden):
                if dropout:
                    self.layers.add(nn.Dropout(dropout))
                last = i == len(hidden) - 1
                self.layers.add(nn.Dense(width, activation=None if last else activation, flatten=False))
            if dropout and not hidden:
                self.layers.add(nn.Dropout(dropout))

    def hybrid_forward(self, F, ids):
        return self.layers(self.embedding(ids))  # (batch, out_dim)
