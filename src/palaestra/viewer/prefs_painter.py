"""The preference labelling window's picture: two clips side by side, films or charts.

A clip with frames is played as a small film scaled to its panel; one without frames is charted,
one row per observation dimension and bars for the actions, each dimension on the scale both
panels of a pair share.
"""

from __future__ import annotations

import math
import os
from typing import Any, NamedTuple

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402

from palaestra.viewer.prefs_config import LabellerConfig  # noqa: E402
from palaestra.viewer.ui import draw_text, font  # noqa: E402

RGB = tuple[int, int, int]

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


def _badge(surf: pygame.Surface, x: int, cy: int, label: str, color: RGB, px: int = 22) -> int:
    """A rounded, coloured label; returns its right edge."""
    img = font(px).render(label, True, (255, 255, 255))
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
class Range(NamedTuple):
    lo: float
    hi: float

    @property
    def ref(self) -> float:
        """The range's largest magnitude (the scale its numbers are read on)."""
        return max(abs(self.lo), abs(self.hi))

    def frac(self, v: float) -> float:
        """Where ``v`` lies in the range, 0 (bottom) .. 1 (top); 0.5 for a flat range."""
        return 0.5 if self.hi <= self.lo else (v - self.lo) / (self.hi - self.lo)


def ranges(a: np.ndarray, b: np.ndarray) -> list[Range]:
    """Per column, the range covering both arrays (so both panels share a scale)."""
    both = np.concatenate([a, b], axis=0)
    return [Range(float(lo), float(hi)) for lo, hi in zip(both.min(axis=0), both.max(axis=0))]


# -- the window's picture -------------------------------------------------------------------------
class PreparedPair(NamedTuple):
    """A pair prepared for drawing: the two segments and the scales they share."""

    left: Any
    right: Any
    obs_ranges: list[Range]
    act_ranges: list[Range]


