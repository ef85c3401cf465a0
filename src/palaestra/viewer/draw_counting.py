"""The replay viewer's counting parts: the grid with the agent, the target and the path so far, a
step counter strip, and the agent's panel.

Above the grid: ``T = 7`` and ``step 3`` in large type, how the episode stands (waiting, walking,
on time, too early, too late, time out), and a strip with one box per step up to
``T + grace_steps``: the steps taken are filled, box T is framed in gold. On the grid the target is
a red square and the agent a disc (blue while the episode runs, green on time, yellow early or
late, grey on a time out) at the end of the path it has walked.
"""

from __future__ import annotations

from collections.abc import Callable

import pygame

from palaestra.viewer.counting_log import move_name
from palaestra.viewer.look import BACKGROUND, DIM, LINE, RGB, TEXT, disc
from palaestra.viewer.records import CountingState
from palaestra.viewer.timeline import Timeline
from palaestra.viewer.ui import draw_text

AGENT_COLOR: RGB = (52, 120, 219)
TARGET_COLOR: RGB = (214, 48, 49)
DUE_COLOR: RGB = (241, 196, 15)
OUTCOME_COLORS: dict[str, RGB] = {
    "on_time": (46, 204, 113), "early": (241, 196, 15), "late": (241, 196, 15), "timeout": (150, 150, 160),
}
"""The agent's colour once the episode has ended, by ending."""
OUTCOME_TEXT: dict[str, str] = {
    "on_time": "on time!", "early": "too early", "late": "too late", "timeout": "time out",
}
FLOOR: tuple[RGB, RGB] = ((222, 214, 190), (210, 201, 176))
PATH_COLOR: RGB = (90, 140, 220)


def main_size(tile: int) -> tuple[int, int]:
    """(width, height) of the counting picture: as wide as a Bomber board, and as tall."""
    return 11 * tile, round(12.5 * tile)


