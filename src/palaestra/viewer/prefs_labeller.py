"""The preference labelling window: a human compares pairs of clips and says which is better.

This is the human side of preference-based reward learning (Christiano et al. 2017): a reward
model is fitted to judgements of the form "the left clip shows better behaviour than the right
one". :func:`label_pairs` opens one pygame window and shows the pairs one after the other. Each
pair's two :class:`~palaestra.league.prefs.segments.Segment` clips play side by side, in step
with each other and looping, under a header ``pair k of n``. Each panel names the agent and the
episode steps the clip covers. The true rewards of the segments are never shown: the human
judges the behaviour, not the score.

A segment with ``frames`` is played as a small film, scaled to fit its panel. A segment without
frames (the Kelly coin-flip game has no picture) is drawn as a chart instead: one line per
observation dimension (named by :attr:`LabellerConfig.feature_names`, else ``obs 0``, ``obs 1``
...), the actions as bars beneath, and a cursor that walks along the steps, with the values at
the cursor printed at the right. Each dimension uses the same scale in both panels of a pair, so
equal heights mean equal values.

Keys:

* Left arrow or A: the left clip is better (label ``1.0``).
* Right arrow or D: the right clip is better (label ``0.0``).
* Down arrow, T or = (equals): a tie, both are as good (label ``0.5``).
* S or Space: skip, no judgement (label ``None``).
* Backspace: undo, go back to the previous pair and forget its label.
* R: play both clips again from their first step.
* Q or Escape, or closing the window: stop; the labels given so far are returned.

Tests and headless use pass ``events``: a source of pygame event lists used instead of the
keyboard, either an iterable of lists (one list per drawn frame; running out of lists counts as
quitting) or a callable returning the next list (``None`` to quit). With scripted events each
frame moves the clips on by one step, so a script gives the same result on any machine. Scripted
sessions draw into a window when a display (or ``SDL_VIDEODRIVER``) is named and off-screen
otherwise.

Example (runs anywhere, without a screen)::

    import os
    os.environ["SDL_VIDEODRIVER"] = "dummy"

    import numpy as np
    import pygame
    from palaestra.league.prefs.segments import Segment
    from palaestra.viewer.prefs_labeller import LabellerConfig, label_pairs

    rng = np.random.default_rng(0)

    def clip(agent: str) -> Segment:
        return Segment("kelly", rng.normal(size=(25, 4)), rng.integers(0, 5, size=(25, 1)),
                       np.zeros(25), seed=1, start=10, agent=agent)

    pairs = [(clip("ppo"), clip("kelly-bot")), (clip("ppo"), clip("random"))]
    config = LabellerConfig(feature_names=("wealth", "rounds left", "cap gap", "edge"))
    press = lambda key: [pygame.event.Event(pygame.KEYDOWN, key=key)]
    result = label_pairs(pairs, config, events=[press(pygame.K_LEFT), press(pygame.K_t)])
    print(result)  # labels: pair 0 -> 1.0 (left better), pair 1 -> 0.5 (tie); quit=False
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402

from palaestra.errors import ConfigError  # noqa: E402
from palaestra.viewer.prefs_config import (  # noqa: E402
    LEFT_BETTER,
    MIN_PANEL,
    RIGHT_BETTER,
    TIE,
    VERDICTS,
    LabellerConfig,
    LabellerError,
    LabellingResult,
    PairLabel,
)
from palaestra.viewer.prefs_painter import SERIES_COLORS, Painter, PreparedPair, ranges  # noqa: E402
from palaestra.viewer.ui import EventSource, display_named, open_display  # noqa: E402
from palaestra.viewer.ui import poller as _poller  # noqa: E402

if TYPE_CHECKING:
    from palaestra.league.prefs.segments import Segment

__all__ = ["LEFT_BETTER", "MIN_PANEL", "RIGHT_BETTER", "SERIES_COLORS", "TIE", "VERDICTS",
           "LabellerConfig", "LabellerError", "LabellingResult", "PairLabel", "check_display",
           "label_pairs"]

# -- input -----------------------------------------------------------------------------------------
_SKIP = "skip"
_UNDO = "undo"
_QUIT = "quit"
_REPLAY = "replay"


def _command(event: Any) -> float | str | None:
    """The labeller's command for a pygame event: a label value, a word, or None (ignored)."""
    if event.type == pygame.QUIT:
        return _QUIT
    if event.type != pygame.KEYDOWN:
        return None
    key = event.key
    if key in (pygame.K_LEFT, pygame.K_a):
        return LEFT_BETTER
    if key in (pygame.K_RIGHT, pygame.K_d):
        return RIGHT_BETTER
    if key in (pygame.K_DOWN, pygame.K_t, pygame.K_EQUALS, pygame.K_KP_EQUALS) \
            or getattr(event, "unicode", "") == "=":
        return TIE
    if key in (pygame.K_s, pygame.K_SPACE):
        return _SKIP
    if key == pygame.K_BACKSPACE:
        return _UNDO
    if key == pygame.K_r:
        return _REPLAY
    if key in (pygame.K_q, pygame.K_ESCAPE):
        return _QUIT
    return None


