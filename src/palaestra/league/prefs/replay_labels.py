"""Preference labels derived from tournament results (Kelly and Bomber matches).

* Kelly: a match seats several agents on the same game (same seed, same coin flips); its replay
  holds each agent's bets and the match ranks them by final wealth. Every pair of agents gives one
  label: their two games as segments (re-simulated into the learner's features and actions, the
  shorter one padded with absorbing steps to the same length), the better-ranked one preferred.
* Bomber: the replay is re-simulated with the planes observation
  (:mod:`~palaestra.league.prefs.bomber_clips`); each seat's segment is the last ``length`` steps
  it played (its last moments, which decided its place; padded with absorbing steps after an
  early death), with small RGB frames of the board. Every pair of seats of different teams gives
  one label, the better-placed team's seat preferred (FFA: every seat is its own team).

:func:`pending_from_tournament` queues the same Bomber pairs unlabelled instead, for a human to
judge in ``prefs label`` (the store keeps the replay and where each clip lies in it).

Equal ranks give a tie. Matches with a faulty agent are left out: a forfeit says nothing about
how it played; so are ``team_radio`` matches (their actions carry messages).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np

from palaestra.agents.learned.kelly import ACTION_LIMIT, KellyFeatures
from palaestra.agents.scripted.kelly import wealth_cents
from palaestra.envs import family_specs
from palaestra.errors import ConfigError, FileFormatError, RunStateError
from palaestra.league.prefs.bomber_clips import FRAME_TILE, BomberGame, last_start, steps_played
from palaestra.league.prefs.labels import ClipRef, LabelStore
from palaestra.league.prefs.segments import Segment

__all__ = ["BOMBER_SEGMENT_LENGTH", "ImportedLabels", "QueuedPairs", "bomber_replay_segments",
           "kelly_replay_segment", "labels_from_tournament", "pending_from_tournament"]


BOMBER_SEGMENT_LENGTH = 32
"""Steps of a Bomber seat's segment (its last ones)."""


class ImportedLabels(NamedTuple):
    """What :func:`labels_from_tournament` stored."""

    matches: int
    labels: int
    skipped_matches: int


class QueuedPairs(NamedTuple):
    """What :func:`pending_from_tournament` queued."""

    matches: int
    pairs: int
    skipped_matches: int
    """Matches left out (faults, ``team_radio``)."""
    already_queued: int
    """Matches queued by an earlier import, not queued again."""


def kelly_replay_segment(replay: dict[str, Any], action_offset: float = 2.0,
                         length: int | None = None) -> Segment:
    """One Kelly replay (a dict as stored) as a segment of the learner's view of the game.

    Observations are the learner's features before each bet; the action is the output ``a`` that
    bets that share of the wealth (``sigmoid(a - action_offset)``, clipped to the learner's
    range); rewards are the wealth increments in the learner's scale. ``length`` pads with
    absorbing steps (it must be at least the game's length).
    """
    env_id = replay.get("env_id")
    kelly = {spec.env_id: spec.short_name for spec in family_specs("kelly")}
    if env_id not in kelly:
        raise FileFormatError(f"not a Kelly replay (env_id {env_id!r})")
    env = gym.make(env_id, **dict(replay.get("env_config") or {}))
    features = replace(KellyFeatures.for_env(env), action_offset=float(action_offset))
    obs, _ = env.reset(seed=int(replay["seed"]))
    rows_o, rows_a, rows_r = [], [], []
    for k, bet in enumerate(replay["actions"]):
        batch = {key: np.asarray(v)[None, ...] for key, v in obs.items()}
        wealth = int(wealth_cents(batch)[0])
        share = float(np.clip(int(bet) / max(wealth, 1), 1e-9, 1 - 1e-9))
        a = float(np.clip(action_offset + np.log(share / (1 - share)), -ACTION_LIMIT, ACTION_LIMIT))
        rows_o.append(features.features(batch)[0])
        rows_a.append([a])
        obs, _, terminated, truncated, _ = env.step(np.int64(bet))
        after = int(wealth_cents({key: np.asarray(v)[None, ...] for key, v in obs.items()})[0])
        rows_r.append((after - wealth) / 100.0 / features.wealth_scale)
        if (terminated or truncated) and k + 1 < len(replay["actions"]):
            raise FileFormatError(f"replay {replay.get('meta', {})}: the game ended at step {k + 1} "
                                  f"but the replay has {len(replay['actions'])} bets")
    real = len(rows_o)
    if real == 0:
        raise FileFormatError("an empty Kelly replay")
    n = real if length is None else int(length)
    if n < real:
        raise ConfigError(f"length {n} is shorter than the game ({real} steps)")
    pad = n - real
    return Segment(kelly[env_id],
                   np.concatenate([np.stack(rows_o), np.zeros((pad, len(rows_o[0])))]),
                   np.concatenate([np.asarray(rows_a), np.zeros((pad, 1))]),
                   np.concatenate([np.asarray(rows_r), np.zeros(pad)]),
                   int(replay["seed"]), 0, str(replay.get("agents", [""])[0]),
                   absorbing=np.arange(n) >= real)


