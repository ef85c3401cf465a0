"""The replay viewer: a pygame window that plays a :class:`~palaestra.viewer.timeline.Timeline`.

The window has three parts: the game on the left (a Bomber board; for Kelly a chart of the
wealth round by round; the hide-and-seek map with every agent's vision cone; the counting grid
with T and the step count), a side panel (the agents with their names, ratings and state, then the
event log, newest on top) and a bar along the bottom (seek bar, step counter, speed, play state,
key help).

Keys: Space play/pause, Left/Right one step back/forward, PageUp/PageDown ten steps, Home/End first
and last step, Up/Down speed (x0.25 .. x16), 0 full view, 1..4 the view of player_0..player_3 with
the fog of war (Bomber), 1..6 the view of one hide-and-seek agent (its cone only, the cells it
does not see dimmed), B show bomb events in the log, Q or Escape quit. A click on the seek bar (or
a drag along it) jumps to that step.

Everything is drawn on ordinary pygame Surfaces, so :meth:`ReplayViewer.frame` gives the picture
the window would show without opening one (export and tests use it); only :meth:`ReplayViewer.run`
needs a display.
"""

from __future__ import annotations

import os
from collections import OrderedDict

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402

from palaestra.viewer.draw_bomber import board_frame, draw_bomber_panel, draw_view_outline  # noqa: E402
from palaestra.viewer.draw_counting import draw_counting_grid, draw_counting_panel  # noqa: E402
from palaestra.viewer.draw_counting import main_size as counting_size  # noqa: E402
from palaestra.viewer.draw_hide_and_seek import draw_hide_and_seek_panel, map_frame  # noqa: E402
from palaestra.viewer.draw_kelly import draw_kelly_chart, draw_kelly_panel  # noqa: E402
from palaestra.viewer.look import (  # noqa: E402
    BACKGROUND,
    BAR_BG,
    DIM,
    EVENT_COLORS,
    LINE,
    PANEL_BG,
    ROW_HIGHLIGHT,
    SEEK_FILL,
    SEEK_MARKS,
    SEEK_TRACK,
    TEXT,
    array_to_surface,
    disc,
    surface_to_array,
)
from palaestra.viewer.records import FAMILIES  # noqa: E402
from palaestra.viewer.timeline import Event, Timeline, ViewerError  # noqa: E402
from palaestra.viewer.ui import draw_text, open_display, wrap_text  # noqa: E402

SPEEDS: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
"""Playback speeds (multiples of :data:`BASE_RATE`)."""
BASE_RATE = 8.0
"""Steps per second at speed x1 (Bomber's render fps)."""
LOG_SIZE = 12
"""Events shown in the log."""

_HELP = ("Space play/pause   Left/Right step   Home/End   Up/Down speed   0-4 view   "
         "B bombs in log   click bar: seek   Q quit")
_HELP_KELLY = ("Space play/pause   Left/Right round   PgUp/PgDn 10 rounds   Home/End   Up/Down speed   "
               "click bar: seek   Q quit")
_HELP_HIDE_AND_SEEK = ("Space play/pause   Left/Right step   PgUp/PgDn 10 steps   Home/End   Up/Down speed   "
                       "0 all cones, 1-6 one agent's view   click bar: seek   Q quit")
_HELP_COUNTING = ("Space play/pause   Left/Right step   Home/End   Up/Down speed   click bar: seek   Q quit")
_KEY_HELP = {"bomber": _HELP, "kelly": _HELP_KELLY, "hide_and_seek": _HELP_HIDE_AND_SEEK,
             "counting": _HELP_COUNTING}
_VIEWS = ("bomber", "hide_and_seek")
"""Families with per-agent views."""
_NO_WINDOW_HINT = ("write an animation instead with `palaestra replay export FILE --gif out.gif` (or "
                   "--mp4), or set SDL_VIDEODRIVER=dummy to run the viewer without a window")


def _speed_label(speed: float) -> str:
    return f"x{speed:g}"


