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

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402

from palaestra.viewer.ui import fit_text as _fit  # noqa: E402
from palaestra.viewer.ui import font as _font  # noqa: E402
from palaestra.viewer.ui import EventSource  # noqa: E402
from palaestra.viewer.ui import display_named as _display_named  # noqa: E402
from palaestra.viewer.ui import poller as _poller  # noqa: E402

if TYPE_CHECKING:
    from palaestra.league.prefs.segments import Segment

__all__ = ["LabellerConfig", "LabellerError", "LabellingResult", "PairLabel", "check_display",
           "label_pairs"]

RGB = tuple[int, int, int]

LEFT_BETTER = 1.0
RIGHT_BETTER = 0.0
TIE = 0.5
VERDICTS = {LEFT_BETTER: "left better", RIGHT_BETTER: "right better", TIE: "tie", None: "skipped"}
"""How each label reads in the status line."""
MIN_PANEL = (360, 300)
"""Smallest panel size (width, height) that still leaves room for the charts."""


class LabellerError(RuntimeError):
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

    def __post_init__(self) -> None:
        if isinstance(self.fps, bool) or not isinstance(self.fps, (int, float)) \
                or not math.isfinite(self.fps) or self.fps <= 0:
            raise ValueError(f"fps must be a positive number, got {self.fps!r}")
        size = tuple(self.panel_size)
        if len(size) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in size):
            raise ValueError(f"panel_size must be two integers (width, height), got "
                             f"{self.panel_size!r}")
        if size[0] < MIN_PANEL[0] or size[1] < MIN_PANEL[1]:
            raise ValueError(f"panel_size must be at least {MIN_PANEL[0]} x {MIN_PANEL[1]} pixels, "
                             f"got {size[0]} x {size[1]}")
        object.__setattr__(self, "panel_size", size)
        if not isinstance(self.labeller, str) or not self.labeller.strip():
            raise ValueError(f"labeller must be a non-empty name, got {self.labeller!r}")
        if self.feature_names is not None:
            if isinstance(self.feature_names, str):
                raise ValueError("feature_names must be a sequence of names, not one string")
            names = tuple(self.feature_names)
            if not names or not all(isinstance(n, str) and n.strip() for n in names):
                raise ValueError(f"feature_names must be non-empty strings, got "
                                 f"{self.feature_names!r}")
            object.__setattr__(self, "feature_names", names)
        if not isinstance(self.loop, bool):
            raise ValueError(f"loop must be True or False, got {self.loop!r}")
        if isinstance(self.max_rows, bool) or not isinstance(self.max_rows, int) \
                or self.max_rows < 1:
            raise ValueError(f"max_rows must be a positive integer, got {self.max_rows!r}")
        if not isinstance(self.show_agent, bool):
            raise ValueError(f"show_agent must be True or False, got {self.show_agent!r}")


class PairLabel(NamedTuple):
    """The judgement on one pair."""

    index: int
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


# -- look ------------------------------------------------------------------------------------------
MARGIN = 16
HEADER_H = 64
FOOTER_H = 70
TITLE_H = 56
STRIP_H = 34

BACKGROUND: RGB = (36, 39, 46)
PANEL_BG: RGB = (28, 31, 38)
BAR_BG: RGB = (24, 26, 32)
ROW_BG: RGB = (40, 44, 54)
LINE: RGB = (64, 68, 80)
TEXT: RGB = (236, 236, 240)
DIM: RGB = (150, 154, 166)
STATUS: RGB = (255, 214, 80)
SIDE_COLORS: tuple[RGB, RGB] = ((88, 166, 255), (255, 150, 70))
"""Badge colour of the left and the right panel."""
SERIES_COLORS: tuple[RGB, ...] = ((88, 166, 255), (110, 222, 140), (255, 190, 80),
                                  (240, 110, 160), (170, 140, 255), (80, 210, 220),
                                  (230, 230, 120), (255, 130, 110))
"""Line colour of observation dimension k (cycled)."""
ACTION_COLOR: RGB = (205, 205, 215)
MAX_ACTION_ROWS = 3
"""Most action dimensions charted (one row each)."""

KEY_HELP = ("Left / A: left better     Right / D: right better     Down / T / =: tie     "
            "S / Space: skip     Backspace: undo     R: replay     Q / Esc: stop")


