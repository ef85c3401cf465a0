"""Drawing hide-and-seek games: RGB frames (pygame, off-screen) and text.

Pure functions of a :class:`~palaestra.envs.hide_and_seek.state.GameState` and the agents' fields of
view. Rooms are tinted, doors drawn as thresholds, boxes as crates (a locked box wears a padlock
and a frame in its team's colour), ramps as yellow wedges pointing where they vault, hiders blue
and seekers red with a notch towards where they face. Cells a seeker sees are shaded red, cells
a hider sees light blue; during preparation the seekers are blind and drawn frozen (grey). A
hider some seeker sees gets a red ring. Nothing here opens a window.
"""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np

from palaestra.envs.hide_and_seek import constants as K
from palaestra.envs.hide_and_seek.config import HideAndSeekConfig
from palaestra.envs.hide_and_seek.state import GameState
from palaestra.envs.hide_and_seek.world import door_mask, room_labels
from palaestra.errors import ConfigError, MissingExtraError

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
try:
    import pygame
    import pygame.gfxdraw
except ImportError as exc:  # pygame comes with the [viewer] extra
    raise MissingExtraError("viewer", "drawing hide-and-seek frames", "pygame") from exc

RGB = tuple[int, int, int]

TEAM_COLORS: tuple[RGB, RGB] = ((52, 120, 219), (222, 64, 52))
"""Hiders blue, seekers red."""
FROZEN_COLOR: RGB = (150, 150, 160)
ROOM_COLORS: tuple[RGB, ...] = (
    (236, 228, 206), (216, 232, 208), (240, 236, 204), (222, 230, 218), (234, 222, 200), (228, 234, 210),
)
"""Floor tints of the rooms (warm and green tones, apart from the blue and red view shading)."""
WALL_COLOR: RGB = (64, 70, 84)
DOOR_COLOR: RGB = (200, 190, 170)
BOX_COLOR: RGB = (181, 129, 74)
RAMP_COLOR: RGB = (232, 190, 52)
BACKGROUND: RGB = (36, 39, 46)
TEXT_COLOR: RGB = (236, 236, 240)
DIM_TEXT: RGB = (140, 144, 154)
VIEW_ALPHA = (46, 74)
"""Opacity of the hiders' and the seekers' view shading."""


def _shade(color: RGB, factor: float) -> RGB:
    if factor <= 1:
        return tuple(max(0, min(255, int(c * factor))) for c in color)  # type: ignore[return-value]
    t = factor - 1
    return tuple(max(0, min(255, int(c + (255 - c) * t))) for c in color)  # type: ignore[return-value]


@lru_cache(maxsize=16)
def _font(px: int) -> pygame.font.Font:
    if not pygame.font.get_init():
        pygame.font.init()
    return pygame.font.Font(None, max(8, px))


def _text(surf: pygame.Surface, text: str, center: tuple[float, float], px: int, color: RGB) -> None:
    img = _font(px).render(text, True, color)
    surf.blit(img, img.get_rect(center=(round(center[0]), round(center[1]))))


def _text_left(surf: pygame.Surface, text: str, left: float, cy: float, px: int, color: RGB) -> int:
    img = _font(px).render(text, True, color)
    rect = img.get_rect(midleft=(round(left), round(cy)))
    surf.blit(img, rect)
    return rect.right


def _disc(surf: pygame.Surface, cx: float, cy: float, r: float, color: RGB) -> None:
    x, y, rr = round(cx), round(cy), max(1, round(r))
    pygame.gfxdraw.filled_circle(surf, x, y, rr, color)
    pygame.gfxdraw.aacircle(surf, x, y, rr, color)


# ----------------------------------------------------------------------------------- pieces


