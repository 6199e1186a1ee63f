"""Embedding tables that live on MXNet's parameter servers.

On a ``dist_*`` kvstore an ``nn.Embedding(sparse_grad=True)`` crashes the servers (its dense weight meets a
row_sparse gradient: apache/mxnet#19949). The working recipe is a weight whose storage is itself row_sparse: each
worker pulls only the rows a batch uses (``row_sparse_pull``), and the table is split by rows across the servers.
Such a weight cannot sit inside a hybridized graph (a cached graph reads whole parameters), so the blocks around it
are hybridized one level down (:func:`hybridize_dense`).
"""
import mxnet as mx
from mxnet.gluon import HybridBlock, nn


class RowSparseEmbedding(nn.Embedding):
    """``nn.Embedding`` whose table is stored row_sparse, fetched row by row from the kvstore of the
    ``gluon.Trainer`` that owns it (needs a trainer; used for parameter-server training). A subclass of
    ``nn.Embedding`` so that it can take an embedding's place in a model (Gluon refuses other types).

    Input: ``ids`` ``(batch,)`` or ``(batch, K)``, an NDArray. Output: ``ids.shape + (output_dim,)``.
    """

    def __init__(self, input_dim, output_dim, dtype="float32", weight_initializer=None, **kwargs):
        HybridBlock.__init__(self, **kwargs)  # not nn.Embedding's: it would make a dense weight of the same name
        self._kwargs = {"input_dim": input_dim, "output_dim": output_dim, "dtype": dtype, "sparse_grad": True}
        self.weight = self.params.get("weight", shape=(input_dim, output_dim), init=weight_initializer,
                                      dtype=dtype, stype="row_sparse", grad_stype="row_sparse")

    def forward(self, ids):
        if not isinstance(ids, mx.nd.NDArray):
            raise TypeError("%s has a row_sparse table and cannot be part of a hybridized graph; hybridize the "
                            "model with zoo.blocks.hybridize_dense" % self.name)
        return mx.nd.Embedding(ids, self.weight.row_sparse_data(ids), **self._kwargs)


def row_sparse_tables(model):
    """Replace, in place, every ``nn.Embedding(sparse_grad=True)`` held as an attribute inside ``model`` by a
    :class:`RowSparseEmbedding` of the same size, initializer and parameter names. Call before ``initialize``.
    Returns the number of tables replaced."""
    replaced = 0
    for child_name, child in list(model._children.items()):
        if isinstance(child, nn.Embedding) and child._kwargs.get("sparse_grad"):
            kw = child._kwargs
            setattr(model, child_name, RowSparseEmbedding(kw["input_dim"], kw["output_dim"], kw["dtype"],
                                                          child.weight.init, prefix=child.prefix))
            replaced += 1
        else:
            replaced += row_sparse_tables(child)
    return replaced


def has_row_sparse(block):
    return any(p._stype == "row_sparse" for p in block.collect_params().values())


def hybridize_dense(block, **kwargs):
    """``block.hybridize(**kwargs)`` for every sub-block that holds no row_sparse table; the blocks above such a
    table run imperatively (they only route arrays: the arithmetic lives in the hybridized leaves)."""
    if not has_row_sparse(block):
        block.hybridize(**kwargs)
        return
    for child in block._children.values():
        hybridize_dense(child, **kwargs)


def dense_table(param):
    """The whole of an embedding table as a dense NDArray; a row_sparse one is pulled from the kvstore first."""
    if param._stype == "row_sparse":
        ctx = param.list_ctx()[0]
        return param.row_sparse_data(mx.nd.arange(param.shape[0], ctx=ctx)).tostype("default")
    return param.data()