def grid_layout(area: pygame.Rect, tile: int, size: int) -> tuple[pygame.Rect, pygame.Rect, int]:
    """The strip's rectangle, the grid's rectangle and the cell size in ``area``."""
    header = round(1.2 * tile)
    strip = pygame.Rect(area.x + tile // 2, area.y + header, area.w - tile, round(0.6 * tile))
    room = min(area.w - tile, area.bottom - strip.bottom - tile // 2 - tile // 3)
    cell = max(8, room // size)
    grid = pygame.Rect(0, 0, cell * size, cell * size)
    grid.midtop = (area.centerx, strip.bottom + tile // 3)
    return strip, grid, cell


def status(tl: Timeline, s: CountingState) -> tuple[str, RGB]:
    """How the episode stands at state ``s``, and the colour to say it in."""
    if s.outcome is not None:
        return OUTCOME_TEXT[s.outcome], OUTCOME_COLORS[s.outcome]
    if s.step == 0:
        return "start", DIM
    T = tl.params["T"]
    if s.step >= T:
        return "missed step T", OUTCOME_COLORS["late"]
    return ("waiting" if move_name(s.move) == "stay" else "walking"), TEXT


def draw_counting_grid(surface: pygame.Surface, tl: Timeline, step: int, area: pygame.Rect, tile: int) -> None:
    """T, the step count, the strip of steps and the grid at ``step`` in ``area``."""
    s: CountingState = tl.state(step)
    prm = tl.params
    T, size = prm["T"], prm["size"]
    surface.fill(BACKGROUND, area)
    mid = area.y + round(0.6 * tile)
    draw_text(surface, f"T = {T}", (area.x + tile // 2, mid), round(0.9 * tile), TEXT)
    draw_text(surface, f"step {s.step}", (area.right - tile // 2, mid), round(0.9 * tile), TEXT,
              anchor="midright")
    text, color = status(tl, s)
    draw_text(surface, text, (area.centerx, mid), round(0.6 * tile), color, anchor="center")
    strip, grid, cell = grid_layout(area, tile, size)
    _draw_strip(surface, strip, s.step, T, T + prm["grace_steps"])
    for r in range(size):
        for c in range(size):
            surface.fill(FLOOR[(r + c) % 2], (grid.x + c * cell, grid.y + r * cell, cell, cell))
    pygame.draw.rect(surface, LINE, grid.inflate(4, 4), 2)

    def centre(rc: tuple[int, int]) -> tuple[float, float]:
        return grid.x + rc[1] * cell + cell / 2, grid.y + rc[0] * cell + cell / 2

    tr, tc = s.target
    target = pygame.Rect(grid.x + tc * cell, grid.y + tr * cell, cell, cell).inflate(-cell // 6, -cell // 6)
    pygame.draw.rect(surface, TARGET_COLOR, target, border_radius=max(2, cell // 10))
    pygame.draw.rect(surface, (255, 255, 255), target.inflate(-cell // 3, -cell // 3), max(2, cell // 16),
                     border_radius=max(2, cell // 14))
    path = [centre(st.agent) for st in tl.states[: s.step + 1]]
    start = path[0]
    pygame.draw.circle(surface, PATH_COLOR, (round(start[0]), round(start[1])), max(4, cell // 6), 2)
    if len(path) > 1:
        pygame.draw.lines(surface, PATH_COLOR, False, path, max(3, cell // 14))
    agent = OUTCOME_COLORS.get(s.outcome or "", AGENT_COLOR)
    ax, ay = centre(s.agent)
    disc(surface, ax, ay, cell / 3 + 2, tuple(int(v * 0.55) for v in agent))  # type: ignore[arg-type]
    disc(surface, ax, ay, cell / 3, agent)


def _draw_strip(surface: pygame.Surface, strip: pygame.Rect, step: int, T: int, last: int) -> None:
    """One box per step 1..``last``: filled up to ``step``, box T framed in gold."""
    gap = 3
    box = max(4, min(strip.h, (strip.w + gap) // last - gap))
    x = strip.x + (strip.w - (last * (box + gap) - gap)) // 2
    for n in range(1, last + 1):
        rect = pygame.Rect(x, strip.y + (strip.h - box) // 2, box, box)
        if n <= step:
            color: RGB = AGENT_COLOR if n <= T else OUTCOME_COLORS["late"]
            pygame.draw.rect(surface, color, rect, border_radius=3)
        else:
            pygame.draw.rect(surface, (62, 66, 78) if n <= T else (48, 52, 60), rect, border_radius=3)
        if n == T:
            pygame.draw.rect(surface, DUE_COLOR, rect.inflate(6, 6), 3, border_radius=4)
        x += box + gap


def draw_counting_panel(surface: pygame.Surface, tl: Timeline, step: int, p: pygame.Rect, y: int,
                        rating: Callable[[int], str | None]) -> int:
    """The agent, its rating, the step and T, where it is, its last move and how the episode
    stands, from ``y`` down in panel ``p``; returns the y below them."""
    s: CountingState = tl.state(step)
    prm = tl.params
    T = prm["T"]
    x = p.x + 16
    agent = tl.agents[0] if tl.agents else "agent"
    end = draw_text(surface, agent, (x, y + 14), 24, TEXT, width=p.w - 120).right
    rated = rating(0)
    if rated is not None:
        draw_text(surface, f"rating {rated}", (end + 10, y + 15), 18, DIM)
    y += 36
    draw_text(surface, f"step {s.step} of T = {T}", (x, y + 16), 36, TEXT)
    y += 40
    text, color = status(tl, s)
    draw_text(surface, text, (x, y + 10), 22, color)
    y += 28
    wait = T - prm["distance"]
    facts = [
        f"last move: {move_name(s.move) or '-'}",
        f"at {s.agent}, target at {s.target}",
        f"distance at the start {prm['distance']}: wait {wait} step{'s' * (wait != 1)}",
        f"reward so far {s.reward:g}",
        f"{prm['size']}x{prm['size']} grid, {prm['grace_steps']} grace steps after T",
    ]
    for fact in facts:
        draw_text(surface, fact, (x, y + 9), 18, DIM, width=p.w - 32)
        y += 20
    return y + 10
