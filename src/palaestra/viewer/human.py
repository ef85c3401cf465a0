"""Play Bomber yourself against agents, with the keyboard; the game is saved as a replay.

Keys: arrows or WASD move, space lays a bomb, p pauses, q or escape quits (the game so far is still
saved, as an ``unfinished`` replay). In real time the game advances ``fps`` times a second and you
stand still unless a key was pressed (or a move key is held down); with ``turn_based`` it waits for
your key, one step per key.

Tests and headless use pass ``events``: a source of pygame event lists used instead of the keyboard,
either an iterable of lists (one list per frame; the game is left, as by ``q``, when it runs out)
or a callable returning the next list (``None`` to leave). With scripted events every frame is a
step in real time, and in turn-based mode every key press is exactly one step, so a script plays
the same game whatever the machine's speed. Scripted games draw into a window when a display (or
``SDL_VIDEODRIVER``) is there, off-screen otherwise.

The board is ``reset(seed=config.seed)`` and the agents' random generators are spawned from
``np.random.SeedSequence(config.seed)``, as in a tournament match, so the same seed and the same
keys give the same replay (the same file, when ``HumanGameConfig.created`` is fixed).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from palaestra.envs import env_id
from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber.core import ALIVE, AMMO, BLAST, COL, KICK, ROW, STEP
from palaestra.errors import ConfigError, DisplayError
from palaestra.viewer.ui import EventSource, cut_middle, font, open_display
from palaestra.viewer.ui import display_named as _display_named
from palaestra.viewer.ui import poller as _poller

HUMAN = "human"
"""The human's name in the replay."""
GAME_OVER_WAIT_S = 10.0
"""Seconds the game-over message stays up (a key closes it sooner) when playing on the keyboard."""
HELP_LINES = ("arrows / WASD: move", "space: lay a bomb", "p: pause   q / esc: quit")


class HumanPlayError(DisplayError):
    """Human play cannot start: no display to open a window on, or an opponent that will not run."""


@dataclass(frozen=True)
class HumanGameConfig:
    """One game of a human against three agents."""

    opponents: tuple[str, ...]
    """Three agents, for the other seats in order: built-in names (``simple``), ``.py`` files, or
    submission names (with a tournament database)."""
    mode: str = "ffa"
    """``ffa``, ``team`` or ``team_radio`` (teams 0 & 2 against 1 & 3)."""
    seat: int = 0
    """The human's seat, 0..3."""
    seed: int = 0
    """Seeds the board and the agents."""
    turn_based: bool = False
    """Wait for a key every step instead of running in real time."""
    fps: float = 4.0
    """Steps per second in real time."""
    out: Path | None = None
    """Replay file; default ``replays/human-<seed>.json.gz``."""
    partially_observable: bool = False
    """Everyone, the human included, sees only the square around them."""
    created: str | None = None
    """The replay's ``created`` timestamp; default now. The replay is otherwise a function of the
    config and the keys, so a fixed value gives byte-identical files for the same keys."""
    trust_submissions: bool = False
    """Run opponents that are not built-ins without the jail where none can be built here
    (otherwise they are refused there); where a jail can be built they always run in it."""

    def __post_init__(self) -> None:
        if isinstance(self.opponents, str) or len(self.opponents) != 3:
            raise ConfigError(f"give three opponents, got {self.opponents!r}")
        object.__setattr__(self, "opponents", tuple(str(o) for o in self.opponents))
        if self.mode not in C.MODES:
            raise ConfigError(f"mode must be one of {C.MODES}, got {self.mode!r}")
        if not 0 <= self.seat < C.NUM_AGENTS:
            raise ConfigError(f"seat must be 0..3, got {self.seat}")
        if not self.fps > 0:
            raise ConfigError(f"fps must be positive, got {self.fps}")
        if self.out is not None:
            object.__setattr__(self, "out", Path(self.out))

    @property
    def replay_path(self) -> Path:
        """Where the replay is written."""
        return self.out if self.out is not None else Path("replays") / f"human-{self.seed}.json.gz"

    @property
    def env_config(self) -> dict[str, Any]:
        """The environment's configuration (as recorded in the replay)."""
        return {"mode": self.mode, "partially_observable": self.partially_observable}

    @property
    def names(self) -> list[str]:
        """The agents' names by seat: ``human`` at the human's seat, the opponents' specs elsewhere."""
        others = iter(self.opponents)
        return [HUMAN if k == self.seat else next(others) for k in range(C.NUM_AGENTS)]