_NO_DISPLAY = ("no display to open the labelling window on (DISPLAY and WAYLAND_DISPLAY are not "
               "set); set DISPLAY (run it on a desktop session), or SDL_VIDEODRIVER=dummy with "
               "scripted events for headless use")
_CANNOT_OPEN = ("cannot open the labelling window ({exc}); set DISPLAY (run it on a desktop "
                "session), or SDL_VIDEODRIVER=dummy with scripted events for headless use")


def check_display() -> None:
    """:class:`LabellerError` now, rather than after a first training round, when no display
    is named for the labelling window."""
    if not display_named():
        raise LabellerError(_NO_DISPLAY)


def _open_display(required: bool) -> bool:
    """Initialise pygame's display; False (off-screen drawing) when not ``required`` and none is
    there, :class:`LabellerError` when required and none is there."""
    if required:
        open_display(LabellerError, _NO_DISPLAY, _CANNOT_OPEN)
        return True
    if not display_named():
        return False
    try:
        pygame.display.init()
    except pygame.error:
        return False
    return True


_DEFAULT_CONFIG = LabellerConfig()


# -- the session -----------------------------------------------------------------------------------
def _prepare(pairs: Sequence[tuple[Segment, Segment]], config: LabellerConfig) -> list[PreparedPair]:
    """Check every pair before a window opens; compute the scales each pair shares."""
    out = []
    for k, pair in enumerate(pairs):
        if len(pair) != 2:
            raise ConfigError(f"pair {k}: expected two segments, got {len(pair)}")
        left, right = pair
        if left.env != right.env:
            raise ConfigError(f"pair {k}: the two segments come from different envs "
                             f"({left.env!r} and {right.env!r})")
        sizes = (left.obs.shape[1], left.actions.shape[1], right.obs.shape[1],
                 right.actions.shape[1])
        if sizes[:2] != sizes[2:]:
            raise ConfigError(f"pair {k}: the two segments have different observation or action "
                             f"sizes ({sizes[0]}/{sizes[1]} and {sizes[2]}/{sizes[3]})")
        names = config.feature_names
        if names is not None and len(names) != left.obs.shape[1]:
            raise ConfigError(f"pair {k}: feature_names has {len(names)} names but the segments "
                             f"have {left.obs.shape[1]} observation dimensions")
        out.append(PreparedPair(left, right, ranges(left.obs, right.obs),
                         ranges(left.actions, right.actions)))
    return out


def label_pairs(
    pairs: Sequence[tuple[Segment, Segment]],
    config: LabellerConfig = _DEFAULT_CONFIG,
    events: EventSource = None,
    screenshot: str | Path | None = None,
) -> LabellingResult:
    """Show each pair's two clips side by side and collect the human's judgements.

    Args:
        pairs: (left, right) segments to compare; both of a pair must come from the same env.
        config: playback speed, panel size, labeller name, feature names, looping.
        events: scripted pygame events instead of the keyboard (see the module docstring).
        screenshot: if given, the first drawn picture of the window is saved there as a PNG.

    Returns:
        The labels given, in order, and whether the session was stopped before the end.

    Raises:
        ValueError: a pair whose segments differ in env (or in observation / action size), or
            feature names that do not match the observations.
        LabellerError: no events were given and no window can be opened (a RuntimeError).
    """
    prepared = _prepare(pairs, config)
    if not prepared:
        return LabellingResult([], False)
    scripted = events is not None
    window = _open_display(required=not scripted)
    try:
        painter = Painter(config, len(prepared))
        if window:
            surf = pygame.display.set_mode(painter.size)
            pygame.display.set_caption(f"palaestra: which is better? ({prepared[0].left.env})")
        else:
            surf = pygame.Surface(painter.size)
        poll = _poller(events)
        clock = pygame.time.Clock()
        labels: list[PairLabel] = []
        status = ""
        position = 0.0
        shot = screenshot is not None
        stopped = False
        while len(labels) < len(prepared) and not stopped:
            k = len(labels)
            skipped = sum(1 for lab in labels if lab.label is None)
            painter.draw(surf, k, prepared[k], int(position), k, skipped, status)
            if window:
                pygame.display.flip()
            if shot:
                shot = False
                path = Path(screenshot)  # type: ignore[arg-type]
                path.parent.mkdir(parents=True, exist_ok=True)
                pygame.image.save(surf, str(path))
            batch = poll()
            if batch is None:
                break
            restart = False
            for event in batch:
                command = _command(event)
                if command is None:
                    continue
                if command == _QUIT:
                    stopped = True
                    break
                restart = True  # any other command starts the clips (of a new pair) afresh
                if command == _UNDO:
                    if labels:
                        gone = labels.pop()
                        status = (f"back to pair {gone.index + 1} (it was: "
                                  f"{VERDICTS[gone.label]}); choose again")
                    else:
                        status = "nothing to undo"
                elif command != _REPLAY:
                    value = None if command == _SKIP else float(command)
                    labels.append(PairLabel(len(labels), value))
                    status = f"pair {len(labels)}: {VERDICTS[value]}   (Backspace: undo)"
                    if len(labels) == len(prepared):
                        break
            dt = 1.0 if scripted else clock.tick(30) / 1000.0 * config.fps
            position = 0.0 if restart else position + dt
        return LabellingResult(labels, len(labels) < len(prepared))
    finally:
        if window:
            pygame.display.quit()
