"""The replay viewer's hide-and-seek parts: the map with every agent's vision cone, and the panel.

The map itself (rooms, doors, walls, boxes with their locks, ramps, agents in their team's colour
with a notch where they face, the step and phase bar) is the env's own frame
(:func:`palaestra.envs.hide_and_seek.render.render_rgb_array`), drawn without its team-wide view
shading. On top of it each agent's field of view is shaded in that agent's own translucent colour
and outlined in it (hiders in blues, seekers in reds; :data:`AGENT_COLORS`), a ring in the same
colour marks the agent, and a hider that some seeker sees is framed in white and red with a red
"!" badge. While the seekers are
blind (the preparation phase) their cones are not drawn. In the view of one agent (``view`` k,
agent k - 1) only that agent's cone is drawn and every cell it does not see is dimmed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pygame

from palaestra.envs.hide_and_seek import constants as K
from palaestra.envs.hide_and_seek.render import TEAM_COLORS, render_rgb_array
from palaestra.viewer.look import BACKGROUND, DIM, RGB, ROW_HIGHLIGHT, TEXT, array_to_surface, chip, disc
from palaestra.viewer.records import HideAndSeekState
from palaestra.viewer.timeline import Timeline
from palaestra.viewer.ui import draw_text, font

AGENT_COLORS: tuple[tuple[RGB, RGB, RGB], tuple[RGB, RGB, RGB]] = (
    (TEAM_COLORS[K.HIDERS], (0, 190, 200), (130, 100, 240)),
    (TEAM_COLORS[K.SEEKERS], (250, 140, 20), (220, 50, 160)),
)
"""Colour of each agent's cone and ring, by team and index in the team (the first is the team's)."""
CONE_ALPHA = 72
"""Opacity of a cone's shading (0..255)."""
FOG_ALPHA = 190
"""Opacity of the dimming over the cells the viewed agent does not see."""
SPOTTED_COLOR: RGB = (255, 60, 40)
TITLE_FRACTION = 0.7
"""Height of the title bar above the grid in :func:`render_rgb_array`'s frame, in cells."""


def cell_size(grid_size: int, tile: int) -> int:
    """Pixels per map cell: the map takes about as much room as a Bomber board (11 cells of
    ``tile``), with cells between 12 pixels (the env's smallest) and ``tile``."""
    return max(12, min(int(tile), round(13 * tile / grid_size)))


def agent_color(state: HideAndSeekState, k: int) -> RGB:
    """The colour of agent ``k``'s cone and ring."""
    team = int(state.game.agent_team[k])
    index = int((state.game.agent_team[:k] == team).sum())
    return AGENT_COLORS[team][index % 3]


def grid_top(tile: int) -> int:
    """The y of the grid's first row in a frame drawn with cells of ``tile`` pixels."""
    return round(TITLE_FRACTION * tile)


