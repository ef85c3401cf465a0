"""HideAndSeek: OpenAI's hide-and-seek game on a 2D grid, as a PettingZoo environment."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.utils import parallel_to_aec

from palaestra.envs.hide_and_seek import constants as K
from palaestra.envs.hide_and_seek.config import HideAndSeekConfig
from palaestra.envs.hide_and_seek.mechanics import act
from palaestra.envs.hide_and_seek.observe import Observer, global_state, observation_space
from palaestra.envs.hide_and_seek.state import GameState
from palaestra.envs.hide_and_seek.stats import PhaseStats
from palaestra.envs.hide_and_seek.vision import fields_of_view
from palaestra.envs.hide_and_seek.world import generate
from palaestra.errors import ConfigError, InvalidActionError


def action_space() -> spaces.MultiDiscrete:
    """Every agent's action space: ``MultiDiscrete([5, 5, 3])`` = (move, face, interact)."""
    return spaces.MultiDiscrete([K.NUM_MOVES, K.NUM_FACES, K.NUM_INTERACTS])


def agent_names(config: HideAndSeekConfig) -> list[str]:
    """``hider_0``.. then ``seeker_0``.. (the agents' index order everywhere)."""
    return [f"hider_{i}" for i in range(config.n_hiders)] + [f"seeker_{j}" for j in range(config.n_seekers)]


