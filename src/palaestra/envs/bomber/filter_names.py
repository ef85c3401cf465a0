"""The names of the Bomber action filters (no numba here, so agents can check a name cheaply).

The filters themselves are in :mod:`palaestra.envs.bomber.filters`.
"""

from __future__ import annotations

from typing import Literal, get_args

from palaestra.errors import ConfigError

FilterName = Literal["sure-death", "cautious"]
"""The names of the action filters."""
FILTERS: tuple[str, ...] = get_args(FilterName)
"""Every filter name, in the order the CLI lists them."""
DEFAULT_FILTER: FilterName = "cautious"
"""The filter new Bomber leagues train behind."""
LEGACY_FILTER: FilterName = "sure-death"
"""The filter of checkpoints and leagues saved before the filters had names."""


def check_filter(name: str) -> FilterName:
    """``name`` if it names a filter, else ConfigError (a ValueError) listing the known ones."""
    if name not in FILTERS:
        raise ConfigError(f"unknown action filter {name!r}; known: {', '.join(FILTERS)}")
    return name  # type: ignore[return-value]
