"""The replay viewer's Bomber parts: the board (full or one agent's fogged view) and the agents panel."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pygame

from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber.observe import agent_boards
from palaestra.envs.bomber.render import AGENT_COLORS, POWERUP_STYLE, render_rgb_array
from palaestra.viewer.look import ALIVE_COLOR, DEAD_COLOR, DIM, ROW_HIGHLIGHT, TEXT, chip, disc
from palaestra.viewer.timeline import Timeline
from palaestra.viewer.ui import draw_text


def board_frame(tl: Timeline, step: int, view: int, tile: int) -> np.ndarray:
    """The board at ``step`` as an RGB array: the full view (``view`` 0) or the fogged view of
    agent ``view - 1``, under a title line."""
    s = tl.state(step)
    board, bomb_life, flame_life = s.board, s.bomb_life(), s.flame_life()
    title = f"Bomber {tl.params.get('mode', '')}  ·  full view"
    if view:
        k = view - 1
        size = int(tl.params.get("agent_view_size", 4))
        board = agent_boards(s.board[None], s.agents[None], size)[0, k]
        hidden = board == C.FOG
        bomb_life = np.where(hidden, 0, bomb_life)
        flame_life = np.where(hidden, 0, flame_life)
        dead = "" if s.alive[k] else "  (dead)"
        title = f"view of {tl.label(k)}{dead}"
    return render_rgb_array(board, alive=s.alive, step=s.step, bomb_life=bomb_life,
                            flame_life=flame_life, tile=tile, title=title)


def draw_view_outline(surface: pygame.Surface, tl: Timeline, step: int, view: int,
                      cell_rect: Callable[[int, int], pygame.Rect]) -> None:
    """Outline, in the agent's colour, the square that agent ``view - 1`` sees."""
    k = view - 1
    s = tl.state(step)
    size = int(tl.params.get("agent_view_size", 4))
    r, c = int(s.agents[k, 1]), int(s.agents[k, 2])
    r0, c0, r1, c1 = max(0, r - size), max(0, c - size), min(10, r + size), min(10, c + size)
    top_left, bottom_right = cell_rect(r0, c0), cell_rect(r1, c1)
    rect = pygame.Rect(top_left.topleft, (bottom_right.right - top_left.x, bottom_right.bottom - top_left.y))
    pygame.draw.rect(surface, AGENT_COLORS[k % len(AGENT_COLORS)], rect, 3)


def draw_bomber_panel(surface: pygame.Surface, tl: Timeline, step: int, view: int, p: pygame.Rect,
                      y: int, rating: Callable[[int], str | None]
                      ) -> tuple[int, list[pygame.Rect], list[pygame.Rect]]:
    """One row per agent from ``y`` down in panel ``p``: number, seat, agent, ALIVE/DEAD badge,
    rating, and bombs / range / kick (or when it died).

    Returns the y below the rows, each agent's row and each agent's badge rectangle.
    """
    s = tl.state(step)
    row_h = 62
    agent_rects: list[pygame.Rect] = []
    status_rects: list[pygame.Rect] = []
    for k, seat in enumerate(tl.seats):
        row = pygame.Rect(p.x + 8, y, p.w - 16, row_h - 4)
        agent_rects.append(row)
        alive = s.alive[k]
        if view == k + 1:
            pygame.draw.rect(surface, ROW_HIGHLIGHT, row, border_radius=8)
        color = AGENT_COLORS[k % len(AGENT_COLORS)]
        cx, cy = row.x + 22, row.y + 20
        if alive:
            disc(surface, cx, cy, 14, tuple(int(v * 0.55) for v in color))  # type: ignore[arg-type]
            disc(surface, cx, cy, 12.5, color)
            draw_text(surface, str(k), (cx, cy + 1), 22, (255, 255, 255), anchor="center")
        else:
            disc(surface, cx, cy, 14, (70, 72, 80))
            draw_text(surface, str(k), (cx, cy + 1), 22, DIM, anchor="center")
            pygame.draw.line(surface, color, (cx - 9, cy - 9), (cx + 9, cy + 9), 3)
            pygame.draw.line(surface, color, (cx - 9, cy + 9), (cx + 9, cy - 9), 3)
        name_color = TEXT if alive else DIM
        badge = pygame.Rect(0, 0, 62, 20)
        badge.midright = (row.right - 8, cy)
        end = draw_text(surface, seat, (row.x + 46, cy), 22, name_color).right
        agent = tl.agents[k] if k < len(tl.agents) else ""
        draw_text(surface, agent, (end + 8, cy + 1), 18, DIM, width=max(0, badge.x - end - 16))
        pygame.draw.rect(surface, ALIVE_COLOR if alive else DEAD_COLOR, badge, border_radius=10)
        draw_text(surface, "ALIVE" if alive else "DEAD", badge.center, 16, (255, 255, 255), anchor="center")
        status_rects.append(badge)
        y2 = row.y + 44
        x = row.x + 46
        rated = rating(k)
        if rated is not None:
            x = draw_text(surface, f"rating {rated}", (x, y2), 18, name_color).right + 10
        if alive:
            ammo, blast, kick = (int(v) for v in s.agents[k, 3:6])
            x = chip(surface, x, y2, f"bombs {ammo}", POWERUP_STYLE[C.EXTRA_BOMB][0]) + 6
            x = chip(surface, x, y2, f"range {blast}", POWERUP_STYLE[C.INCR_RANGE][0]) + 6
            chip(surface, x, y2, "kick" if kick else "no kick",
                 POWERUP_STYLE[C.KICK][0] if kick else (74, 78, 90))
        else:
            died = tl.death_step(k)
            draw_text(surface, f"died at step {died}" if died is not None else "dead", (x, y2), 18,
                      DEAD_COLOR)
        y += row_h
    return y + 4, agent_rects, status_rects
