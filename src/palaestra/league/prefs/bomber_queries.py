"""The Bomber preference loop's queries: the learner's games, recorded, cut into clips and paired.

Each round, one league member plays FFA games against three SimpleAgents, its seat rotated (game
``g`` in seat ``g % 4``, as ``league eval`` seats it), each recorded as a replay by
:func:`~palaestra.league.population.eval.record_agent_game`. The member plays its last checkpoint,
exported once a round as ``league export`` writes it (sampling its actions, as in training).
Until the league has a checkpoint, the built-in ``filtered-random`` bot plays instead
(:data:`INITIAL_AGENT`): it stands in for the untrained learner. A uniform ``random`` bot would be
closer to that learner, but it kills itself within its first clip in nearly every game, so every
pair of the first round would hold two deaths and every synthetic label would be a tie; the
filtered bot lives long enough for some clips to end alive, or in a win.

:class:`~palaestra.league.prefs.bomber_clips.BomberGame` plays each replay again and cuts the
member's clips (:func:`clip_starts`): always the window of its last ``length`` steps, which holds
how its game ended (death, a win, the time-out), and up to ``per_game - 1`` of the earlier windows,
tiled back from it without overlap, drawn at random. A clip past the member's death is padded
with absorbing steps. The candidate pairs are drawn at random, without repetition, among all
pairs of the round's clips (two clips of one game included), each side of a pair drawn at random
(:func:`draw_pairs`); more games are played when the round's clips are too few for the pairs it
needs.

Every random choice comes from the generator passed in; the games themselves are fixed by their
seed (the board and every agent's generator), so a round plays the same games again.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from palaestra.errors import ConfigError
from palaestra.league.prefs.bomber_clips import BomberGame, last_start
from palaestra.league.prefs.rounds import Pair
from palaestra.league.prefs.segments import Segment

__all__ = ["INITIAL_AGENT", "OPPONENT", "RoundGames", "clip_starts", "draw_pairs", "learner_agent",
           "play_round"]

INITIAL_AGENT = "filtered-random"
"""The built-in bot that plays the clips' games before the league has a checkpoint."""
OPPONENT = "simple"
"""The built-in bot in the other three seats."""


class RoundGames(NamedTuple):
    """The games one round played for its clips."""

    player: str
    """Who played them: ``m0@it12`` (the member at iteration 12) or :data:`INITIAL_AGENT`."""
    games: int
    wins: int
    """Games the player ended alone on top (true outcomes against three SimpleAgents)."""
    steps: int
    """Game steps played in all."""
    clips: int
    """Clips cut from them."""


def clip_starts(played: int, length: int, per_game: int, rng: np.random.Generator) -> list[int]:
    """First steps of a seat's clips in a game it acted ``played`` steps in, in order: the window
    of its last ``length`` steps, and up to ``per_game - 1`` earlier non-overlapping windows,
    tiled back from it, drawn with ``rng``."""
    if played < 1 or length < 1 or per_game < 1:
        raise ConfigError(f"played, length and per_game must be positive, got {played}, {length}, "
                          f"{per_game}")
    last = last_start(played, length)
    earlier = list(range(last - length, -1, -length))
    k = min(per_game - 1, len(earlier))
    picked = [int(s) for s in rng.choice(earlier, k, replace=False)] if k else []
    return [*sorted(picked), last]


def draw_pairs(segments: list[Segment], n: int, rng: np.random.Generator) -> list[Pair]:
    """``n`` different pairs of ``segments`` (by position), drawn with ``rng``, each side drawn at
    random; ConfigError when there are fewer than ``n`` pairs."""
    count = len(segments)
    total = count * (count - 1) // 2
    if n > total:
        raise ConfigError(f"{count} clips make {total} pairs, fewer than the {n} asked for")
    rows, cols = np.triu_indices(count, 1)
    chosen = rng.choice(total, n, replace=False)
    flip = rng.random(n) < 0.5
    return [(segments[cols[k]], segments[rows[k]]) if f else (segments[rows[k]], segments[cols[k]])
            for k, f in zip(chosen, flip)]


@contextmanager
def learner_agent(league_dir: Path, member: str) -> Iterator[tuple[str, str]]:
    """The agent spec that plays ``member`` and its name in the replays, for the block: its last
    checkpoint exported to a temporary directory (named ``member@itN``), or
    :data:`INITIAL_AGENT` while the league in ``league_dir`` has no checkpoint."""
    from palaestra.league.population.eval import export_member
    from palaestra.league.population.layout import RunLayout
    from palaestra.league.population.state import LeagueState

    layout = RunLayout(league_dir)
    state = LeagueState.load(layout.state) if layout.state.is_file() else None
    if state is None or not state.checkpoint:
        yield INITIAL_AGENT, INITIAL_AGENT
        return
    name = f"{member}@it{state.iteration}"
    # a new directory each round: the game runner keeps the agents it loaded by their path
    with tempfile.TemporaryDirectory(prefix="palaestra-prefs-") as tmp:
        yield str(export_member(league_dir, member, Path(tmp) / name.replace("@", "-"))), name


def play_round(league_dir: Path, member: str, pairs: int, min_games: int, seed: int,
               length: int, per_game: int, rng: np.random.Generator, tile: int | None,
               replays: Path | None = None,
               on_game: Callable[[int], None] | None = None) -> tuple[list[Segment], RoundGames]:
    """Play at least ``min_games`` games of ``member`` (see the module docstring) and as many more
    as ``pairs`` candidate pairs need; returns the clips (frames of ``tile`` pixels a cell, none
    when None) and what was played. Each replay is saved, gzipped, under ``replays`` (when
    given); ``on_game(g)`` is called once game ``g`` is cut."""
    from palaestra.envs.bomber.env import AGENT_NAMES
    from palaestra.evaluation.replay import replay_to_dict, save_replay
    from palaestra.league.population.eval import record_agent_game

    clips: list[Segment] = []
    wins = steps = games = 0
    with learner_agent(league_dir, member) as (spec, name):
        while games < min_games or len(clips) * (len(clips) - 1) // 2 < pairs:
            seat = games % len(AGENT_NAMES)
            meta: dict[str, Any] = {"prefs": True, "player": name, "game": games, "seed": seed}
            replay = record_agent_game(spec, name, games, seed, OPPONENT, "ffa", meta)
            if replays is not None:
                save_replay(replay, replays / f"game-{games:03d}.json.gz")
            game = BomberGame(replay_to_dict(replay))
            clips += [game.clip(seat, s, length, tile)
                      for s in clip_starts(game.played(seat), length, per_game, rng)]
            wins += replay.outcome.get("winners") == [AGENT_NAMES[seat]]
            steps += replay.steps
            if on_game is not None:
                on_game(games)
            games += 1
    return clips, RoundGames(name, games, wins, steps, len(clips))
