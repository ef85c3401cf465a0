"""ES against a league: Bomber FFA matches of an ES agent versus opponents drawn from a league run.

The ES agent is an *external* member of the league (``kind="external"``): the driver adds it to
the league state, draws its opponents from its PFSP distribution over the league's learners,
snapshots and bots (:func:`es_lineup`), and records the parent's evaluation matches there, so it
enters the same rating table as the league's members (``palaestra league table``). The league's
own matchmaking never draws an external member.

The fitness of one match is its outcome for the ES agent: the fraction of the other three seats it
placed ahead of, a tie counting half (1 = won alone, 0 = died first). Learned opponents are the
RLlib modules of the league's last checkpoint (or archive), loaded once per worker.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from palaestra.errors import ConfigError, RunStateError
from palaestra.league.population.envs.bomber import BOT_PREFIX, BomberLeagueEnv
from palaestra.league.population.layout import STATE_FILE, RunLayout
from palaestra.league.population.state import LeagueState, MatchRecord, Member

Policy = Callable[[np.ndarray], int]


class Lineup(NamedTuple):
    """Who the ES agent may meet: its opponent distribution and the league's bots."""

    dist: dict[str, float]
    bots: list[str]


class MatchOutcome(NamedTuple):
    """One match of the ES agent: its score, the game steps and the match result."""

    score: float
    steps: int
    result: dict[str, Any]


def match_score(seats: list[str] | tuple[str, ...], ranks: list[int] | tuple[int, ...],
                member: str) -> float:
    """The outcome of a match for ``member``: the share of other seats it placed ahead of (ties
    count half), in [0, 1]."""
    k = list(seats).index(member)
    others = [r for i, r in enumerate(ranks) if i != k]
    mine = ranks[k]
    return float(sum(1.0 if mine < r else 0.5 if mine == r else 0.0 for r in others) / len(others))


def load_league(run_dir: str | Path) -> tuple[LeagueState, Any]:
    """The state and config of the Bomber league run in ``run_dir``, with clear errors."""
    from palaestra.league.population.config import LeagueConfig

    run = Path(run_dir)
    layout = RunLayout(run)
    if not layout.state.is_file():
        raise RunStateError(f"{run} is not a league run (no {STATE_FILE}); "
                            "make one with `palaestra league train --env bomber`")
    config = LeagueConfig.load(layout.config)
    if config.solo:
        raise ConfigError(f"{run} is a {config.env} league; ES plays Bomber leagues only")
    return LeagueState.load(layout.state), config


def join_league(run_dir: str | Path, member: str, hyperparams: dict[str, float]) -> None:
    """Add ``member`` to the league as an external member (no-op if it is one already)."""
    state, _ = load_league(run_dir)
    if member in state.members:
        if state.members[member].kind != "external":
            raise ConfigError(f"{member!r} is a {state.members[member].kind} of the league; "
                              "pick another --member id for the ES agent")
        return
    state.add_member(Member(member, "external", dict(hyperparams),
                            created_iteration=state.iteration))
    state.save(RunLayout(Path(run_dir)).state)


def es_lineup(run_dir: str | Path, member: str) -> Lineup:
    """``member``'s PFSP distribution over the league and the bots, from the league's current
    state and matchmaking settings. Retired snapshots are left out, and so are learners and
    snapshots whose weights are not stored yet (a league before its first checkpoint)."""
    from palaestra.league.population.eval import member_module_dir
    from palaestra.league.population.matchmaking import pfsp_distribution
    from palaestra.league.population.run import retired_snapshots

    state, config = load_league(run_dir)
    dist = pfsp_distribution(state, member, config.matchmaking)
    retired = set(retired_snapshots(state, config))

    def stored(m: str) -> bool:
        if state.members[m].kind == "bot":
            return True
        if not state.checkpoint:
            return False
        try:
            member_module_dir(Path(run_dir), state, m)
        except ValueError:
            return False
        return True

    kept = {m: p for m, p in dist.items() if m not in retired and stored(m)}
    if not kept:
        raise RunStateError(f"{run_dir}: the league has no opponent to play yet (no bots and no "
                            "stored learner weights)")
    total = sum(kept.values())
    return Lineup({m: p / total for m, p in kept.items()}, state.bots())


def record_matches(run_dir: str | Path, member: str, games: list[dict[str, Any]]) -> int:
    """Record the ES parent's evaluation matches (``seats``, ``ranks``, ``seed``) in the league
    state, skipping any already there (a resumed generation); returns how many were added."""
    state, _ = load_league(run_dir)
    seen = {(m.seed, m.seats) for m in state.matches if member in m.seats}
    added = 0
    for g in games:
        key = (int(g["seed"]), tuple(g["seats"]))
        if key in seen:
            continue
        state.record(MatchRecord(state.iteration, "eval", tuple(g["seats"]), tuple(g["ranks"]),
                                 int(g["seed"])))
        seen.add(key)
        added += 1
    if added:
        state.save(RunLayout(Path(run_dir)).state)
    return added


class LeagueMatches:
    """Plays Bomber matches of the ES agent against league opponents (one per worker).

    ``set_lineup`` installs the driver's opponent distribution; learned opponents' modules are
    loaded from ``run_dir`` on first use and kept.
    """

    def __init__(self, run_dir: str, member: str) -> None:
        self.run_dir, self.member = str(run_dir), member
        from palaestra.league.population.config import LeagueConfig

        # learned opponents see the mask of the filter their league trained behind
        action_filter = LeagueConfig.load(RunLayout(Path(run_dir)).config).action_filter
        self.env = BomberLeagueEnv({"lineups": {member: {BOT_PREFIX + "static": 1.0}},
                                    "bots": [BOT_PREFIX + "static"], "action_filter": action_filter})
        self._modules: dict[str, Any] = {}

    def set_lineup(self, lineup: Lineup) -> None:
        self.env.set_league({self.member: dict(lineup.dist)}, list(lineup.bots), {})

    def _opponent(self, member: str, rng: np.random.Generator) -> Policy:
        from palaestra.agents.learned.bomber import takes_mask
        from palaestra.league.population.eval import load_member_module, module_policy

        if member not in self._modules:
            self._modules[member] = load_member_module(self.run_dir, member)
            if takes_mask(self._modules[member]):  # trained behind the action filter
                self.env.masked_members.add(member)
        return module_policy(self._modules[member], rng)

    def play(self, act: Policy, seed: int) -> MatchOutcome:
        """One match; ``act`` plays the ES agent."""
        obs, _ = self.env.reset(seed=int(seed))
        rng = np.random.default_rng([int(seed), 7])
        policies = {m: self._opponent(m, rng) for m in self.env.agents if m != self.member}
        obs = self.env.observations()  # a masked opponent loaded just now sees its mask too
        steps = 0
        while True:
            actions = {}
            for m, o in obs.items():
                if m not in self.env.agents:
                    continue
                if m == self.member:
                    actions[m] = act(o)
                else:
                    actions[m] = policies[m](o)
            obs, _, term, trunc, _ = self.env.step(actions)
            steps += 1
            if term["__all__"] or trunc["__all__"]:
                break
        result = self.env.pop_results()[0]
        return MatchOutcome(match_score(result["seats"], result["ranks"], self.member), steps,
                            result)