@dataclass(frozen=True)
class HumanGameResult:
    """How the game ended and where it was saved."""

    replay_path: Path
    outcome: str
    """For the human: ``win`` (the human or its team won), ``loss``, ``tie``, or ``unfinished``
    (left before the end)."""
    steps: int
    winners: list[str]
    """The winning agents' names (``player_k``); empty for a tie or an unfinished game."""


# -- setup -----------------------------------------------------------------------------------------
def _keymap() -> dict[int, int]:
    import pygame

    return {pygame.K_UP: C.UP, pygame.K_w: C.UP, pygame.K_DOWN: C.DOWN, pygame.K_s: C.DOWN,
            pygame.K_LEFT: C.LEFT, pygame.K_a: C.LEFT, pygame.K_RIGHT: C.RIGHT, pygame.K_d: C.RIGHT,
            pygame.K_SPACE: C.LAY_BOMB}


def _check_display() -> None:
    """Raise :class:`HumanPlayError` unless a window can be opened."""
    open_display(HumanPlayError,
                 "no display: human play needs a window (DISPLAY and WAYLAND_DISPLAY are not set); "
                 "set DISPLAY or run it on a desktop session",
                 "no display: cannot open a window for human play ({exc}); set DISPLAY or run it "
                 "on a desktop session")


def _builtin_names() -> list[str]:
    from palaestra.agents.registry import bomber_builtins

    return list(bomber_builtins())


def _opponent(spec: str, seat: int, config: HumanGameConfig, db: Path | None) -> Any:
    """The agent for ``spec`` at ``seat``: in-process for built-ins, sandboxed otherwise."""
    from palaestra.agents.registry import make_bomber_builtin
    from palaestra.agents.sandbox.host import AgentFault, launch
    from palaestra.agents.sandbox.isolation import isolation_problem

    builtins = _builtin_names()
    if spec in builtins:
        return make_bomber_builtin(spec)
    launch_spec: str | None = None
    sha256: str | None = None
    if spec.endswith(".py") or os.sep in spec:
        if not Path(spec).is_file():
            raise ConfigError(f"opponent {spec!r}: no such agent file")
        launch_spec = f"python:{Path(spec).resolve()}"
    elif db is not None:
        from palaestra.evaluation.store import TournamentStore

        if not Path(db).is_file():
            raise ConfigError(f"no tournament database at {db}")
        with TournamentStore(db) as store:
            sub = store.submission(spec)
        if sub is not None:
            if sub["env"] != "bomber":
                raise ConfigError(f"submission {spec!r} plays {sub['env']}, not bomber")
            launch_spec, sha256 = str(sub["spec"]), str(sub["sha256"])
            if launch_spec.startswith("builtin:") and launch_spec[8:] in builtins:
                return make_bomber_builtin(launch_spec[8:])
    if launch_spec is None:
        raise ConfigError(f"unknown opponent {spec!r}; built-ins: {', '.join(builtins)}; or give a "
                         "path to a .py agent" + ("" if db else ", or a submission name with a "
                                                  "tournament database"))
    problem = isolation_problem()
    if problem is not None and not config.trust_submissions:
        raise ConfigError(f"opponent {spec!r} cannot run isolated here: {problem} (pass "
                          "--trust-submissions to play it without the jail)")
    try:  # jailed on a private copy, checked against the submit hash for a submission
        return launch(launch_spec, "bomber", config.env_config, seat, isolate=problem is None,
                      sha256=sha256)
    except AgentFault as exc:
        raise HumanPlayError(f"opponent {spec!r} did not start ({exc.reason}): {exc}") from None


