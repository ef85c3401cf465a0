"""Play Bomber yourself against agents, with the keyboard; the game is saved as a replay.

Arrows or WASD move, space lays a bomb, p pauses, q or escape quits (the game so far is still
saved). In real time the game advances ``fps`` times a second and you stand still unless a key
was pressed; with ``turn_based`` it waits for your key. Tests (and headless use) pass ``events``:
a source of pygame event lists used instead of the keyboard.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from palaestra.envs.bomber import constants as C

KEYS = ("up/w", "down/s", "left/a", "right/d", "space: bomb", "p: pause", "q: quit")
ENV_ID = "palaestra/Bomber-v0"


class HumanPlayError(RuntimeError):
    """Human play cannot start (no display, bad opponent)."""


@dataclass(frozen=True)
class HumanGameConfig:
    """One game of a human against three agents."""

    opponents: tuple[str, ...]
    """Three agents: built-in names (``simple``), submission names (with a database) or .py files."""
    mode: str = "ffa"
    """``ffa``, ``team`` or ``team_radio`` (the human's teammate is the seat two along)."""
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

    def __post_init__(self) -> None:
        if len(self.opponents) != 3:
            raise ValueError(f"give three opponents, got {len(self.opponents)}")
        if self.mode not in C.MODES:
            raise ValueError(f"mode must be one of {C.MODES}, got {self.mode!r}")
        if not 0 <= self.seat < 4:
            raise ValueError(f"seat must be 0..3, got {self.seat}")
        if self.fps <= 0:
            raise ValueError(f"fps must be positive, got {self.fps}")

    @property
    def replay_path(self) -> Path:
        return self.out if self.out is not None else Path("replays") / f"human-{self.seed}.json.gz"

    @property
    def env_config(self) -> dict[str, Any]:
        return {"mode": self.mode, "partially_observable": self.partially_observable}


@dataclass(frozen=True)
class HumanGameResult:
    """How the game ended and where it was saved."""

    replay_path: Path
    outcome: str
    """``win``, ``tie``, ``loss`` (for the human) or ``unfinished`` (quit early)."""
    steps: int
    winners: list[str]


_KEYMAP: dict[int, int] = {}


def _keymap() -> dict[int, int]:
    import pygame

    if not _KEYMAP:
        for keys, action in (((pygame.K_UP, pygame.K_w), C.UP), ((pygame.K_DOWN, pygame.K_s), C.DOWN),
                             ((pygame.K_LEFT, pygame.K_a), C.LEFT), ((pygame.K_RIGHT, pygame.K_d), C.RIGHT),
                             ((pygame.K_SPACE,), C.LAY_BOMB)):
            for key in keys:
                _KEYMAP[key] = action
    return _KEYMAP


def _check_display() -> None:
    import pygame

    driver = os.environ.get("SDL_VIDEODRIVER", "")
    if (not driver and sys.platform.startswith("linux") and not os.environ.get("DISPLAY")
            and not os.environ.get("WAYLAND_DISPLAY")):
        raise HumanPlayError("no display: human play needs a window (DISPLAY and WAYLAND_DISPLAY "
                             "are not set); run it on a desktop session")
    try:
        pygame.display.init()
    except pygame.error as exc:
        raise HumanPlayError(f"cannot open a window for human play ({exc})") from None


def _opponent(spec: str, seat: int, config: HumanGameConfig, db: Path | None) -> Any:
    from palaestra.agents.bomber import SCRIPTED_BOMBER_AGENTS, make_scripted_bomber_agent
    from palaestra.agents.sandbox import launch

    if spec in SCRIPTED_BOMBER_AGENTS:
        return make_scripted_bomber_agent(spec)
    if spec.endswith(".py"):
        if not Path(spec).is_file():
            raise ValueError(f"{spec}: no such agent file")
        return launch(f"python:{Path(spec).resolve()}", "bomber", config.env_config, seat)
    if db is not None:
        from palaestra.evaluation.store import TournamentStore

        with TournamentStore(db) as store:
            sub = store.submission(spec)
        if sub is not None:
            if sub["env"] != "bomber":
                raise ValueError(f"submission {spec!r} plays {sub['env']}, not bomber")
            return launch(sub["spec"], "bomber", config.env_config, seat)
    raise ValueError(f"unknown opponent {spec!r}; built-ins: {', '.join(SCRIPTED_BOMBER_AGENTS)}"
                     + ("" if db else " (submission names need --db)"))


EventSource = Callable[[], list[Any]] | Iterable[list[Any]] | None


def _poller(events: EventSource) -> Callable[[], list[Any] | None]:
    """A function returning the next batch of events, or None when a scripted source runs out."""
    import pygame

    if events is None:
        return pygame.event.get
    if callable(events):
        return events  # type: ignore[return-value]
    it: Iterator[list[Any]] = iter(events)
    return lambda: next(it, None)


def play_human_game(
    config: HumanGameConfig, db: Path | None = None, events: EventSource = None,
    frame_hook: Callable[[np.ndarray], None] | None = None,
) -> HumanGameResult:
    """Play one game in a window; the replay is saved (and verified) even if you quit early.

    Args:
        db: a tournament database to resolve submission names.
        events: scripted pygame events (see the module docstring); None reads the keyboard.
        frame_hook: called with every drawn frame (tests, screenshots).

    Raises:
        HumanPlayError: no window can be opened. ValueError: an unknown opponent.
    """
    import pygame

    from palaestra.envs.bomber.env import AGENT_NAMES, BomberParallelEnv
    from palaestra.evaluation.replay import make_replay, save_replay

    if events is None:
        _check_display()
    else:
        pygame.display.init()
    specs = list(config.opponents)
    seats = [k for k in range(4) if k != config.seat]
    agents: dict[int, Any] = {}
    try:
        for k, spec in zip(seats, specs):
            agents[k] = _opponent(spec, k, config, db)
        seeds = np.random.SeedSequence(config.seed).spawn(5)
        env_seed = int(np.random.default_rng(seeds[0]).integers(2**31))
        env = BomberParallelEnv(**config.env_config)
        obs, _ = env.reset(seed=env_seed)
        for k, agent in agents.items():
            agent.reset(np.random.default_rng(seeds[k + 1]))
        names = ["human" if k == config.seat else specs[seats.index(k)] for k in range(4)]
        screen = _Screen(config, names)
        poll = _poller(events)
        clock = pygame.time.Clock()
        log: list[dict[str, Any]] = []
        pending: int | None = None
        paused = quit_ = False
        since = 0.0
        me = AGENT_NAMES[config.seat]
        while env.agents and not quit_:
            batch = poll()
            if batch is None:
                quit_ = True
                break
            for event in batch:
                if event.type == pygame.QUIT:
                    quit_ = True
                elif event.type == pygame.KEYDOWN:
                    if event.key in (pygame.K_q, pygame.K_ESCAPE):
                        quit_ = True
                    elif event.key == pygame.K_p:
                        paused = not paused
                    elif event.key in _keymap():
                        pending = _keymap()[event.key]
            if quit_:
                break
            if events is None:
                since += clock.tick(60) / 1000.0
            waits = config.turn_based and me in env.agents  # once out, the game plays on by itself
            due = (pending is not None) if waits else (events is not None or since >= 1 / config.fps)
            if due and not paused:
                since = 0.0
                move = pending if pending is not None else C.STOP
                pending = None
                actions: dict[str, Any] = {}
                for name in env.agents:
                    k = AGENT_NAMES.index(name)
                    a = move if name == me else agents[k].act(obs[name])
                    a = a.tolist() if isinstance(a, np.ndarray) else a
                    if env.config.radio and not isinstance(a, (list, tuple)):
                        a = [int(a), 0, 0]
                    actions[name] = a
                obs, _, _, _, _ = env.step(actions)
                log.append(actions)
            frame = screen.draw(env, paused)
            if frame_hook is not None:
                frame_hook(frame)
        replay = make_replay(ENV_ID, config.env_config, env_seed, names, log,
                             meta={"human_seat": config.seat, "seed": config.seed})
        path = save_replay(replay, config.replay_path)
        winners = list(replay.outcome.get("winners", []))
        result = str(replay.outcome.get("result", "unfinished"))
        if quit_ and env.agents:
            result = "unfinished"
        elif result == "win":
            result = "win" if me in winners or config.seat in winners else "loss"
        if frame_hook is not None or events is None:
            frame = screen.draw(env, False, game_over=result)
            if frame_hook is not None:
                frame_hook(frame)
        return HumanGameResult(Path(path), result, len(log), [str(w) for w in winners])
    finally:
        for agent in agents.values():
            close = getattr(agent, "close", None)
            if close is not None:
                close()
        pygame.display.quit()


class _Screen:
    """The window: the board with the human's cell outlined, and a side panel."""

    PANEL = 300

    def __init__(self, config: HumanGameConfig, names: list[str]) -> None:
        import pygame

        self.config = config
        self.names = names
        self.window: Any = None
        pygame.font.init()
        self.font = pygame.font.Font(None, 26)
        self.small = pygame.font.Font(None, 21)

    def draw(self, env: Any, paused: bool, game_over: str | None = None) -> np.ndarray:
        import pygame

        from palaestra.envs.bomber.observe import agent_boards, agent_maps
        from palaestra.envs.bomber.render import AGENT_COLORS, render_rgb_array

        b = env.batch
        seat = self.config.seat
        view = env.config.view
        board = agent_boards(b.board, b.agents, view)[0, seat] if view >= 0 else b.board[0]
        maps = agent_maps(b.agents, b.bombs, b.flames, b.meta, view)[0, seat]
        alive = [bool(x) for x in b.agents[0, :, 0]]
        tile = 48
        frame = render_rgb_array(board, alive=alive, step=int(b.meta[0, 0]), bomb_life=maps[1],
                                 flame_life=maps[3], tile=tile, title=f"Bomber {env.config.mode}: you are player_{seat}")
        board_surf = pygame.surfarray.make_surface(frame.swapaxes(0, 1))
        w, h = board_surf.get_width() + self.PANEL, board_surf.get_height()
        if self.window is None:
            self.window = pygame.display.set_mode((w, h))
            pygame.display.set_caption("palaestra: play Bomber")
        surf = self.window
        surf.fill((28, 30, 36))
        surf.blit(board_surf, (0, 0))
        top = round(0.7 * tile)  # render_rgb_array's title bar sits above the grid
        r, c = int(b.agents[0, seat, 1]), int(b.agents[0, seat, 2])
        if alive[seat]:
            pygame.draw.rect(surf, (255, 255, 255), (c * tile, top + r * tile, tile, tile), 3)
        x, y = board_surf.get_width() + 16, 16
        me = b.agents[0, seat]
        for text, font, color in (
            (f"You: player_{seat}", self.font, AGENT_COLORS[seat]),
            (f"bombs {int(me[3])}   range {int(me[4])}   kick {'yes' if me[5] else 'no'}", self.small, (230, 230, 230)),
            (f"step {int(b.meta[0, 0])} / {env.config.max_steps}", self.small, (200, 200, 200)),
            ("", self.small, (0, 0, 0)),
        ):
            surf.blit(font.render(text, True, color), (x, y))
            y += 28
        for k, name in enumerate(self.names):
            state = "alive" if alive[k] else "dead"
            surf.blit(self.small.render(f"player_{k} {name}: {state}", True,
                                        AGENT_COLORS[k] if alive[k] else (120, 120, 120)), (x, y))
            y += 24
        y += 12
        for line in ("arrows / WASD: move", "space: lay a bomb", "p: pause   q: quit"):
            surf.blit(self.small.render(line, True, (170, 170, 170)), (x, y))
            y += 22
        if paused or game_over:
            message = "PAUSED (p)" if paused else {"win": "You win!", "loss": "You lose",
                                                   "tie": "A tie", "unfinished": "Game left"}[game_over or "tie"]
            text = pygame.font.Font(None, 64).render(message, True, (255, 230, 120))
            box = text.get_rect(center=(board_surf.get_width() // 2, h // 2)).inflate(40, 24)
            shade = pygame.Surface(box.size, pygame.SRCALPHA)
            shade.fill((20, 20, 28, 210))
            surf.blit(shade, box.topleft)
            surf.blit(text, text.get_rect(center=box.center))
        pygame.display.flip()
        return pygame.surfarray.array3d(surf).swapaxes(0, 1).copy()
