"""Small graph helpers shared by the blocks."""


def row_sum(F, x):
    """``sum(x, axis=-1)`` for ``x`` of shape ``(batch, dim)``, as a product with a column of ones.

    The product runs through oneDNN's ``FullyConnected``; the MXNet 1.9 CPU wheel's ``sum`` reduction is not
    vectorised (profiled in zoo/ops/README.md).
    Output: ``(batch,)``.
    """
    ones = F.ones_like(F.slice_axis(x, axis=0, begin=0, end=1))             # (1, dim)
    return F.reshape(F.FullyConnected(x, ones, num_hidden=1, no_bias=True, flatten=False), shape=(-1,))