def map_frame(tl: Timeline, step: int, view: int, tile: int) -> np.ndarray:
    """The map at ``step`` as an RGB array (cells of :func:`cell_size` pixels): every agent's
    cone (``view`` 0) or only agent ``view - 1``'s, with the cells it does not see dimmed."""
    s: HideAndSeekState = tl.state(step)
    game = s.game
    t = cell_size(game.shape[0], tile)
    base = render_rgb_array(game, np.zeros_like(s.fov), tl.params["config"], all_hidden=s.all_hidden,
                            tile=t)
    surf = array_to_surface(base)
    top = grid_top(t)
    occupied = game.agent_at >= 0
    agents = range(len(game.agent_team)) if view == 0 else [view - 1]
    for k in agents:
        if s.prep and game.agent_team[k] == K.SEEKERS:
            continue  # blind during preparation
        _draw_cone(surf, s.fov[k] & ~game.walls, occupied, agent_color(s, k), top, t)
    if view:
        k = view - 1
        blind = s.prep and game.agent_team[k] == K.SEEKERS
        seen = np.zeros(game.shape, bool) if blind else s.fov[k].copy()
        seen[tuple(game.agent_pos[k])] = True
        _dim(surf, ~seen & ~game.walls, top, t)
        title = pygame.Rect(0, 0, surf.get_width(), top)
        surf.fill(BACKGROUND, title)
        note = "  (frozen and blind)" if blind else ""
        draw_text(surf, f"view of {tl.label(k)}{note}", title.center, round(0.5 * t), TEXT, anchor="center")
    spotted = set(s.seen_hiders())
    for k, (r, c) in enumerate(game.agent_pos):
        if view and k != view - 1 and not s.fov[view - 1, r, c]:
            continue
        cx, cy = int(c) * t + t / 2, top + int(r) * t + t / 2
        pygame.draw.circle(surf, agent_color(s, k), (round(cx), round(cy)), round(0.43 * t), max(2, t // 16))
        if k in spotted:
            _draw_spotted(surf, pygame.Rect(int(c) * t, top + int(r) * t, t, t), t)
    return np.ascontiguousarray(pygame.surfarray.array3d(surf).transpose(1, 0, 2), dtype=np.uint8)


def _draw_cone(surf: pygame.Surface, region: np.ndarray, occupied: np.ndarray, color: RGB, top: int,
               t: int) -> None:
    """Shade ``region`` (cells seen, walls excluded) in ``color``, the agents' cells left clear so
    they keep their team's colour, and outline the region's border."""
    h, w = region.shape
    layer = pygame.Surface((w * t, h * t), pygame.SRCALPHA)
    for r, c in zip(*np.nonzero(region & ~occupied)):
        layer.fill((*color, CONE_ALPHA), (int(c) * t, int(r) * t, t, t))
    surf.blit(layer, (0, top))
    width = max(2, t // 16)
    padded = np.pad(region, 1)
    for r, c in zip(*np.nonzero(region)):
        x0, y0 = int(c) * t, top + int(r) * t
        x1, y1 = x0 + t - 1, y0 + t - 1
        pr, pc = int(r) + 1, int(c) + 1
        for open_side, a, b in ((not padded[pr - 1, pc], (x0, y0), (x1, y0)),
                                (not padded[pr + 1, pc], (x0, y1), (x1, y1)),
                                (not padded[pr, pc - 1], (x0, y0), (x0, y1)),
                                (not padded[pr, pc + 1], (x1, y0), (x1, y1))):
            if open_side:
                pygame.draw.line(surf, color, a, b, width)


def _draw_spotted(surf: pygame.Surface, cell: pygame.Rect, t: int) -> None:
    """A seen hider: its cell framed white and red, and a red "!" badge on the frame's corner."""
    width = max(2, t // 12)
    pygame.draw.rect(surf, (255, 255, 255), cell, width + 2)
    pygame.draw.rect(surf, SPOTTED_COLOR, cell.inflate(-4, -4), width)
    radius = max(5, round(0.17 * t))
    cx, cy = cell.right - radius, cell.top + radius
    disc(surf, cx, cy, radius + 1, (255, 255, 255))
    disc(surf, cx, cy, radius, SPOTTED_COLOR)
    draw_text(surf, "!", (cx, cy + 1), round(2.2 * radius), (255, 255, 255), anchor="center")


def _dim(surf: pygame.Surface, cells: np.ndarray, top: int, t: int) -> None:
    h, w = cells.shape
    layer = pygame.Surface((w * t, h * t), pygame.SRCALPHA)
    for r, c in zip(*np.nonzero(cells)):
        layer.fill((18, 20, 26, FOG_ALPHA), (int(c) * t, int(r) * t, t, t))
    surf.blit(layer, (0, top))


def _status(s: HideAndSeekState, k: int, spotted: set[int]) -> tuple[str, RGB]:
    team = int(s.game.agent_team[k])
    if team == K.HIDERS:
        if s.prep:
            return "hiding", (74, 78, 90)
        return ("seen", SPOTTED_COLOR) if k in spotted else ("hidden", TEAM_COLORS[K.HIDERS])
    if s.prep:
        return "frozen", (110, 112, 124)
    n = len(s.sees(k))
    return (f"sees {n}", TEAM_COLORS[K.SEEKERS]) if n else ("searching", (74, 78, 90))


def draw_hide_and_seek_panel(surface: pygame.Surface, tl: Timeline, step: int, view: int, p: pygame.Rect,
                             y: int, rating: Callable[[int], str | None]) -> tuple[int, list[pygame.Rect]]:
    """The two teams from ``y`` down in panel ``p``: per team its return so far and what it did
    (boxes moved, locks, vaults), per agent its colour, seat, agent name, rating and whether it is
    seen (hiders) or sees a hider (seekers). Returns the y below and each agent's row."""
    s: HideAndSeekState = tl.state(step)
    game = s.game
    spotted = set(s.seen_hiders())
    rows: list[pygame.Rect] = []
    x = p.x + 16
    for team in (K.HIDERS, K.SEEKERS):
        name = K.TEAM_NAMES[team]
        done = {key: s.stats["prep"][f"{name}_{key}"] + s.stats["seek"][f"{name}_{key}"]
                for key in ("box_moves", "locks", "ramp_uses")}
        draw_text(surface, f"{name.capitalize()}s", (x, y + 12), 24, TEAM_COLORS[team])
        draw_text(surface, f"return {s.returns[team]:+g}", (p.right - 16, y + 12), 20, TEXT, anchor="midright")
        y += 26
        draw_text(surface, f"boxes moved {done['box_moves']}  ·  locks {done['locks']}  ·  vaults "
                           f"{done['ramp_uses']}", (x, y + 8), 17, DIM, width=p.w - 32)
        y += 20
        for k in np.flatnonzero(game.agent_team == team).tolist():
            row = pygame.Rect(p.x + 8, y, p.w - 16, 30)
            rows.append(row)
            if view == k + 1:
                pygame.draw.rect(surface, ROW_HIGHLIGHT, row, border_radius=8)
            color = agent_color(s, k)
            cx, cy = row.x + 20, row.centery
            disc(surface, cx, cy, 11, color)
            index = int((game.agent_team[:k] == team).sum())
            draw_text(surface, f"{'HS'[team]}{index}", (cx, cy + 1), 17, (255, 255, 255), anchor="center")
            label, badge = _status(s, k, spotted)
            end = draw_text(surface, tl.seats[k], (row.x + 40, cy), 20, TEXT).right
            rated = rating(k)
            agent = tl.agents[k] if k < len(tl.agents) else ""
            extra = " ".join(part for part in (agent if agent != tl.seats[k] else "",
                                               f"rating {rated}" if rated is not None else "") if part)
            draw_text(surface, extra, (end + 8, cy + 1), 17, DIM, width=max(0, row.right - end - 110))
            chip(surface, row.right - 8 - (font(16).size(label)[0] + 12), cy, label, badge, px=16)
            y += 32
        y += 8
    return y + 4, rows
