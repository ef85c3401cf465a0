"""Bomber clips cut from a replay: one seat's steps as a segment, with the board as RGB frames.

:class:`BomberGame` plays a recorded Bomber game again once, with the planes observation, and
keeps what every seat saw, did and got at each step and the board before each step. A clip is
then cut for any seat and any window of its steps, as often as wanted, without playing the game
again: :meth:`BomberGame.clip` returns a :class:`~palaestra.league.prefs.segments.Segment` of
the seat's flat planes observations and actions (what a reward model fits) and, unless asked not
to, its frames (what the labelling window shows).

The frames are small: :data:`FRAME_TILE` pixels per board cell, so that a 32-step clip stays
about 3 MB in memory (about 120 kB compressed); the labelling window scales them up by a whole
factor. Each frame outlines the seat's own cell, so that a labeller sees whose clip it is on a
board of four. Frame ``t`` is the board the seat acted on at step ``t`` (as its observation);
the absorbing steps after the seat's last step show the board just after it (its death, or the
end of the game).

The same replay always gives the same clips: the game is replayed from its seed and actions,
and drawing involves no randomness.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from palaestra.envs import family_specs
from palaestra.envs.bomber import constants as C
from palaestra.errors import ConfigError, FileFormatError
from palaestra.league.prefs.segments import Segment

__all__ = ["ACTION_NAMES", "FRAME_TILE", "MARK_COLOR", "BomberGame", "last_start", "steps_played"]

FRAME_TILE = 16
"""Pixels per board cell in a clip's frames: an 11 x 11 board is 176 x 189 pixels with its status
bar (the renderer's default, 48, would make every clip nine times heavier)."""
ACTION_NAMES: tuple[str, ...] = tuple(name for _, name in sorted({
    C.STOP: "stop", C.UP: "up", C.DOWN: "down", C.LEFT: "left", C.RIGHT: "right",
    C.LAY_BOMB: "bomb"}.items()))
"""What a clip's action values mean, by code (for the labelling window)."""
MARK_COLOR = (255, 255, 255)
"""Colour of the square around the clip's own agent."""


class _Board(NamedTuple):
    """What a frame is drawn from: the board before one step."""

    board: np.ndarray
    bomb_life: np.ndarray
    flame_life: np.ndarray
    alive: tuple[bool, ...]
    step: int
    positions: np.ndarray
    """``(agents, 2)`` row and column of each agent."""


class _Row(NamedTuple):
    """One step of one seat: what it saw, did and got, and the game step it was."""

    obs: np.ndarray
    action: int
    reward: float
    step: int


def _check_replay(replay: Any) -> dict[str, Any]:
    if not isinstance(replay, dict):
        raise FileFormatError(f"a replay is a JSON object, got {type(replay).__name__}")
    bomber = {spec.env_id for spec in family_specs("bomber")}
    if replay.get("env_id") not in bomber:
        raise FileFormatError(f"not a Bomber replay (env_id {replay.get('env_id')!r})")
    config = replay.get("env_config") or {}
    if not isinstance(config, dict):
        raise FileFormatError(f"the replay's env_config is not an object: {config!r}")
    if config.get("mode") == "team_radio":
        raise FileFormatError("team_radio replays carry messages in their actions; not supported")
    for key, kind in (("seed", int), ("actions", list), ("agents", list)):
        if not isinstance(replay.get(key), kind) or isinstance(replay.get(key), bool):
            raise FileFormatError(f"the replay's {key!r} is missing or not a {kind.__name__}")
    return replay


def steps_played(replay: dict[str, Any]) -> list[int]:
    """Per seat, how many steps it acted in (read from the actions, without playing the game)."""
    from palaestra.envs.bomber.env import AGENT_NAMES

    actions = _check_replay(replay)["actions"]
    return [sum(1 for step in actions if isinstance(step, dict) and name in step)
            for name in AGENT_NAMES]


def last_start(played: int, length: int) -> int:
    """The first step of the window of a seat's last ``length`` steps, of ``played``."""
    return max(0, int(played) - int(length))


class BomberGame:
    """A Bomber replay (a dict as the tournament store keeps it) played again once.

    Raises :class:`~palaestra.errors.FileFormatError` for anything that is not a Bomber replay
    this can play (a Kelly one, a ``team_radio`` one, actions the game refuses).
    """

    def __init__(self, replay: dict[str, Any]) -> None:
        from palaestra.envs.bomber.core import ALIVE, COL, ROW, STEP
        from palaestra.envs.bomber.env import AGENT_NAMES, BomberParallelEnv
        from palaestra.envs.bomber.observe import agent_maps

        replay = _check_replay(replay)
        self.seed = int(replay["seed"])
        self.agents = [str(a) for a in replay["agents"]]
        env = BomberParallelEnv(**{**dict(replay.get("env_config") or {}),
                                   "observation": "planes"})
        if len(self.agents) != len(AGENT_NAMES):
            raise FileFormatError(f"a Bomber replay names {len(AGENT_NAMES)} agents, this one "
                                  f"{len(self.agents)}")

        def board() -> _Board:
            b = env.batch
            maps = agent_maps(b.agents, b.bombs, b.flames, b.meta, -1)[0, 0]
            return _Board(b.board[0].copy(), maps[1].copy(), maps[3].copy(),
                          tuple(bool(x) for x in b.agents[0, :, ALIVE]), int(b.meta[0, STEP]),
                          b.agents[0][:, [ROW, COL]].astype(int))

        obs, _ = env.reset(seed=self.seed)
        self._boards = [board()]
        self._rows: list[list[_Row]] = [[] for _ in AGENT_NAMES]
        for t, step in enumerate(replay["actions"]):
            if not isinstance(step, dict) or not all(a in AGENT_NAMES for a in step):
                raise FileFormatError(f"step {t} of the replay is not a map from "
                                      f"{', '.join(AGENT_NAMES)} to actions: {step!r}")
            try:
                actions = {a: int(v) for a, v in step.items()}
                before = {a: np.asarray(obs[a], dtype=np.float32).reshape(-1) for a in actions}
                obs, rewards, _, _, _ = env.step(actions)
            except (KeyError, TypeError, ValueError, RuntimeError) as exc:
                raise FileFormatError(f"step {t} of the replay cannot be played: {exc}") from None
            for a, act in actions.items():
                seat = AGENT_NAMES.index(a)
                self._rows[seat].append(_Row(before[a], act, float(rewards.get(a, 0.0)), t))
            self._boards.append(board())
        self._frames: dict[tuple[int, int], np.ndarray] = {}

    @property
    def seats(self) -> int:
        return len(self._rows)

    def played(self, seat: int) -> int:
        """How many steps ``seat`` acted in."""
        return len(self._rows[self._seat(seat)])

    def last_start(self, seat: int, length: int) -> int:
        """Where the window of the seat's last ``length`` steps starts."""
        return last_start(self.played(seat), length)

    def _seat(self, seat: int) -> int:
        if isinstance(seat, bool) or not isinstance(seat, (int, np.integer)) \
                or not 0 <= seat < len(self._rows):
            raise ConfigError(f"seat must be 0-{len(self._rows) - 1}, got {seat!r}")
        return int(seat)

    def frame(self, t: int, tile: int = FRAME_TILE) -> np.ndarray:
        """The board before game step ``t`` (``t`` = the number of steps played: the final
        board), unmarked; drawn once per tile and kept."""
        from palaestra.envs.bomber.render import render_rgb_array

        key = (int(t), int(tile))
        if key not in self._frames:
            b = self._boards[key[0]]
            self._frames[key] = render_rgb_array(b.board, alive=b.alive, step=b.step,
                                                 bomb_life=b.bomb_life, flame_life=b.flame_life,
                                                 tile=key[1])
        return self._frames[key]

    def clip(self, seat: int, start: int, length: int, tile: int | None = FRAME_TILE) -> Segment:
        """Steps ``start`` .. ``start + length - 1`` of ``seat`` (padded with absorbing steps
        past its last one) as a segment; with frames of ``tile`` pixels a cell, or none when
        ``tile`` is None (which needs no pygame)."""
        from palaestra.envs.bomber.env import AGENT_NAMES

        rows = self._rows[self._seat(seat)]
        if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 1:
            raise ConfigError(f"length must be a positive integer, got {length!r}")
        if not rows:
            raise FileFormatError(f"seat {seat} never acted in the replay")
        if isinstance(start, bool) or not isinstance(start, (int, np.integer)) \
                or not 0 <= start < len(rows):
            raise ConfigError(f"start must be a step of seat {seat}, 0-{len(rows) - 1}, "
                              f"got {start!r}")
        steps = rows[start:start + length]
        pad = length - len(steps)
        dim = steps[0].obs.size
        frames = None
        if tile is not None:  # drawing needs pygame (the [viewer] extra); cutting does not
            from palaestra.envs.bomber.render import outline_cell

            shown = [r.step for r in steps] + [steps[-1].step + 1] * pad
            frames = np.stack([outline_cell(self.frame(t, tile), *self._boards[t].positions[seat],
                                            tile=tile, color=MARK_COLOR) for t in shown])
        return Segment(
            "bomber", np.concatenate([np.stack([r.obs for r in steps]), np.zeros((pad, dim))]),
            np.concatenate([np.array([r.action for r in steps], float), np.zeros(pad)]),
            np.concatenate([np.array([r.reward for r in steps]), np.zeros(pad)]),
            self.seed, int(start), f"{self.agents[seat]} ({AGENT_NAMES[seat]})", frames,
            np.arange(length) >= len(steps))