def play_human_game(
    config: HumanGameConfig,
    db: Path | None = None,
    events: EventSource = None,
    frame_hook: Callable[[np.ndarray], None] | None = None,
) -> HumanGameResult:
    """Play one game in a window; the replay is saved (and verified) even if you quit early.

    Args:
        config: the opponents, mode, seat, seed, pace and replay path.
        db: a tournament database in which to look up submission names.
        events: scripted pygame events (see the module docstring); None reads the keyboard.
        frame_hook: called with every drawn frame, an ``(H, W, 3)`` uint8 array (tests, screenshots).

    Returns:
        The replay's path, the outcome for the human, the number of steps and the winners.

    Raises:
        HumanPlayError: no window can be opened, or a submitted opponent does not start.
        ValueError: an unknown opponent.
    """
    import pygame

    from palaestra.agents.sandbox.host import AgentFault
    from palaestra.envs.bomber.env import AGENT_NAMES, BomberParallelEnv
    from palaestra.evaluation.replay import make_replay, save_replay

    scripted = events is not None
    if not scripted:
        _check_display()
    window = not scripted or _display_named()
    if window:
        try:
            pygame.display.init()
        except pygame.error:
            window = False
    agents: dict[int, Any] = {}
    try:
        seats = [k for k in range(C.NUM_AGENTS) if k != config.seat]
        for k, spec in zip(seats, config.opponents):
            agents[k] = _opponent(spec, k, config, db)
        env = BomberParallelEnv(**config.env_config)
        obs, _ = env.reset(seed=config.seed)
        rngs = np.random.SeedSequence(config.seed).spawn(C.NUM_AGENTS)
        for k, agent in agents.items():
            agent.reset(np.random.default_rng(rngs[k]))
        names = config.names
        screen = _Screen(config, names, window, interactive=not scripted)
        poll = _poller(events)
        keymap = _keymap()
        moves = {key: a for key, a in keymap.items() if a != C.LAY_BOMB}
        idle: Any = [C.STOP, 0, 0] if env.config.radio else C.STOP
        me = AGENT_NAMES[config.seat]
        clock = pygame.time.Clock()
        log: list[dict[str, Any]] = []
        faults: dict[str, str] = {}
        pending: int | None = None
        paused = quit_ = False
        since = 0.0
        while env.agents and not quit_:
            batch = poll()
            if batch is None:
                break
            for event in batch:
                if event.type == pygame.QUIT:
                    quit_ = True
                elif event.type == pygame.KEYDOWN:
                    if event.key in (pygame.K_q, pygame.K_ESCAPE):
                        quit_ = True
                    elif event.key == pygame.K_p:
                        paused = not paused
                    elif event.key in keymap and not paused:
                        pending = keymap[event.key]
            if quit_:
                break
            if not scripted:
                since += clock.tick(60) / 1000.0
            waits = config.turn_based and me in env.agents  # once out, the game plays on by itself
            if waits:
                due = pending is not None
            else:
                due = scripted or since >= 1.0 / config.fps
                if due and pending is None and not scripted and me in env.agents:
                    held = pygame.key.get_pressed()
                    pending = next((a for key, a in moves.items() if held[key]), None)
            if due and not paused:
                since = 0.0
                move = pending if pending is not None else C.STOP
                pending = None
                actions: dict[str, Any] = {}
                for name in env.agents:
                    k = AGENT_NAMES.index(name)
                    if name == me:
                        a: Any = move
                    elif agents[k] is None or not env.batch.agents[0, k, ALIVE]:
                        a = idle
                    else:
                        try:
                            a = agents[k].act(obs[name])
                        except AgentFault as exc:  # the opponent stands still from now on
                            agents[k] = None
                            faults[str(k)] = f"{exc.reason}: {exc} (step {len(log)})"
                            a = idle
                    a = a.tolist() if isinstance(a, np.ndarray) else a
                    if env.config.radio and not isinstance(a, (list, tuple)):
                        a = [int(a), 0, 0]  # the human and radio-less agents stay silent
                    actions[name] = a
                obs, _, _, _, _ = env.step(actions)
                log.append(actions)
            frame = screen.draw(env, paused=paused, waiting=waits and not paused)
            if frame_hook is not None:
                frame_hook(frame)

        meta: dict[str, Any] = {"human_seat": config.seat, "turn_based": config.turn_based}
        if not config.turn_based:
            meta["fps"] = config.fps
        if faults:
            meta["faults"] = faults
        replay = make_replay(env_id("bomber"), config.env_config, config.seed, names, log, meta=meta,
                             created=config.created)
        path = save_replay(replay, config.replay_path)
        winners = [str(w) for w in replay.outcome.get("winners", [])]
        result = str(replay.outcome.get("result", "unfinished"))
        if env.agents:
            result = "unfinished"
        elif result == "win":
            result = "win" if me in winners else "loss"
        frame = screen.draw(env, game_over=result, saved_to=path)
        if frame_hook is not None:
            frame_hook(frame)
        if not scripted:
            _linger(GAME_OVER_WAIT_S)
        return HumanGameResult(Path(path), result, len(log), winners)
    finally:
        for agent in agents.values():
            close = getattr(agent, "close", None)
            if close is not None:
                close()
        if window:
            pygame.display.quit()


