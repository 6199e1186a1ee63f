"""Typed configuration: each YAML section maps to a dataclass, checked before any work starts.

A config file has these sections::

    model: {name: mf, ...}         # fields of the registered model's ``Config``
    data:  {name: movielens, ...}  # fields of the registered dataset's ``Config``
    eval:  {...}                   # optional: fields of that dataset's ``EvalConfig``, if it has one
    train: {...}                   # TrainConfig
    optim: {...}                   # OptimConfig

Unknown keys and wrong types fail with the full key path (``model.dim``) and the file. Command-line overrides are
``section.key=value`` with the value parsed as YAML.
"""
import dataclasses
import typing

import yaml

from .paths import atomic_write
from .plugins import import_plugin, resolve
from .registry import DATASETS, MODELS, RegistryError


class ConfigError(ValueError):
    """A config that cannot be used; the message names the file (or the override) and the key path ``key``."""

    def __init__(self, message, key=None):
        super().__init__(message)
        self.key = key


# Ranges: a config dataclass may list ``CHECKS = {field: check}``, each check a ``(predicate, description)``
# pair; a value that fails is refused before any work, naming the key and the allowed range. A dataclass may also
# have ``validate(self, path)`` for what spans fields; it raises ConfigError.
def at_least(low):
    return (lambda v: v >= low), ">= %s" % low


def above(low):
    return (lambda v: v > low and v == v and v != float("inf")), "> %s and finite" % low


def between(low, high, low_open=False, high_open=False):
    def ok(v):
        return (v > low if low_open else v >= low) and (v < high if high_open else v <= high)
    return ok, "in %s%s, %s%s" % ("(" if low_open else "[", low, high, ")" if high_open else "]")


def one_of(*choices):
    return (lambda v: v in choices), "one of: %s" % ", ".join(str(c) for c in choices)


def each(check):
    ok, description = check
    return (lambda values: all(ok(v) for v in values)), "a list of values each %s" % description


POSITIVE, NON_NEGATIVE = at_least(1), at_least(0)


@dataclasses.dataclass
class TrainConfig:
    CHECKS = {"epochs": POSITIVE, "batch_size": POSITIVE, "eval_batch_size": POSITIVE, "patience": NON_NEGATIVE,
              "log_every": POSITIVE, "prefetch": NON_NEGATIVE, "monitor_mode": one_of("min", "max"),
              "kvstore": one_of("device", "local", "dist_sync", "dist_async"), "eval_every": NON_NEGATIVE,
              "steps_per_call": POSITIVE, "checkpoint_seconds": at_least(0.0)}

    epochs: int = 10
    batch_size: int = 1024
    devices: str = "auto"          # auto (all GPUs, else CPU), cpu, gpu:0,1, cpu:0,1
    kvstore: str = "device"        # device or local (one process); dist_sync or dist_async (tools/launch.py)
    seed: int = 0
    eval_batch_size: int = 65536
    monitor: str = ""              # metric that picks the best checkpoint and drives early stopping, e.g.
                                   # valid.rmse; empty: the last epoch is the best
    monitor_mode: str = "min"      # min or max
    patience: int = 0              # epochs without improvement before stopping; 0 never stops early
    hybridize: bool = True
    progress: bool = True          # tqdm bar with loss and samples/s
    log_every: int = 50            # steps between loss read-outs (each one waits for the device)
    prefetch: int = 0              # batches a background thread prepares ahead (for GPUs; no gain on 2 CPU cores)
    eval_every: int = 1            # validation after every N epochs and after the last; 0: only the final
                                   # evaluation (runs without a monitor, e.g. word2vec, need no more)
    steps_per_call: int = 1        # batches one call of a multi-step kernel trains on, one step each (biased MF
                                   # with Adam, SVD++ with SGD per example, on one CPU); the same steps as 1,
                                   # without Python's cost for each
    checkpoint_seconds: float = 30.0  # last.npz (and best.npz) after an epoch once this long has passed since
                                   # they were last written (0: every epoch); always after the last epoch and when
                                   # Ctrl-C or SIGTERM stops the run

    def validate(self, path):
        if self.monitor and not self.eval_every:
            raise ConfigError("%s.eval_every=0 leaves %s.monitor=%s without values: validate every N >= 1 epochs, "
                              "or clear the monitor" % (path, path, self.monitor), key=path + ".eval_every")


