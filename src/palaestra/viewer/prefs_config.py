"""What the preference labelling window is given and gives back: its config, labels, results."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from palaestra.errors import ConfigError, DisplayError

LEFT_BETTER = 1.0
RIGHT_BETTER = 0.0
TIE = 0.5
VERDICTS = {LEFT_BETTER: "left better", RIGHT_BETTER: "right better", TIE: "tie", None: "skipped"}
"""How each label reads in the status line."""
MIN_PANEL = (360, 300)
"""Smallest panel size (width, height) that still leaves room for the charts."""


class LabellerError(DisplayError):
    """The labelling window cannot open (no display)."""


@dataclass(frozen=True)
class LabellerConfig:
    """How the labelling window looks and plays."""

    fps: float = 8.0
    """Clip playback speed, in steps per second (with the keyboard; a scripted session moves one
    step per frame)."""
    panel_size: tuple[int, int] = (560, 470)
    """Width and height in pixels of each of the two clip panels; the window is a little more
    than two panels wide."""
    labeller: str = "human"
    """Who is labelling; shown in the header (stores record it as ``human:<labeller>``)."""
    feature_names: tuple[str, ...] | None = None
    """Names of the observation dimensions for the charts of frameless segments; None names them
    ``obs 0``, ``obs 1`` ... When given, it must have one name per dimension."""
    loop: bool = True
    """Start the clips again when they reach their end (else they stop on the last step)."""
    max_rows: int = 8
    """Most observation dimensions charted per panel, one row each; any more are listed as not
    shown."""
    show_agent: bool = True
    """Name the agent of each clip (turn off for blind labelling)."""
    action_names: tuple[str, ...] | None = None
    """Names of the values of a discrete action (one action dimension holding an index), shown
    with the number under a film (Bomber: stop, up, down ...); None shows the number alone."""

    def __post_init__(self) -> None:
        if isinstance(self.fps, bool) or not isinstance(self.fps, (int, float)) \
                or not math.isfinite(self.fps) or self.fps <= 0:
            raise ConfigError(f"fps must be a positive number, got {self.fps!r}")
        size = tuple(self.panel_size)
        if len(size) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in size):
            raise ConfigError(f"panel_size must be two integers (width, height), got "
                             f"{self.panel_size!r}")
        if size[0] < MIN_PANEL[0] or size[1] < MIN_PANEL[1]:
            raise ConfigError(f"panel_size must be at least {MIN_PANEL[0]} x {MIN_PANEL[1]} pixels, "
                             f"got {size[0]} x {size[1]}")
        object.__setattr__(self, "panel_size", size)
        if not isinstance(self.labeller, str) or not self.labeller.strip():
            raise ConfigError(f"labeller must be a non-empty name, got {self.labeller!r}")
        if self.feature_names is not None:
            if isinstance(self.feature_names, str):
                raise ConfigError("feature_names must be a sequence of names, not one string")
            names = tuple(self.feature_names)
            if not names or not all(isinstance(n, str) and n.strip() for n in names):
                raise ConfigError(f"feature_names must be non-empty strings, got "
                                 f"{self.feature_names!r}")
            object.__setattr__(self, "feature_names", names)
        if not isinstance(self.loop, bool):
            raise ConfigError(f"loop must be True or False, got {self.loop!r}")
        if isinstance(self.max_rows, bool) or not isinstance(self.max_rows, int) \
                or self.max_rows < 1:
            raise ConfigError(f"max_rows must be a positive integer, got {self.max_rows!r}")
        if not isinstance(self.show_agent, bool):
            raise ConfigError(f"show_agent must be True or False, got {self.show_agent!r}")
        if self.action_names is not None:
            names = tuple(self.action_names) if not isinstance(self.action_names, str) else ()
            if not names or not all(isinstance(n, str) and n.strip() for n in names):
                raise ConfigError(f"action_names must be a sequence of non-empty names, got "
                                  f"{self.action_names!r}")
            object.__setattr__(self, "action_names", names)


class PairLabel(NamedTuple):
    """The judgement on one pair."""

    index: int  # type: ignore[assignment]  # the public field name shadows tuple.index
    """Position of the pair in the ``pairs`` given to :func:`label_pairs`."""
    label: float | None
    """``1.0`` the left clip is better, ``0.0`` the right one, ``0.5`` a tie, None skipped."""


class LabellingResult(NamedTuple):
    """What a labelling session produced."""

    labels: list[PairLabel]
    """One entry per pair judged or skipped, in order. After a quit, the pair that was on screen
    and those after it are absent (so ``len(labels)`` is where to resume)."""
    quit: bool
    """The session was stopped (key, window closed, or scripted events ran out) before the last
    pair was judged."""
