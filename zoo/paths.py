"""Where zoo keeps what it downloads or builds: ``$ZOO_CACHE`` (default ``~/.cache/zoo``)."""
import os


def cache_dir(*parts):
    """``$ZOO_CACHE`` (default ``~/.cache/zoo``) joined with ``parts``."""
    cache = os.environ.get("ZOO_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "zoo"))
    return os.path.join(cache, *parts)