@dataclasses.dataclass
class OptimConfig:
    CHECKS = {"lr": above(0), "wd": at_least(0.0), "min_lr": at_least(0.0), "gamma": above(0),
              "step_epochs": POSITIVE, "warmup_epochs": at_least(0.0), "schedule_epochs": NON_NEGATIVE,
              "schedule": one_of("constant", "step", "cosine", "linear")}

    name: str = "adam"
    lr: float = 0.01
    wd: float = 0.0                # weight decay over whole tables; embeddings are better regularised in the loss
    schedule: str = "constant"     # constant, step (lr * gamma every step_epochs), cosine, linear (to min_lr)
    min_lr: float = 0.0
    gamma: float = 0.5
    step_epochs: int = 10
    warmup_epochs: int = 0
    schedule_epochs: int = 0       # the epochs a cosine or linear schedule spans; 0: train.epochs (a refit that
                                   # stops at a search's best epoch keeps the schedule that epoch was reached on)
    # SGD applied to one example at a time at rate lr, in the batch's order (word2vec's rule), instead of one step
    # on the batch's mean gradient: a fused kernel where zoo.fastpath finds one, else one step on the batch's summed
    # gradient (the same to first order). Needs name sgd, no momentum, no weight decay.
    per_example: bool = False
    args: typing.Dict[str, typing.Any] = dataclasses.field(default_factory=dict)  # passed to the optimizer

    def validate(self, path):
        """``args`` must be arguments that the named optimizer takes; ``per_example`` needs plain SGD."""
        import inspect
        if self.per_example:
            bad = ((self.name.lower() != "sgd" and "%s.name is %s" % (path, self.name))
                   or (self.wd and "%s.wd is %g" % (path, self.wd))
                   or (self.args.get("momentum") and "%s.args.momentum is %g" % (path, self.args["momentum"])))
            if bad:
                raise ConfigError("%s.per_example applies plain SGD (name sgd, no momentum, no weight decay); %s"
                                  % (path, bad), key=path + ".per_example")
        import mxnet as mx
        cls = mx.optimizer.Optimizer.opt_registry.get(self.name.lower())
        if cls is None:
            raise ConfigError("%s.name: unknown optimizer %r; choose one of: %s" % (path, self.name, ", ".join(
                sorted(n for n in mx.optimizer.Optimizer.opt_registry if n != "test"))), key=path + ".name")
        known = {n for c in (cls, mx.optimizer.Optimizer) for n in inspect.signature(c.__init__).parameters}
        known -= {"self", "kwargs", "learning_rate", "wd", "lr_scheduler", "param_idx2name", "sym", "param_dict"}
        for key in self.args:
            if key not in known:
                raise ConfigError("%s.args.%s: %s takes no such argument; it takes: %s" % (
                    path, key, cls.__name__, ", ".join(sorted(known))), key="%s.args.%s" % (path, key))


@dataclasses.dataclass
class Config:
    model: typing.Any
    data: typing.Any
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    optim: OptimConfig = dataclasses.field(default_factory=OptimConfig)
    eval: typing.Any = None
    imports: typing.List[str] = dataclasses.field(default_factory=list)  # plugin files or modules (--import)

    def to_dict(self):
        out = dataclasses.asdict(self)
        if out["eval"] is None:
            del out["eval"]
        if not out["imports"]:
            del out["imports"]
        return out


_REGISTRIES = {"model": MODELS, "data": DATASETS}
_FIXED = {"train": TrainConfig, "optim": OptimConfig}


# libyaml's parser and emitter where PyYAML has them: the same values and text, some ten times faster
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _load_yaml(text):
    """``text`` parsed as YAML; a mistake is reported by the pure-Python parser, whose message shows the line."""
    try:
        return yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError:
        return yaml.safe_load(text)


def load_config(path, overrides=(), imports=()):
    """Read a YAML file, apply ``section.key=value`` overrides, add the plugin ``imports`` (files or modules that
    register models), and return a checked :class:`Config`."""
    try:
        with open(path, encoding="utf-8") as f:
            raw = _load_yaml(f.read())
    except OSError as err:
        raise ConfigError("cannot read config file %s: %s" % (path, err.strerror or err)) from None
    except UnicodeDecodeError as err:
        raise ConfigError("config file %s is not UTF-8 text (byte %d): save it as UTF-8" % (path, err.start)) from None
    except yaml.YAMLError as err:
        raise ConfigError("%s is not valid YAML: %s" % (path, err)) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError("%s: the top level must be a mapping of sections (model, data, train, optim)" % path)
    given = {apply_override(raw, item): item for item in overrides}
    if imports:
        for item in imports:
            try:
                import_plugin(item)
            except ImportError as err:
                raise ConfigError("--import %s: %s" % (item, err)) from None
        raw["imports"] = list(dict.fromkeys(list(raw.get("imports") or []) + [resolve(i) for i in imports]))
    try:
        return from_raw(raw, source=str(path))
    except ConfigError as err:  # a value that came from the command line: name the override, not the file
        item = next((item for key, item in given.items() if err.key and (
            err.key == key or err.key.startswith(key + ".") or err.key.startswith(key + "["))), None)
        if item is None:
            raise
        raise ConfigError(str(err).replace("%s: " % path, "override %r: " % item, 1), key=err.key) from None


