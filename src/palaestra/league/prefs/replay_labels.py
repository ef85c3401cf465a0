"""Preference labels derived from tournament results (Kelly matches).

A Kelly match seats several agents on the same game (same seed, same coin flips); its replay holds
each agent's bets and the match ranks them by final wealth. Every pair of agents in a match gives
one label: their two games as segments (re-simulated into the learner's features and actions,
the shorter one padded with absorbing steps to the same length), the better-ranked one preferred
(a tie when the ranks are equal). Matches with a faulty agent are left out: a forfeit says nothing
about how it bet.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np

from palaestra.agents.kelly import wealth_cents
from palaestra.agents.kelly_learning import ACTION_LIMIT, KellyFeatures
from palaestra.league.prefs.labels import LabelStore
from palaestra.league.prefs.segments import Segment

__all__ = ["ImportedLabels", "kelly_replay_segment", "labels_from_tournament"]

_ENV_NAMES = {"palaestra/KellyCoinflip-v0": "kelly",
              "palaestra/KellyCoinflipGeneralized-v0": "kelly-generalized"}


class ImportedLabels(NamedTuple):
    """What :func:`labels_from_tournament` stored."""

    matches: int
    labels: int
    skipped_matches: int


def kelly_replay_segment(replay: dict[str, Any], action_offset: float = 2.0,
                         length: int | None = None) -> Segment:
    """One Kelly replay (a dict as stored) as a segment of the learner's view of the game.

    Observations are the learner's features before each bet; the action is the output ``a`` that
    bets that share of the wealth (``sigmoid(a - action_offset)``, clipped to the learner's
    range); rewards are the wealth increments in the learner's scale. ``length`` pads with
    absorbing steps (it must be at least the game's length).
    """
    env_id = replay.get("env_id")
    if env_id not in _ENV_NAMES:
        raise ValueError(f"not a Kelly replay (env_id {env_id!r})")
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
            raise ValueError(f"replay {replay.get('meta', {})}: the game ended at step {k + 1} "
                             f"but the replay has {len(replay['actions'])} bets")
    real = len(rows_o)
    if real == 0:
        raise ValueError("an empty Kelly replay")
    n = real if length is None else int(length)
    if n < real:
        raise ValueError(f"length {n} is shorter than the game ({real} steps)")
    pad = n - real
    return Segment(_ENV_NAMES[env_id],
                   np.concatenate([np.stack(rows_o), np.zeros((pad, len(rows_o[0])))]),
                   np.concatenate([np.asarray(rows_a), np.zeros((pad, 1))]),
                   np.concatenate([np.asarray(rows_r), np.zeros(pad)]),
                   int(replay["seed"]), 0, str(replay.get("agents", [""])[0]),
                   absorbing=np.arange(n) >= real)


def labels_from_tournament(db: str | Path, tournament: str, store: LabelStore,
                           action_offset: float = 2.0) -> ImportedLabels:
    """Store a label for every pair of agents in every finished Kelly match of ``tournament``."""
    from palaestra.evaluation.store import TournamentStore

    matches = labels = skipped = 0
    with TournamentStore(Path(db)) as tstore:
        rows = tstore.matches(tournament, status="done")
        if not rows:
            raise ValueError(f"{db}: tournament {tournament!r} has no finished match")
        for row in rows:
            result = row["result"] or {}
            games = tstore.replay(row["match_id"]).get("games")
            if not games or result.get("faults"):
                skipped += 1
                continue
            length = max(len(g["actions"]) for g in games)
            segments = [kelly_replay_segment(g, action_offset, length) for g in games]
            ranks = result["ranks"]
            ids = [store.add_segment(s, f"replay:{tournament}") for s in segments]
            for i in range(len(ids)):
                for j in range(i + 1, len(ids)):
                    label = 0.5 if ranks[i] == ranks[j] else (1.0 if ranks[i] < ranks[j] else 0.0)
                    store.add_label(ids[i], ids[j], label, f"replay:{tournament}")
                    labels += 1
            matches += 1
    return ImportedLabels(matches, labels, skipped)
