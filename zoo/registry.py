"""Name -> class registries, so a new model or dataset is one decorated file and nothing else to edit."""
import fnmatch


class RegistryError(KeyError):
    """An unknown or duplicate name; the message lists the registered choices."""

    def __str__(self):
        return self.args[0]


class Registry:
    """A named collection of classes.

    >>> MODELS = Registry("model")
    >>> @MODELS.register("mf")
    ... class MF: ...
    >>> MODELS.get("mf") is MF
    True
    """

    def __init__(self, kind):
        self.kind = kind
        self._entries = {}

    def register(self, name):
        def add(obj):
            if name in self._entries:
                raise RegistryError("%s %r is registered twice (by %s and %s)" % (
                    self.kind, name, _qualname(self._entries[name]), _qualname(obj)))
            self._entries[name] = obj
            return obj
        return add

    def get(self, name):
        try:
            return self._entries[name]
        except KeyError:
            raise RegistryError("unknown %s %r; choose one of: %s" % (
                self.kind, name, ", ".join(self.list()) or "(none registered)")) from None

    def list(self, pattern="*"):
        return sorted(n for n in self._entries if fnmatch.fnmatchcase(n, pattern))

    def __contains__(self, name):
        return name in self._entries


def _qualname(obj):
    return "%s.%s" % (obj.__module__, obj.__qualname__)


MODELS = Registry("model")
DATASETS = Registry("dataset")
