"""palaestra: an arena where reinforcement-learning agents are built, trained, rated and fight."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("palaestra")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
