"""The one exception hierarchy of palaestra (standard library only).

Every error that a user can cause with bad input (a wrong option or config value, an unknown
name, a malformed or mismatched file, a missing optional dependency) is a :class:`PalaestraError`.
The command line prints those as ``error: ...`` and exits with status 2; any other exception is a
bug and keeps its traceback (``palaestra --debug`` re-raises everything).

Each class also derives from the built-in exception that code outside palaestra would expect
(``ValueError`` for bad values, ``KeyError`` for unknown names, ``ImportError`` for a missing
extra), so ``except ValueError`` keeps working for library users.

``envs/`` may import this module and nothing else of palaestra.
"""

from __future__ import annotations


class PalaestraError(Exception):
    """Base class: an error the user caused and can fix; the message says how."""


class ConfigError(PalaestraError, ValueError):
    """A configuration value, command-line option or argument is invalid."""


class UnknownNameError(PalaestraError, KeyError):
    """An env, agent, member or other name that does not exist; the message lists what does."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else ""


class FileFormatError(PalaestraError, ValueError):
    """A file on disk is malformed, of an unknown version, or does not match what was asked."""


class InvalidActionError(PalaestraError, ValueError):
    """An action (or batch of actions) handed to an env is outside its action space."""


class RunStateError(PalaestraError, ValueError):
    """A run directory or store is in the wrong state for the request (exists, nothing to resume...)."""


class MissingExtraError(PalaestraError, ImportError):
    """An optional dependency group is not installed; the message names the pip command."""

    def __init__(self, extra: str, what: str, missing: str | None = None) -> None:
        self.extra, self.what, self.missing = extra, what, missing
        detail = f" ({missing} is not installed)" if missing else ""
        super().__init__(f"{what} needs the [{extra}] extra{detail}: pip install 'palaestra[{extra}]'")


class DisplayError(PalaestraError, RuntimeError):
    """A window was asked for where there is no display, or pygame could not open one."""


def require_extra(extra: str, what: str, *modules: str) -> None:
    """Raise :class:`MissingExtraError` unless every module in ``modules`` can be imported."""
    import importlib.util

    for module in modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise MissingExtraError(extra, what, module)
