"""The one place that decides where zoo's fused C++ kernels replace a composite computation.

A run's training objective is :class:`~zoo.models.Objective` (``loss_fn(model(*inputs), *targets) +
regularization``) unless a recipe here proves that a fused kernel computes exactly that objective for this model
on these devices: the model's class does not override the methods that define the objective, its parts are the
standard blocks of exact type, the tables are bare embeddings, every device is a CPU, and the kernels loaded.
(A kernel that replaces only the loss, such as the multinomial one, keeps the model's own forward, so only the
loss block must match.)
:func:`select_objective` logs once which path a run takes and why. The same goes for the optimizer
(:func:`make_optimizer`) and for the training step (:func:`select_step`): SGD applied one example at a time
(``optim.per_example``) runs as a fused training kernel where one applies, else as one step on the batch's summed
gradient. Models and blocks never choose a fused kernel (the one operator a block calls is the towers'
initializer's sampler, :class:`zoo.blocks.init.ZooNormal`); tests compare every fused path with the composite one
on the same batch.
"""
import logging

import mxnet as mx
import numpy as np
from mxnet.gluon import Block, HybridBlock, nn

from . import ops
from .blocks import (CandidateScorer, DotScorer, EmbeddingBag, EmbeddingPenalty, EmbeddingTower, MultinomialLoss,
                     NegativeSamplingLoss, PairwiseCandidateScorer, SquaredLoss, hybridize_dense)
from .config import ConfigError
from .models import ImplicitUserTower, MatrixFactorization, Objective, RankingMF, SVDpp, SkipGram
from .ops.optimizers import FusedAdam, FusedSGD, RowwiseAdaGrad
from .train.loop import GradientStep, Step, to_ndarray

log = logging.getLogger(__name__)


def bare_tables(*towers):
    """None when every tower is a bare :class:`EmbeddingTower` (a plain ``nn.Embedding``: no dense layers, no
    dropout, not swapped for a row_sparse table) and all share one ``sparse_grad``; else the reason they are not."""
    for t in towers:
        if type(t) is not EmbeddingTower:
            return "%s is %s, not a bare EmbeddingTower" % (t.name, type(t).__name__)
        if len(t.layers):
            return "%s has dense layers or dropout" % t.name
        if type(t.embedding) is not nn.Embedding:
            return "%s's table is %s" % (t.name, type(t.embedding).__name__)
    if len({t.sparse_grad for t in towers}) != 1:
        return "the towers differ in sparse_grad"
    return None


def _overridden(model, base, names):
    """The first of ``names`` that ``type(model)`` defines differently from ``base``, or None."""
    return next((n for n in names if getattr(type(model), n) is not getattr(base, n)), None)


def _dropout(model):
    """The name of a Dropout block inside ``model``, or None. The composite objective recomputes the towers for
    the penalty, under another dropout mask than the prediction's; a fused kernel would share one."""
    stack = [model]
    while stack:
        block = stack.pop()
        if isinstance(block, nn.Dropout):
            return "%s is dropout (the penalty's towers draw their own mask)" % block.name
        stack.extend(block._children.values())
    return None


def _exact(part, cls, what):
    return None if type(part) is cls else "%s is %s, not %s" % (what, type(part).__name__, cls.__name__)


# ------------------------------------------------------------------------------------------------ recipes
class FusedMF(Block):
    """Biased MF's objective by zoo's kernels: from the tables (``zoo_mf_loss``) when the four towers are bare
    embeddings, else from the towers' outputs (``zoo_rating_loss``). Equal to ``Objective(model)`` for a model
    that :func:`mf_reason` accepts. A plain ``Block``: it reads the tables' current arrays at each call.

    Inputs: ``users``, ``items`` ``(batch,)``, extra user-tower inputs, ``ratings`` ``(batch,)``.
    Output: ``(batch,)``."""

    def __init__(self, model, from_tables):
        super().__init__(prefix="fused_mf_")
        from .ops.fused import FusedRatingLoss, FusedTableLoss
        self.model = model
        strength = model.penalty.strength if model.penalty is not None else 0.0
        with self.name_scope():
            self.kernel = (FusedTableLoss(strength, model.user_tower.sparse_grad) if from_tables
                           else FusedRatingLoss(strength))
        self.from_tables = from_tables

    def forward(self, users, items, *rest):
        *user_inputs, ratings = rest
        m, ctx = self.model, users.context
        offset = m.scorer.offset.data(ctx)
        if self.from_tables:
            tables = [t.embedding.weight.data(ctx) for t in (m.user_tower, m.item_tower, m.user_bias, m.item_bias)]
            return self.kernel(users.astype("int32", copy=False), items.astype("int32", copy=False), *tables,
                               offset, ratings)
        u, v = m.user_tower(users, *user_inputs), m.item_tower(items)  # (batch, dim) each
        return self.kernel(u, v, *m.biases(users, items), offset, ratings)


