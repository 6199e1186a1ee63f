"""What the command-line tools share: a mistake is one line on stderr and exit code 2, never a traceback."""
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