def _text(surf: pygame.Surface, text: str, pos: tuple[float, float], px: int, color: RGB,
          anchor: str = "midleft", width: int | None = None) -> pygame.Rect:
    """Draw ``text`` with its ``anchor`` point (a pygame Rect attribute) at ``pos``."""
    if width is not None:
        text = _fit(text, px, max(1, width))
    img = _font(px).render(text, True, color)
    rect = img.get_rect(**{anchor: (round(pos[0]), round(pos[1]))})
    surf.blit(img, rect)
    return rect


def _badge(surf: pygame.Surface, x: int, cy: int, label: str, color: RGB, px: int = 22) -> int:
    """A rounded, coloured label; returns its right edge."""
    img = _font(px).render(label, True, (255, 255, 255))
    rect = pygame.Rect(x, 0, img.get_width() + 16, px + 4)
    rect.centery = cy
    pygame.draw.rect(surf, color, rect, border_radius=6)
    surf.blit(img, img.get_rect(center=rect.center))
    return rect.right


def _fade(color: RGB, amount: float = 0.6, to: RGB = ROW_BG) -> RGB:
    """``color`` moved ``amount`` of the way towards ``to``."""
    r, g, b = (round(c + (t - c) * amount) for c, t in zip(color, to))
    return (r, g, b)


def _num(v: float, ref: float = 0.0) -> str:
    """A short, readable number; values below a millionth of ``|ref|`` (rounding noise next to
    the scale they are shown on) read as 0."""
    a = abs(v)
    if a < 1e-6 * abs(ref):
        v = a = 0.0
    if a != 0 and (a < 1e-3 or a >= 1e7):
        return f"{v:.2e}"
    if a >= 1e4:
        return f"{v:,.0f}"
    if float(v).is_integer():
        return f"{int(v)}"
    return f"{v:.4g}" if a >= 1 else f"{v:.3f}"


# -- scales ----------------------------------------------------------------------------------------
class _Range(NamedTuple):
    lo: float
    hi: float

    @property
    def ref(self) -> float:
        """The range's largest magnitude (the scale its numbers are read on)."""
        return max(abs(self.lo), abs(self.hi))

    def frac(self, v: float) -> float:
        """Where ``v`` lies in the range, 0 (bottom) .. 1 (top); 0.5 for a flat range."""
        return 0.5 if self.hi <= self.lo else (v - self.lo) / (self.hi - self.lo)


def _ranges(a: np.ndarray, b: np.ndarray) -> list[_Range]:
    """Per column, the range covering both arrays (so both panels share a scale)."""
    both = np.concatenate([a, b], axis=0)
    return [_Range(float(lo), float(hi)) for lo, hi in zip(both.min(axis=0), both.max(axis=0))]


# -- the window's picture -------------------------------------------------------------------------
class _Pair(NamedTuple):
    """A pair prepared for drawing: the two segments and the scales they share."""

    left: Any
    right: Any
    obs_ranges: list[_Range]
    act_ranges: list[_Range]


