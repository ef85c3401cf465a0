"""Drawing Bomber boards: RGB frames (pygame, off-screen) and text grids.

Pure functions, no environment state: callers pass the board of Pommerman item codes plus what the
board alone does not show (which agents are alive, bomb and flame lives, the fog of a partial
observation). Nothing here opens a window; only ``pygame.font`` is initialised, lazily, the first
time text is drawn.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from palaestra.envs.bomber import constants as C
from palaestra.errors import ConfigError, MissingExtraError

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
try:
    import pygame
    import pygame.gfxdraw
except ImportError as exc:  # pygame comes with the [viewer] extra
    raise MissingExtraError("viewer", "drawing Bomber frames", "pygame") from exc

RGB = tuple[int, int, int]

AGENT_COLORS: tuple[RGB, ...] = (
    (231, 76, 60),  # 0 red
    (52, 152, 219),  # 1 blue
    (46, 204, 113),  # 2 green
    (241, 196, 15),  # 3 yellow
)
"""Body colour of agent ``i`` (drawn at the centre of its cell)."""

PASSAGE_COLORS: tuple[RGB, RGB] = ((222, 214, 190), (214, 205, 180))
RIGID_COLOR: RGB = (78, 84, 98)
WOOD_COLOR: RGB = (176, 120, 66)
FOG_COLOR: RGB = (60, 64, 72)
BOMB_COLOR: RGB = (34, 34, 40)
BACKGROUND: RGB = (36, 39, 46)
TEXT_COLOR: RGB = (236, 236, 240)
DIM_TEXT: RGB = (130, 134, 144)
POWERUP_STYLE: dict[int, tuple[RGB, str]] = {
    C.EXTRA_BOMB: ((90, 110, 235), "B"),
    C.INCR_RANGE: ((235, 110, 40), "R"),
    C.KICK: ((170, 80, 210), "K"),
}
"""Badge colour and letter of each power-up: extra Bomb, blast Range, Kick."""


def _shade(color: RGB, factor: float) -> RGB:
    """Darker (factor < 1) or lighter (factor > 1, towards white) version of ``color``."""
    if factor <= 1:
        return tuple(max(0, min(255, int(c * factor))) for c in color)  # type: ignore[return-value]
    t = factor - 1
    return tuple(max(0, min(255, int(c + (255 - c) * t))) for c in color)  # type: ignore[return-value]


@lru_cache(maxsize=32)
def _font(px: int) -> pygame.font.Font:
    if not pygame.font.get_init():
        pygame.font.init()
    return pygame.font.Font(None, max(8, px))


def _text(surf: pygame.Surface, text: str, center: tuple[float, float], px: int, color: RGB,
          shadow: RGB | None = None) -> None:
    font = _font(px)
    if shadow is not None:
        img = font.render(text, True, shadow)
        surf.blit(img, img.get_rect(center=(round(center[0]) + 1, round(center[1]) + 1)))
    img = font.render(text, True, color)
    surf.blit(img, img.get_rect(center=(round(center[0]), round(center[1]))))


def _text_left(surf: pygame.Surface, text: str, left: int, cy: float, px: int, color: RGB) -> int:
    img = _font(px).render(text, True, color)
    rect = img.get_rect(midleft=(left, round(cy)))
    surf.blit(img, rect)
    return rect.right


def _disc(surf: pygame.Surface, cx: float, cy: float, r: float, color: RGB) -> None:
    x, y, rr = round(cx), round(cy), max(1, round(r))
    pygame.gfxdraw.filled_circle(surf, x, y, rr, color)
    pygame.gfxdraw.aacircle(surf, x, y, rr, color)


# ----------------------------------------------------------------------------------- tiles


def _draw_passage(surf: pygame.Surface, rect: pygame.Rect, r: int, c: int) -> None:
    surf.fill(PASSAGE_COLORS[(r + c) % 2], rect)


def _draw_rigid(surf: pygame.Surface, rect: pygame.Rect, t: int) -> None:
    b = max(2, t // 10)
    surf.fill(_shade(RIGID_COLOR, 0.7), rect)
    inner = rect.inflate(-2, -2)
    surf.fill(RIGID_COLOR, inner)
    # bevel: light top/left, dark bottom/right
    pygame.draw.rect(surf, _shade(RIGID_COLOR, 1.25), (inner.x, inner.y, inner.w, b))
    pygame.draw.rect(surf, _shade(RIGID_COLOR, 1.25), (inner.x, inner.y, b, inner.h))
    pygame.draw.rect(surf, _shade(RIGID_COLOR, 0.72), (inner.x, inner.bottom - b, inner.w, b))
    pygame.draw.rect(surf, _shade(RIGID_COLOR, 0.72), (inner.right - b, inner.y, b, inner.h))
    # rivets
    face = inner.inflate(-2 * b, -2 * b)
    rv = max(1, t // 16)
    for fx, fy in ((0.22, 0.22), (0.78, 0.22), (0.22, 0.78), (0.78, 0.78)):
        _disc(surf, face.x + fx * face.w, face.y + fy * face.h, rv, _shade(RIGID_COLOR, 0.6))


def _draw_wood(surf: pygame.Surface, rect: pygame.Rect, t: int) -> None:
    pad = max(1, t // 16)
    box = rect.inflate(-2 * pad, -2 * pad)
    dark = _shade(WOOD_COLOR, 0.62)
    pygame.draw.rect(surf, dark, box, border_radius=max(1, t // 12))
    frame = max(2, t // 9)
    body = box.inflate(-2, -2)
    pygame.draw.rect(surf, WOOD_COLOR, body, border_radius=max(1, t // 14))
    panel = body.inflate(-2 * frame, -2 * frame)
    pygame.draw.rect(surf, _shade(WOOD_COLOR, 0.86), panel)
    # planks
    for k in (1, 2):
        y = panel.y + k * panel.h // 3
        pygame.draw.line(surf, _shade(WOOD_COLOR, 0.7), (panel.x, y), (panel.right - 1, y), 1)
    # diagonal brace
    w = max(2, t // 12)
    pygame.draw.line(surf, _shade(WOOD_COLOR, 1.12), panel.topleft, (panel.right - 1, panel.bottom - 1), w)
    pygame.draw.rect(surf, _shade(WOOD_COLOR, 0.55), panel, 1)


def _draw_fog(surf: pygame.Surface, rect: pygame.Rect, t: int) -> None:
    surf.fill(FOG_COLOR, rect)
    surf.set_clip(rect)
    step = max(4, t // 5)
    col = _shade(FOG_COLOR, 1.08)
    for k in range(-rect.h, rect.w, step):
        pygame.draw.line(surf, col, (rect.x + k, rect.bottom - 1), (rect.x + k + rect.h, rect.y), 1)
    surf.set_clip(None)


def _draw_flames(surf: pygame.Surface, rect: pygame.Rect, t: int, life: int) -> None:
    cx, cy = rect.centerx, rect.centery
    fresh = life >= 2 or life == 0
    outer = (232, 72, 30) if fresh else (200, 80, 40)
    mid = (250, 150, 30)
    core = (255, 232, 120)
    glow = pygame.Surface(rect.size, pygame.SRCALPHA)
    glow.fill((*outer, 120))
    surf.blit(glow, rect.topleft)
    # a flame: a few overlapping discs making a tongue shape
    for color, scale in ((outer, 1.0), (mid, 0.72), (core, 0.42)):
        r = 0.3 * t * scale
        _disc(surf, cx, cy + 0.1 * t * scale, r, color)
        _disc(surf, cx - 0.16 * t * scale, cy + 0.02 * t, r * 0.75, color)
        _disc(surf, cx + 0.16 * t * scale, cy + 0.02 * t, r * 0.75, color)
        tip = [
            (cx - 0.26 * t * scale, cy + 0.02 * t),
            (cx, cy - 0.42 * t * scale),
            (cx + 0.26 * t * scale, cy + 0.02 * t),
        ]
        pygame.draw.polygon(surf, color, tip)


def _draw_bomb(surf: pygame.Surface, cx: float, cy: float, t: float, life: int) -> None:
    """A bomb of ``t`` pixels across centred at (cx, cy); ``life`` > 0 is written on it."""
    r = 0.33 * t
    cy += 0.05 * t
    urgent = 0 < life <= 3
    body = (120, 28, 28) if urgent else BOMB_COLOR
    _disc(surf, cx + 0.04 * t, cy + 0.05 * t, r, (0, 0, 0))  # shadow
    _disc(surf, cx, cy, r, body)
    _disc(surf, cx - 0.35 * r, cy - 0.38 * r, 0.22 * r, _shade(body, 1.5))
    # fuse cap and fuse
    cap_w = max(2, round(0.22 * t))
    cap = pygame.Rect(0, 0, cap_w, max(2, round(0.1 * t)))
    cap.midbottom = (round(cx + 0.5 * r), round(cy - 0.78 * r))
    pygame.draw.rect(surf, (90, 90, 100), cap)
    end = (cx + 0.95 * r, cy - 1.32 * r)
    pygame.draw.line(surf, (150, 120, 80), cap.midtop, end, max(1, round(t / 24)))
    _disc(surf, end[0], end[1], max(1.5, 0.07 * t), (255, 200, 40))
    _disc(surf, end[0], end[1], max(1, 0.035 * t), (255, 255, 220))
    if life > 0:
        _text(surf, str(life), (cx, cy + 0.02 * t), round(0.5 * t), (255, 255, 255))


def _draw_powerup(surf: pygame.Surface, rect: pygame.Rect, t: int, code: int) -> None:
    color, letter = POWERUP_STYLE[code]
    cx, cy = rect.centerx, rect.centery
    r = 0.36 * t
    _disc(surf, cx + 0.03 * t, cy + 0.04 * t, r, _shade(color, 0.45))
    _disc(surf, cx, cy, r, _shade(color, 0.7))
    _disc(surf, cx, cy, r * 0.86, color)
    if code == C.EXTRA_BOMB:
        # mini bomb with a plus
        _disc(surf, cx - 0.07 * t, cy + 0.04 * t, 0.15 * t, BOMB_COLOR)
        pygame.draw.line(surf, (255, 210, 60), (cx - 0.0 * t, cy - 0.08 * t), (cx + 0.06 * t, cy - 0.16 * t),
                         max(1, t // 24))
        _text(surf, "+", (cx + 0.15 * t, cy + 0.1 * t), round(0.42 * t), (255, 255, 255))
    elif code == C.INCR_RANGE:
        # four arrows out of a centre
        a = 0.26 * t
        w = max(2, t // 16)
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            ex, ey = cx + dx * a, cy + dy * a
            pygame.draw.line(surf, (255, 255, 255), (cx, cy), (ex, ey), w)
            h = 0.09 * t
            px, py = -dy, dx
            pygame.draw.polygon(surf, (255, 255, 255), [
                (ex + dx * h * 0.6, ey + dy * h * 0.6),
                (ex - dx * h + px * h, ey - dy * h + py * h),
                (ex - dx * h - px * h, ey - dy * h - py * h),
            ])
        _disc(surf, cx, cy, 0.08 * t, (255, 230, 120))
    else:
        # a boot kicking: shaft, foot with a round toe, cuff and sole, and motion lines
        white = (255, 255, 255)
        dark = _shade(color, 0.55)
        x0, x1 = cx - 0.17 * t, cx - 0.01 * t
        shaft = pygame.Rect(round(x0), round(cy - 0.22 * t), round(x1 - x0), round(0.32 * t))
        pygame.draw.rect(surf, white, shaft, border_radius=max(1, t // 40))
        foot = pygame.Rect(round(x0), round(cy + 0.0 * t), round(0.3 * t), round(0.14 * t))
        pygame.draw.rect(surf, white, foot, border_radius=max(1, t // 16))
        _disc(surf, foot.right - 0.02 * t, foot.centery, 0.07 * t, white)
        pygame.draw.rect(surf, dark, (shaft.x, shaft.y + round(0.05 * t), shaft.w, max(1, t // 24)))
        pygame.draw.line(surf, dark, (foot.x + 1, foot.bottom - 1), (foot.right, foot.bottom - 1),
                         max(1, t // 32))
        w = max(1, t // 32)
        for k, lift in enumerate((-0.1, 0.0, 0.1)):
            sx = foot.right + 0.09 * t + (0.03 * t if k == 1 else 0)
            sy = foot.centery + lift * t
            pygame.draw.line(surf, white, (sx, sy), (sx + 0.07 * t, sy + lift * 0.4 * t), w)
    # corner letter so the kind reads at a glance (and in small frames)
    _text(surf, letter, (rect.right - 0.16 * t, rect.y + 0.17 * t), round(0.3 * t), _shade(color, 0.5))


def _draw_agent(surf: pygame.Surface, rect: pygame.Rect, t: int, index: int | None) -> None:
    color = AGENT_COLORS[index % len(AGENT_COLORS)] if index is not None else (150, 150, 150)
    cx, cy = rect.centerx, rect.centery
    r = 0.36 * t
    # ground shadow
    shadow = pygame.Surface(rect.size, pygame.SRCALPHA)
    pygame.draw.ellipse(shadow, (0, 0, 0, 70),
                        pygame.Rect(round(0.18 * t), round(0.7 * t), round(0.64 * t), round(0.2 * t)))
    surf.blit(shadow, rect.topleft)
    _disc(surf, cx, cy, r, _shade(color, 0.55))
    _disc(surf, cx, cy, r - max(1.5, t / 24), color)
    _disc(surf, cx - 0.13 * t, cy - 0.14 * t, 0.08 * t, _shade(color, 1.45))
    label = str(index) if index is not None else "?"
    _text(surf, label, (cx, cy + 0.02 * t), round(0.52 * t), (255, 255, 255), shadow=_shade(color, 0.45))


# ----------------------------------------------------------------------------------- frames


def _grid(name: str, arr: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    if arr is None:
        return None
    arr = np.asarray(arr)
    if arr.shape != shape:
        raise ConfigError(f"{name} has shape {arr.shape}, expected the board's {shape}")
    return arr


def render_rgb_array(
    board: np.ndarray,
    *,
    alive: Sequence[bool],
    step: int,
    bomb_life: np.ndarray | None = None,
    flame_life: np.ndarray | None = None,
    fog: np.ndarray | None = None,
    tile: int = 48,
    title: str | None = None,
) -> np.ndarray:
    """Draw ``board`` (Pommerman item codes) as an ``(H, W, 3)`` uint8 RGB frame.

    ``alive[i]`` says whether agent ``i`` lives; a dead agent's code on the board is drawn as a
    passage. ``bomb_life`` (cells > 0 hold a bomb; the number is written on it; a bomb under an
    agent shows as a small badge) and ``flame_life`` (cells > 0 burn) add to what the board codes
    show. ``fog`` is a boolean mask of cells the viewer cannot see (dimmed); cells coded ``FOG``
    are drawn as fog whatever the mask. The frame is ``tile`` pixels per cell, with an optional
    ``title`` bar above the board and a status bar below it (step and the agents alive).
    """
    board = np.asarray(board)
    if board.ndim != 2:
        raise ConfigError(f"board must be 2-D, got shape {board.shape}")
    if tile < 8:
        raise ConfigError(f"tile must be at least 8 pixels, got {tile}")
    rows, cols = board.shape
    bomb_life = _grid("bomb_life", bomb_life, board.shape)
    flame_life = _grid("flame_life", flame_life, board.shape)
    fog = _grid("fog", fog, board.shape)

    t = int(tile)
    title_h = round(0.7 * t) if title else 0
    status_h = round(0.8 * t)
    width, height = cols * t, title_h + rows * t + status_h
    surf = pygame.Surface((width, height))
    surf.fill(BACKGROUND)

    if title:
        _text(surf, title, (width / 2, title_h / 2), round(0.5 * t), TEXT_COLOR)

    top = title_h
    under_agent_bombs = []
    for r in range(rows):
        for c in range(cols):
            rect = pygame.Rect(c * t, top + r * t, t, t)
            code = int(board[r, c])
            b_life = int(bomb_life[r, c]) if bomb_life is not None else 0
            f_life = int(flame_life[r, c]) if flame_life is not None else 0
            if code == C.RIGID:
                _draw_rigid(surf, rect, t)
                continue
            if code == C.WOOD:
                _draw_passage(surf, rect, r, c)
                _draw_wood(surf, rect, t)
                continue
            if code == C.FOG:
                _draw_fog(surf, rect, t)
                continue
            _draw_passage(surf, rect, r, c)
            if code == C.FLAMES or f_life > 0:
                _draw_flames(surf, rect, t, f_life)
            if code in POWERUP_STYLE:
                _draw_powerup(surf, rect, t, code)
            agent_here = False
            if code == C.AGENT_DUMMY:
                _draw_agent(surf, rect, t, None)
                agent_here = True
            elif code >= C.AGENT0:
                i = code - C.AGENT0
                if i >= len(alive) or alive[i]:
                    _draw_agent(surf, rect, t, i)
                    agent_here = True
            if code == C.BOMB or b_life > 0:
                if agent_here:
                    under_agent_bombs.append((rect, b_life))
                else:
                    _draw_bomb(surf, rect.centerx, rect.centery, t, b_life)

    for rect, b_life in under_agent_bombs:
        _draw_bomb(surf, rect.right - 0.24 * t, rect.bottom - 0.25 * t, 0.6 * t, b_life)

    if fog is not None and fog.any():
        shade = pygame.Surface((t, t), pygame.SRCALPHA)
        shade.fill((20, 22, 28, 150))
        for r, c in zip(*np.nonzero(fog)):
            if board[r, c] != C.FOG:
                surf.blit(shade, (int(c) * t, top + int(r) * t))

    # thin grid lines over the board
    line = (0, 0, 0, 28)
    grid = pygame.Surface((width, rows * t), pygame.SRCALPHA)
    for k in range(1, cols):
        pygame.draw.line(grid, line, (k * t, 0), (k * t, rows * t - 1))
    for k in range(1, rows):
        pygame.draw.line(grid, line, (0, k * t), (width - 1, k * t))
    surf.blit(grid, (0, top))

    _draw_status(surf, pygame.Rect(0, top + rows * t, width, status_h), t, step, alive)

    frame = pygame.surfarray.array3d(surf)
    return np.ascontiguousarray(frame.transpose(1, 0, 2), dtype=np.uint8)


def _draw_status(surf: pygame.Surface, bar: pygame.Rect, t: int, step: int, alive: Sequence[bool]) -> None:
    surf.fill(BACKGROUND, bar)
    pygame.draw.line(surf, (70, 74, 84), bar.topleft, (bar.right - 1, bar.top), 1)
    px = round(0.42 * t)
    pad = round(0.25 * t)
    _text_left(surf, f"Step {step}", bar.x + pad, bar.centery, px, TEXT_COLOR)
    # agent chips, right aligned
    r = 0.24 * t
    gap = 0.66 * t
    n = len(alive)
    x = bar.right - pad - r - (n - 1) * gap
    for i, is_alive in enumerate(alive):
        cx, cy = x + i * gap, bar.centery
        color = AGENT_COLORS[i % len(AGENT_COLORS)]
        if is_alive:
            _disc(surf, cx, cy, r, _shade(color, 0.55))
            _disc(surf, cx, cy, r - 1.5, color)
            _text(surf, str(i), (cx, cy + 1), round(0.36 * t), (255, 255, 255), shadow=_shade(color, 0.45))
        else:
            _disc(surf, cx, cy, r, (70, 72, 80))
            _disc(surf, cx, cy, r - 1.5, (52, 55, 62))
            _text(surf, str(i), (cx, cy + 1), round(0.36 * t), DIM_TEXT)
            d = r * 0.8
            w = max(2, t // 20)
            pygame.draw.line(surf, _shade(color, 0.9), (cx - d, cy - d), (cx + d, cy + d), w)
            pygame.draw.line(surf, _shade(color, 0.9), (cx - d, cy + d), (cx + d, cy - d), w)
    n_alive = sum(bool(a) for a in alive)
    label_right = x - r - 0.3 * t
    img = _font(round(0.34 * t)).render(f"{n_alive} alive", True, DIM_TEXT)
    surf.blit(img, img.get_rect(midright=(round(label_right), bar.centery)))


def outline_cell(frame: np.ndarray, row: int, col: int, *, tile: int, color: RGB,
                 width: int = 2) -> np.ndarray:
    """A copy of ``frame`` (drawn by :func:`render_rgb_array` with this ``tile`` and no title)
    with a ``width``-pixel square of ``color`` around cell (``row``, ``col``), inside the cell,
    and a one-pixel dark edge inside that, so that it shows on any tile."""
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ConfigError(f"frame must have shape (H, W, 3), got {frame.shape}")
    t = int(tile)
    if t < 8 or not 1 <= width <= t // 3:
        raise ConfigError(f"need tile >= 8 and 1 <= width <= tile / 3, got tile {tile}, width {width}")
    y0, x0 = int(row) * t, int(col) * t
    if not (0 <= y0 and y0 + t <= frame.shape[0] and 0 <= x0 and x0 + t <= frame.shape[1]):
        raise ConfigError(f"cell ({row}, {col}) is outside a {frame.shape[1]} x {frame.shape[0]} "
                          f"frame of {t}-pixel tiles")
    out = frame.copy()
    for k, shade in ((0, color), (width, (20, 20, 24))):
        ring = out[y0 + k:y0 + t - k, x0 + k:x0 + t - k]
        w = width if k == 0 else 1
        ring[:w], ring[-w:], ring[:, :w], ring[:, -w:] = shade, shade, shade, shade
    return out


def save_png(frame: np.ndarray, path: str | os.PathLike) -> None:
    """Write an ``(H, W, 3)`` uint8 frame to ``path`` as PNG."""
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frame must have shape (H, W, 3), got {frame.shape}")
    surf = pygame.surfarray.make_surface(np.ascontiguousarray(frame.transpose(1, 0, 2)).astype(np.uint8))
    pygame.image.save(surf, os.fspath(path))


# ----------------------------------------------------------------------------------- text

ANSI_CHARS: dict[int, str] = {
    C.PASSAGE: ".",
    C.RIGID: "#",
    C.WOOD: "+",
    C.BOMB: "o",
    C.FLAMES: "*",
    C.FOG: "?",
    C.EXTRA_BOMB: "b",
    C.INCR_RANGE: "r",
    C.KICK: "k",
    C.AGENT_DUMMY: "d",
}


def render_ansi(board: np.ndarray, *, alive: Sequence[bool], step: int) -> str:
    """The board as text, one character per cell and one line per row, then a status line.

    Legend: ``.`` passage, ``#`` rigid wall, ``+`` wood, ``o`` bomb, ``*`` flames, ``?`` fog,
    ``b`` extra-bomb power-up, ``r`` range power-up, ``k`` kick power-up, ``d`` dummy agent,
    ``0``-``3`` agent ``i`` (a dead agent is shown as a passage). The status line reads e.g.
    ``step 12 | alive: 0 1 3``.
    """
    board = np.asarray(board)
    if board.ndim != 2:
        raise ConfigError(f"board must be 2-D, got shape {board.shape}")
    lines = []
    for row in board:
        chars = []
        for v in row:
            code = int(v)
            if code >= C.AGENT0:
                i = code - C.AGENT0
                chars.append(str(i) if i >= len(alive) or alive[i] else ".")
            else:
                chars.append(ANSI_CHARS.get(code, "?"))
        lines.append("".join(chars))
    living = [str(i) for i, a in enumerate(alive) if a]
    lines.append(f"step {step} | alive: {' '.join(living) if living else 'none'}")
    return "\n".join(lines)


__all__ = ["AGENT_COLORS", "ANSI_CHARS", "POWERUP_STYLE", "outline_cell", "render_ansi", "render_rgb_array",
           "save_png"]
