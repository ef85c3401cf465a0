"""Local tournaments: schedule matches, run them in parallel workers, store results, resume.

Bomber and hide-and-seek matches are one game of several players (four Bomber players; a hider
player against a seeker player), played in every seat rotation of a group (in hide-and-seek: each
pair on both sides); Kelly and counting matches seat ``players`` agents on copies of the same game.

The schedule is a pure function of the configuration and (for matchmaking) of the results already
stored, so rerunning a tournament that was interrupted, even by ``kill -9``, schedules the same
matches, skips the recorded ones and plays only what is missing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from palaestra.envs.registration import get_spec, short_names
from palaestra.errors import ConfigError, UnknownNameError
from palaestra.evaluation.match import (
    BUILTIN_PREFIX,
    TOURNAMENT_FAMILIES,
    MatchResult,
    MatchSpec,
    match_id,
)
from palaestra.evaluation.runners import Runner, local_runner, play_with_blame
from palaestra.evaluation.store import TournamentStore

ENVS: tuple[str, ...] = tuple(sorted(short_names(*TOURNAMENT_FAMILIES)))
"""Short names of the envs a tournament can be played in (those of :data:`TOURNAMENT_FAMILIES`)."""

_FIXED_PLAYERS = {"bomber": "Bomber matches always have {n} players",
                  "hide_and_seek": "hide-and-seek matches always have {n} players (a hider and a seeker player)"}
"""Families whose match is one game of a fixed number of players (with what to tell a user who
asks for another number)."""


def _check_env_config(env: str, env_config: dict[str, Any]) -> None:
    """Refuse a hide-and-seek or counting config the env would refuse, before any match is
    scheduled (Bomber and Kelly configs are checked by their first match)."""
    family = get_spec(env).family
    make: Callable[..., object]
    if family == "hide_and_seek":
        from palaestra.envs.hide_and_seek.config import HideAndSeekConfig

        make = HideAndSeekConfig
    elif family == "counting":
        from palaestra.envs.counting.env import GridCountingConfig

        make = GridCountingConfig
    else:
        return
    try:
        make(**env_config)
    except TypeError as exc:
        raise ConfigError(f"env_config is not valid for {env}: {exc}") from None

COPY_SEP = "#"
"""Separates a built-in's name from its copy number in an entry name: ``simple#2`` is the second
``simple`` of a tournament (submission names may not contain it)."""


def entry_names(agents: Iterable[str]) -> tuple[str, ...]:
    """The entry names of ``agents`` as given on the command line: the k-th repeat (k >= 2) of a
    name enters as ``name#k``, so that two ``simple`` bots are two players, rated apart."""
    seen: dict[str, int] = {}
    out = []
    for name in agents:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}{COPY_SEP}{seen[name]}")
    return tuple(out)


def entry_base(name: str) -> str:
    """The agent an entry name plays: ``simple#2`` -> ``simple``; other names are their own."""
    base, sep, copy = name.rpartition(COPY_SEP)
    return base if sep and base and copy.isdigit() and int(copy) >= 2 else name