def _draw_floor(surf: pygame.Surface, game: GameState, top: int, t: int) -> None:
    labels = room_labels(game.walls)
    doors = door_mask(game.walls)
    h, w = game.shape
    for r in range(h):
        for c in range(w):
            rect = pygame.Rect(c * t, top + r * t, t, t)
            if game.walls[r, c]:
                surf.fill(_shade(WALL_COLOR, 0.8), rect)
                surf.fill(WALL_COLOR, rect.inflate(-2, -2))
                pygame.draw.line(surf, _shade(WALL_COLOR, 1.2), rect.topleft, (rect.right - 2, rect.top), 1)
            elif doors[r, c]:
                surf.fill(DOOR_COLOR, rect)
                # threshold bars across the opening
                bar = max(2, t // 10)
                if game.walls[r, c - 1] and game.walls[r, c + 1]:
                    for y in (rect.top, rect.bottom - bar):
                        surf.fill(_shade(DOOR_COLOR, 0.7), (rect.x, y, t, bar))
                else:
                    for x in (rect.left, rect.right - bar):
                        surf.fill(_shade(DOOR_COLOR, 0.7), (x, rect.y, bar, t))
            else:
                base = ROOM_COLORS[int(labels[r, c]) % len(ROOM_COLORS)]
                surf.fill(base if (r + c) % 2 else _shade(base, 0.97), rect)


def _draw_views(surf: pygame.Surface, game: GameState, fov: np.ndarray, prep: bool, top: int, t: int) -> None:
    h, w = game.shape
    for team in (K.HIDERS, K.SEEKERS):
        if team == K.SEEKERS and prep:
            continue  # blind during preparation
        members = game.agent_team == team
        if not members.any():
            continue
        seen = fov[members].any(axis=0) & ~game.walls
        layer = pygame.Surface((w * t, h * t), pygame.SRCALPHA)
        color = (*TEAM_COLORS[team], VIEW_ALPHA[team])
        for r, c in zip(*np.nonzero(seen)):
            layer.fill(color, (int(c) * t, int(r) * t, t, t))
        surf.blit(layer, (0, top))


def _draw_ramp(surf: pygame.Surface, rect: pygame.Rect, t: int, direction: int | None) -> None:
    """A ramp: steps rising towards the wall it vaults (up when it vaults nothing), with a chevron."""
    d = K.UP if direction is None else direction
    dr, dc = (int(v) for v in K.DIRECTIONS[d])
    pad = max(1, t // 16)
    body = rect.inflate(-2 * pad, -2 * pad)
    pygame.draw.rect(surf, _shade(RAMP_COLOR, 0.55), body, border_radius=max(1, t // 10))
    inner = body.inflate(-2, -2)
    n = 4
    for k in range(n):  # steps, lighter towards the high side
        color = _shade(RAMP_COLOR, 0.75 + 0.1 * k)
        f0, f1 = k / n, (k + 1) / n
        if dc == 0:
            y0, y1 = (inner.bottom - f1 * inner.h, inner.bottom - f0 * inner.h) if dr < 0 else \
                (inner.top + f0 * inner.h, inner.top + f1 * inner.h)
            band = pygame.Rect(inner.x, round(y0), inner.w, max(1, round(y1) - round(y0)))
        else:
            x0, x1 = (inner.right - f1 * inner.w, inner.right - f0 * inner.w) if dc < 0 else \
                (inner.left + f0 * inner.w, inner.left + f1 * inner.w)
            band = pygame.Rect(round(x0), inner.y, max(1, round(x1) - round(x0)), inner.h)
        surf.fill(color, band)
    cx, cy = inner.center
    px, py = -dr, dc  # perpendicular, in (x, y)
    for off in (-0.12, 0.14):
        tip = (cx + dc * (off + 0.16) * t, cy + dr * (off + 0.16) * t)
        wing = 0.2 * t
        back = (cx + dc * off * t, cy + dr * off * t)
        pygame.draw.lines(surf, (90, 60, 10), False, [
            (back[0] + px * wing, back[1] + py * wing), tip, (back[0] - px * wing, back[1] - py * wing)],
            max(2, t // 12))


def _ramp_direction(game: GameState, r: int, c: int) -> int | None:
    h, w = game.shape
    for d, (dr, dc) in enumerate(K.DIRECTIONS):
        r2, c2 = r + 2 * dr, c + 2 * dc
        if 0 <= r2 < h and 0 <= c2 < w and game.walls[r + dr, c + dc] and not game.walls[r2, c2]:
            return d
    return None


def _draw_box(surf: pygame.Surface, rect: pygame.Rect, t: int, lock: int) -> None:
    pad = max(2, t // 12)
    box = rect.inflate(-2 * pad, -2 * pad)
    frame_color = _shade(BOX_COLOR, 0.6) if lock == K.UNLOCKED else TEAM_COLORS[lock]
    pygame.draw.rect(surf, frame_color, box, border_radius=max(1, t // 12))
    inner_w = max(2, t // 8) if lock != K.UNLOCKED else max(1, t // 14)
    body = box.inflate(-2 * inner_w, -2 * inner_w)
    pygame.draw.rect(surf, BOX_COLOR, body)
    line = _shade(BOX_COLOR, 0.72)
    pygame.draw.line(surf, line, body.topleft, (body.right - 1, body.bottom - 1), max(1, t // 16))
    pygame.draw.line(surf, line, (body.left, body.bottom - 1), (body.right - 1, body.top), max(1, t // 16))
    pygame.draw.rect(surf, _shade(BOX_COLOR, 0.6), body, 1)
    if lock != K.UNLOCKED:
        color = TEAM_COLORS[lock]
        cx, cy = body.centerx, body.centery + 0.06 * t
        bw, bh = 0.34 * t, 0.24 * t
        shackle = pygame.Rect(0, 0, round(0.22 * t), round(0.26 * t))
        shackle.midbottom = (round(cx), round(cy - 0.02 * t))
        pygame.draw.ellipse(surf, (250, 250, 250), shackle, max(2, t // 14))
        lock_body = pygame.Rect(0, 0, round(bw), round(bh))
        lock_body.center = (round(cx), round(cy + 0.06 * t))
        pygame.draw.rect(surf, (250, 250, 250), lock_body.inflate(2, 2), border_radius=max(1, t // 20))
        pygame.draw.rect(surf, color, lock_body, border_radius=max(1, t // 20))


def _draw_agent(surf: pygame.Surface, rect: pygame.Rect, t: int, team: int, index: int, face: int,
                frozen: bool, spotted: bool) -> None:
    color = FROZEN_COLOR if frozen else TEAM_COLORS[team]
    cx, cy = rect.centerx, rect.centery
    r = 0.34 * t
    if spotted:
        _disc(surf, cx, cy, r + max(3, t / 10), TEAM_COLORS[K.SEEKERS])
        _disc(surf, cx, cy, r + max(1, t / 24), (255, 255, 255))
    _disc(surf, cx, cy, r, _shade(color, 0.55))
    _disc(surf, cx, cy, r - max(1.5, t / 24), color)
    # facing notch: a triangle on the rim
    dr, dc = K.DIRECTIONS[face]
    px, py = -dr, dc  # perpendicular (in x, y)
    tip = (cx + dc * 0.5 * t, cy + dr * 0.5 * t)
    base = (cx + dc * 0.22 * t, cy + dr * 0.22 * t)
    half = 0.16 * t
    pygame.draw.polygon(surf, _shade(color, 0.45), [
        tip, (base[0] + px * half, base[1] + py * half), (base[0] - px * half, base[1] - py * half)])
    label = ("H" if team == K.HIDERS else "S") + str(index)
    _text(surf, label, (cx, cy + 1), round(0.42 * t), (255, 255, 255))
    if frozen:
        _text(surf, "z", (rect.right - 0.16 * t, rect.top + 0.16 * t), round(0.4 * t), (40, 40, 60))


def _draw_status(surf: pygame.Surface, bar: pygame.Rect, t: int, game: GameState, config: HideAndSeekConfig,
                 all_hidden: bool) -> None:
    surf.fill(BACKGROUND, bar)
    pygame.draw.line(surf, (70, 74, 84), bar.topleft, (bar.right - 1, bar.top), 1)
    px = round(0.42 * t)
    pad = round(0.25 * t)
    prep = game.step < config.prep_steps
    x = _text_left(surf, f"Step {game.step}/{config.max_steps}", bar.x + pad, bar.centery, px, TEXT_COLOR)
    if prep:
        phase = f"PREP  ({config.prep_steps - game.step} left, seekers frozen)"
        color: RGB = (120, 200, 240)
    else:
        phase = "SEEK"
        color = (240, 200, 90)
    _text_left(surf, phase, x + pad * 2, bar.centery, px, color)
    # During preparation nobody is paid: say what the seekers would see if they looked.
    prefix = "would be" if prep else "hiders"
    if all_hidden:
        verdict, vcolor = f"{prefix} hidden", TEAM_COLORS[K.HIDERS]
    else:
        verdict, vcolor = f"{prefix} seen", TEAM_COLORS[K.SEEKERS]
    img = _font(px).render(verdict, True, _shade(vcolor, 1.3))
    surf.blit(img, img.get_rect(midright=(bar.right - pad, bar.centery)))


# ----------------------------------------------------------------------------------- frames


def render_rgb_array(game: GameState, fov: np.ndarray, config: HideAndSeekConfig, *, all_hidden: bool,
                     tile: int = 40) -> np.ndarray:
    """The game as an ``(H, W, 3)`` uint8 frame: ``tile`` pixels per cell, a title bar above the
    grid and a status bar (step, phase, whether the hiders are hidden) below it. ``fov`` holds the
    cells each agent sees (as :func:`~palaestra.envs.hide_and_seek.vision.fields_of_view`)."""
    if tile < 12:
        raise ConfigError(f"tile must be at least 12 pixels, got {tile}")
    t = int(tile)
    h, w = game.shape
    title_h, status_h = round(0.7 * t), round(0.8 * t)
    width = max(w * t, 14 * t)
    surf = pygame.Surface((width, title_h + h * t + status_h))
    surf.fill(BACKGROUND)
    n_h = int((game.agent_team == K.HIDERS).sum())
    n_s = len(game.agent_team) - n_h
    _text(surf, f"Hide and seek  {n_h} hider{'s' * (n_h > 1)} vs {n_s} seeker{'s' * (n_s > 1)}",
          (width / 2, title_h / 2), round(0.5 * t), TEXT_COLOR)
    top = title_h
    prep = game.step < config.prep_steps

    _draw_floor(surf, game, top, t)
    _draw_views(surf, game, fov, prep, top, t)
    for r, c in game.ramps:
        _draw_ramp(surf, pygame.Rect(int(c) * t, top + int(r) * t, t, t), t, _ramp_direction(game, int(r), int(c)))
    for b, (r, c) in enumerate(game.boxes):
        _draw_box(surf, pygame.Rect(int(c) * t, top + int(r) * t, t, t), t, int(game.box_lock[b]))

    seekers = game.agent_team == K.SEEKERS
    seeker_view = fov[seekers].any(axis=0) if seekers.any() else np.zeros(game.shape, bool)
    counters = [0, 0]
    for k, (r, c) in enumerate(game.agent_pos):
        team = int(game.agent_team[k])
        index = counters[team]
        counters[team] += 1
        spotted = team == K.HIDERS and not prep and bool(seeker_view[r, c])
        _draw_agent(surf, pygame.Rect(int(c) * t, top + int(r) * t, t, t), t, team, index,
                    int(game.agent_face[k]), frozen=prep and team == K.SEEKERS, spotted=spotted)

    _draw_status(surf, pygame.Rect(0, top + h * t, width, status_h), t, game, config, all_hidden)
    frame = pygame.surfarray.array3d(surf)
    return np.ascontiguousarray(frame.transpose(1, 0, 2), dtype=np.uint8)


def save_png(frame: np.ndarray, path: str | os.PathLike) -> None:
    """Write an ``(H, W, 3)`` uint8 frame to ``path`` as PNG."""
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frame must have shape (H, W, 3), got {frame.shape}")
    surf = pygame.surfarray.make_surface(np.ascontiguousarray(frame.transpose(1, 0, 2)).astype(np.uint8))
    pygame.image.save(surf, os.fspath(path))


# ----------------------------------------------------------------------------------- text


def render_ansi(game: GameState, config: HideAndSeekConfig, *, all_hidden: bool) -> str:
    """The grid as text, one character per cell, then a status line.

    Legend: ``#`` wall, ``.`` floor, ``^`` ramp, ``o`` box, ``h``/``s`` box locked by the
    hiders/seekers, ``A``-``C`` hiders 0-2, ``X``-``Z`` seekers 0-2. The status line reads e.g.
    ``step 50/120 seek | hiders hidden``.
    """
    h, w = game.shape
    rows = [["#" if game.walls[r, c] else "." for c in range(w)] for r in range(h)]
    for r, c in game.ramps:
        rows[r][c] = "^"
    for b, (r, c) in enumerate(game.boxes):
        lock = int(game.box_lock[b])
        rows[r][c] = "o" if lock == K.UNLOCKED else "hs"[lock]
    counters = [0, 0]
    for k, (r, c) in enumerate(game.agent_pos):
        team = int(game.agent_team[k])
        rows[r][c] = ("ABC", "XYZ")[team][counters[team]]
        counters[team] += 1
    phase = "prep" if game.step < config.prep_steps else "seek"
    verdict = "hiders hidden" if all_hidden else "hiders seen"
    lines = ["".join(row) for row in rows]
    lines.append(f"step {game.step}/{config.max_steps} {phase} | {verdict}")
    return "\n".join(lines)


__all__ = ["TEAM_COLORS", "render_ansi", "render_rgb_array", "save_png"]