class _Painter:
    """Draws the whole window for one pair at one playback position."""

    def __init__(self, config: LabellerConfig, n_pairs: int) -> None:
        self.config = config
        self.n_pairs = n_pairs
        pw, ph = config.panel_size
        self.size = (2 * pw + 3 * MARGIN, HEADER_H + ph + FOOTER_H + MARGIN)
        """Window size (width, height) in pixels."""
        top = HEADER_H
        self.panels = (pygame.Rect(MARGIN, top, pw, ph), pygame.Rect(2 * MARGIN + pw, top, pw, ph))
        self._frames: dict[tuple[int, int, tuple[int, int]], pygame.Surface] = {}

    def draw(self, surf: pygame.Surface, k: int, pair: _Pair, position: int, done: int,
             skipped: int, status: str) -> None:
        surf.fill(BACKGROUND)
        self._header(surf, k, pair.left.env, done, skipped)
        for side, (rect, seg) in enumerate(zip(self.panels, (pair.left, pair.right))):
            step = self._step(seg, position)
            self._panel(surf, rect, side, seg, step, pair)
        self._footer(surf, status)

    def _step(self, seg: Any, position: int) -> int:
        n = seg.length
        return position % n if self.config.loop else min(position, n - 1)

    # header and footer ---------------------------------------------------------------------------
    def _header(self, surf: pygame.Surface, k: int, env: str, done: int, skipped: int) -> None:
        w = self.size[0]
        pygame.draw.rect(surf, BAR_BG, (0, 0, w, HEADER_H - 8))
        cy = (HEADER_H - 8) // 2
        r = _text(surf, f"Pair {k + 1} of {self.n_pairs}", (MARGIN, cy), 36, TEXT)
        _text(surf, f"Which clip shows the better behaviour?   env: {env}", (r.right + 24, cy + 1),
              24, DIM, width=w // 2)
        right = f"labeller: {self.config.labeller}    judged {done - skipped}, skipped {skipped}"
        _text(surf, right, (w - MARGIN, cy + 1), 22, DIM, anchor="midright", width=w // 3)
        # a thin progress bar along the bottom of the header
        bar = pygame.Rect(0, HEADER_H - 11, w, 3)
        pygame.draw.rect(surf, LINE, bar)
        pygame.draw.rect(surf, SIDE_COLORS[0], (0, bar.y, round(w * done / self.n_pairs), 3))

    def _footer(self, surf: pygame.Surface, status: str) -> None:
        w, h = self.size
        top = h - FOOTER_H
        pygame.draw.rect(surf, BAR_BG, (0, top, w, FOOTER_H))
        _text(surf, KEY_HELP, (w // 2, top + 22), 22, TEXT, anchor="center", width=w - 2 * MARGIN)
        if status:
            _text(surf, status, (w // 2, top + 50), 22, STATUS, anchor="center",
                  width=w - 2 * MARGIN)

    # one clip ------------------------------------------------------------------------------------
    def _panel(self, surf: pygame.Surface, rect: pygame.Rect, side: int, seg: Any, step: int,
               pair: _Pair) -> None:
        pygame.draw.rect(surf, PANEL_BG, rect, border_radius=8)
        pygame.draw.rect(surf, SIDE_COLORS[side], rect, 2, border_radius=8)
        inner = rect.inflate(-24, 0)
        # title: which side, who, which steps
        x = _badge(surf, inner.x, rect.y + 18, ("LEFT", "RIGHT")[side], SIDE_COLORS[side])
        who = (seg.agent or "(unnamed agent)") if self.config.show_agent else "agent hidden"
        _text(surf, who, (x + 12, rect.y + 19), 26, TEXT, width=inner.right - x - 12)
        last = seg.start + seg.length - 1
        _text(surf, f"episode steps {seg.start}–{last}  ({seg.length} steps)   seed {seg.seed}",
              (inner.x, rect.y + 42), 20, DIM, width=inner.w)
        # the clip
        clip = pygame.Rect(inner.x, rect.y + TITLE_H, inner.w, rect.h - TITLE_H - STRIP_H)
        if seg.frames is not None:
            self._film(surf, clip, seg, step, side)
        else:
            self._chart(surf, clip, seg, step, pair)
        # strip: playback position
        y = rect.bottom - STRIP_H // 2
        label = f"step {seg.start + step}  ({step + 1}/{seg.length})"
        if seg.frames is not None:
            label += "   action " + ", ".join(_num(float(v)) for v in seg.actions[step])
        r = _text(surf, label, (inner.x, y), 20, TEXT, width=inner.w // 2)
        bar = pygame.Rect(r.right + 12, y - 2, max(0, inner.right - r.right - 12), 4)
        if bar.w > 20:
            pygame.draw.rect(surf, LINE, bar, border_radius=2)
            fill = round(bar.w * (step + 1) / seg.length)
            pygame.draw.rect(surf, SIDE_COLORS[side], (bar.x, bar.y, fill, bar.h), border_radius=2)

    def _film(self, surf: pygame.Surface, clip: pygame.Rect, seg: Any, step: int,
              side: int) -> None:
        frame = seg.frames[step]
        fh, fw = frame.shape[:2]
        scale = min(clip.w / fw, clip.h / fh)
        if scale >= 1:
            scale = math.floor(scale)  # whole multiples keep pixel art crisp
        size = (max(1, round(fw * scale)), max(1, round(fh * scale)))
        key = (id(seg.frames), step, size)
        img = self._frames.get(key)
        if img is None:
            raw = pygame.surfarray.make_surface(np.ascontiguousarray(frame.transpose(1, 0, 2)))
            img = pygame.transform.scale(raw, size)
            if len(self._frames) > 512:
                self._frames.clear()
            self._frames[key] = img
        dest = img.get_rect(center=clip.center)
        surf.blit(img, dest)
        pygame.draw.rect(surf, LINE, dest.inflate(2, 2), 1)

    def _chart(self, surf: pygame.Surface, clip: pygame.Rect, seg: Any, step: int,
               pair: _Pair) -> None:
        obs_dim, act_dim = seg.obs.shape[1], seg.actions.shape[1]
        names = self.config.feature_names or tuple(f"obs {i}" for i in range(obs_dim))
        obs_rows = list(range(min(obs_dim, self.config.max_rows)))
        act_rows = list(range(min(act_dim, MAX_ACTION_ROWS)))
        heading = 20
        gap = 6
        n_rows = len(obs_rows) + len(act_rows)
        row_h = min(96, (clip.h - 2 * heading - 8 - gap * n_rows) // n_rows)
        label_w = min(150, clip.w // 4)
        value_w = 80
        plot_x = clip.x + label_w
        plot_w = clip.w - label_w - value_w

        y = clip.y
        title = "observations" + (f"  (first {len(obs_rows)} of {obs_dim})"
                                  if obs_dim > len(obs_rows) else "")
        _text(surf, title, (clip.x, y + heading // 2), 20, DIM)
        y += heading
        for i in obs_rows:
            color = SERIES_COLORS[i % len(SERIES_COLORS)]
            row = pygame.Rect(plot_x, y, plot_w, row_h)
            self._row_label(surf, clip.x, label_w, row, names[i], pair.obs_ranges[i], color)
            self._line(surf, row, seg.obs[:, i], pair.obs_ranges[i], step, color)
            value = _num(float(seg.obs[step, i]), pair.obs_ranges[i].ref)
            _text(surf, value, (clip.right, row.centery), 24, color, "midright", value_w - 6)
            y += row_h + gap
        y += 8
        title = "actions" + (f"  (first {len(act_rows)} of {act_dim})"
                             if act_dim > len(act_rows) else "")
        _text(surf, title, (clip.x, y + heading // 2), 20, DIM)
        y += heading
        for j in act_rows:
            row = pygame.Rect(plot_x, y, plot_w, row_h)
            name = "action" if act_dim == 1 else f"action {j}"
            self._row_label(surf, clip.x, label_w, row, name, pair.act_ranges[j], ACTION_COLOR)
            self._bars(surf, row, seg.actions[:, j], pair.act_ranges[j], step)
            value = _num(float(seg.actions[step, j]), pair.act_ranges[j].ref)
            _text(surf, value, (clip.right, row.centery), 24, ACTION_COLOR, "midright",
                  value_w - 6)
            y += row_h + gap

    def _row_label(self, surf: pygame.Surface, x: int, width: int, row: pygame.Rect, name: str,
                   rng: _Range, color: RGB) -> None:
        """The dimension's name and, room allowing, the range its row spans."""
        if row.h >= 38:
            _text(surf, name, (x, row.centery - 9), 22, color, width=width - 8)
            span = f"{_num(rng.lo, rng.ref)} .. {_num(rng.hi, rng.ref)}"
            _text(surf, span, (x, row.centery + 10), 18, DIM, width=width - 8)
        else:
            _text(surf, name, (x, row.centery), 20, color, width=width - 8)

    @staticmethod
    def _xs(row: pygame.Rect, n: int) -> list[float]:
        return [row.x + (t + 0.5) * row.w / n for t in range(n)]

    def _line(self, surf: pygame.Surface, row: pygame.Rect, values: np.ndarray, rng: _Range,
              step: int, color: RGB) -> None:
        """One observation dimension over the clip: dim ahead of the cursor, bright behind it."""
        pygame.draw.rect(surf, ROW_BG, row, border_radius=4)
        pad = 5
        xs = self._xs(row, len(values))
        ys = [row.bottom - pad - rng.frac(float(v)) * (row.h - 2 * pad) for v in values]
        if rng.lo < 0 < rng.hi:
            zero = row.bottom - pad - rng.frac(0.0) * (row.h - 2 * pad)
            pygame.draw.line(surf, LINE, (row.x, zero), (row.right - 1, zero))
        points = list(zip(xs, ys))
        if len(points) > 1:
            pygame.draw.lines(surf, _fade(color), False, points, 2)
            if step > 0:
                pygame.draw.lines(surf, color, False, points[:step + 1], 3)
        self._cursor(surf, row, xs[step])
        pygame.draw.circle(surf, (255, 255, 255), points[step], 5)
        pygame.draw.circle(surf, color, points[step], 3)

    def _bars(self, surf: pygame.Surface, row: pygame.Rect, values: np.ndarray, rng: _Range,
              step: int) -> None:
        """One action dimension over the clip, a bar per step from zero (or the range's edge)."""
        pygame.draw.rect(surf, ROW_BG, row, border_radius=4)
        pad = 4
        n = len(values)
        xs = self._xs(row, n)
        bar_w = max(1, math.floor(row.w / n) - 2)
        base_v = min(max(0.0, rng.lo), rng.hi)

        def y_of(v: float) -> float:
            return row.bottom - pad - rng.frac(v) * (row.h - 2 * pad)

        base = y_of(base_v)
        if rng.lo < 0 < rng.hi:
            pygame.draw.line(surf, LINE, (row.x, base), (row.right - 1, base))
        for t, (x, v) in enumerate(zip(xs, values)):
            top = y_of(float(v))
            if rng.hi <= rng.lo:  # all equal: a flat mark at mid height
                top, bottom = base - 2, base + 2
            else:
                top, bottom = min(top, base), max(top, base)
                bottom = max(bottom, top + 2)
            color = (255, 255, 255) if t == step else ACTION_COLOR if t < step \
                else _fade(ACTION_COLOR)
            pygame.draw.rect(surf, color, (round(x - bar_w / 2), round(top), bar_w,
                                           max(2, round(bottom - top))))
        self._cursor(surf, row, xs[step])

    @staticmethod
    def _cursor(surf: pygame.Surface, row: pygame.Rect, x: float) -> None:
        pygame.draw.line(surf, (200, 200, 210), (round(x), row.y + 1), (round(x), row.bottom - 2))


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


def check_display() -> None:
    """:class:`LabellerError` now, rather than after a first training round, when no display
    is named for the labelling window."""
    if not _display_named():
        raise LabellerError("no display to open the labelling window on (DISPLAY and "
                            "WAYLAND_DISPLAY are not set); set DISPLAY (run it on a desktop "
                            "session), or SDL_VIDEODRIVER=dummy with scripted events for "
                            "headless use")


def _open_display(required: bool) -> bool:
    """Initialise pygame's display; False (off-screen drawing) when not ``required`` and none is
    there, :class:`LabellerError` when required and none is there."""
    hint = ("set DISPLAY (run it on a desktop session), or SDL_VIDEODRIVER=dummy with scripted "
            "events for headless use")
    if not _display_named():
        if required:
            check_display()
        return False
    try:
        pygame.display.init()
    except pygame.error as exc:
        if required:
            raise LabellerError(f"cannot open the labelling window ({exc}); {hint}") from None
        return False
    return True


# -- the session -----------------------------------------------------------------------------------
def _prepare(pairs: Sequence[tuple[Segment, Segment]], config: LabellerConfig) -> list[_Pair]:
    """Check every pair before a window opens; compute the scales each pair shares."""
    out = []
    for k, pair in enumerate(pairs):
        if len(pair) != 2:
            raise ValueError(f"pair {k}: expected two segments, got {len(pair)}")
        left, right = pair
        if left.env != right.env:
            raise ValueError(f"pair {k}: the two segments come from different envs "
                             f"({left.env!r} and {right.env!r})")
        sizes = (left.obs.shape[1], left.actions.shape[1], right.obs.shape[1],
                 right.actions.shape[1])
        if sizes[:2] != sizes[2:]:
            raise ValueError(f"pair {k}: the two segments have different observation or action "
                             f"sizes ({sizes[0]}/{sizes[1]} and {sizes[2]}/{sizes[3]})")
        names = config.feature_names
        if names is not None and len(names) != left.obs.shape[1]:
            raise ValueError(f"pair {k}: feature_names has {len(names)} names but the segments "
                             f"have {left.obs.shape[1]} observation dimensions")
        out.append(_Pair(left, right, _ranges(left.obs, right.obs),
                         _ranges(left.actions, right.actions)))
    return out


def label_pairs(
    pairs: Sequence[tuple[Segment, Segment]],
    config: LabellerConfig = LabellerConfig(),
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
        painter = _Painter(config, len(prepared))
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
