"""What the command-line tools share: a mistake is one line on stderr and exit code 2, never a traceback."""
import gc
import sys

from .config import ConfigError
from .data import DataError


def report_errors(command, hint=None):
    """Run ``command()`` and return its exit code; an unknown id, word or file (``KeyError``) and our own errors
    print ``error: ...`` and give 2. ``hint`` is added to an ``ImportError`` (an optional extra not installed)."""
    try:
        return command() or 0
    except KeyError as err:
        message = err.args[0] if err.args else err
    except ImportError as err:
        message = "%s (%s)" % (err, hint) if hint else err
    except (ConfigError, DataError, ValueError, OSError) as err:
        message = err
    print("error: %s" % message, file=sys.stderr)
    return 2


def freeze_imports(argv):
    """When a tool runs as its own process (``argv`` None: ``main()`` called from ``__main__``), hide the objects
    made so far, the modules MXNet and numpy import (hundreds of thousands), from the garbage collector. They live
    as long as the process; without this, the full collection Python makes at exit walks all of them to free
    nothing. Objects the run makes later (models, a distributed kvstore that must be closed) are still collected.
    A caller's own process (tests, notebooks calling ``main([...])``) is left alone."""
    if argv is None:
        gc.freeze()