class HideAndSeekParallelEnv(ParallelEnv):
    """Team hide-and-seek on a grid with rooms, movable lockable boxes and ramps.

    ## Description
    1 to 3 hiders (``hider_i``) play against 1 to 3 seekers (``seeker_j``) on a square grid with
    an outer wall and, by default, rooms divided by one-cell-thick walls with one-cell doors (a
    new layout each episode; every floor cell is reachable). Boxes block movement and sight;
    an agent pushes a box by walking into it, or grabs the box it faces to push, pull or drag
    it. A box can be locked by a team: then nobody moves it until that team unlocks it; the other
    team can not unlock it. Ramps are fixed floor tiles: standing on one, an agent that walks into
    a single wall cell (or a box it can not push) vaults over it when the cell beyond is free.
    Agents face one of four directions and see cells within ``vision_range`` inside a cone of
    ``cone_half_angle`` around their facing, when no wall or box lies in between.
    The first ``round(prep_fraction * max_steps)`` steps are the preparation phase: seekers are
    frozen (their actions are ignored) and blind (they observe no entity), hiders hide.
    The exact movement rules are in :mod:`palaestra.envs.hide_and_seek.mechanics`.

    ## Action Space
    ``MultiDiscrete([5, 5, 3])`` = ``(move, face, interact)``: move 0 stay, 1 up, 2 right, 3 down,
    4 left; face 0 keep, 1 up, 2 right, 3 down, 4 left (applied before moving); interact 0 none,
    1 grab (the faced box moves along with the agent), 2 lock/unlock the faced box.
    Agents act one after the other, in a random order each step.

    ## Observation Space
    A ``Dict``:

    * ``entities``: ``Box((E, 14), float32)``, one row per entity slot: 3 hider slots, 3 seeker
      slots, the boxes, the ramps (``E = 6 + n_boxes + n_ramps``); columns
      :data:`~palaestra.envs.hide_and_seek.constants.ENTITY_FEATURES` (type one-hot, offset in
      cells, facing, teammate, locked by own/other team, visible). Rows not seen are zero.
    * ``entity_mask``: ``MultiBinary(E)``, 1 where the slot holds an entity the agent sees now.
    * ``grid``: ``Box(0, 1, (9, S, S), float32)``, channels
      :data:`~palaestra.envs.hide_and_seek.constants.GRID_CHANNELS`; the whole map (``S`` =
      ``grid_size``) or, with ``grid_radius=r``, the square of side ``2r+1`` around the agent.
    * ``self``: ``Box((12,), float32)`` (position, facing, team, index in the team, frozen,
      preparation, time left):
      :data:`~palaestra.envs.hide_and_seek.constants.SELF_FEATURES`.

    ## Rewards
    Zero-sum between teams, the same for all members of a team, after every step of the seek
    phase: +1 to each hider and -1 to each seeker when no seeker sees any hider, else -1 to each
    hider and +1 to each seeker. 0 to everyone during the preparation phase.

    ## Episode End
    Truncation for everyone after ``max_steps`` steps; there is no termination.

    ## Info
    Every agent's info holds ``phase`` (``"prep"`` or ``"seek"``: the phase of the next step),
    ``all_hidden`` (whether no seeker saw any hider after the last step; False on reset) and
    ``stats``: cumulative per-phase counters ``{"prep": {...}, "seek": {...}}`` with keys
    :data:`~palaestra.envs.hide_and_seek.stats.STAT_KEYS` (box moves, locks, unlocks, ramp uses,
    hidden steps; in total and per team).

    ## Arguments
    ``render_mode`` (``"rgb_array"``, ``"ansi"`` or ``"human"``) and the fields of
    :class:`~palaestra.envs.hide_and_seek.config.HideAndSeekConfig` as keywords.

    ## Version History
    * v0: initial version.
    """

    metadata: dict[str, Any] = {
        "name": "hide_and_seek_v0",
        "render_modes": ["human", "rgb_array", "ansi"],
        "render_fps": 8,
        "is_parallelizable": True,
    }

    def __init__(self, render_mode: str | None = None, **config: Any) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ConfigError(f"render_mode must be one of {self.metadata['render_modes']}")
        self.config = HideAndSeekConfig(**config)
        self.render_mode = render_mode
        self.possible_agents = agent_names(self.config)
        self.agents: list[str] = []
        self._index = {name: k for k, name in enumerate(self.possible_agents)}
        self._observation_space = observation_space(self.config)
        self._action_space = action_space()
        size = self.config.grid_size
        self.state_space = spaces.Box(0.0, 1.0, (len(K.STATE_CHANNELS), size, size), np.float32)
        self._observer = Observer(self.config)
        self._rng = np.random.default_rng()
        self._game: GameState | None = None
        self._fov = np.zeros((len(self.possible_agents), size, size), bool)
        self._all_hidden = False
        self._stats = PhaseStats()
        self._window: Any = None
        self._clock: Any = None

    # -- spaces -------------------------------------------------------------------------------
    def observation_space(self, agent: str) -> spaces.Space:
        return self._observation_space

    def action_space(self, agent: str) -> spaces.Space:
        return self._action_space

    # -- game ---------------------------------------------------------------------------------
    @property
    def game(self) -> GameState:
        """The current game state (after :meth:`reset`)."""
        if self._game is None:
            raise RuntimeError("call reset() first")
        return self._game

    @property
    def phase(self) -> int:
        """Phase of the next step: ``PREP`` (0) or ``SEEK`` (1)."""
        return K.PREP if self.game.step < self.config.prep_steps else K.SEEK

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """Start a new game on a random layout; ``options={"state": GameState}`` starts from a
        given state instead (copied; its ``step`` counts as steps already played)."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        given = (options or {}).get("state")
        if given is not None:
            self._game = self._check_state(given).copy()
        else:
            self._game = generate(self._rng, self.config)
        self._stats = PhaseStats()
        self._all_hidden = False
        self.agents = list(self.possible_agents)
        self._update_vision()
        obs = self._observations()
        infos = {name: self._info() for name in self.agents}
        if self.render_mode == "human":
            self.render()
        return obs, infos

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        if not self.agents:
            raise RuntimeError("the episode is over; call reset()")
        parsed = []
        for name in self.agents:
            if name not in actions:
                raise InvalidActionError(f"no action for {name}; every agent must act")
            parsed.append(self._parse_action(name, actions[name]))
        game = self.game
        phase = self.phase
        for k in self._rng.permutation(len(self.agents)):
            if phase == K.PREP and game.agent_team[k] == K.SEEKERS:
                continue  # frozen
            events = act(game, int(k), *parsed[k])
            self._stats.add_events(phase, int(game.agent_team[k]), events)
        game.step += 1
        self._update_vision()
        self._stats.add_step(phase, self._all_hidden)

        if phase == K.PREP:
            team_reward = (0.0, 0.0)
        else:
            team_reward = (1.0, -1.0) if self._all_hidden else (-1.0, 1.0)
        done = game.step >= self.config.max_steps
        obs = self._observations()
        rewards = {name: team_reward[int(game.agent_team[k])] for k, name in enumerate(self.agents)}
        terminations = {name: False for name in self.agents}
        truncations = {name: done for name in self.agents}
        infos = {name: self._info() for name in self.agents}
        if done:
            self.agents = []
        if self.render_mode == "human":
            self.render()
        return obs, rewards, terminations, truncations, infos

    def _parse_action(self, name: str, action: Any) -> tuple[int, int, int]:
        a = np.asarray(action)
        if a.shape != (3,) or a.dtype.kind not in "iu":
            raise InvalidActionError(f"{name}: an action is 3 integers [move, face, interact], got {action!r}")
        move, face, interact = (int(v) for v in a)
        if not (0 <= move < K.NUM_MOVES and 0 <= face < K.NUM_FACES and 0 <= interact < K.NUM_INTERACTS):
            raise InvalidActionError(f"{name}: action {action!r} outside MultiDiscrete([5, 5, 3])")
        return move, face, interact

    def _check_state(self, state: Any) -> GameState:
        c = self.config
        if not isinstance(state, GameState):
            raise TypeError(f"options['state'] must be a GameState, got {type(state).__name__}")
        if state.walls.shape != (c.grid_size, c.grid_size):
            raise ConfigError(f"state grid is {state.walls.shape}, config wants {c.grid_size}")
        if (len(state.boxes), len(state.ramps)) != (c.n_boxes, c.n_ramps):
            raise ConfigError("state boxes/ramps do not match n_boxes/n_ramps")
        teams = [K.HIDERS] * c.n_hiders + [K.SEEKERS] * c.n_seekers
        if list(state.agent_team) != teams:
            raise ConfigError(f"state agent teams {list(state.agent_team)} do not match {teams}")
        if not 0 <= state.step < c.max_steps:
            raise ConfigError(f"state step {state.step} outside 0..{c.max_steps - 1}")
        return state

    # -- vision and observations --------------------------------------------------------------
    def _update_vision(self) -> None:
        """Everyone's field of view now, and whether all hiders are out of every seeker's."""
        game, c = self.game, self.config
        self._fov = fields_of_view(game.opaque(), game.agent_pos[:, 0].copy(), game.agent_pos[:, 1].copy(),
                                   game.agent_face, float(c.vision_range), c.cos_half_angle)
        hiders = game.agent_team == K.HIDERS
        seekers_view = self._fov[~hiders].any(axis=0)
        hider_pos = game.agent_pos[hiders]
        self._all_hidden = not bool(seekers_view[hider_pos[:, 0], hider_pos[:, 1]].any())

    def _observations(self) -> dict[str, Any]:
        game = self.game
        blind = (game.agent_team == K.SEEKERS) & (self.phase == K.PREP)
        per_agent = self._observer.observe(game, self._fov, blind)
        return {name: per_agent[self._index[name]] for name in self.agents}

    def _info(self) -> dict[str, Any]:
        return {
            "phase": K.PHASE_NAMES[self.phase],
            "all_hidden": self._all_hidden,
            "stats": self._stats.as_dict(),
        }

    @property
    def fields_of_view(self) -> np.ndarray:
        """(n_agents, H, W) bool: what each agent sees now (seekers' true view, even in prep)."""
        return self._fov.copy()

    @property
    def all_hidden(self) -> bool:
        """Whether no seeker sees any hider now."""
        return self._all_hidden

    def stats(self) -> dict[str, dict[str, int]]:
        """The cumulative per-phase counters (as in the infos)."""
        return self._stats.as_dict()

    def state(self) -> np.ndarray:
        """The whole grid, as PettingZoo's global state (channels ``STATE_CHANNELS``)."""
        return global_state(self.game)

    # -- rendering ----------------------------------------------------------------------------
    def render(self) -> Any:
        if self.render_mode is None or self._game is None:
            return None
        if self.render_mode == "ansi":
            return self.to_ansi()
        from palaestra.envs.hide_and_seek.render import render_rgb_array

        frame = render_rgb_array(self.game, self._fov, self.config, all_hidden=self._all_hidden)
        if self.render_mode == "rgb_array":
            return frame
        import pygame

        if self._window is None:
            pygame.display.init()
            self._window = pygame.display.set_mode((frame.shape[1], frame.shape[0]))
            pygame.display.set_caption("palaestra HideAndSeek")
            self._clock = pygame.time.Clock()
        pygame.surfarray.blit_array(self._window, frame.swapaxes(0, 1))
        pygame.event.pump()
        pygame.display.flip()
        self._clock.tick(self.metadata["render_fps"])
        return None

    def to_ansi(self) -> str:
        """The grid as text (whatever the render mode); legend in ``render.render_ansi``."""
        from palaestra.envs.hide_and_seek.render import render_ansi

        return render_ansi(self.game, self.config, all_hidden=self._all_hidden)

    def close(self) -> None:
        if self._window is not None:
            import pygame

            pygame.display.quit()
            self._window = None


def parallel_env(render_mode: str | None = None, **config: Any) -> HideAndSeekParallelEnv:
    """Hide-and-seek as a PettingZoo ParallelEnv (all agents act each step)."""
    return HideAndSeekParallelEnv(render_mode=render_mode, **config)


def raw_env(render_mode: str | None = None, **config: Any) -> AECEnv:
    """Hide-and-seek as a PettingZoo AEC env (agents choose in turn; the step resolves together)."""
    return parallel_to_aec(parallel_env(render_mode=render_mode, **config))


def env(render_mode: str | None = None, **config: Any) -> AECEnv:
    """The AEC env (PettingZoo's usual entry point)."""
    return raw_env(render_mode=render_mode, **config)