def mf_reason(model):
    """None when :class:`FusedMF` computes ``model``'s objective, else why not."""
    overridden = _overridden(model, MatrixFactorization, ("hybrid_forward", "regularization", "biases", "forward"))
    return (overridden and "%s overrides %s" % (type(model).__name__, overridden)
            or _exact(model.scorer, DotScorer, "scorer")
            or (None if hasattr(model.scorer, "offset") else "the scorer has no offset")
            or (None if model.user_bias is not None and model.item_bias is not None else "a bias is missing")
            or _exact(model.loss_fn, SquaredLoss, "loss_fn")
            or (None if model.loss_fn._weight is None else "loss_fn has a weight")
            or (None if model.penalty is None else _exact(model.penalty, EmbeddingPenalty, "penalty")
                or _dropout(model)))


def build_mf(model):
    return FusedMF(model, bare_tables(model.user_tower, model.item_tower, model.user_bias, model.item_bias) is None)


class FusedSkipGram(Block):
    """Skip-gram's objective straight from the two tables (``zoo_sgns_loss``), each pair's own negatives
    ``(batch, K)`` or the batch's shared ones ``(K,)``. Equal to ``Objective(model)`` for a model that
    :func:`skipgram_reason` accepts.

    Inputs: ``center``, ``context`` ``(batch,)``, ``negatives``. Output: ``(batch,)``."""

    def __init__(self, model):
        super().__init__(prefix="fused_skipgram_")
        from .ops.fused import FusedSkipGramLoss
        self.model = model
        with self.name_scope():
            self.kernel = FusedSkipGramLoss(model.loss_fn.negative_weight, model.center_tower.sparse_grad)

    def forward(self, center, context, negatives):
        m, ctx = self.model, center.context
        ids = [x.astype("int32", copy=False) for x in (center, context, negatives)]
        return self.kernel(*ids, m.center_tower.embedding.weight.data(ctx), m.context_tower.embedding.weight.data(ctx))


def skipgram_reason(model):
    """None when :class:`FusedSkipGram` computes ``model``'s objective, else why not."""
    names = ("hybrid_forward", "regularization", "forward")
    overridden = _overridden(model, SkipGram, names)
    return (overridden and "%s overrides %s" % (type(model).__name__, overridden)
            or _exact(model.scorer, DotScorer, "scorer")
            or (None if not hasattr(model.scorer, "offset") else "the scorer has an offset")
            or (None if type(model.negative_scorer) in (CandidateScorer, PairwiseCandidateScorer)
                else "negative_scorer is %s" % type(model.negative_scorer).__name__)
            or _exact(model.loss_fn, NegativeSamplingLoss, "loss_fn")
            or (None if model.loss_fn._weight is None else "loss_fn has a weight")
            or bare_tables(model.center_tower, model.context_tower))


def multinomial_reason(model):
    """None when the model's loss is exactly :class:`MultinomialLoss` (no weight), which
    :class:`~zoo.ops.fused.FusedMultinomialLoss` computes; the forward stays the model's own, overrides
    included, so nothing else needs to match."""
    return _exact(model.loss_fn, MultinomialLoss, "loss_fn") or (
        None if model.loss_fn._weight is None else "loss_fn has a weight")


def build_multinomial(model):
    """The composite objective with the loss computed by ``zoo_multinomial_loss``."""
    from .ops.fused import FusedMultinomialLoss
    return Objective(model, loss_fn=FusedMultinomialLoss())


# (model class, name, reason(model) -> None or why not, build(model) -> Block)
RECIPES = [(MatrixFactorization, "rating", mf_reason, build_mf),
           (SkipGram, "skip-gram", skipgram_reason, FusedSkipGram),
           (RankingMF, "multinomial", multinomial_reason, build_multinomial)]


