"""Learning-rate schedules, as MXNet ``lr_scheduler`` objects that the optimizer calls with its update count:
the same object serves one process and the parameter servers (which unpickle it without importing zoo), and it
is saved and restored with the optimizer state, so a resumed run continues the schedule."""
import mxnet as mx

SCHEDULES = ("constant", "step", "cosine", "linear")


def lr_scheduler(schedule, lr, epochs, updates_per_epoch, gamma=0.5, step_epochs=10, warmup_epochs=0, min_lr=0.0):
    """``constant``; ``step`` (times ``gamma`` every ``step_epochs``); ``cosine`` (to ``min_lr`` at ``epochs``);
    ``linear`` (to ``min_lr`` at ``epochs``, as word2vec decays it); each after ``warmup_epochs`` of linear
    warm-up from 0, all counted in updates (``updates_per_epoch`` a epoch). None for a constant rate without
    warm-up."""
    if schedule not in SCHEDULES:
        raise ValueError("optim.schedule=%r: choose one of %s" % (schedule, ", ".join(SCHEDULES)))
    total, warmup = max(int(epochs * updates_per_epoch), 1), int(warmup_epochs * updates_per_epoch)
    common = dict(base_lr=lr, warmup_steps=warmup, warmup_begin_lr=0.0)
    if schedule == "constant":
        return None if not warmup else mx.lr_scheduler.PolyScheduler(total, pwr=0, **common)
    if schedule == "step":
        return mx.lr_scheduler.FactorScheduler(max(int(step_epochs * updates_per_epoch), 1), gamma, **common)
    if schedule == "cosine":
        return mx.lr_scheduler.CosineScheduler(total, final_lr=min_lr, **common)
    return mx.lr_scheduler.PolyScheduler(total, pwr=1, final_lr=min_lr, **common)  # linear