class Painter:
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

    def draw(self, surf: pygame.Surface, k: int, pair: PreparedPair, position: int, done: int,
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
        r = draw_text(surf, f"Pair {k + 1} of {self.n_pairs}", (MARGIN, cy), 36, TEXT)
        draw_text(surf, f"Which clip shows the better behaviour?   env: {env}", (r.right + 24, cy + 1),
              24, DIM, width=w // 2)
        right = f"labeller: {self.config.labeller}    judged {done - skipped}, skipped {skipped}"
        draw_text(surf, right, (w - MARGIN, cy + 1), 22, DIM, anchor="midright", width=w // 3)
        # a thin progress bar along the bottom of the header
        bar = pygame.Rect(0, HEADER_H - 11, w, 3)
        pygame.draw.rect(surf, LINE, bar)
        pygame.draw.rect(surf, SIDE_COLORS[0], (0, bar.y, round(w * done / self.n_pairs), 3))

    def _footer(self, surf: pygame.Surface, status: str) -> None:
        w, h = self.size
        top = h - FOOTER_H
        pygame.draw.rect(surf, BAR_BG, (0, top, w, FOOTER_H))
        draw_text(surf, KEY_HELP, (w // 2, top + 22), 22, TEXT, anchor="center", width=w - 2 * MARGIN)
        if status:
            draw_text(surf, status, (w // 2, top + 50), 22, STATUS, anchor="center",
                  width=w - 2 * MARGIN)

    # one clip ------------------------------------------------------------------------------------
    def _panel(self, surf: pygame.Surface, rect: pygame.Rect, side: int, seg: Any, step: int,
               pair: PreparedPair) -> None:
        pygame.draw.rect(surf, PANEL_BG, rect, border_radius=8)
        pygame.draw.rect(surf, SIDE_COLORS[side], rect, 2, border_radius=8)
        inner = rect.inflate(-24, 0)
        # title: which side, who, which steps
        x = _badge(surf, inner.x, rect.y + 18, ("LEFT", "RIGHT")[side], SIDE_COLORS[side])
        who = (seg.agent or "(unnamed agent)") if self.config.show_agent else "agent hidden"
        draw_text(surf, who, (x + 12, rect.y + 19), 26, TEXT, width=inner.right - x - 12)
        last = seg.start + seg.length - 1
        draw_text(surf, f"episode steps {seg.start}–{last}  ({seg.length} steps)   seed {seg.seed}",
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
        if seg.absorbing is not None and seg.absorbing[step]:
            label += "   episode over"  # an absorbing step: nothing was done
        elif seg.frames is not None:
            label += "   action " + self._action(seg.actions[step])
        r = draw_text(surf, label, (inner.x, y), 20, TEXT, width=inner.w // 2)
        bar = pygame.Rect(r.right + 12, y - 2, max(0, inner.right - r.right - 12), 4)
        if bar.w > 20:
            pygame.draw.rect(surf, LINE, bar, border_radius=2)
            fill = round(bar.w * (step + 1) / seg.length)
            pygame.draw.rect(surf, SIDE_COLORS[side], (bar.x, bar.y, fill, bar.h), border_radius=2)

    def _action(self, values: np.ndarray) -> str:
        """An action as text: its numbers, and its name where it is a named discrete one."""
        names = self.config.action_names
        text = ", ".join(_num(float(v)) for v in values)
        if names is not None and len(values) == 1 and float(values[0]).is_integer() \
                and 0 <= int(values[0]) < len(names):
            text += f" ({names[int(values[0])]})"
        return text

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
               pair: PreparedPair) -> None:
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
        draw_text(surf, title, (clip.x, y + heading // 2), 20, DIM)
        y += heading
        for i in obs_rows:
            color = SERIES_COLORS[i % len(SERIES_COLORS)]
            row = pygame.Rect(plot_x, y, plot_w, row_h)
            self._row_label(surf, clip.x, label_w, row, names[i], pair.obs_ranges[i], color)
            self._line(surf, row, seg.obs[:, i], pair.obs_ranges[i], step, color)
            value = _num(float(seg.obs[step, i]), pair.obs_ranges[i].ref)
            draw_text(surf, value, (clip.right, row.centery), 24, color, "midright", value_w - 6)
            y += row_h + gap
        y += 8
        title = "actions" + (f"  (first {len(act_rows)} of {act_dim})"
                             if act_dim > len(act_rows) else "")
        draw_text(surf, title, (clip.x, y + heading // 2), 20, DIM)
        y += heading
        for j in act_rows:
            row = pygame.Rect(plot_x, y, plot_w, row_h)
            name = "action" if act_dim == 1 else f"action {j}"
            self._row_label(surf, clip.x, label_w, row, name, pair.act_ranges[j], ACTION_COLOR)
            self._bars(surf, row, seg.actions[:, j], pair.act_ranges[j], step)
            value = _num(float(seg.actions[step, j]), pair.act_ranges[j].ref)
            draw_text(surf, value, (clip.right, row.centery), 24, ACTION_COLOR, "midright",
                  value_w - 6)
            y += row_h + gap

    def _row_label(self, surf: pygame.Surface, x: int, width: int, row: pygame.Rect, name: str,
                   rng: Range, color: RGB) -> None:
        """The dimension's name and, room allowing, the range its row spans."""
        if row.h >= 38:
            draw_text(surf, name, (x, row.centery - 9), 22, color, width=width - 8)
            span = f"{_num(rng.lo, rng.ref)} .. {_num(rng.hi, rng.ref)}"
            draw_text(surf, span, (x, row.centery + 10), 18, DIM, width=width - 8)
        else:
            draw_text(surf, name, (x, row.centery), 20, color, width=width - 8)

    @staticmethod
    def _xs(row: pygame.Rect, n: int) -> list[float]:
        return [row.x + (t + 0.5) * row.w / n for t in range(n)]

    def _line(self, surf: pygame.Surface, row: pygame.Rect, values: np.ndarray, rng: Range,
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

    def _bars(self, surf: pygame.Surface, row: pygame.Rect, values: np.ndarray, rng: Range,
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