@dataclass(frozen=True)
class TournamentConfig:
    """A tournament."""

    name: str
    """Identifies the tournament in the store; rerunning the same name resumes it."""
    env: str
    """The game: a short name from :data:`ENVS` (``bomber``, ``kelly``, ``hide-and-seek``,
    ``counting`` ...)."""
    agents: tuple[str, ...]
    """Built-in agent names (``simple``, ``kelly`` ...) or names of registered submissions."""
    schedule: Literal["round-robin", "matchmaking"] = "round-robin"
    """``round-robin``: every group of ``players`` agents meets, in every seat rotation;
    ``matchmaking``: each round pairs agents of close rating (OpenSkill) who played least."""
    rounds: int = 1
    """Round robin: passes over all groups; matchmaking: rounds of matches."""
    players: int | None = None
    """Agents per match: 4 for Bomber and 2 for hide-and-seek (fixed: a hider player and a seeker
    player), 2 by default for Kelly and counting."""
    seed: int = 0
    """Seeds every match. Agents can guess a known seed's matches; the CLI draws a secret one
    (:func:`secret_seed`) unless told otherwise."""
    env_config: dict[str, Any] = field(default_factory=dict)
    """Env options, e.g. ``{"mode": "team"}`` for Bomber, a variant's fields
    (:data:`~palaestra.envs.hide_and_seek.config.VARIANTS`) for hide-and-seek."""
    limits: dict[str, Any] = field(default_factory=dict)
    """Sandbox limits for submissions (SandboxLimits fields)."""
    seed_bits: Literal[32, 63] = 63
    """Width of the match seeds. 63 bits, so that an agent cannot search all match seeds for the
    one that gave it its ``reset`` seed (and so the env's hidden state); 32 is the scheme of
    tournaments stored before 0.2, kept so that they resume as they were."""

    def __post_init__(self) -> None:
        if self.env not in ENVS:
            raise ConfigError(f"env must be one of {ENVS}, got {self.env!r}")
        if self.schedule not in ("round-robin", "matchmaking"):
            raise ConfigError(f"schedule must be 'round-robin' or 'matchmaking', got {self.schedule!r}")
        if len(set(self.agents)) != len(self.agents):
            twice = sorted({a for a in self.agents if self.agents.count(a) > 1})
            raise ConfigError(f"entry names must differ, got {', '.join(twice)} more than once; "
                              f"name a built-in's copies {twice[0]}{COPY_SEP}2, {twice[0]}{COPY_SEP}3 "
                              "... (entry_names does it)")
        if self.rounds < 1:
            raise ConfigError(f"rounds must be >= 1, got {self.rounds}")
        if self.seats_per_match > len(self.agents):
            raise ConfigError(
                f"{self.env} matches seat {self.seats_per_match} agents; give at least that many "
                f"(got {len(self.agents)}: {', '.join(self.agents) or 'none'})"
            )
        if self.one_game and self.players not in (None, self.seats_per_match):
            raise ConfigError(_FIXED_PLAYERS[self.family].format(n=self.seats_per_match))
        _check_env_config(self.env, self.env_config)
        if self.players is not None and self.players < 2:
            raise ConfigError(f"players must be >= 2, got {self.players}")
        if self.seed < 0:
            raise ConfigError(f"seed must be >= 0, got {self.seed}")
        if self.seed_bits not in (32, 63):
            raise ConfigError(f"seed_bits must be 32 or 63, got {self.seed_bits}")

    @property
    def family(self) -> str:
        """The env's family (``bomber``, ``kelly``, ``hide_and_seek`` or ``counting``)."""
        return get_spec(self.env).family

    @property
    def one_game(self) -> bool:
        """Whether a match is one multi-agent game (Bomber, hide-and-seek) rather than one game per
        seat (Kelly, counting)."""
        return self.family in _FIXED_PLAYERS

    @property
    def seats_per_match(self) -> int:
        """Players per match: Bomber 4, hide-and-seek 2 (the teams), else ``players`` (2)."""
        if self.family == "hide_and_seek":
            return 2
        return get_spec(self.env).seats[1] if self.one_game else (self.players or 2)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["agents"] = list(self.agents)
        if self.seed_bits == 32:  # stored configs from before seed_bits existed have no such key
            del d["seed_bits"]
        return d

    def match_seed(self, *path: int) -> int:
        """The seed of the match (or draw) at ``path`` below the tournament's seed."""
        state = np.random.SeedSequence([self.seed, *path])
        if self.seed_bits == 32:
            return int(state.generate_state(1)[0])
        return int(state.generate_state(1, np.uint64)[0] >> 1)


def secret_seed() -> int:
    """A tournament seed no agent can guess: 63 bits from the operating system's entropy."""
    import secrets

    return secrets.randbits(63)


def stored_seed(store: TournamentStore, name: str) -> tuple[int, int] | None:
    """``(seed, seed_bits)`` of the stored tournament ``name``, or ``None`` if there is none, so
    that a run without ``--seed`` resumes with the seed it started with."""
    if name not in store.tournaments():
        return None
    stored = store.tournament_config(name)
    return int(stored["seed"]), int(stored.get("seed_bits", 32))