def _kernel_reason(devices, recipe_reason):
    """Why a fused kernel cannot run: a device that is not a CPU, then ``recipe_reason()`` (what the recipe
    refuses), then operators that did not load; None when it can."""
    return ((None if all(d.device_type == "cpu" for d in devices) else "a device is not a CPU") or recipe_reason()
            or (None if ops.load() else "zoo's C++ operators are not available"))


def fused_objective(model, devices):
    """``(block, reason)``: the fused block that computes ``model``'s objective on ``devices`` and None, or None
    and why no fused kernel applies."""
    for cls, name, reason_of, build in RECIPES:
        if isinstance(model, cls):
            reason = _kernel_reason(devices, lambda: reason_of(model))
            if reason:
                return None, "fused %s kernel not used: %s" % (name, reason)
            block = build(model)
            return block, "fused %s kernel (%s)" % (name, type(block).__name__)
    return None, "no fused kernel for %s" % type(model).__name__


def select_objective(model, devices, hybridize=True):
    """The block that computes ``model``'s per-example training loss on ``devices``: a fused kernel where one
    computes exactly :class:`~zoo.models.Objective`'s result, else the composite ``Objective(model)``
    (hybridized, as one graph, when ``hybridize``). Logs once which and why."""
    block, why = fused_objective(model, devices)
    if block is not None:
        log.info("training objective: %s", why)
        if hybridize and isinstance(block, HybridBlock):  # the composite objective around a fused loss
            hybridize_dense(block, static_alloc=True)
        return block
    log.info("training objective: composite Objective(%s); %s", type(model).__name__, why)
    objective = Objective(model)
    if hybridize:
        hybridize_dense(objective, static_alloc=True)  # one graph, unless a table is row_sparse (parameter servers)
    return objective


# ------------------------------------------------------------------------------------------- training step
class FusedSkipGramSGD(Step):
    """Plain SGD on skip-gram's objective, one pair at a time, in place in the two tables
    (:func:`zoo.ops.fused.sgns_sgd`): for each pair of the batch in order, the step that
    ``GradientStep(Objective(model))`` with ``trainer``'s SGD makes on a batch of that pair alone (the tests compare
    the two), for a model that :func:`skipgram_reason` accepts. The learning rate is the optimizer's, its schedule
    advancing one update a step; ``clip_gradient`` bounds each pair's gradient.

    The pairs come in the text's order, not shuffled (``shuffle = False``), as word2vec.c and gensim take them:
    one pair at a time, that order gives better vectors (``tools/BENCHMARKS.md``), while one step on the summed
    gradient of many pairs needs them shuffled.

    Several CPU devices: the parts are trained in order on the first device's tables, which are then copied to
    the others. CPU devices share the cores that the kernel's threads already use all of, and so the result is
    one device's."""

    shuffle = False

    def __init__(self, model, devices):
        self.model, self.devices = model, list(devices)
        self.tables = [model.center_tower.embedding.weight, model.context_tower.embedding.weight]
        self.negative_weight = model.loss_fn.negative_weight

    def __call__(self, parts, trainer):
        from .ops.fused import sgns_sgd
        optimizer = trainer.optimizer  # asked each step: loading a checkpoint replaces it
        index = [trainer._param2idx[p.name] for p in self.tables]
        optimizer._update_count(index)  # the schedule's clock, as trainer.step would move it
        lr = optimizer._get_lr(index[0])
        clip = -1.0 if optimizer.clip_gradient is None else optimizer.clip_gradient
        first = [p.data(self.devices[0]) for p in self.tables]
        losses = [sgns_sgd(*(x.astype("int32", copy=False) for x in part), *first, lr=lr,
                           negative_weight=self.negative_weight, clip_gradient=clip) for part in parts]
        for ctx in self.devices[1:]:
            for p, table in zip(self.tables, first):
                table.copyto(p.data(ctx))
        return losses


def _plain_sgd(optimizer):
    return ((None if type(optimizer) in (mx.optimizer.SGD, FusedSGD) else
             "the optimizer is %s, not SGD" % type(optimizer).__name__)
            or (None if not optimizer.momentum else "SGD has momentum")
            or (None if not optimizer.wd else "SGD has weight decay"))


