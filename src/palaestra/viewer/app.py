"""The replay viewer: a pygame window that plays a :class:`~palaestra.viewer.timeline.Timeline`.

The window has three parts: the game on the left (a Bomber board, or for Kelly a chart of the
wealth round by round), a side panel (the agents with their names, ratings and state, then the
event log, newest on top) and a bar along the bottom (seek bar, step counter, speed, play state,
key help).

Keys: Space play/pause, Left/Right one step back/forward, PageUp/PageDown ten steps, Home/End first
and last step, Up/Down speed (x0.25 .. x16), 0 full view, 1..4 the view of player_0..player_3 with
the fog of war (Bomber), B show bomb events in the log, Q or Escape quit. A click on the seek bar
(or a drag along it) jumps to that step.

Everything is drawn on ordinary pygame Surfaces, so :meth:`ReplayViewer.frame` gives the picture
the window would show without opening one (export and tests use it); only :meth:`ReplayViewer.run`
needs a display.
"""

from __future__ import annotations

import os
import sys
from collections import OrderedDict

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402
import pygame.gfxdraw  # noqa: E402

from palaestra.envs.bomber import constants as C  # noqa: E402
from palaestra.envs.bomber.render import AGENT_COLORS, POWERUP_STYLE, render_rgb_array  # noqa: E402
from palaestra.viewer.timeline import Event, Timeline, ViewerError  # noqa: E402
from palaestra.viewer.ui import fit_text as _fit  # noqa: E402
from palaestra.viewer.ui import font as _font  # noqa: E402

RGB = tuple[int, int, int]

SPEEDS: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
"""Playback speeds (multiples of :data:`BASE_RATE`)."""
BASE_RATE = 8.0
"""Steps per second at speed x1 (Bomber's render fps)."""
LOG_SIZE = 12
"""Events shown in the log."""

BACKGROUND: RGB = (36, 39, 46)
PANEL_BG: RGB = (30, 33, 40)
BAR_BG: RGB = (24, 26, 32)
ROW_HIGHLIGHT: RGB = (48, 53, 64)
LINE: RGB = (64, 68, 80)
TEXT: RGB = (236, 236, 240)
DIM: RGB = (140, 144, 156)
ALIVE_COLOR: RGB = (39, 174, 96)
DEAD_COLOR: RGB = (192, 57, 43)
SEEK_TRACK: RGB = (62, 66, 78)
SEEK_FILL: RGB = (88, 166, 255)
EVENT_COLORS: dict[str, RGB] = {
    "kill": (255, 110, 96),
    "death": (255, 168, 82),
    "pickup": (190, 150, 255),
    "bomb": (150, 154, 166),
    "win": (255, 214, 80),
    "tie": (205, 205, 215),
    "cap": (110, 222, 140),
    "bust": (255, 110, 96),
    "end": (205, 205, 215),
}
"""Colour of each kind of event in the log (and of the marks on the seek bar)."""
WEALTH_COLOR: RGB = (88, 166, 255)
WIN_BAR: RGB = (46, 160, 90)
LOSS_BAR: RGB = (200, 70, 60)
CAP_COLOR: RGB = (241, 196, 15)

_HELP = ("Space play/pause   Left/Right step   Home/End   Up/Down speed   0-4 view   "
         "B bombs in log   click bar: seek   Q quit")
_HELP_KELLY = ("Space play/pause   Left/Right round   PgUp/PgDn 10 rounds   Home/End   Up/Down speed   "
               "click bar: seek   Q quit")


# -- drawing helpers -----------------------------------------------------------------------------
def _wrap(text: str, px: int, width: int) -> list[str]:
    """``text`` as one line, or two broken at a space (the second cut with an ellipsis)."""
    font = _font(px)
    if font.size(text)[0] <= width:
        return [text]
    words = text.split(" ")
    for n in range(len(words) - 1, 0, -1):
        head = " ".join(words[:n])
        if font.size(head)[0] <= width:
            return [head, _fit(" ".join(words[n:]), px, width)]
    return [_fit(text, px, width)]