def _linger(seconds: float) -> None:
    """Keep the game-over message up until a key, a click, closing the window, or ``seconds``."""
    import pygame

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for event in pygame.event.get():
            if event.type in (pygame.QUIT, pygame.KEYDOWN, pygame.MOUSEBUTTONDOWN):
                return
        time.sleep(1 / 30)


# -- drawing ---------------------------------------------------------------------------------------
HIGHLIGHT = (255, 221, 0)
PANEL_BG = (28, 30, 36)
MESSAGES = {"win": "You win!", "loss": "You lose", "tie": "A tie", "unfinished": "Game left"}


class _Screen:
    """The board (the human's view of it) with the human's cell outlined, and a side panel."""

    PANEL = 300
    TILE = 48

    def __init__(self, config: HumanGameConfig, names: list[str], window: bool,
                 interactive: bool = True) -> None:
        self.config = config
        self.names = names
        self.window = window
        self.interactive = interactive
        self.surface: Any = None
        self.font = font(28)
        self.small = font(21)
        self.big = font(64)

    def _surface(self, size: tuple[int, int]) -> Any:
        import pygame

        if self.surface is None:
            if self.window:
                self.surface = pygame.display.set_mode(size)
                pygame.display.set_caption("palaestra: play Bomber")
            else:
                self.surface = pygame.Surface(size)
        return self.surface

    def draw(self, env: Any, paused: bool = False, waiting: bool = False,
             game_over: str | None = None, saved_to: Path | None = None) -> np.ndarray:
        """Draw the current state; return the frame as an ``(H, W, 3)`` uint8 array."""
        import pygame

        from palaestra.envs.bomber.observe import agent_boards, agent_maps
        from palaestra.envs.bomber.render import AGENT_COLORS, render_rgb_array

        b = env.batch
        seat, tile = self.config.seat, self.TILE
        alive = [bool(x) for x in b.agents[0, :, ALIVE]]
        view = env.config.view if alive[seat] else -1  # once out, you watch the whole board
        board = agent_boards(b.board, b.agents, view)[0, seat] if view >= 0 else b.board[0]
        maps = agent_maps(b.agents, b.bombs, b.flames, b.meta, view)[0, seat]
        step = int(b.meta[0, STEP])
        frame = render_rgb_array(board, alive=alive, step=step, bomb_life=maps[1],
                                 flame_life=maps[3], tile=tile,
                                 title=f"Bomber {env.config.mode}: you are player_{seat}")
        board_surf = pygame.surfarray.make_surface(frame.swapaxes(0, 1))
        bw, h = board_surf.get_width(), board_surf.get_height()
        surf = self._surface((bw + self.PANEL, h))
        surf.fill(PANEL_BG)
        surf.blit(board_surf, (0, 0))

        top = round(0.7 * tile)  # render_rgb_array's title bar sits above the grid
        me = b.agents[0, seat]
        if alive[seat]:
            cell = pygame.Rect(int(me[COL]) * tile, top + int(me[ROW]) * tile, tile, tile)
            pygame.draw.rect(surf, HIGHLIGHT, cell, 4, border_radius=6)
            tag = self.small.render("YOU", True, (20, 20, 24))
            badge = tag.get_rect(midtop=(cell.centerx, cell.top + 1)).inflate(6, 0)
            pygame.draw.rect(surf, HIGHLIGHT, badge, border_radius=4)
            surf.blit(tag, tag.get_rect(center=badge.center))

        self._panel(surf, env, bw + 16, alive, AGENT_COLORS, waiting)
        if paused or game_over:
            title = "PAUSED (p)" if paused else MESSAGES.get(game_over or "", str(game_over))
            if game_over in ("win", "loss") and C.teammate_of(seat, env.config.mode) is not None:
                title = "Your team wins!" if game_over == "win" else "Your team loses"
            lines = [] if paused else [f"after {step} steps", f"replay: {saved_to or '-'}"]
            if not paused and self.interactive:
                lines.append("press a key to close")
            self._message(surf, title, lines, bw, h)
        if self.window:
            pygame.display.flip()
        return pygame.surfarray.array3d(surf).swapaxes(0, 1).copy()

    def _panel(self, surf: Any, env: Any, x: int, alive: list[bool], colors: Any, waiting: bool) -> None:
        b = env.batch
        seat = self.config.seat
        me = b.agents[0, seat]
        mate = C.teammate_of(seat, env.config.mode)
        grey, light, dim = (120, 120, 120), (230, 230, 230), (170, 170, 170)
        y = 16
        rows: list[tuple[str, Any, tuple[int, int, int]]] = [
            (f"You: player_{seat}" + ("" if alive[seat] else " (out)"), self.font, colors[seat]),
            (f"bombs {int(me[AMMO])}   range {int(me[BLAST])}   kick {'yes' if me[KICK] else 'no'}",
             self.small, light),
            (f"step {int(b.meta[0, STEP])} / {env.config.max_steps}", self.small, (200, 200, 200)),
            ("your move (turn based)" if waiting else
             ("turn based" if self.config.turn_based else f"real time, {self.config.fps:g} steps/s"),
             self.small, HIGHLIGHT if waiting else dim),
        ]
        for text, face, color in rows:
            surf.blit(face.render(text, True, color), (x, y))
            y += 28
        y += 8
        for k, name in enumerate(self.names):
            tag = " (you)" if k == seat else (" (team)" if k == mate else "")
            text = f"player_{k} {name}{tag}: {'alive' if alive[k] else 'dead'}"
            surf.blit(self.small.render(cut_middle(text, 34), True, colors[k] if alive[k] else grey), (x, y))
            y += 24
        y += 14
        for line in HELP_LINES:
            surf.blit(self.small.render(line, True, dim), (x, y))
            y += 22

    def _message(self, surf: Any, title: str, lines: list[str], width: int, height: int) -> None:
        import pygame

        rendered = [self.big.render(title, True, (255, 230, 120))]
        rendered += [self.small.render(cut_middle(line, 48), True, (230, 230, 230)) for line in lines]
        w = max(r.get_width() for r in rendered) + 40
        h = sum(r.get_height() + 6 for r in rendered) + 24
        box = pygame.Rect(0, 0, w, h)
        box.center = (width // 2, height // 2)
        shade = pygame.Surface(box.size, pygame.SRCALPHA)
        shade.fill((20, 20, 28, 220))
        surf.blit(shade, box.topleft)
        y = box.top + 12
        for r in rendered:
            surf.blit(r, r.get_rect(midtop=(box.centerx, y)))
            y += r.get_height() + 6


__all__ = ["HumanGameConfig", "HumanGameResult", "HumanPlayError", "play_human_game"]
