"""Bomber FFA as an RLlib multi-agent env whose four seats the league fills episode by episode.

At every reset the env picks the learner that plays (uniformly among the league's learners), draws
its three opponents from the learner's PFSP distribution (:func:`~palaestra.league.population.matchmaking.
draw_lineup`) and seats the four at random. Seats taken by league members (learners and frozen
snapshots) are RLlib agents whose id is the member id, so the policy mapping is the identity;
seats taken by scripted bots are played inside the env. Once no league member is alive the
members' episode ends, and the bots still standing play the game out to its end (``play_out``,
on by default), so that the match record ranks them by how they really fare: otherwise a
``static`` bot that merely outlived a learner would share first place with a SimpleAgent. Every
finished game is kept as a match record (seats, ranks, seed) until the driver collects it with
:meth:`pop_results`.

The driver pushes the lineup table, the bots and each member's reward-shaping weights with
:meth:`set_league` before every training iteration. Rewards are Bomber's own (+1 win, -1 death or
loss, -1 at the time-out, which ends the episode as a termination: the step count is part of the
planes, so nothing lies beyond it to bootstrap from) plus shaping: ``shape_pickup`` per power-up
collected, ``shape_enemy_death`` per opponent that dies while the agent is alive. With ``reward_model`` (a directory of
:mod:`palaestra.league.prefs`) a learned per-agent reward of the observation and action replaces
Bomber's own; shaping still adds on top, and match records still hold true outcomes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from palaestra.agents.scripted.bomber import make_scripted_bomber_agent
from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber.core import ALIVE, COL, ROW
from palaestra.envs.bomber.env import AGENT_NAMES, BomberParallelEnv
from palaestra.envs.bomber.filter_names import LEGACY_FILTER, check_filter
from palaestra.envs.bomber.observe import NUM_PLANES
from palaestra.errors import ConfigError, FileFormatError, InvalidActionError
from palaestra.league.population.envs.base import LeagueEnvBase
from palaestra.league.population.matchmaking import draw_lineup
from palaestra.league.population.state import BOT_PREFIX

SHAPING_KEYS: tuple[str, ...] = ("shape_pickup", "shape_enemy_death")
"""Reward-shaping weights a league member carries among its hyperparameters."""


OBS_SPACE = spaces.Box(0.0, 1.0, (C.BOARD_SIZE * C.BOARD_SIZE * NUM_PLANES,), np.float32)
"""What a league policy sees: the planes observation, flattened."""
ACT_SPACE: spaces.Discrete = spaces.Discrete(C.NUM_ACTIONS)


def bot_name(member_id: str) -> str:
    """``bot:simple`` -> ``simple``."""
    return member_id[len(BOT_PREFIX):]


def placement_ranks(death_step: list[int | None], winners: list[int]) -> list[int]:
    """Rank per seat, 0 best: winners (or, in a draw, the survivors) first, then later deaths.

    ``death_step[k]`` is the step seat ``k`` died at (None: alive at the end).
    """
    if winners:
        key = [0 if k in winners else 1 + (10**6 - (d if d is not None else 10**6))
               for k, d in enumerate(death_step)]
    else:
        key = [0 if d is None else 1 + (10**6 - d) for d in death_step]
    order = sorted(set(key))
    return [order.index(v) for v in key]


def load_reward_model(directory: str | None) -> Any:
    """The reward model in ``directory`` that pays a Bomber league's members (None: none).

    Raises:
        FileFormatError: the model does not take the flat planes and one move.
    """
    if not directory:
        return None
    from palaestra.league.prefs.reward_model import RewardEnsemble

    model = RewardEnsemble.load(directory)
    if (model.obs_dim, model.act_dim) != (OBS_SPACE.shape[0], 1):
        raise FileFormatError(f"reward model {directory} takes obs_dim {model.obs_dim}; Bomber "
                              f"planes have {OBS_SPACE.shape[0]} and one action")
    return model


class BomberLeagueEnv(LeagueEnvBase):
    """Four-seat FFA Bomber for league training (see the module docstring).

    ## Arguments
    ``config`` (RLlib's env_config, a plain dict): ``lineups`` (learner id -> {opponent id:
    probability}), ``bots`` (bot ids), ``shaping`` (member id -> {shaping key: weight}),
    ``bomber`` (BomberParallelEnv keyword arguments; ``mode`` must be ``ffa``), ``seed``,
    ``agent_ids`` (every member id the run may seat, future snapshots included),
    ``reward_model`` (a reward model directory, or None) and ``play_out`` (bool, default True:
    finish the bots' game once no member is alive; evaluation of one member may skip it, since
    it cannot change that member's result) and ``masked_members`` (member ids whose observation is
    the dict of ``planes`` and ``action_mask``, for modules trained behind the action filter:
    evaluation and ES opponents; training with the mask goes through the boards sampler) and
    ``action_filter`` (the filter of that mask, default ``sure-death``:
    :mod:`palaestra.envs.bomber.filters`).
    """

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__(config, OBS_SPACE, ACT_SPACE)
        config = dict(config or {})
        bomber = dict(config.get("bomber", {}))
        if bomber.get("mode", "ffa") != "ffa":
            raise ConfigError("league training plays FFA Bomber only (mode='ffa')")
        bomber["observation"] = "dict"
        self.game = BomberParallelEnv(**bomber)
        self._lineups: dict[str, dict[str, float]] = {}
        self._bots: list[str] = []
        self._shaping: dict[str, dict[str, float]] = {}
        self.set_league(config.get("lineups", {}), config.get("bots", []), config.get("shaping", {}))
        self._seats: list[str] = []
        self._bot_agents: dict[int, Any] = {}
        self._reward_model = load_reward_model(config.get("reward_model"))
        self._last_obs: dict[str, np.ndarray] = {}
        self._play_out = bool(config.get("play_out", True))
        self.masked_members: set[str] = set(config.get("masked_members", ()))
        self.action_filter = check_filter(str(config.get("action_filter", LEGACY_FILTER)))

    # -- league plumbing ---------------------------------------------------------------------
    def set_league(self, lineups: dict[str, dict[str, float]], bots: list[str],
                   shaping: dict[str, dict[str, float]]) -> None:
        """Install the matchmaking table, the bot ids and the members' shaping weights."""
        for learner, dist in lineups.items():
            if not dist:
                raise ValueError(f"empty lineup distribution for {learner!r}")
        self._lineups = {k: dict(v) for k, v in lineups.items()}
        self._bots = list(bots)
        self._shaping = {k: dict(v) for k, v in shaping.items()}
        members = set(self._lineups)
        for dist in self._lineups.values():
            members.update(m for m in dist if not m.startswith(BOT_PREFIX))
        self._declare(members)

    # -- episode ---------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None,  # type: ignore[override]
              options: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        learner = self._draw_learner(seed, sorted(self._lineups))
        opponents = draw_lineup(self._lineups[learner], self._bots, C.NUM_AGENTS - 1, self._rng)
        lineup = [learner, *opponents]
        self._seats = [lineup[i] for i in self._rng.permutation(C.NUM_AGENTS)]
        seat = (options or {}).get("seat")
        if seat is not None:  # the learner takes this seat; whoever had it takes the learner's
            if type(seat) is not int or not 0 <= seat < C.NUM_AGENTS:
                raise ValueError(f"options['seat'] must be an int in 0..{C.NUM_AGENTS - 1}, got {seat!r}")
            k = self._seats.index(learner)
            self._seats[k], self._seats[seat] = self._seats[seat], self._seats[k]
        self._seed = int(self._rng.integers(2**31))
        self._bot_agents = {}
        for k, member in enumerate(self._seats):
            if member.startswith(BOT_PREFIX):
                agent = make_scripted_bomber_agent(bot_name(member))
                agent.reset(np.random.default_rng([self._seed, k]))
                self._bot_agents[k] = agent
        self._obs, _ = self.game.reset(seed=self._seed)
        self._death_step: list[int | None] = [None] * C.NUM_AGENTS
        self._steps = 0
        self.agents = [m for k, m in enumerate(self._seats) if k not in self._bot_agents]
        self._last_obs = self._member_obs()
        return dict(self._last_obs), {m: {} for m in self.agents}

    def _seat_of(self, member: str) -> int:
        return self._seats.index(member)

    def observations(self) -> dict[str, Any]:
        """The current observation of every member still playing."""
        return self._member_obs()

    def _member_obs(self, members: list[str] | None = None) -> dict[str, Any]:
        members = self.agents if members is None else members
        names = [AGENT_NAMES[self._seat_of(m)] for m in members]
        planes = self.game.planes_observations(names)
        out: dict[str, Any] = {m: planes[n].reshape(-1) for m, n in zip(members, names)}
        masked = [m for m in members if m in self.masked_members]
        if masked:
            from palaestra.agents.learned.bomber import MASK_KEY, PLANES_KEY
            from palaestra.envs.bomber.filters import filter_mask

            mask = filter_mask(self.game.batch, self.action_filter)[0].astype(np.float32)
            for m in masked:
                out[m] = {PLANES_KEY: out[m], MASK_KEY: mask[self._seat_of(m)]}
        return out

    def step(self, action_dict: dict[str, Any]  # type: ignore[override]
             ) -> tuple[dict, dict, dict, dict, dict]:
        actions: dict[str, Any] = {}
        for name in self.game.agents:
            k = AGENT_NAMES.index(name)
            if k in self._bot_agents:
                actions[name] = self._bot_action(name)
            else:
                member = self._seats[k]
                if member not in action_dict:
                    raise InvalidActionError(f"no action for {member} (seat {name})")
                actions[name] = int(action_dict[member])
        learned: dict[str, float] = {}
        if self._reward_model is not None:
            from palaestra.league.prefs.multi_agent import learned_rewards

            learned = learned_rewards(self._reward_model, self._last_obs,
                                      {m: action_dict[m] for m in self.agents})
        batch = self.game.batch
        board_before = batch.board[0].copy()
        alive_before = batch.agents[0, :, ALIVE].astype(bool)
        rewards, terms, truncs, infos = self._step_game(actions)
        alive = batch.agents[0, :, ALIVE].astype(bool)
        members_alive = any(alive[k] for k in range(C.NUM_AGENTS) if k not in self._bot_agents)
        over = not self.game.agents or not members_alive
        out_rew: dict[str, float] = {}
        out_term: dict[str, bool] = {}
        out_trunc: dict[str, bool] = {}
        for member in self.agents:
            k = self._seat_of(member)
            name = AGENT_NAMES[k]
            r = learned[member] if learned else float(rewards.get(name, 0.0))
            w = self._shaping.get(member, {})
            if alive[k]:
                pos = (int(batch.agents[0, k, ROW]), int(batch.agents[0, k, COL]))
                if board_before[pos] in C.POWERUPS:
                    r += w.get("shape_pickup", 0.0)
                enemy_deaths = int(np.sum(alive_before & ~alive))
                r += w.get("shape_enemy_death", 0.0) * enemy_deaths
            out_rew[member] = r
            # the step count is in the planes and the game ends at max_steps: a time-out ends the
            # member's episode for good (terminated), nothing lies beyond it to bootstrap from
            out_term[member] = bool(terms.get(name, False) or truncs.get(name, False))
            out_trunc[member] = False
        if over:
            info: dict[str, Any] = next((i for i in infos.values() if "result" in i), {})
            if self.game.agents and self._play_out:
                info = self._finish_bots_game()
            winners = [AGENT_NAMES.index(w) for w in info.get("winners", [])]
            if self.game.agents and len(self.game.agents) > 1:
                winners = []  # stopped early: the bots still standing share first place
            self._results.append({"seats": list(self._seats),
                                  "ranks": placement_ranks(self._death_step, winners),
                                  "seed": self._seed})
        out_term["__all__"] = over and not any(out_trunc.values())
        out_trunc["__all__"] = over and any(out_trunc.values())
        obs = self._member_obs(list(out_rew))  # the agents that just finished get their last view
        self._last_obs = obs
        self.agents = [m for m in self.agents if not (out_term[m] or out_trunc[m])]
        return obs, out_rew, out_term, out_trunc, {m: {} for m in out_rew}

    def _bot_action(self, name: str) -> Any:
        """The bot's action at seat ``name``; the dead (of a team mode) are not asked, as in Pommerman."""
        if not self.game.alive(name):
            return self.game.idle_action()
        return self._bot_agents[AGENT_NAMES.index(name)].act(self._obs[name])

    def _step_game(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict]:
        """One step of the game, keeping the step count and each seat's death step."""
        alive_before = self.game.batch.agents[0, :, ALIVE].astype(bool)
        self._obs, rewards, terms, truncs, infos = self.game.step(actions)
        self._steps += 1
        alive = self.game.batch.agents[0, :, ALIVE].astype(bool)
        for k in range(C.NUM_AGENTS):
            if alive_before[k] and not alive[k]:
                self._death_step[k] = self._steps
        return rewards, terms, truncs, infos

    def _finish_bots_game(self) -> dict[str, Any]:
        """Play the bots left standing to the end of the game; the final step's info."""
        info: dict[str, Any] = {}
        while self.game.agents:
            *_, infos = self._step_game({name: self._bot_action(name) for name in self.game.agents})
            info = next((i for i in infos.values() if "result" in i), info)
        return info
