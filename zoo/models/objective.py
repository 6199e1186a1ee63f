"""A model's training objective as one block, computed from the model's own forward."""
from mxnet.gluon import HybridBlock


class Objective(HybridBlock):
    """Per-example training loss of ``model``: ``model.loss_fn(model(*inputs), *targets)``, plus
    ``model.regularization(*inputs)`` when that is not None.

    A batch is a tuple, inputs first, targets last; ``model.num_targets`` says how many trailing entries are
    targets (1 for a rating or a pair's similarity, 0 for skip-gram, whose negatives are inputs). Because the
    prediction is ``model(...)``, a subclass that overrides ``hybrid_forward`` trains on its override; hybridized,
    the objective is one graph (MXNet merges the lookups that the forward and the penalty share).

    This is the reference path: a fused C++ kernel replaces it only where :mod:`zoo.fastpath` shows that the
    kernel computes the same objective.

    Inputs: the batch's arrays. Output: ``(examples,)``.
    """

    def __init__(self, model, loss_fn=None, **kwargs):
        super().__init__(prefix=kwargs.pop("prefix", "objective_"), **kwargs)
        self.model = model
        # another block computing model.loss_fn's function (a fused kernel that zoo.fastpath has matched to it)
        self.loss_fn = loss_fn

    def hybrid_forward(self, F, *batch):
        split = len(batch) - self.model.num_targets
        inputs, targets = batch[:split], batch[split:]
        loss = (self.loss_fn or self.model.loss_fn)(self.model(*inputs), *targets)
        penalty = self.model.regularization(*inputs)
        return loss if penalty is None else loss + penalty