def skipgram_sgd_reason(model, optimizer):
    """None when :class:`FusedSkipGramSGD` applies ``optimizer`` to ``model``'s objective, else why not."""
    tables = (model.center_tower, model.context_tower)
    return (skipgram_reason(model) or _plain_sgd(optimizer)
            or next(("%s has lr_mult %g" % (t.embedding.weight.name, t.embedding.weight.lr_mult)
                     for t in tables if t.embedding.weight.lr_mult != 1), None))


class FusedMFAdamSteps(GradientStep):
    """Biased MF's training steps with zoo's Adam, several in one C++ call (``zoo_mf_adam_steps``): for each batch
    in order, what ``GradientStep(FusedMF)`` and ``trainer.step`` make on it (the tests compare the two), for a
    model and optimizer that :func:`mf_adam_steps_reason` accepts. One batch alone (``__call__``) is that
    ``GradientStep``; :meth:`run_steps` takes several (``train.steps_per_call``), without a trip through Python,
    the engine and autograd for each: on small data sets nearly all of a step's time."""

    def __init__(self, model, objective):
        super().__init__(objective)
        m = model
        self.params = [m.user_tower.embedding.weight, m.item_tower.embedding.weight, m.user_bias.embedding.weight,
                       m.item_bias.embedding.weight, m.scorer.offset]
        self.reg = m.penalty.strength if m.penalty is not None else 0.0

    def run_steps(self, items, trainer):
        """Train on ``items``, each a list of one batch ``(users, items, ratings)`` of numpy arrays, one step each.
        Returns the per-example losses of all of them, ``(examples,)``; None (nothing done) when the batches are
        not of one size but the last, which a single call cannot cut."""
        sizes = [len(item[0][-1]) for item in items]
        if any(n != sizes[0] for n in sizes[:-1]) or sizes[-1] > sizes[0]:
            return None
        from .ops.fused import mf_adam_steps
        optimizer = trainer.optimizer  # asked each call: loading a checkpoint replaces it
        updater, ctx = trainer._updaters[0], trainer._contexts[0]
        index = [trainer._param2idx[p.name] for p in self.params]
        weights = [p.data(ctx) for p in self.params]
        for i, w in zip(index, weights):  # the moments, made as the updater makes them at a first step
            if i not in updater.states:
                updater.states[i] = optimizer.create_state_multi_precision(i, w)
                updater.states_synced[i] = True
        hyper = np.empty((len(items), 5, 2), np.float32)
        rescale = (trainer._scale / np.array(sizes, np.float64)).astype(np.float32)
        b1, b2 = optimizer.beta1, optimizer.beta2
        counts = np.array([optimizer._index_update_count.get(i, optimizer.begin_num_update) for i in index])
        if optimizer.lr_scheduler is None:  # constant rates: the steps differ only in Adam's bias correction
            t = counts[None, :] + np.arange(1, len(items) + 1)[:, None]                       # (steps, 5)
            hyper[:, :, 0] = np.array(optimizer._get_lrs(index)) * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            hyper[:, :, 1] = optimizer._get_wds(index)
            for i, count in zip(index, counts):  # the clock, as trainer.step would move it
                optimizer._index_update_count[i] = int(count) + len(items)
            optimizer.num_update = max(optimizer.num_update, int(counts.max()) + len(items))
        else:
            for s in range(len(items)):  # each step's rates, as trainer.step moves the clock and the schedule
                optimizer._update_count(index)
                t = np.array([optimizer._index_update_count[i] for i in index], np.float64)
                hyper[s, :, 0] = np.array(optimizer._get_lrs(index)) * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
                hyper[s, :, 1] = optimizer._get_wds(index)
        optimizer.rescale_grad = float(rescale[-1])
        columns = [np.concatenate([item[0][k] for item in items]) for k in range(3)]
        users, items_, ratings = (to_ndarray(c.astype(t, copy=False), ctx)
                                  for c, t in zip(columns, ("int32", "int32", "float32")))
        moments = [m for i in index for m in updater.states[i]]
        clip = -1.0 if optimizer.clip_gradient is None else optimizer.clip_gradient
        # to_ndarray, not mx.nd.array, which would wait for the steps already queued
        return mf_adam_steps(users, items_, ratings, to_ndarray(hyper, ctx), to_ndarray(rescale, ctx),
                             *weights, *moments, batch=sizes[0], reg=self.reg, beta1=optimizer.beta1,
                             beta2=optimizer.beta2, epsilon=optimizer.epsilon, clip_gradient=clip)