def bomber_replay_segments(replay: dict[str, Any], length: int = BOMBER_SEGMENT_LENGTH,
                           tile: int | None = FRAME_TILE) -> list[Segment]:
    """One segment per seat of a Bomber replay: its last ``length`` steps, as flat planes
    observations and actions (see the module docstring), with the board as RGB frames of
    ``tile`` pixels a cell (small, :data:`~palaestra.league.prefs.bomber_clips.FRAME_TILE` by
    default, so a clip stays light; None: no frames)."""
    game = BomberGame(replay)
    return [game.clip(seat, game.last_start(seat, length), length, tile)
            for seat in range(game.seats)]


def _seat_ranks(result: dict[str, Any]) -> list[int]:
    ranks = [0] * sum(len(t) for t in result["teams"])
    for team, rank in zip(result["teams"], result["ranks"]):
        for seat in team:
            ranks[seat] = rank
    return ranks


class _Match(NamedTuple):
    """A finished match fit to learn from."""

    match_id: str
    replay: dict[str, Any]
    ranks: list[int]
    """Per seat, its team's place (0 best)."""
    pairs: list[tuple[int, int]]
    """Every pair of seats (i < j) of different teams."""


def _check_family(replay: dict[str, Any], tournament: str) -> None:
    """Refuse a match of an env preferences are not learned from (hide-and-seek, counting)."""
    games = replay.get("games")
    first = games[0] if isinstance(games, list) and games else replay
    env_id = first.get("env_id") if isinstance(first, dict) else None
    known = {spec.env_id for family in ("bomber", "kelly") for spec in family_specs(family)}
    if env_id not in known:
        raise ConfigError(f"tournament {tournament!r} played {env_id!r}: preferences are imported "
                          "from Bomber and Kelly tournaments only")


def _matches(db: str | Path, tournament: str) -> Iterator[_Match | None]:
    """The finished matches of ``tournament``, in order; None for one left out (a faulty agent,
    a ``team_radio`` game)."""
    from palaestra.evaluation.store import TournamentStore

    with TournamentStore(Path(db)) as tstore:
        rows = tstore.matches(tournament, status="done")
        if not rows:
            raise RunStateError(f"{db}: tournament {tournament!r} has no finished match")
        for row in rows:
            result = row["result"] or {}
            replay = tstore.replay(row["match_id"])
            _check_family(replay, tournament)
            if result.get("faults") or (replay.get("env_config") or {}).get("mode") == "team_radio":
                yield None
                continue
            team_of = {seat: t for t, team in enumerate(result["teams"]) for seat in team}
            seats = sorted(team_of)
            yield _Match(str(row["match_id"]), replay, _seat_ranks(result),
                         [(i, j) for i in seats for j in seats if i < j and team_of[i] != team_of[j]])


def labels_from_tournament(db: str | Path, tournament: str, store: LabelStore,
                           action_offset: float = 2.0,
                           bomber_length: int = BOMBER_SEGMENT_LENGTH) -> ImportedLabels:
    """Store a label for every pair of agents (Bomber: of different teams) in every finished
    match of ``tournament``. The segments are stored without frames: nobody looks at them, and
    fitting needs only the observations and actions."""
    matches = labels = skipped = 0
    for match in _matches(db, tournament):
        if match is None:
            skipped += 1
            continue
        replay = match.replay
        if "games" in replay:  # Kelly: one game per seat
            length = max(len(g["actions"]) for g in replay["games"])
            segments = [kelly_replay_segment(g, action_offset, length) for g in replay["games"]]
        else:
            segments = bomber_replay_segments(replay, bomber_length, tile=None)
        ids = [store.add_segment(s, f"replay:{tournament}") for s in segments]
        for i, j in match.pairs:
            ranks = match.ranks
            label = 0.5 if ranks[i] == ranks[j] else (1.0 if ranks[i] < ranks[j] else 0.0)
            store.add_label(ids[i], ids[j], label, f"replay:{tournament}")
            labels += 1
        matches += 1
    return ImportedLabels(matches, labels, skipped)


def pending_from_tournament(db: str | Path, tournament: str, store: LabelStore,
                            rng: np.random.Generator, length: int = BOMBER_SEGMENT_LENGTH
                            ) -> QueuedPairs:
    """Queue, for a human to label later (``prefs label``), every pair of seats of different
    teams in every finished match of the Bomber tournament ``tournament``: their last ``length``
    steps. Which clip of a pair is shown on the left is drawn from ``rng``, so that neither side
    always holds the lower seat. A match queued before is not queued again."""
    matches = pairs = skipped = already = 0
    source = f"replay:{tournament}"
    for match in _matches(db, tournament):
        if match is None:
            skipped += 1
            continue
        if "games" in match.replay:
            raise ConfigError(f"tournament {tournament!r} is a Kelly one; pending pairs are Bomber "
                              "clips: import its labels from the outcome (without --pending)")
        played = steps_played(match.replay)
        clips = [ClipRef(seat, last_start(n, length)) for seat, n in enumerate(played)]
        queue = []
        for i, j in match.pairs:
            a, b = (clips[j], clips[i]) if rng.random() < 0.5 else (clips[i], clips[j])
            queue.append((a, b))
        if store.add_pending("bomber", source, match.match_id, match.replay, queue, length) is None:
            already += 1
            continue
        pairs += len(queue)
        matches += 1
    return QueuedPairs(matches, pairs, skipped, already)
