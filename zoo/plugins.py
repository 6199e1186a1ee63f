"""User code that registers models or datasets (``tools/train.py --import my_models.py``). The imports are
recorded in the run's config (``imports:``), so every tool and ``zoo.load_run`` imports them again."""
import importlib
import importlib.util
import os
import sys

_imported = {}  # resolved path or module name -> module: a file registers its models once per process


def import_plugin(name):
    """Import a ``.py`` file by path, or a module by name, once; returns the module. A missing file raises
    ``ImportError`` naming it."""
    key = os.path.abspath(name) if name.endswith(".py") else name
    if key in _imported:
        return _imported[key]
    if name.endswith(".py"):
        if not os.path.isfile(key):
            raise ImportError("plugin file %s does not exist" % key)
        spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(key))[0], key)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(name)
    _imported[key] = module
    return module


def resolve(name):
    """How an import is recorded: a file by its absolute path, a module by its name."""
    return os.path.abspath(name) if name.endswith(".py") else name