def mf_adam_steps_reason(model, optimizer, devices):
    """None when :class:`FusedMFAdamSteps` makes ``optimizer``'s steps on ``model``'s objective on ``devices``,
    else why not."""
    if not isinstance(model, MatrixFactorization):
        return "no multi-step kernel for %s" % type(model).__name__
    trained = [p.name for p in model.collect_params().values() if p.grad_req != "null"]
    return (mf_reason(model)
            or bare_tables(model.user_tower, model.item_tower, model.user_bias, model.item_bias)
            or (None if len(trained) == 5 else "the trained parameters are not the four tables and the offset: %s"
                % ", ".join(trained))
            or (None if model.user_tower.sparse_grad else "the tables have dense gradients (sparse_grad=false)")
            or (None if type(optimizer) is FusedAdam else "the optimizer is %s, not zoo's Adam"
                % type(optimizer).__name__)
            or (None if optimizer.lazy_update else "Adam's lazy_update is off")
            or (None if len(devices) == 1 else "%d devices" % len(devices)))


class FusedSVDppSGDSteps(GradientStep):
    """SVD++'s training steps with plain SGD on each batch's summed gradient (``optim.per_example``), several in one
    C++ call (``zoo_svdpp_sgd_steps``): for each batch in order, what ``GradientStep(Objective(model),
    sum_gradients=True)`` and ``trainer.step`` with SGD make on it (the tests compare the two), for a model and
    optimizer that :func:`svdpp_sgd_steps_reason` accepts. One batch alone (``__call__``) is that ``GradientStep``;
    :meth:`run_steps` takes several (``train.steps_per_call``). The batches' rows of rated items go to the kernel as
    the data made them (each batch's distinct users' rows and each example's row among them)."""

    def __init__(self, model, objective):
        super().__init__(objective, sum_gradients=True)
        m = model
        self.params = [m.user_tower.user_tower.embedding.weight, m.item_tower.embedding.weight,
                       m.user_bias.embedding.weight, m.item_bias.embedding.weight, m.scorer.offset,
                       m.user_tower.bag.weight]
        self.reg = m.penalty.strength if m.penalty is not None else 0.0

    def run_steps(self, items, trainer):
        """Train on ``items``, each a list of one batch ``(users, items, rated, ratings)`` (``rated`` a
        :class:`~zoo.rows.SharedRows`), one step each. Returns the per-example losses of all of them,
        ``(examples,)``; None (nothing done) when the batches are not of one size but the last, which a single
        call cannot cut, or their rows have more entries than int32 indexes."""
        batches = [item[0] for item in items]
        sizes = [len(b[-1]) for b in batches]
        if any(n != sizes[0] for n in sizes[:-1]) or sizes[-1] > sizes[0]:
            return None
        rows = [b[2].unique for b in batches]
        counts = np.array([len(r) for r in rows])
        entries = np.array([len(r.indices) for r in rows])
        if entries.sum() >= 2 ** 31:
            return None
        from .ops.fused import svdpp_sgd_steps
        optimizer = trainer.optimizer  # asked each call: loading a checkpoint replaces it
        ctx = trainer._contexts[0]
        index = [trainer._param2idx[p.name] for p in self.params]
        lr = np.empty((len(items), 6), np.float32)
        for s in range(len(items)):  # each step's rates, as trainer.step moves the clock and the schedule
            optimizer._update_count(index)
            lr[s] = optimizer._get_lrs(index)
        optimizer.rescale_grad = trainer._scale  # trainer.step(1): the summed gradient
        row_start = np.concatenate([[0], np.cumsum(counts)])
        entry_start = np.concatenate([[0], np.cumsum(entries)])

        def joined(parts, dtype):  # the call's arrays, made here and handed over whole: no copy on the way in
            return _handed_over(np.concatenate(parts, dtype=dtype, casting="same_kind"), ctx)
        arrays = [joined([b[k] for b in batches], t) for k, t in ((0, np.int32), (1, np.int32), (3, np.float32))]
        arrays += [joined([b[2].which + r0 for b, r0 in zip(batches, row_start)], np.int32),
                   _handed_over(row_start.astype(np.int32), ctx),
                   joined([r.indptr[:-1] + e for r, e in zip(rows, entry_start)] + [entry_start[-1:]], np.int32),
                   joined([r.indices for r in rows], np.int32), joined([r.values for r in rows], np.float32)]
        users, items_, ratings, which, row_start, indptr, indices, values = arrays
        weights = [p.data(ctx) for p in self.params]
        return svdpp_sgd_steps(users, items_, which, row_start, indptr, indices, values, ratings,
                               _handed_over(lr, ctx), *weights, batch=sizes[0], reg=self.reg,
                               rescale_grad=optimizer.rescale_grad)


