"""Bomber: Pommerman's four-player bomber arena as a PettingZoo environment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.utils import parallel_to_aec

from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber.board import make_board, make_items
from palaestra.envs.bomber.config import BomberConfig
from palaestra.envs.bomber.core import ALIVE, AMMO, BLAST, COL, KICK, ROW, STEP, BomberBatch
from palaestra.envs.bomber.observe import MAPS, NUM_PLANES, agent_boards, agent_maps, outcome, planes
from palaestra.envs.bomber.pommerman_io import load_state, state_to_json
from palaestra.errors import ConfigError, InvalidActionError

AGENT_NAMES = tuple(f"player_{k}" for k in range(C.NUM_AGENTS))
AGENT_INDEX = {name: k for k, name in enumerate(AGENT_NAMES)}


class BomberParallelEnv(ParallelEnv):
    """Pommerman's bomber game for four agents, rule-exact and compiled.

    ## Description
    Four bombers start in the corners of an 11x11 board of rigid walls, wood walls and passages.
    Bombs explode after 10 steps into flames reaching ``blast_strength - 1`` cells in each
    direction, destroying wood (which may hide a power-up: extra bomb, blast range, kick) and
    killing agents; bombs set off other bombs in chains. Agents with kick push bombs, which then
    slide until blocked. The last agent (FFA) or team standing wins. The rules, including the order
    in which moves, collisions, kicks and explosions are resolved, are those of the original
    Pommerman forward model; the differential tests replay recorded Pommerman games state by state.

    ## Action Space
    ``Discrete(6)``: 0 stop, 1 up, 2 down, 3 left, 4 right, 5 lay a bomb. In ``team_radio`` mode
    ``MultiDiscrete([6, 8, 8])``: the action and two words sent to the teammate.

    ## Observation Space
    ``observation="dict"``: Pommerman's per-agent dict: ``board`` (11x11 item codes, 5 = fog),
    ``bomb_blast_strength``, ``bomb_life``, ``bomb_moving_direction``, ``flame_life`` (11x11),
    ``position`` (row, col), ``ammo``, ``blast_strength``, ``can_kick``, ``teammate`` (item code,
    9 in FFA), ``enemies`` (3 item codes; 9 pads the team modes), ``alive`` (4 flags; Pommerman gives
    the list of living agents' codes), ``step_count``, ``game_type`` (1 FFA, 2 team, 3 radio) and
    ``message`` (the two words received; zeros without radio).
    ``observation="planes"``: ``Box(0, 1, (22, 11, 11), float32)``, channels in
    :data:`palaestra.envs.bomber.observe.PLANES`.

    ## Rewards
    Pommerman's: FFA +1 to the last agent standing and -1 to everyone else, -1 to all when time
    runs out; an agent that dies gets its -1 at once. Teams: +1 to each member of the team with
    survivors once the other team is out, -1 to the others; -1 to all on a timeout or when all die.

    ## Episode End
    An agent that dies is terminated (FFA); in the team modes dead agents stay in the game, doing
    nothing, until the game is decided, so that they receive the team's result. The game ends when
    at most one agent (FFA) or one team is left, or after ``max_steps`` (truncation).

    ## Arguments
    ``render_mode`` (``"rgb_array"``, ``"ansi"`` or ``"human"``) and the fields of
    :class:`~palaestra.envs.bomber.config.BomberConfig` as keywords.
    ``reset(seed=..., options={"state": <Pommerman JSON state>})`` starts from a given state.

    ## Version History
    * v0: initial version.
    """

    metadata: dict[str, Any] = {
        "name": "bomber_v0",
        "render_modes": ["human", "rgb_array", "ansi"],
        "render_fps": 8,
        "is_parallelizable": True,
    }

    def __init__(self, render_mode: str | None = None, **config: Any) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ConfigError(f"render_mode must be one of {self.metadata['render_modes']}")
        self.config = BomberConfig(**config)
        self.render_mode = render_mode
        self.possible_agents = list(AGENT_NAMES)
        self.agents: list[str] = []
        self._observation_space = self._make_observation_space()
        self._action_space = (
            spaces.MultiDiscrete([C.NUM_ACTIONS, C.RADIO_VOCAB_SIZE, C.RADIO_VOCAB_SIZE])
            if self.config.radio else spaces.Discrete(C.NUM_ACTIONS)
        )
        self.batch = BomberBatch.empty(1)
        self.messages = np.zeros((1, C.NUM_AGENTS, C.RADIO_NUM_WORDS), dtype=np.int64)
        self._rng = np.random.default_rng()
        self._window: Any = None
        c = self.config
        self._team, self._radio, self._max_steps, self._blast_cap = c.team, c.radio, c.max_steps, c.blast_cap
        mates = [C.teammate_of(k, c.mode) for k in range(C.NUM_AGENTS)]
        self._teammates = [C.AGENT_DUMMY if m is None else C.AGENT0 + m for m in mates]
        self._enemies = [
            np.array([C.AGENT0 + j for j in range(C.NUM_AGENTS) if j not in (k, mates[k])]
                     + ([C.AGENT_DUMMY] if mates[k] is not None else []), dtype=np.int64)
            for k in range(C.NUM_AGENTS)
        ]

    # -- spaces -------------------------------------------------------------------------------
    def _make_observation_space(self) -> spaces.Space:
        n = C.BOARD_SIZE
        if self.config.observation == "planes":
            return spaces.Box(0.0, 1.0, (NUM_PLANES, n, n), np.float32)
        grid = spaces.Box(0.0, float(C.DEFAULT_BOMB_LIFE + 1), (n, n), np.float32)
        return spaces.Dict({
            "board": spaces.Box(0, C.AGENT0 + 3, (n, n), np.int8),
            **{name: grid for name in MAPS},
            "position": spaces.Box(0, n - 1, (2,), np.int64),
            "ammo": spaces.Discrete(C.MAX_AMMO + 1),
            "blast_strength": spaces.Discrete(C.MAX_BLAST_STRENGTH + 1),
            "can_kick": spaces.Discrete(2),
            "teammate": spaces.Discrete(C.AGENT0 + 4),
            "enemies": spaces.Box(0, C.AGENT0 + 3, (3,), np.int64),
            "alive": spaces.MultiBinary(C.NUM_AGENTS),
            "step_count": spaces.Discrete(self.config.max_steps + 1),
            "game_type": spaces.Discrete(4),
            "message": spaces.Box(0, C.RADIO_VOCAB_SIZE - 1, (C.RADIO_NUM_WORDS,), np.int64),
        })

    def observation_space(self, agent: str) -> spaces.Space:
        return self._observation_space

    def action_space(self, agent: str) -> spaces.Space:
        return self._action_space

    # -- game ---------------------------------------------------------------------------------
    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.messages[:] = 0
        state = (options or {}).get("state")
        if state is not None:
            load_state(state, self.batch, 0)
        else:
            c = self.config
            board = make_board(self._rng, num_rigid=c.num_rigid, num_wood=c.num_wood)
            self.batch.set_start(0, board, make_items(self._rng, board, c.num_items))
        alive = self.batch.agents[0, :, ALIVE]
        self.agents = [AGENT_NAMES[k] for k in range(C.NUM_AGENTS) if alive[k] or self.config.team]
        done, _ = outcome(alive, int(self.batch.meta[0, STEP]), self.config.max_steps, self.config.team)
        if done or not self.agents:
            raise ConfigError("the given state is already decided; start from a running game")
        return self._observations(), {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        if not self.agents:
            raise RuntimeError("the game is over; call reset()")
        moves = np.zeros((1, C.NUM_AGENTS), dtype=np.int64)
        words = self.messages[0].copy()
        for name in self.agents:
            if name not in actions:
                raise InvalidActionError(f"no action for {name}; every live agent must act")
            k = AGENT_INDEX[name]
            moves[0, k] = self._parse_action(name, actions[name], k, words)
        # Everything is validated: only now does the game change.
        self.messages[0] = words
        batch = self.batch
        was_alive = batch.agents[0, :, ALIVE].tolist()
        batch.step(moves, self._blast_cap)
        alive = batch.agents[0, :, ALIVE].tolist()
        step_count = int(batch.meta[0, STEP])
        team = self._team
        done, rewards = outcome(alive, step_count, self._max_steps, team)
        timeout = done and step_count >= self._max_steps and max(rewards) < 1 and any(alive)
        obs = self._observations()
        out_rew, out_term, out_trunc, out_info = {}, {}, {}, {}
        winners = [AGENT_NAMES[j] for j in range(C.NUM_AGENTS) if rewards[j] == 1] if done else []
        for name in self.agents:
            k = AGENT_INDEX[name]
            died = bool(was_alive[k] and not alive[k]) and not team
            out_rew[name] = float(rewards[k]) if (done or died) else 0.0
            term = (done and not timeout) or died
            out_term[name] = term
            out_trunc[name] = timeout and not term
            info: dict[str, Any] = {"alive": bool(alive[k])}
            if done:
                info["result"] = "win" if winners else "tie"
                info["winners"] = list(winners)
            out_info[name] = info
        self.agents = [a for a in self.agents if not (out_term[a] or out_trunc[a])]
        if self.render_mode == "human":
            self.render()
        return obs, out_rew, out_term, out_trunc, out_info

    def alive(self, name: str) -> bool:
        """Whether agent ``name`` is alive. In the team modes the dead stay in :attr:`agents`
        until the game is decided; their actions are ignored, so callers need not ask them."""
        return bool(self.batch.agents[0, AGENT_INDEX[name], ALIVE])

    def idle_action(self) -> Any:
        """The action of an agent doing nothing: STOP (with two zero words in radio mode)."""
        return [C.STOP, 0, 0] if self.config.radio else C.STOP

    def _parse_action(self, name: str, action: Any, k: int, words: np.ndarray) -> int:
        """The move of one agent; in team_radio mode its words go into ``words[teammate]``."""
        if self._radio:
            a = np.asarray(action).reshape(-1)
            if a.shape != (3,) or a.dtype.kind not in "iu":
                raise InvalidActionError(f"{name}: a team_radio action is [move, word, word], got {action!r}")
            move = int(a[0])
            if not (0 <= a[1] < C.RADIO_VOCAB_SIZE and 0 <= a[2] < C.RADIO_VOCAB_SIZE):
                raise InvalidActionError(f"{name}: radio words must lie in 0..{C.RADIO_VOCAB_SIZE - 1}")
            if self.batch.agents[0, k, ALIVE]:
                words[(k + 2) % 4] = a[1:]
        elif type(action) is int or isinstance(action, np.integer):
            move = int(action)
        else:
            a = np.asarray(action)
            if a.size != 1 or a.dtype.kind not in "iu":
                raise InvalidActionError(f"{name}: action must be an integer 0..5, got {action!r}")
            move = int(a.reshape(()))
        if not 0 <= move < C.NUM_ACTIONS:
            raise InvalidActionError(f"{name}: action must be an integer 0..5, got {action!r}")
        return move

    # -- observations -------------------------------------------------------------------------
    def _observations(self) -> dict[str, Any]:
        c, b = self.config, self.batch
        live = self.agents
        if c.observation == "planes":
            return self.planes_observations()
        boards = agent_boards(b.board, b.agents, c.view)[0]
        maps = agent_maps(b.agents, b.bombs, b.flames, b.meta, c.view)[0]
        agents = b.agents[0]
        alive = agents[:, ALIVE].astype(np.int8)
        step_count = min(int(b.meta[0, STEP]), c.max_steps)
        game_type = C.GAME_TYPE_VALUE[c.mode]
        out = {}
        for name in live:
            k = AGENT_INDEX[name]
            m = maps[k]
            out[name] = {
                "board": boards[k],
                "bomb_blast_strength": m[0],
                "bomb_life": m[1],
                "bomb_moving_direction": m[2],
                "flame_life": m[3],
                "position": agents[k, ROW:COL + 1].copy(),
                "ammo": int(agents[k, AMMO]),
                "blast_strength": int(agents[k, BLAST]),
                "can_kick": int(agents[k, KICK]),
                "teammate": self._teammates[k],
                "enemies": self._enemies[k].copy(),
                "alive": alive.copy(),
                "step_count": step_count,
                "game_type": game_type,
                "message": self.messages[0, k].copy(),
            }
        return out

    def planes_observations(self, names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """The ``planes`` observation of ``names`` (default: the live agents), whichever
        ``observation`` is set.

        Lets a mixed game give dicts to scripted agents and planes to networks (the league does),
        and gives an agent that has just died its last view.
        """
        c, b = self.config, self.batch
        stack = planes(b.board, b.agents, b.bombs, b.flames, b.meta, self.messages, c.view,
                       c.team, c.max_steps)[0]
        return {name: stack[AGENT_INDEX[name]] for name in (self.agents if names is None else names)}

    def state(self) -> np.ndarray:
        """The full board (item codes), as PettingZoo's global state."""
        return self.batch.board[0].copy()

    def get_state_json(self) -> dict[str, Any]:
        """The current game state in Pommerman's JSON format (loadable with reset options)."""
        return state_to_json(self.batch, 0)

    # -- rendering ----------------------------------------------------------------------------
    def render(self) -> Any:
        from palaestra.envs.bomber import render as R

        b = self.batch
        alive = [bool(x) for x in b.agents[0, :, ALIVE]]
        step = int(b.meta[0, STEP])
        if self.render_mode == "ansi":
            return self.to_ansi()
        if self.render_mode is None:
            return None
        maps = agent_maps(b.agents, b.bombs, b.flames, b.meta, -1)[0, 0]
        frame = R.render_rgb_array(b.board[0], alive=alive, step=step, bomb_life=maps[1],
                                   flame_life=maps[3], title=f"Bomber {self.config.mode}")
        if self.render_mode == "rgb_array":
            return frame
        import pygame

        if self._window is None:
            pygame.display.init()
            self._window = pygame.display.set_mode((frame.shape[1], frame.shape[0]))
            pygame.display.set_caption("palaestra Bomber")
        pygame.surfarray.blit_array(self._window, frame.swapaxes(0, 1))
        pygame.event.pump()
        pygame.display.flip()
        return None

    def to_ansi(self) -> str:
        """The board as text (whatever the render mode); the legend is in ``render.render_ansi``."""
        from palaestra.envs.bomber.render import render_ansi

        b = self.batch
        return render_ansi(b.board[0], alive=[bool(x) for x in b.agents[0, :, ALIVE]],
                           step=int(b.meta[0, STEP]))

    def close(self) -> None:
        if self._window is not None:
            import pygame

            pygame.display.quit()
            self._window = None


def parallel_env(render_mode: str | None = None, **config: Any) -> BomberParallelEnv:
    """The Bomber game as a PettingZoo ParallelEnv (all agents act at once, as in Pommerman)."""
    return BomberParallelEnv(render_mode=render_mode, **config)


def raw_env(render_mode: str | None = None, **config: Any) -> AECEnv:
    """The Bomber game as a PettingZoo AEC env (agents act in turn; the step resolves together)."""
    return parallel_to_aec(parallel_env(render_mode=render_mode, **config))


def env(render_mode: str | None = None, **config: Any) -> AECEnv:
    """The AEC env (PettingZoo's usual entry point)."""
    return raw_env(render_mode=render_mode, **config)