def check_display() -> None:
    """Initialise pygame's display, or raise :class:`ViewerError` saying why a window cannot open."""
    open_display(ViewerError,
                 "no display to open the replay viewer on (DISPLAY and WAYLAND_DISPLAY are not set); "
                 + _NO_WINDOW_HINT,
                 "cannot open a window for the replay viewer ({exc}); " + _NO_WINDOW_HINT)


# -- the viewer ----------------------------------------------------------------------------------
class ReplayViewer:
    """Plays a timeline: keyboard and mouse control, drawing, frames for export.

    Args:
        timeline: the game to show.
        ratings: text shown as each agent's rating, keyed by agent name (``replay.agents``) or
            seat name (``player_0``), e.g. ``{"simple": "1520 ± 35"}``.
        tile: pixels per board cell; the window size follows from it (at 48: 928 x 680 for
            Bomber and counting, 1040 x 680 for Kelly, whose chart is wider than a board; a
            hide-and-seek map's cells are scaled so that it takes about a board's room).
        panel_width: width of the side panel in pixels.
        view: the view to start in (0 full, k the view of agent k - 1).
    """

    def __init__(self, timeline: Timeline, ratings: dict[str, str] | None = None,
                 tile: int = 48, panel_width: int = 400, view: int = 0) -> None:
        if timeline.family not in FAMILIES:
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
        if timeline.family == "hide_and_seek":
            board_h, main_w = self._main_frame(0, 0).shape[:2]
        elif timeline.family == "counting":
            main_w, board_h = counting_size(t)
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
        """0 full view; k the view of agent k - 1 (Bomber: 1..4, fogged; hide-and-seek: 1..6, its
        cone only); ignored for another family or a seat the game does not have."""
        if self.timeline.family in _VIEWS and 0 <= view <= len(self.timeline.seats):
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
                 pygame.K_5: 5, pygame.K_6: 6, pygame.K_KP0: 0, pygame.K_KP1: 1, pygame.K_KP2: 2,
                 pygame.K_KP3: 3, pygame.K_KP4: 4, pygame.K_KP5: 5, pygame.K_KP6: 6}
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
        tl, step = self.timeline, self.step
        if tl.family == "bomber":
            surface.blit(self._board_surface(step, self.view), self.main_rect.topleft)
            if self.view:
                draw_view_outline(surface, tl, step, self.view, self.cell_rect)
            y, self.agent_rects, self.status_rects = draw_bomber_panel(
                surface, tl, step, self.view, self.panel_rect, self._panel_header(surface), self._rating)
        elif tl.family == "hide_and_seek":
            surface.blit(self._board_surface(step, self.view), self.main_rect.topleft)
            y, self.agent_rects = draw_hide_and_seek_panel(
                surface, tl, step, self.view, self.panel_rect, self._panel_header(surface), self._rating)
        elif tl.family == "counting":
            draw_counting_grid(surface, tl, step, self.main_rect, self.tile)
            y = draw_counting_panel(surface, tl, step, self.panel_rect, self._panel_header(surface),
                                    self._rating)
        else:
            draw_kelly_chart(surface, tl, step, self.main_rect)
            y = draw_kelly_panel(surface, tl, step, self.panel_rect, self._panel_header(surface),
                                 self._rating)
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
        return surface_to_array(surf)

    def cell_rect(self, row: int, col: int) -> pygame.Rect:
        """Window rectangle of a board cell (Bomber)."""
        t = self.tile
        return pygame.Rect(self.main_rect.x + col * t, self.main_rect.y + self.title_h + row * t, t, t)

    # Bomber and hide-and-seek ---------------------------------------------------------------
    def _main_frame(self, step: int, view: int) -> np.ndarray:
        """The board (Bomber) or map (hide-and-seek) at ``step`` in ``view``, as an RGB array."""
        if self.timeline.family == "hide_and_seek":
            return map_frame(self.timeline, step, view, self.tile)
        return board_frame(self.timeline, step, view, self.tile)

    def _board_surface(self, step: int, view: int) -> pygame.Surface:
        key = (step, view)
        cached = self._board_cache.get(key)
        if cached is not None:
            self._board_cache.move_to_end(key)
            return cached
        surf = array_to_surface(self._main_frame(step, view))
        self._board_cache[key] = surf
        if len(self._board_cache) > 256:
            self._board_cache.popitem(last=False)
        return surf

    def _panel_header(self, surface: pygame.Surface) -> int:
        p = self.panel_rect
        surface.fill(PANEL_BG, p)
        pygame.draw.line(surface, LINE, p.topleft, (p.x, p.bottom - 1))
        rp = self.timeline.replay
        draw_text(surface, "palaestra replay", (p.x + 16, p.y + 20), 28, TEXT)
        sub = f"{rp.env_id}  ·  seed {rp.seed}"
        if self.timeline.family == "bomber":
            sub += f"  ·  {self.timeline.params.get('mode', '')}"
        elif self.timeline.family == "hide_and_seek":
            prm = self.timeline.params
            sub += f"  ·  {prm['n_hiders']} vs {prm['n_seekers']}"
        draw_text(surface, sub, (p.x + 16, p.y + 42), 18, DIM, width=p.w - 32)
        return p.y + 58

    def _rating(self, seat: int) -> str | None:
        tl = self.timeline
        for key in (tl.agents[seat] if seat < len(tl.agents) else None, tl.seats[seat]):
            if key is not None and key in self.ratings:
                return str(self.ratings[key])
        return None

    # log and bar -----------------------------------------------------------------------------
    def _log_events(self) -> list[Event]:
        kinds = None if self.show_bombs else [k for k in EVENT_COLORS if k != "bomb"]
        return self.timeline.events_until(self.step, kinds)[-LOG_SIZE:][::-1]

    def _draw_log(self, surface: pygame.Surface, y: int) -> None:
        p = self.panel_rect
        pygame.draw.line(surface, LINE, (p.x + 12, y), (p.right - 12, y))
        events = self._log_events()
        draw_text(surface, "Events", (p.x + 16, y + 16), 22, TEXT)
        note = "bombs shown (B)" if self.show_bombs else "B: show bombs"
        if self.timeline.family != "bomber":
            note = ""
        draw_text(surface, note, (p.right - 16, y + 16), 16, DIM, anchor="midright")
        y += 32
        line_h = 20
        for e in events:
            if y + line_h > p.bottom - 4:
                break
            width = p.right - p.x - 82
            lines = wrap_text(e.text, 18, width)
            if y + len(lines) * line_h > p.bottom - 4:
                lines = lines[:1]
            if e.step == self.step:
                pygame.draw.rect(surface, ROW_HIGHLIGHT, (p.x + 8, y, p.w - 16, len(lines) * line_h),
                                 border_radius=4)
            cy = y + line_h // 2
            draw_text(surface, f"{e.step}", (p.x + 50, cy), 17, DIM, anchor="midright")
            color = EVENT_COLORS.get(e.kind, TEXT)
            disc(surface, p.x + 60, cy, 3.5, color)
            for line in lines:
                draw_text(surface, line, (p.x + 70, y + line_h // 2), 18, color, width=width)
                y += line_h
        if not events:
            draw_text(surface, "nothing yet", (p.x + 70, y + line_h // 2), 18, DIM)

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
            if e.kind in SEEK_MARKS:
                x = r.x + round(e.step / max(1, self.last_step) * (r.w - 1))
                pygame.draw.line(surface, EVENT_COLORS[e.kind], (x, r.y - 6), (x, r.y - 2), 2)
        disc(surface, r.x + filled, r.centery, 8, (255, 255, 255))
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
        x = draw_text(surface, state, (x + 20, y), 20, TEXT).right + 24
        unit = "round" if self.timeline.family == "kelly" else "step"
        x = draw_text(surface, f"{unit} {self.step} / {self.last_step}", (x, y), 20, TEXT).right + 24
        x = draw_text(surface, f"speed {_speed_label(self.speed)}", (x, y), 20, TEXT).right + 24
        if self.timeline.family in _VIEWS:
            view = "full" if self.view == 0 else self.timeline.label(self.view - 1)
            draw_text(surface, f"view: {view}", (x, y), 20, TEXT, width=b.right - x - 16)
        keys = _KEY_HELP[self.timeline.family]
        draw_text(surface, keys, (b.x + 18, b.y + 68), 16, DIM, width=b.w - 36)

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