def _handed_over(a, ctx):
    """An NDArray on ``ctx`` over the numpy array ``a``, which the caller made and lets go of (so no copy, unlike
    :func:`~zoo.train.loop.to_ndarray`, and no wait for the queued steps, unlike ``mx.nd.array``)."""
    out = mx.nd.from_numpy(np.ascontiguousarray(a), zero_copy=True)
    return out if out.context == ctx else out.as_in_context(ctx)


def svdpp_sgd_steps_reason(model, optimizer, devices):
    """None when :class:`FusedSVDppSGDSteps` makes ``optimizer``'s per-example steps on ``model``'s objective on
    ``devices``, else why not."""
    if not isinstance(model, SVDpp):
        return "no multi-step SGD kernel for %s" % type(model).__name__
    overridden = _overridden(model, SVDpp, ("hybrid_forward", "regularization", "biases", "forward"))
    trained = [p.name for p in model.collect_params().values() if p.grad_req != "null"]
    return ((overridden and "%s overrides %s" % (type(model).__name__, overridden))
            or mf_reason(model)
            or _exact(model.user_tower, ImplicitUserTower, "the user tower")
            or _exact(model.user_tower.bag, EmbeddingBag, "the rated items' bag")
            or bare_tables(model.user_tower.user_tower, model.item_tower, model.user_bias, model.item_bias)
            or (None if len(trained) == 6 else "the trained parameters are not the five tables and the offset: %s"
                % ", ".join(trained))
            or (None if model.item_tower.sparse_grad else "the tables have dense gradients (sparse_grad=false)")
            or _plain_sgd(optimizer)
            or (None if optimizer.clip_gradient is None else "SGD clips gradients")
            or (None if len(devices) == 1 else "%d devices" % len(devices)))


# multi-step kernels: (reason(model, optimizer, devices) -> None or why not, build(model, objective) -> Step, name,
# whether they make optim.per_example's steps)
MULTI_STEP_RECIPES = [(mf_adam_steps_reason, FusedMFAdamSteps, "the fused MF Adam kernel", False),
                      (svdpp_sgd_steps_reason, FusedSVDppSGDSteps, "the fused SVD++ SGD kernel", True)]


def multi_step(model, objective, devices, optimizer, per_example, on_servers):
    """``(step, reason)``: the step that makes several of ``objective``'s steps in one call and None, or None and
    why none applies."""
    if on_servers:
        return None, "parameter servers"
    reasons = []
    for reason_of, build, name, per_example_steps in MULTI_STEP_RECIPES:
        if per_example_steps != per_example:
            continue
        why = _kernel_reason(devices, lambda: reason_of(model, optimizer, devices))
        if why is None:
            return build(model, objective), "%s (%s)" % (name, build.__name__)
        reasons.append(why)
    return None, "; ".join(reasons)


# (model class, name, reason(model, optimizer) -> None or why not, build(model, devices) -> Step)
STEP_RECIPES = [(SkipGram, "skip-gram SGD", skipgram_sgd_reason, FusedSkipGramSGD)]


def fused_step(model, devices, optimizer):
    """``(step, reason)``: the fused training step that applies ``optimizer`` to ``model``'s objective one example
    at a time on ``devices`` and None, or None and why none applies."""
    for cls, name, reason_of, build in STEP_RECIPES:
        if isinstance(model, cls):
            reason = _kernel_reason(devices, lambda: reason_of(model, optimizer))
            if reason:
                return None, "fused per-example %s kernel not used: %s" % (name, reason)
            step = build(model, devices)
            return step, "fused per-example %s kernel (%s, examples %s)" % (
                name, build.__name__, "shuffled" if step.shuffle else "in the data's order")
    return None, "no per-example kernel for %s" % type(model).__name__


