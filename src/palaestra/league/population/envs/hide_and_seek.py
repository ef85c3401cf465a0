"""Hide-and-seek as an RLlib multi-agent env whose two teams the league fills episode by episode.

At every reset the env picks the learner that plays (uniformly among all learners, hiders and
seekers), draws its opponent from the learner's PFSP distribution (which holds only the other
side's learners and snapshots, :mod:`~palaestra.league.population.sides`) and lets each member
play every seat of its team: the agent id of a seat is ``member/seat``
(:func:`~palaestra.league.rllib.modules.seat_agent_id`), which the policy mapping sends to the
member's module. A frozen snapshot plays like a learner; only learners are trained.

Rewards are the game's own, divided by the number of seek steps, so that a team's episode return
lies in [-1, 1]: +1 for hiders never seen during the seek phase, -1 for hiders seen at every
step; seekers get the opposite. Each finished game is kept as a match record until the driver
collects it with :meth:`pop_results`: ``seats`` (hider member, seeker member), ``ranks`` (the
hiders win when they were hidden for more than half the seek steps, the seekers when for fewer;
a draw at exactly half), ``seed``, ``hider_return`` (the unscaled seek-phase return of one
hider) and ``phases`` (the env's per-phase counters: box moves, locks, ramp uses, hidden steps).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from palaestra.envs.hide_and_seek.config import variant_config
from palaestra.envs.hide_and_seek.env import HideAndSeekParallelEnv
from palaestra.envs.hide_and_seek.stats import team_ranks
from palaestra.errors import InvalidActionError
from palaestra.league.population.envs.base import LeagueEnvBase
from palaestra.league.population.matchmaking import draw_lineup
from palaestra.league.population.sides import side_of
from palaestra.league.rllib.modules import seat_agent_id


class HideAndSeekLeagueEnv(LeagueEnvBase):
    """Hiders against seekers for league training (see the module docstring).

    ## Arguments
    ``config`` (RLlib's env_config, a plain dict): ``lineups`` (learner id -> {opponent id:
    probability}), ``variant`` (a name of
    :data:`~palaestra.envs.hide_and_seek.config.VARIANTS`, default ``quadrant``), ``seed`` and
    ``agent_ids`` (every member id the run may seat).

    ## Observation and Action Space
    Those of :class:`~palaestra.envs.hide_and_seek.env.HideAndSeekParallelEnv` for every seat:
    the entity ``Dict`` and ``MultiDiscrete([5, 5, 3])``.
    """

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        config = dict(config or {})
        self.game_config = variant_config(str(config.get("variant", "quadrant")))
        self.game = HideAndSeekParallelEnv(**self.game_config.__dict__)
        names = self.game.possible_agents
        super().__init__(config, self.game.observation_space(names[0]), self.game.action_space(names[0]))
        self._lineups: dict[str, dict[str, float]] = {}
        self.set_league(config.get("lineups", {}), [], {})
        self._seat_ids: list[str] = []
        self._teams: tuple[str, str] = ("", "")

    def set_league(self, lineups: dict[str, dict[str, float]], bots: list[str],
                   shaping: dict[str, dict[str, float]]) -> None:
        """Install the matchmaking table (bots and shaping do not apply to hide-and-seek)."""
        for learner, dist in lineups.items():
            if not dist:
                raise ValueError(f"empty lineup distribution for {learner!r}")
            bad = [m for m in dist if side_of(m) == side_of(learner)]
            if bad:
                raise ValueError(f"{learner!r} would meet its own side: {bad}")
        self._lineups = {k: dict(v) for k, v in lineups.items()}
        members = set(self._lineups) | {m for d in self._lineups.values() for m in d}
        self._declare({seat_agent_id(m, k) for m in members for k in range(len(self.game.possible_agents))})

    @property
    def teams(self) -> tuple[str, str]:
        """(hider member, seeker member) of the current game."""
        return self._teams

    def reset(self, *, seed: int | None = None,  # type: ignore[override]
              options: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        learner = self._draw_learner(seed, sorted(self._lineups))
        opponent = draw_lineup(self._lineups[learner], [], 1, self._rng)[0]
        self._teams = (learner, opponent) if side_of(learner) == "hider" else (opponent, learner)
        teams = self.game_config.n_hiders * [self._teams[0]] + self.game_config.n_seekers * [self._teams[1]]
        self._seat_ids = [seat_agent_id(m, k) for k, m in enumerate(teams)]
        self._seed = int(self._rng.integers(2**31))
        obs, _ = self.game.reset(seed=self._seed)
        self.agents = list(self._seat_ids)
        return self._by_seat(obs), {a: {} for a in self.agents}

    def _by_seat(self, per_name: dict[str, Any]) -> dict[str, Any]:
        names = self.game.possible_agents
        return {self._seat_ids[k]: per_name[name] for k, name in enumerate(names) if name in per_name}

    def step(self, action_dict: dict[str, Any]  # type: ignore[override]
             ) -> tuple[dict, dict, dict, dict, dict]:
        names = self.game.possible_agents
        missing = [a for a in self._seat_ids if a not in action_dict]
        if missing:
            raise InvalidActionError(f"no action for {', '.join(missing)}")
        actions = {name: np.asarray(action_dict[self._seat_ids[k]], dtype=np.int64)
                   for k, name in enumerate(names)}
        obs, rewards, _, truncations, infos = self.game.step(actions)
        scale = 1.0 / max(1, self.game_config.max_steps - self.game_config.prep_steps)
        done = bool(truncations[names[0]])
        out_rewards = {self._seat_ids[k]: float(rewards[name]) * scale for k, name in enumerate(names)}
        if done:
            self._finish(infos[names[0]]["stats"])
            self.agents = []
        flags = {a: False for a in self._seat_ids}
        return (self._by_seat(obs), out_rewards, {**flags, "__all__": False},
                {**{a: done for a in self._seat_ids}, "__all__": done}, {a: {} for a in self._seat_ids})

    def _finish(self, phases: dict[str, dict[str, int]]) -> None:
        seek = phases["seek"]  # a hider earns +1 per seek step hidden, -1 per step seen
        ranks = team_ranks(seek["hidden_steps"], seek["steps"])
        self._results.append({"seats": list(self._teams), "ranks": list(ranks), "seed": self._seed,
                              "hider_return": float(2 * seek["hidden_steps"] - seek["steps"]),
                              "phases": phases})