@dataclass(frozen=True)
class RunSummary:
    """What a call of :func:`run_tournament` did."""

    resumed: bool
    scheduled: int
    already_done: int
    played: int
    failed: dict[str, str]
    """match id -> error, for matches the harness itself could not play (left pending)."""


def round_robin(config: TournamentConfig) -> list[dict[str, Any]]:
    """Every group of agents, every cyclic seat rotation (same seed within a group), per round.

    One-game envs rotate the seats (hide-and-seek: each pair plays both sides, on the same layout);
    Kelly and counting play one match per group (every seat plays the same game anyway)."""
    n = config.seats_per_match
    out: list[dict[str, Any]] = []
    for r in range(config.rounds):
        for g, group in enumerate(itertools.combinations(config.agents, n)):
            seed = config.match_seed(r, g)
            rotations = range(n) if config.one_game else range(1)
            for rot in rotations:
                seats = list(group[rot:] + group[:rot])
                ordinal = len(out)
                out.append({"match_id": match_id(config.name, r, ordinal, seats, seed),
                            "round": r, "ordinal": ordinal, "seats": seats, "seed": seed})
    return out


def matchmaking_round(config: TournamentConfig, r: int, done: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Round ``r`` of rating-based matchmaking, from the results of the earlier rounds.

    Each match starts from the agent with the fewest games (ties by rating, then name) and adds the
    agents closest in OpenSkill mu; seats are shuffled with the round's seed. In hide-and-seek the
    agent that has hidden less (by then) hides, the shuffle breaking a tie.
    """
    from palaestra.evaluation.ratings import rate_games

    table = rate_games(_rated_games(done))
    n = config.seats_per_match
    games = {a: 0 for a in config.agents}
    hid = {a: 0 for a in config.agents}
    for m in done:
        for a in m["seats"]:
            games[a] = games.get(a, 0) + 1
        hid[m["seats"][0]] = hid.get(m["seats"][0], 0) + 1
    mu = {a: table.players[a].mu if a in table.players else 25.0 for a in config.agents}
    rng = np.random.default_rng(config.match_seed(r, 1_000_003))
    free = list(config.agents)
    out: list[dict[str, Any]] = []
    while len(free) >= n:
        anchor = min(free, key=lambda a: (games[a], -mu[a], a))
        others = sorted((a for a in free if a != anchor), key=lambda a: (abs(mu[a] - mu[anchor]), a))
        group = [anchor, *others[: n - 1]]
        seats = [group[i] for i in rng.permutation(n)]
        if config.family == "hide_and_seek":
            seats.sort(key=lambda a: hid[a])  # stable: the shuffle decides between equals
        for a in group:
            free.remove(a)
        seed = config.match_seed(r, len(out))
        ordinal = len(out)
        out.append({"match_id": match_id(config.name, r, ordinal, seats, seed),
                    "round": r, "ordinal": ordinal, "seats": seats, "seed": seed})
    return out


def _rated_games(matches: Iterable[dict[str, Any]]) -> list[Any]:
    from palaestra.evaluation.ratings import RatedGame

    games = []
    for m in matches:
        res = m["result"]
        teams = [[res["seats"][k] for k in team] for team in res["teams"]]
        games.append(RatedGame(m["match_id"], teams, list(res["ranks"])))
    return games


def resolve_specs(store: TournamentStore, config: TournamentConfig) -> dict[str, str]:
    """Entry name -> launch spec; unknown names are an error listing what exists. Copies of a
    built-in (``simple#2``, see :func:`entry_names`) launch the built-in; a submission enters once.
    Hide-and-seek built-ins that play one side only (``hider``, ``seeker``) are refused: a
    tournament seats every agent on both sides."""
    from palaestra.agents.sandbox.builtins import builtin_agents, is_builtin, one_side_only

    builtin = builtin_agents(config.env)
    specs = {}
    for name in config.agents:
        sub = store.submission(name)
        if sub is not None:
            if sub["env"] != config.env:
                raise ConfigError(f"submission {name!r} was submitted for {sub['env']}, not {config.env}")
            specs[name] = sub["spec"]
        elif is_builtin(base := entry_base(name), config.env):
            side = one_side_only(base, config.env)
            if side is not None:
                both = sorted(b for b in builtin if one_side_only(b, config.env) is None)
                raise ConfigError(f"{name!r} plays the {side} only, but a hide-and-seek tournament seats "
                                  f"every agent on both sides; use one of {', '.join(both)}")
            specs[name] = BUILTIN_PREFIX + base
        elif base != name and store.submission(base) is not None:
            raise ConfigError(f"{name!r}: a submission enters a tournament once (only built-ins "
                              "can be seated more than once)")
        else:
            known = sorted(b for b in builtin if one_side_only(b, config.env) is None)
            known += [s["name"] for s in store.submissions(config.env)]
            raise UnknownNameError(f"unknown agent {name!r} for {config.env}; known: {', '.join(known)}")
    return specs


def run_tournament(
    store: TournamentStore,
    config: TournamentConfig,
    runner: Runner | None = None,
    on_match: Callable[[MatchSpec, MatchResult | BaseException], None] | None = None,
    on_schedule: Callable[[int, int], None] | None = None,
    trust_submissions: bool = False,
) -> RunSummary:
    """Schedule, play and store the tournament; resumes a stored one with the same config.

    Submissions run jailed (:mod:`palaestra.agents.sandbox.isolation`) on private copies checked
    against their submit hashes, unless ``trust_submissions``.

    Args:
        runner: how matches are run (default: 2 local worker processes).
        trust_submissions: run submissions in the plain sandbox (limits, no isolation).
        on_match: called after each match is stored (progress bars).
        on_schedule: called with (matches to play, matches already done) per scheduling round.
    """
    runner = runner or local_runner(2)
    specs_by_agent = resolve_specs(store, config)
    hashes = {name: sub["sha256"] for name in config.agents if (sub := store.submission(name))}
    isolate = bool(hashes) and not trust_submissions
    if isolate:
        from palaestra.agents.sandbox.isolation import isolation_problem

        problem = isolation_problem()
        if problem is not None:
            raise ConfigError(f"{problem}; submissions cannot run isolated here (pass "
                              "--trust-submissions to run them in the plain sandbox anyway)")
    resumed = store.open_tournament(config.name, config.to_dict())
    failed: dict[str, str] = {}
    scheduled = played = already = 0

    def play(batch: list[dict[str, Any]]) -> None:
        nonlocal played
        specs = [MatchSpec(m["match_id"], config.env, dict(config.env_config), m["seats"],
                           [specs_by_agent[a] for a in m["seats"]], m["seed"], dict(config.limits),
                           isolate, [hashes.get(a) for a in m["seats"]])
                 for m in batch]

        def done(spec: MatchSpec, outcome: MatchResult | BaseException) -> None:
            nonlocal played
            if isinstance(outcome, BaseException):
                failed[spec.match_id] = f"{type(outcome).__name__}: {outcome}"
            else:
                store.record(spec.match_id, outcome.to_dict(), outcome.replay)
                played += 1
            if on_match is not None:
                on_match(spec, outcome)

        play_with_blame(specs, runner, done)

    rounds = 1 if config.schedule == "round-robin" else config.rounds
    for r in range(rounds):
        if config.schedule == "round-robin":
            batch = round_robin(config)
        else:
            done_matches = store.matches(config.name, status="done")
            batch = matchmaking_round(config, r, [m for m in done_matches if m["round"] < r])
        store.schedule(config.name, batch)
        scheduled += len(batch)
        ids = {m["match_id"] for m in batch}
        todo = [m for m in store.matches(config.name, status="pending") if m["match_id"] in ids]
        already += len(batch) - len(todo)
        if on_schedule is not None:
            on_schedule(len(todo), len(batch) - len(todo))
        play(todo)
        if failed and config.schedule == "matchmaking":
            break  # later rounds depend on these results
    return RunSummary(resumed, scheduled, already, played, failed)


def tournament_table(store: TournamentStore, name: str) -> Any:
    """Ratings of every agent from the stored results, in match order."""
    from palaestra.evaluation.ratings import rate_games

    return rate_games(_rated_games(store.matches(name, status="done")))
