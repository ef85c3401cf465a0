"""The replay viewer's Kelly parts: the wealth chart (bets as bars, the cap) and the player panel."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pygame

from palaestra.viewer.look import (
    BACKGROUND,
    CAP_COLOR,
    DIM,
    LINE,
    LOSS_BAR,
    TEXT,
    WEALTH_COLOR,
    WIN_BAR,
    disc,
    money,
)
from palaestra.viewer.timeline import Timeline
from palaestra.viewer.ui import draw_text


def draw_kelly_panel(surface: pygame.Surface, tl: Timeline, step: int, p: pygame.Rect, y: int,
                     rating: Callable[[int], str | None]) -> int:
    """The player, its rating, wealth, round, last bet, wins and losses, and the game's numbers,
    from ``y`` down in panel ``p``; returns the y below them."""
    s = tl.state(step)
    prm = tl.params
    x = p.x + 16
    agent = tl.agents[0] if tl.agents else "player"
    end = draw_text(surface, agent, (x, y + 14), 24, TEXT, width=p.w - 120).right
    rated = rating(0)
    if rated is not None:
        draw_text(surface, f"rating {rated}", (end + 10, y + 15), 18, DIM)
    y += 36
    draw_text(surface, money(s.wealth_cents), (x, y + 18), 44, WEALTH_COLOR)
    draw_text(surface, f"round {s.step} / {prm['rounds']}", (p.right - 16, y + 18), 20, DIM,
              anchor="midright")
    y += 44
    if s.won is None:
        line, color = "no bet yet", DIM
    else:
        line = f"bet {money(s.bet_cents)}: {'won' if s.won else 'lost'}"
        color = WIN_BAR if s.won else LOSS_BAR
    draw_text(surface, line, (x, y + 10), 22, color)
    y += 26
    draw_text(surface, f"{s.wins} won, {s.losses} lost", (x, y + 10), 20, TEXT)
    y += 30
    hidden = " (hidden from the agent)" if prm.get("hidden") else ""
    facts = [f"edge {prm['edge']:.3f}{hidden}",
             f"cap {money(prm['cap_cents'])}, start {money(prm['initial_cents'])}",
             f"at most {prm['rounds']} rounds"]
    for fact in facts:
        draw_text(surface, fact, (x, y + 9), 18, DIM, width=p.w - 32)
        y += 20
    return y + 10


def draw_kelly_chart(surface: pygame.Surface, tl: Timeline, step: int, area: pygame.Rect) -> None:
    """Wealth by round in ``area``: played part bright, bets as bars, the cap dashed, a cursor."""
    prm = tl.params
    states = tl.states
    n = max(1, tl.last_step)
    cur = tl.state(step)
    surface.fill(BACKGROUND, area)
    draw_text(surface, "Kelly coin flip  ·  wealth by round", (area.centerx, area.y + 20), 26, TEXT,
              anchor="center")
    chart = pygame.Rect(area.x + 70, area.y + 48, area.w - 90, area.h - 100)
    wealth = np.array([s.wealth_cents for s in states], dtype=np.float64)
    y_max = max(float(prm["cap_cents"]), float(wealth.max())) * 1.08

    def px(i: float) -> float:
        return chart.x + i / n * chart.w

    def py(cents: float) -> float:
        return chart.bottom - cents / y_max * chart.h

    pygame.draw.rect(surface, (30, 33, 40), chart)
    # grid and axis labels
    step_d = nice_step(y_max / 100 / 6)
    v = 0.0
    while v * 100 <= y_max:
        y = round(py(v * 100))
        pygame.draw.line(surface, (48, 52, 62), (chart.x, y), (chart.right - 1, y))
        draw_text(surface, f"${v:,.0f}", (chart.x - 8, y), 17, DIM, anchor="midright")
        v += step_d
    step_x = max(1, int(nice_step(n / 6)))
    for i in range(0, n + 1, step_x):
        x = round(px(i))
        pygame.draw.line(surface, (48, 52, 62), (x, chart.y), (x, chart.bottom - 1))
        draw_text(surface, str(i), (x, chart.bottom + 12), 17, DIM, anchor="center")
    draw_text(surface, "round", (chart.right, chart.bottom + 30), 17, DIM, anchor="midright")
    # bets as bars (won green, lost red; rounds still to come faded)
    bar_w = max(1, int(chart.w / n * 0.7))
    for s in states[1:]:
        if s.bet_cents <= 0:
            continue
        color = WIN_BAR if s.won else LOSS_BAR
        if s.step > cur.step:
            color = tuple(int(0.35 * c + 0.65 * 30) for c in color)  # type: ignore[assignment]
        top = py(s.bet_cents)
        rect = pygame.Rect(round(px(s.step - 0.5) - bar_w / 2), round(top), bar_w,
                           max(1, chart.bottom - round(top)))
        surface.fill(color, rect.clip(chart))
    # cap line (dashed)
    cap_y = round(py(prm["cap_cents"]))
    for x in range(chart.x, chart.right, 12):
        pygame.draw.line(surface, CAP_COLOR, (x, cap_y), (min(x + 6, chart.right - 1), cap_y), 2)
    draw_text(surface, f"cap {money(prm['cap_cents'])}", (chart.right - 4, cap_y - 10), 17, CAP_COLOR,
              anchor="midright")
    # wealth: played part bright, the rest faint
    points = [(px(i), py(w)) for i, w in enumerate(wealth)]
    if len(points) > 1:
        pygame.draw.lines(surface, (70, 80, 100), False, points, 1)
        played = points[: cur.step + 1]
        if len(played) > 1:
            pygame.draw.lines(surface, WEALTH_COLOR, False, played, 3)
    # current round marker
    x = round(px(cur.step))
    pygame.draw.line(surface, (200, 200, 210), (x, chart.y), (x, chart.bottom - 1), 1)
    disc(surface, x, py(cur.wealth_cents), 6, (255, 255, 255))
    disc(surface, x, py(cur.wealth_cents), 4, WEALTH_COLOR)
    pygame.draw.rect(surface, LINE, chart, 1)
    legend_y = area.bottom - 16
    lx = chart.x
    for label, color in (("wealth", WEALTH_COLOR), ("bet won", WIN_BAR), ("bet lost", LOSS_BAR),
                         ("cap", CAP_COLOR)):
        surface.fill(color, (lx, legend_y - 5, 14, 10))
        lx = draw_text(surface, label, (lx + 20, legend_y), 17, DIM).right + 18


def nice_step(raw: float) -> float:
    """1, 2 or 5 times a power of ten, at least ``raw``."""
    if raw <= 0:
        return 1.0
    exp = 10 ** np.floor(np.log10(raw))
    for m in (1, 2, 5, 10):
        if m * exp >= raw:
            return float(m * exp)
    return float(10 * exp)