def _text(surf: pygame.Surface, text: str, pos: tuple[float, float], px: int, color: RGB,
          anchor: str = "midleft", width: int | None = None) -> pygame.Rect:
    """Draw ``text`` with its ``anchor`` point (a pygame Rect attribute) at ``pos``."""
    if width is not None:
        text = _fit(text, px, width)
    img = _font(px).render(text, True, color)
    rect = img.get_rect(**{anchor: (round(pos[0]), round(pos[1]))})
    surf.blit(img, rect)
    return rect


def _disc(surf: pygame.Surface, cx: float, cy: float, r: float, color: RGB) -> None:
    x, y, rr = round(cx), round(cy), max(1, round(r))
    pygame.gfxdraw.filled_circle(surf, x, y, rr, color)
    pygame.gfxdraw.aacircle(surf, x, y, rr, color)


def _chip(surf: pygame.Surface, x: int, cy: int, label: str, color: RGB, px: int = 18) -> int:
    """A rounded label with a coloured background; returns its right edge."""
    img = _font(px).render(label, True, (255, 255, 255))
    rect = pygame.Rect(x, 0, img.get_width() + 12, px + 2)
    rect.centery = cy
    pygame.draw.rect(surf, color, rect, border_radius=rect.h // 2)
    surf.blit(img, img.get_rect(center=rect.center))
    return rect.right


def _money(cents: int) -> str:
    return f"${cents / 100:,.2f}"


def _speed_label(speed: float) -> str:
    return f"x{speed:g}"


def _surface_to_array(surf: pygame.Surface) -> np.ndarray:
    return np.ascontiguousarray(pygame.surfarray.array3d(surf).transpose(1, 0, 2), dtype=np.uint8)


def _array_to_surface(frame: np.ndarray) -> pygame.Surface:
    return pygame.surfarray.make_surface(np.ascontiguousarray(frame.transpose(1, 0, 2)))


# -- display check -------------------------------------------------------------------------------
def check_display() -> None:
    """Initialise pygame's display, or raise :class:`ViewerError` saying why a window cannot open."""
    hint = ("write an animation instead with `palaestra replay export FILE --gif out.gif` (or "
            "--mp4), or set SDL_VIDEODRIVER=dummy to run the viewer without a window")
    driver = os.environ.get("SDL_VIDEODRIVER", "")
    on_x11_or_wayland = sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd"))
    if (not driver and on_x11_or_wayland and not os.environ.get("DISPLAY")
            and not os.environ.get("WAYLAND_DISPLAY")):
        raise ViewerError(f"no display to open the replay viewer on (DISPLAY and WAYLAND_DISPLAY "
                          f"are not set); {hint}")
    try:
        pygame.display.init()
    except pygame.error as exc:
        raise ViewerError(f"cannot open a window for the replay viewer ({exc}); {hint}") from None


# -- the viewer ----------------------------------------------------------------------------------
class ReplayViewer:
    """Plays a timeline: keyboard and mouse control, drawing, frames for export.

    Args:
        timeline: the game to show.
        ratings: text shown as each agent's rating, keyed by agent name (``replay.agents``) or
            seat name (``player_0``), e.g. ``{"simple": "1520 ± 35"}``.
        tile: pixels per board cell; the window size follows from it (at 48: 928 x 680 for
            Bomber, 1040 x 680 for Kelly, whose chart is wider than a board).
        panel_width: width of the side panel in pixels.
        view: the view to start in (0 full, k the view of agent k - 1).
    """

    def __init__(self, timeline: Timeline, ratings: dict[str, str] | None = None,
                 tile: int = 48, panel_width: int = 400, view: int = 0) -> None:
        if timeline.family not in ("bomber", "kelly"):
            raise ViewerError(f"no viewer for env family {timeline.family!r}")
        self.timeline = timeline
        self.ratings = dict(ratings or {})
        self.tile = int(tile)
        self.step = 0
        self.view = 0
        self.playing = False
        self.show_bombs = False
        self._speed_index = SPEEDS.index(1.0)
        self._carry = 0.0
        self._dragging = False
        self._board_cache: OrderedDict[tuple[int, int], pygame.Surface] = OrderedDict()

        t = self.tile
        self.title_h = round(0.7 * t)
        board_h = self.title_h + 11 * t + round(0.8 * t)
        main_w = 11 * t if timeline.family == "bomber" else 11 * t + 112
        bar_h = 80
        self.main_rect = pygame.Rect(0, 0, main_w, board_h)
        self.panel_rect = pygame.Rect(main_w, 0, int(panel_width), board_h)
        self.bar_rect = pygame.Rect(0, board_h, main_w + int(panel_width), bar_h)
        self.seek_rect = pygame.Rect(16, board_h + 14, self.bar_rect.w - 32, 12)
        self.size = (self.bar_rect.w, board_h + bar_h)
        """Window size (width, height) in pixels."""
        self.agent_rects: list[pygame.Rect] = []
        """Panel row of each agent (filled by the first draw)."""
        self.status_rects: list[pygame.Rect] = []
        """ALIVE / DEAD badge of each agent (filled by the first draw)."""
        self.set_view(view)

    # -- state ---------------------------------------------------------------------------------
    @property
    def last_step(self) -> int:
        return self.timeline.last_step

    @property
    def speed(self) -> float:
        """Playback speed multiplier (x0.25 .. x16)."""
        return SPEEDS[self._speed_index]

    def seek(self, step: int) -> None:
        """Go to ``step`` (clamped to the game)."""
        self.step = max(0, min(int(step), self.last_step))
        self._carry = 0.0

    def step_by(self, delta: int) -> None:
        """Pause and move ``delta`` steps."""
        self.playing = False
        self.seek(self.step + delta)

    def toggle_play(self) -> None:
        """Play or pause; playing from the last step starts again at 0."""
        if not self.playing and self.step >= self.last_step:
            self.seek(0)
        self.playing = not self.playing
        self._carry = 0.0

    def change_speed(self, delta: int) -> None:
        """One speed up (``delta`` > 0) or down."""
        self._speed_index = max(0, min(len(SPEEDS) - 1, self._speed_index + delta))

    def set_view(self, view: int) -> None:
        """0 full view; k in 1..4 the fogged view of agent k - 1 (Bomber only)."""
        if self.timeline.family == "bomber" and 0 <= view <= len(self.timeline.seats):
            self.view = view

    def seek_to_x(self, x: int) -> None:
        """Seek to the step under pixel column ``x`` of the seek bar."""
        r = self.seek_rect
        self.seek(round((x - r.x) / max(1, r.w) * self.last_step))

    def tick(self, dt: float) -> None:
        """Advance playback by ``dt`` seconds of wall time (stops, paused, at the end)."""
        if not self.playing:
            return
        self._carry += max(0.0, dt) * BASE_RATE * self.speed
        whole = int(self._carry)
        self._carry -= whole
        if whole:
            self.step = min(self.step + whole, self.last_step)
        if self.step >= self.last_step:
            self.playing = False
            self._carry = 0.0

    # -- input ---------------------------------------------------------------------------------
    def handle(self, event: pygame.event.Event) -> bool:
        """React to one pygame event; False when the viewer should close."""
        if event.type == pygame.QUIT:
            return False
        if event.type == pygame.KEYDOWN:
            return self._key(event.key)
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            if self.seek_rect.inflate(0, 16).collidepoint(event.pos):
                self._dragging = True
                self.seek_to_x(event.pos[0])
        elif event.type == pygame.MOUSEBUTTONUP and event.button == 1:
            self._dragging = False
        elif event.type == pygame.MOUSEMOTION and self._dragging:
            self.seek_to_x(event.pos[0])
        return True

    def _key(self, key: int) -> bool:
        if key in (pygame.K_q, pygame.K_ESCAPE):
            return False
        views = {pygame.K_0: 0, pygame.K_1: 1, pygame.K_2: 2, pygame.K_3: 3, pygame.K_4: 4,
                 pygame.K_KP0: 0, pygame.K_KP1: 1, pygame.K_KP2: 2, pygame.K_KP3: 3, pygame.K_KP4: 4}
        if key == pygame.K_SPACE:
            self.toggle_play()
        elif key == pygame.K_RIGHT:
            self.step_by(1)
        elif key == pygame.K_LEFT:
            self.step_by(-1)
        elif key == pygame.K_PAGEDOWN:
            self.step_by(10)
        elif key == pygame.K_PAGEUP:
            self.step_by(-10)
        elif key == pygame.K_HOME:
            self.step_by(-self.last_step - 1)
        elif key == pygame.K_END:
            self.step_by(self.last_step + 1)
        elif key == pygame.K_UP:
            self.change_speed(1)
        elif key == pygame.K_DOWN:
            self.change_speed(-1)
        elif key == pygame.K_b:
            self.show_bombs = not self.show_bombs
        elif key in views:
            self.set_view(views[key])
        return True

    # -- drawing -------------------------------------------------------------------------------
    def draw(self, surface: pygame.Surface) -> None:
        """Draw the current step and view onto ``surface`` (at least :attr:`size` large)."""
        surface.fill(BACKGROUND)
        if self.timeline.family == "bomber":
            surface.blit(self._board_surface(self.step, self.view), self.main_rect.topleft)
            if self.view:
                self._draw_view_outline(surface)
            y = self._draw_bomber_panel(surface)
        else:
            self._draw_kelly_chart(surface, self.main_rect)
            y = self._draw_kelly_panel(surface)
        self._draw_log(surface, y)
        self._draw_bar(surface)

    def frame(self, step: int, view: int = 0) -> np.ndarray:
        """The window's picture at ``step`` with ``view``, as an (H, W, 3) uint8 array."""
        saved = (self.step, self.view)
        try:
            self.seek(step)
            self.view = 0
            self.set_view(view)
            surf = pygame.Surface(self.size)
            self.draw(surf)
        finally:
            self.step, self.view = saved
        return _surface_to_array(surf)

    def cell_rect(self, row: int, col: int) -> pygame.Rect:
        """Window rectangle of a board cell (Bomber)."""
        t = self.tile
        return pygame.Rect(self.main_rect.x + col * t, self.main_rect.y + self.title_h + row * t, t, t)

    # Bomber ----------------------------------------------------------------------------------
    def _board_surface(self, step: int, view: int) -> pygame.Surface:
        key = (step, view)
        cached = self._board_cache.get(key)
        if cached is not None:
            self._board_cache.move_to_end(key)
            return cached
        surf = _array_to_surface(self._board_frame(step, view))
        self._board_cache[key] = surf
        if len(self._board_cache) > 256:
            self._board_cache.popitem(last=False)
        return surf

    def _board_frame(self, step: int, view: int) -> np.ndarray:
        from palaestra.envs.bomber.observe import agent_boards

        tl = self.timeline
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
                                flame_life=flame_life, tile=self.tile, title=title)

    def _draw_view_outline(self, surface: pygame.Surface) -> None:
        tl = self.timeline
        k = self.view - 1
        s = tl.state(self.step)
        size = int(tl.params.get("agent_view_size", 4))
        r, c = int(s.agents[k, 1]), int(s.agents[k, 2])
        r0, c0, r1, c1 = max(0, r - size), max(0, c - size), min(10, r + size), min(10, c + size)
        top_left, bottom_right = self.cell_rect(r0, c0), self.cell_rect(r1, c1)
        rect = pygame.Rect(top_left.topleft, (bottom_right.right - top_left.x, bottom_right.bottom - top_left.y))
        pygame.draw.rect(surface, AGENT_COLORS[k % len(AGENT_COLORS)], rect, 3)

    def _panel_header(self, surface: pygame.Surface) -> int:
        p = self.panel_rect
        surface.fill(PANEL_BG, p)
        pygame.draw.line(surface, LINE, p.topleft, (p.x, p.bottom - 1))
        rp = self.timeline.replay
        _text(surface, "palaestra replay", (p.x + 16, p.y + 20), 28, TEXT)
        sub = f"{rp.env_id}  ·  seed {rp.seed}"
        if self.timeline.family == "bomber":
            sub += f"  ·  {self.timeline.params.get('mode', '')}"
        _text(surface, sub, (p.x + 16, p.y + 42), 18, DIM, width=p.w - 32)
        return p.y + 58

    def _rating(self, seat: int) -> str | None:
        tl = self.timeline
        for key in (tl.agents[seat] if seat < len(tl.agents) else None, tl.seats[seat]):
            if key is not None and key in self.ratings:
                return str(self.ratings[key])
        return None

    def _draw_bomber_panel(self, surface: pygame.Surface) -> int:
        tl = self.timeline
        s = tl.state(self.step)
        p = self.panel_rect
        y = self._panel_header(surface)
        row_h = 62
        self.agent_rects, self.status_rects = [], []
        for k, seat in enumerate(tl.seats):
            row = pygame.Rect(p.x + 8, y, p.w - 16, row_h - 4)
            self.agent_rects.append(row)
            alive = s.alive[k]
            if self.view == k + 1:
                pygame.draw.rect(surface, ROW_HIGHLIGHT, row, border_radius=8)
            color = AGENT_COLORS[k % len(AGENT_COLORS)]
            cx, cy = row.x + 22, row.y + 20
            if alive:
                _disc(surface, cx, cy, 14, tuple(int(v * 0.55) for v in color))  # type: ignore[arg-type]
                _disc(surface, cx, cy, 12.5, color)
                _text(surface, str(k), (cx, cy + 1), 22, (255, 255, 255), anchor="center")
            else:
                _disc(surface, cx, cy, 14, (70, 72, 80))
                _text(surface, str(k), (cx, cy + 1), 22, DIM, anchor="center")
                pygame.draw.line(surface, color, (cx - 9, cy - 9), (cx + 9, cy + 9), 3)
                pygame.draw.line(surface, color, (cx - 9, cy + 9), (cx + 9, cy - 9), 3)
            name_color = TEXT if alive else DIM
            badge = pygame.Rect(0, 0, 62, 20)
            badge.midright = (row.right - 8, cy)
            end = _text(surface, seat, (row.x + 46, cy), 22, name_color).right
            agent = tl.agents[k] if k < len(tl.agents) else ""
            _text(surface, agent, (end + 8, cy + 1), 18, DIM, width=max(0, badge.x - end - 16))
            pygame.draw.rect(surface, ALIVE_COLOR if alive else DEAD_COLOR, badge, border_radius=10)
            _text(surface, "ALIVE" if alive else "DEAD", badge.center, 16, (255, 255, 255), anchor="center")
            self.status_rects.append(badge)
            y2 = row.y + 44
            x = row.x + 46
            rating = self._rating(k)
            if rating is not None:
                x = _text(surface, f"rating {rating}", (x, y2), 18, name_color).right + 10
            if alive:
                ammo, blast, kick = (int(v) for v in s.agents[k, 3:6])
                x = _chip(surface, x, y2, f"bombs {ammo}", POWERUP_STYLE[C.EXTRA_BOMB][0]) + 6
                x = _chip(surface, x, y2, f"range {blast}", POWERUP_STYLE[C.INCR_RANGE][0]) + 6
                _chip(surface, x, y2, "kick" if kick else "no kick",
                      POWERUP_STYLE[C.KICK][0] if kick else (74, 78, 90))
            else:
                died = tl.death_step(k)
                _text(surface, f"died at step {died}" if died is not None else "dead", (x, y2), 18,
                      DEAD_COLOR)
            y += row_h
        return y + 4

    # Kelly -----------------------------------------------------------------------------------
    def _draw_kelly_panel(self, surface: pygame.Surface) -> int:
        tl = self.timeline
        s = tl.state(self.step)
        prm = tl.params
        p = self.panel_rect
        y = self._panel_header(surface)
        x = p.x + 16
        agent = tl.agents[0] if tl.agents else "player"
        end = _text(surface, agent, (x, y + 14), 24, TEXT, width=p.w - 120).right
        rating = self._rating(0)
        if rating is not None:
            _text(surface, f"rating {rating}", (end + 10, y + 15), 18, DIM)
        y += 36
        _text(surface, _money(s.wealth_cents), (x, y + 18), 44, WEALTH_COLOR)
        _text(surface, f"round {s.step} / {prm['rounds']}", (p.right - 16, y + 18), 20, DIM,
              anchor="midright")
        y += 44
        if s.won is None:
            line, color = "no bet yet", DIM
        else:
            line = f"bet {_money(s.bet_cents)}: {'won' if s.won else 'lost'}"
            color = WIN_BAR if s.won else LOSS_BAR
        _text(surface, line, (x, y + 10), 22, color)
        y += 26
        _text(surface, f"{s.wins} won, {s.losses} lost", (x, y + 10), 20, TEXT)
        y += 30
        hidden = " (hidden from the agent)" if prm.get("hidden") else ""
        facts = [f"edge {prm['edge']:.3f}{hidden}",
                 f"cap {_money(prm['cap_cents'])}, start {_money(prm['initial_cents'])}",
                 f"at most {prm['rounds']} rounds"]
        for fact in facts:
            _text(surface, fact, (x, y + 9), 18, DIM, width=p.w - 32)
            y += 20
        return y + 10

    def _draw_kelly_chart(self, surface: pygame.Surface, area: pygame.Rect) -> None:
        tl = self.timeline
        prm = tl.params
        states = tl.states
        n = max(1, tl.last_step)
        cur = tl.state(self.step)
        surface.fill(BACKGROUND, area)
        _text(surface, "Kelly coin flip  ·  wealth by round", (area.centerx, area.y + 20), 26, TEXT,
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
        step_d = _nice_step(y_max / 100 / 6)
        v = 0.0
        while v * 100 <= y_max:
            y = round(py(v * 100))
            pygame.draw.line(surface, (48, 52, 62), (chart.x, y), (chart.right - 1, y))
            _text(surface, f"${v:,.0f}", (chart.x - 8, y), 17, DIM, anchor="midright")
            v += step_d
        step_x = max(1, int(_nice_step(n / 6)))
        for i in range(0, n + 1, step_x):
            x = round(px(i))
            pygame.draw.line(surface, (48, 52, 62), (x, chart.y), (x, chart.bottom - 1))
            _text(surface, str(i), (x, chart.bottom + 12), 17, DIM, anchor="center")
        _text(surface, "round", (chart.right, chart.bottom + 30), 17, DIM, anchor="midright")
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
        _text(surface, f"cap {_money(prm['cap_cents'])}", (chart.right - 4, cap_y - 10), 17, CAP_COLOR,
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
        _disc(surface, x, py(cur.wealth_cents), 6, (255, 255, 255))
        _disc(surface, x, py(cur.wealth_cents), 4, WEALTH_COLOR)
        pygame.draw.rect(surface, LINE, chart, 1)
        legend_y = area.bottom - 16
        lx = chart.x
        for label, color in (("wealth", WEALTH_COLOR), ("bet won", WIN_BAR), ("bet lost", LOSS_BAR),
                             ("cap", CAP_COLOR)):
            surface.fill(color, (lx, legend_y - 5, 14, 10))
            lx = _text(surface, label, (lx + 20, legend_y), 17, DIM).right + 18

    # log and bar -----------------------------------------------------------------------------
    def _log_events(self) -> list[Event]:
        kinds = None if self.show_bombs else [k for k in EVENT_COLORS if k != "bomb"]
        return self.timeline.events_until(self.step, kinds)[-LOG_SIZE:][::-1]

    def _draw_log(self, surface: pygame.Surface, y: int) -> None:
        p = self.panel_rect
        pygame.draw.line(surface, LINE, (p.x + 12, y), (p.right - 12, y))
        events = self._log_events()
        _text(surface, "Events", (p.x + 16, y + 16), 22, TEXT)
        note = "bombs shown (B)" if self.show_bombs else "B: show bombs"
        if self.timeline.family != "bomber":
            note = ""
        _text(surface, note, (p.right - 16, y + 16), 16, DIM, anchor="midright")
        y += 32
        line_h = 20
        for e in events:
            if y + line_h > p.bottom - 4:
                break
            width = p.right - p.x - 82
            lines = _wrap(e.text, 18, width)
            if y + len(lines) * line_h > p.bottom - 4:
                lines = lines[:1]
            if e.step == self.step:
                pygame.draw.rect(surface, ROW_HIGHLIGHT, (p.x + 8, y, p.w - 16, len(lines) * line_h),
                                 border_radius=4)
            cy = y + line_h // 2
            _text(surface, f"{e.step}", (p.x + 50, cy), 17, DIM, anchor="midright")
            color = EVENT_COLORS.get(e.kind, TEXT)
            _disc(surface, p.x + 60, cy, 3.5, color)
            for line in lines:
                _text(surface, line, (p.x + 70, y + line_h // 2), 18, color, width=width)
                y += line_h
        if not events:
            _text(surface, "nothing yet", (p.x + 70, y + line_h // 2), 18, DIM)

    def _draw_bar(self, surface: pygame.Surface) -> None:
        b = self.bar_rect
        surface.fill(BAR_BG, b)
        pygame.draw.line(surface, LINE, b.topleft, (b.right - 1, b.top))
        r = self.seek_rect
        pygame.draw.rect(surface, SEEK_TRACK, r, border_radius=r.h // 2)
        filled = self.seek_fill_width()
        if filled > 0:
            pygame.draw.rect(surface, SEEK_FILL, (r.x, r.y, filled, r.h), border_radius=r.h // 2)
        for e in self.timeline.events:
            if e.kind in ("kill", "death", "win", "tie", "cap", "bust", "end"):
                x = r.x + round(e.step / max(1, self.last_step) * (r.w - 1))
                pygame.draw.line(surface, EVENT_COLORS[e.kind], (x, r.y - 6), (x, r.y - 2), 2)
        _disc(surface, r.x + filled, r.centery, 8, (255, 255, 255))
        # status line
        y = b.y + 46
        x = b.x + 18
        if self.playing:
            pygame.draw.polygon(surface, TEXT, [(x, y - 7), (x, y + 7), (x + 12, y)])
            state = "playing"
        else:
            surface.fill(TEXT, (x, y - 7, 4, 14))
            surface.fill(TEXT, (x + 8, y - 7, 4, 14))
            state = "paused"
        x = _text(surface, state, (x + 20, y), 20, TEXT).right + 24
        unit = "round" if self.timeline.family == "kelly" else "step"
        x = _text(surface, f"{unit} {self.step} / {self.last_step}", (x, y), 20, TEXT).right + 24
        x = _text(surface, f"speed {_speed_label(self.speed)}", (x, y), 20, TEXT).right + 24
        if self.timeline.family == "bomber":
            view = "full" if self.view == 0 else self.timeline.label(self.view - 1)
            _text(surface, f"view: {view}", (x, y), 20, TEXT, width=b.right - x - 16)
        keys = _HELP if self.timeline.family == "bomber" else _HELP_KELLY
        _text(surface, keys, (b.x + 18, b.y + 68), 16, DIM, width=b.w - 36)

    def seek_fill_width(self) -> int:
        """Filled width of the seek bar in pixels (proportional to step / last step)."""
        return round(self.seek_rect.w * self.step / max(1, self.last_step))

    # -- window --------------------------------------------------------------------------------
    def run(self, fps: int = 30, max_frames: int | None = None) -> None:
        """Open the window and play until the user quits (or ``max_frames`` frames, for tests).

        Raises :class:`ViewerError` when there is no display to open a window on.
        """
        check_display()
        try:
            screen = pygame.display.set_mode(self.size)
        except pygame.error as exc:
            pygame.display.quit()
            raise ViewerError(f"cannot open a window for the replay viewer ({exc}); write an "
                              f"animation instead with `palaestra replay export`") from None
        rp = self.timeline.replay
        pygame.display.set_caption(f"palaestra replay: {rp.env_id}, seed {rp.seed}")
        clock = pygame.time.Clock()
        frames = 0
        try:
            running = True
            while running and (max_frames is None or frames < max_frames):
                for event in pygame.event.get():
                    if not self.handle(event):
                        running = False
                self.tick(clock.tick(fps) / 1000.0)
                self.draw(screen)
                pygame.display.flip()
                frames += 1
        finally:
            pygame.display.quit()


def _nice_step(raw: float) -> float:
    """1, 2 or 5 times a power of ten, at least ``raw``."""
    if raw <= 0:
        return 1.0
    exp = 10 ** np.floor(np.log10(raw))
    for m in (1, 2, 5, 10):
        if m * exp >= raw:
            return float(m * exp)
    return float(10 * exp)


def view_replay(path: str | os.PathLike[str], ratings: dict[str, str] | None = None,
                verify: bool = True, fps: int = 30, view: int = 0) -> None:
    """Load a replay file and show it in a window (``palaestra replay view FILE``).

    Raises :class:`~palaestra.evaluation.replay.ReplayError` for a bad file and
    :class:`ViewerError` when no window can be opened.
    """
    from palaestra.viewer.timeline import load_timeline

    check_display()  # fail before the (possibly long) re-simulation
    ReplayViewer(load_timeline(path, verify=verify), ratings=ratings, view=view).run(fps=fps)


__all__ = ["SPEEDS", "ReplayViewer", "ViewerError", "check_display", "view_replay"]