def select_step(model, devices, optimizer, per_example=False, hybridize=True, on_servers=False, steps_per_call=1):
    """The loop's training step for ``model`` on ``devices`` with ``optimizer``: without ``per_example``,
    :class:`~zoo.train.loop.GradientStep` on :func:`select_objective`'s objective (one step on the batch's mean
    gradient). With ``per_example`` (plain SGD applied to one example at a time, at rate lr), a fused step where
    one applies, else one step on the batch's summed gradient, SGD's per-example steps taken together (the same to
    first order; a ``clip_gradient`` then bounds the sum). With ``steps_per_call`` > 1, where a kernel makes
    several of those batch steps in one call (:class:`FusedMFAdamSteps`, :class:`FusedSVDppSGDSteps`), that step
    (the loop hands it that many batches at once; elsewhere it runs them one at a time, the same steps). Logs
    which and why. ``per_example`` is refused ``on_servers``, whose optimizers get the workers' mean gradient."""
    if per_example and on_servers:
        raise ConfigError("optim.per_example: not with parameter servers (train.kvstore=dist_*), which apply the "
                          "workers' mean gradient: set optim.per_example=false and optim.lr to the rate a batch "
                          "(a pair's rate times train.batch_size)", key="optim.per_example")
    summed = "SGD on the batch's summed gradient (optim.per_example)"
    if per_example:
        step, why = fused_step(model, devices, optimizer)
        if step is not None:
            log.info("training step: %s", why)
            return step
        log.info("training step: %s; %s", summed, why)
    objective = select_objective(model, devices, hybridize)
    if steps_per_call > 1:
        step, why = multi_step(model, objective, devices, optimizer, per_example, on_servers)
        if step is not None:
            log.info("training step: %d steps a call by %s%s", steps_per_call, why,
                     ", each " + summed if per_example else "")
            return step
        log.info("training step: one step at a time (train.steps_per_call=%d: no multi-step kernel: %s)",
                 steps_per_call, why)
    return GradientStep(objective, sum_gradients=per_example)


# ---------------------------------------------------------------------------------------------- optimizer
FUSED_OPTIMIZERS = ("adam", "sgd", "rowwise_adagrad")


def make_optimizer(name, params, on_servers=False):
    """An ``mx.optimizer.Optimizer`` named ``name`` (any MXNet optimizer) with ``params`` (``learning_rate``,
    ``wd``, ``lr_scheduler``, ...), or zoo's ``rowwise_adagrad`` (:class:`~zoo.ops.optimizers.RowwiseAdaGrad`).
    ``adam`` and ``sgd`` are :class:`~zoo.ops.optimizers.FusedAdam` and :class:`~zoo.ops.optimizers.FusedSGD`
    when zoo's C++ operators load: the same arithmetic, with lazy row updates in C++ (they hand anything else,
    e.g. a GPU array, to MXNet's update). Not ``on_servers``: the parameter servers run MXNet's own optimizers. An
    unknown name lists the choices."""
    known = sorted(n for n in mx.optimizer.Optimizer.opt_registry if n != "test")  # "test" is MXNet's own
    if name.lower() not in known:
        raise ConfigError("optim.name: unknown optimizer %r; choose one of: %s" % (name, ", ".join(known)))
    name = name.lower()
    if name == "rowwise_adagrad" and params.get("wd"):
        raise ConfigError("optim.wd: rowwise_adagrad has no weight decay; regularize with the model's penalty "
                          "(model.reg) or choose another optimizer", key="optim.wd")
    if name in FUSED_OPTIMIZERS and not on_servers and ops.load():
        cls = {"adam": FusedAdam, "sgd": FusedSGD, "rowwise_adagrad": RowwiseAdaGrad}[name]
        log.info("optimizer: %s (row_sparse updates by zoo's C++ kernels)", cls.__name__)
        return cls(**params)
    if name in FUSED_OPTIMIZERS:
        log.info("optimizer: %s with MXNet's own updates (%s)", name, "on the parameter servers" if on_servers
                 else "zoo's C++ operators are not available")
    return mx.optimizer.create(name, **params)