def apply_override(raw, item):
    """Set ``section.key=value`` (value parsed as YAML) in a raw config dict."""
    key, sep, text = item.partition("=")
    parts = key.strip().split(".")
    if not sep or len(parts) < 2 or not all(p.isidentifier() for p in parts):
        raise ConfigError("bad override %r: write section.key=value, e.g. train.epochs=5" % item)
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError("bad override %r: the value is not YAML (%s)" % (item, err)) from None
    node = raw
    for depth, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError("bad override %r: %s is not a section" % (item, ".".join(parts[:depth + 1])))
        node = child
    node[parts[-1]] = value
    return ".".join(parts)


def from_raw(raw, source="<config>"):
    """Check a raw dict (as read from YAML) and turn it into a :class:`Config`."""
    for key in raw:
        if key not in _REGISTRIES and key not in _FIXED and key not in ("eval", "imports"):
            raise ConfigError("%s: unknown section %r; sections are: data, eval, imports, model, optim, train" % (
                source, key))
    imports = raw.get("imports") or []
    if not isinstance(imports, list) or not all(isinstance(i, str) for i in imports):
        raise ConfigError("%s: imports must be a list of Python files or modules" % source, key="imports")
    for item in imports:  # before the sections: a plugin registers the model the config names
        try:
            import_plugin(item)
        except ImportError as err:
            raise ConfigError("%s: imports: %s" % (source, err), key="imports") from None
    sections = {}
    for key, registry in _REGISTRIES.items():
        section = raw.get(key)
        if not isinstance(section, dict) or "name" not in section:
            raise ConfigError("%s: section %r needs a 'name' (one of: %s)" % (
                source, key, ", ".join(registry.list())))
        try:
            cls = registry.get(section["name"])
        except (RegistryError, TypeError) as err:
            raise ConfigError("%s: %s.name: %s" % (source, key, err)) from None
        sections[key] = build(cls.Config, section, key, source)
    for key, cls in _FIXED.items():
        sections[key] = build(cls, raw.get(key) or {}, key, source)
    eval_cls = getattr(DATASETS.get(sections["data"].name), "EvalConfig", None)
    if eval_cls is not None:
        sections["eval"] = build(eval_cls, raw.get("eval") or {}, "eval", source)
    elif raw.get("eval"):
        raise ConfigError("%s: dataset %r takes no eval section" % (source, sections["data"].name))
    return Config(**sections, imports=list(imports))


def build(cls, values, path, source="<config>"):
    """Make dataclass ``cls`` from a dict, checking every key and type; errors name ``path.key``."""
    if not isinstance(values, dict):
        raise ConfigError("%s: %s must be a mapping, got %s" % (source, path, type(values).__name__))
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    for key in values:
        if key not in fields:
            raise ConfigError("%s: unknown key %s.%s; valid keys: %s" % (
                source, path, key, ", ".join(sorted(fields))), key="%s.%s" % (path, key))
    kwargs = {k: _check(hints[k], v, "%s.%s" % (path, k), source) for k, v in values.items()}
    obj = cls(**kwargs)
    for key, (ok, description) in getattr(cls, "CHECKS", {}).items():
        value = getattr(obj, key)
        if not ok(value):
            raise ConfigError("%s: %s.%s=%r: must be %s" % (source, path, key, value, description),
                              key="%s.%s" % (path, key))
    if hasattr(obj, "validate"):
        try:
            obj.validate(path)
        except ConfigError as err:
            raise ConfigError("%s: %s" % (source, err), key=err.key) from None
    return obj


def _check(hint, value, path, source):
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is typing.Any:
        return value
    if origin is typing.Union:
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        errors = []
        for option in inner:
            try:
                return _check(option, value, path, source)
            except ConfigError as err:
                errors.append(err)
        raise errors[0]
    if origin in (list, tuple):
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise _type_error(path, "a list", value, source)
        item = args[0] if args else typing.Any
        return origin(_check(item, v, "%s[%d]" % (path, i), source) for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise _type_error(path, "a mapping", value, source)
        return dict(value)
    if dataclasses.is_dataclass(hint):
        return build(hint, value, path, source)
    if hint is float:
        if isinstance(value, str):
            value = _yaml11_float(value)  # PyYAML reads 1e-3 (no dot) as a string
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _type_error(path, "a number", value, source)
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _type_error(path, "an integer", value, source)
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise _type_error(path, "true or false", value, source)
        return value
    if hint is str:
        # YAML reads `devices: 0` or `split: 1` as numbers; a string field takes their text.
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise _type_error(path, "a string", value, source)
        return str(value)
    raise TypeError("config field %s has an unsupported type %r" % (path, hint))


def _yaml11_float(text):
    try:
        return float(text)
    except ValueError:
        return text


def _type_error(path, expected, value, source):
    return ConfigError("%s: %s must be %s, got %r (%s)" % (source, path, expected, value, type(value).__name__),
                       key=path)


def save_config(cfg, path):
    """Write ``cfg`` as YAML to ``path``, whole or not at all (a temporary file renamed into place)."""
    atomic_write(path, lambda f: f.write(yaml.dump(cfg.to_dict(), Dumper=_DUMPER, sort_keys=False).encode("utf-8")))
