"""Labelling stored pairs by hand, outside a training run (``palaestra prefs label``).

``prefs import-replays --pending`` queues pairs of Bomber clips in the label store
(:meth:`~palaestra.league.prefs.labels.LabelStore.add_pending`): the replay of each match and,
per pair, where its two clips lie in it. :func:`load_pending` cuts the clips again, frames
included (:class:`~palaestra.league.prefs.bomber_clips.BomberGame`, one replay played once for
all its pairs), and checks every pair before anything is shown: a pair that cannot be shown is an
error that names it, and nothing is labelled or removed. :func:`label_pending` hands the pairs to
a labeller (the pygame window, or a script), then stores each answer as a label and removes its
pair from the queue, one transaction a pair. A skipped pair stays queued, and so do the pairs
after a stop; an undone answer was never given.
"""

from __future__ import annotations

from typing import NamedTuple

from palaestra.envs import short_names
from palaestra.errors import ConfigError, PalaestraError
from palaestra.league.prefs.bomber_clips import FRAME_TILE, BomberGame
from palaestra.league.prefs.labels import LABEL_VALUES, LabelStore, LabelStoreError, PendingRow
from palaestra.league.prefs.run import Labeller
from palaestra.league.prefs.segments import Segment

__all__ = ["PENDING_ENVS", "LabelSession", "PendingPair", "label_pending", "load_pending"]

PENDING_ENVS: tuple[str, ...] = ("bomber",)
"""Envs whose pairs can be queued for labelling by hand (their clips are cut from replays)."""


class PendingPair(NamedTuple):
    """A pending pair ready to show: its id in the store and its two clips."""

    pending_id: int
    left: Segment
    right: Segment
    source: str


class LabelSession(NamedTuple):
    """What :func:`label_pending` did."""

    labelled: int
    """Pairs labelled (and removed from the queue)."""
    skipped: int
    """Pairs skipped (still queued)."""
    unseen: int
    """Pairs not reached before the labeller stopped (still queued)."""
    verdicts: dict[float, int]
    """How many labels of each value (1 left better, 0 right, 0.5 tie) were given."""


def _check_env(env: str | None) -> None:
    if env is not None and env not in short_names():
        raise ConfigError(f"unknown env {env!r}; envs: {', '.join(short_names())}")


def _cut(row: PendingRow, games: dict[int, BomberGame], store: LabelStore,
         tile: int | None) -> PendingPair:
    if row.env not in PENDING_ENVS:
        raise ConfigError(f"its env {row.env!r} has no clips to show (pending pairs are "
                          f"{', '.join(PENDING_ENVS)} ones)")
    if row.left.seat == row.right.seat:
        raise ConfigError(f"both of its clips are of seat {row.left.seat}")
    if row.replay_id not in games:
        games[row.replay_id] = BomberGame(store.replay(row.replay_id))
    game = games[row.replay_id]
    clips = [game.clip(ref.seat, ref.start, row.length, tile) for ref in (row.left, row.right)]
    for ref, clip in zip((row.left, row.right), clips):
        if clip.start != ref.start:
            raise ConfigError(f"seat {ref.seat} starts at step {clip.start}, not {ref.start}")
    return PendingPair(row.pending_id, clips[0], clips[1], row.source)


def load_pending(store: LabelStore, env: str | None = None, limit: int | None = None,
                 tile: int | None = FRAME_TILE) -> list[PendingPair]:
    """The pending pairs of the store (of ``env``; the ``limit`` oldest), their clips cut from
    their replays, with frames of ``tile`` pixels a board cell (None: none).

    Raises :class:`~palaestra.league.prefs.labels.LabelStoreError` naming the first pair that
    cannot be shown (its replay unreadable, a seat or step that is not in it, an env without
    clips); the store is left as it was.
    """
    _check_env(env)
    games: dict[int, BomberGame] = {}
    out = []
    for row in store.pending(env, limit):
        try:
            out.append(_cut(row, games, store, tile))
        except PalaestraError as exc:
            raise LabelStoreError(
                f"{store.path}: pending pair {row.pending_id} ({row.source}) cannot be shown: "
                f"{exc}. Nothing was labelled or removed; `palaestra prefs label --drop "
                f"{row.pending_id}` removes that pair") from None
    return out


def label_pending(store: LabelStore, pairs: list[PendingPair], labeller: Labeller,
                  who: str) -> LabelSession:
    """Have ``labeller`` judge ``pairs``, then store each label (given by ``who``) and remove
    its pair from the queue. The labeller returns one answer per pair it reached (1 left better,
    0 right, 0.5 tie, None skipped), fewer when it stopped."""
    if not pairs:
        return LabelSession(0, 0, 0, {})
    answers = list(labeller([(p.left, p.right) for p in pairs]))
    if len(answers) > len(pairs):
        raise ConfigError(f"the labeller gave {len(answers)} answers for {len(pairs)} pairs")
    bad = [a for a in answers if a is not None and a not in LABEL_VALUES]
    if bad:  # checked before anything is stored
        raise ConfigError(f"a label is 0, 0.5, 1 or None (skipped), got {bad[0]!r}")
    verdicts: dict[float, int] = {}
    labelled = skipped = 0
    for pair, answer in zip(pairs, answers):
        if answer is None:
            skipped += 1
            continue
        if store.resolve_pending(pair.pending_id, pair.left, pair.right, float(answer),
                                 who) is None:
            skipped += 1  # labelled meanwhile by another session: its label stands
            continue
        labelled += 1
        verdicts[float(answer)] = verdicts.get(float(answer), 0) + 1
    return LabelSession(labelled, skipped, len(pairs) - len(answers), verdicts)
