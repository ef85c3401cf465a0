"""Preference labels: the SQLite store and the synthetic oracle.

A label compares two segments: ``1.0`` the left one is better, ``0.0`` the right one, ``0.5`` a
tie. (A skipped pair is not stored.) The store keeps the segments (compressed ``.npz`` blobs) and
the labels with who gave them (``synthetic``, ``human:<name>``, ``replay``), so labels collected
by hand survive any number of training runs and can be reused by the next.

It also keeps *pending* pairs: pairs of clips queued for a human to judge later
(``prefs import-replays --pending``, then ``prefs label``). A pending pair does not hold its
segments, whose frames would make the file heavy, but the replay they are cut from (gzipped JSON,
about a kilobyte a Bomber game) and, per side, the seat and its first step, with the clips'
length: the clips are cut and drawn again from the replay when shown
(:mod:`palaestra.league.prefs.pending`). Labelling a pending pair stores its two segments
(without frames) and the label and removes the pair, in one transaction. Replays stay after
their pairs are labelled, so that a match is never queued twice.

Schema (version 2; a version 1 store, which had no pending pairs, gains them on open)::

    segments(id INTEGER PRIMARY KEY, env TEXT, source TEXT, data BLOB, created TEXT)
    labels(id INTEGER PRIMARY KEY, env TEXT, left_id INTEGER, right_id INTEGER, label REAL,
           labeller TEXT, created TEXT)
    replays(id INTEGER PRIMARY KEY, env TEXT, source TEXT, match_id TEXT, data BLOB,
            created TEXT, UNIQUE(source, match_id))
    pending(id INTEGER PRIMARY KEY, env TEXT, replay_id INTEGER, left_seat INTEGER,
            left_start INTEGER, right_seat INTEGER, right_start INTEGER, length INTEGER,
            source TEXT, created TEXT)
"""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from palaestra.errors import ConfigError, FileFormatError
from palaestra.league.prefs.segments import Segment

__all__ = ["LABEL_VALUES", "ClipRef", "Comparison", "LabelStore", "LabelStoreError", "PendingRow",
           "SyntheticOracle"]

SCHEMA_VERSION = 2
MIGRATES_FROM = (1,)
"""Older schema versions a store is brought up to date from when it is opened."""
LABEL_VALUES = (0.0, 0.5, 1.0)
"""Right better, tie, left better."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS segments(id INTEGER PRIMARY KEY, env TEXT NOT NULL,
    source TEXT NOT NULL, data BLOB NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS labels(id INTEGER PRIMARY KEY, env TEXT NOT NULL,
    left_id INTEGER NOT NULL REFERENCES segments(id),
    right_id INTEGER NOT NULL REFERENCES segments(id),
    label REAL NOT NULL CHECK (label IN (0.0, 0.5, 1.0)),
    labeller TEXT NOT NULL, created TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS labels_env ON labels(env);
CREATE TABLE IF NOT EXISTS replays(id INTEGER PRIMARY KEY, env TEXT NOT NULL,
    source TEXT NOT NULL, match_id TEXT NOT NULL, data BLOB NOT NULL, created TEXT NOT NULL,
    UNIQUE(source, match_id));
CREATE TABLE IF NOT EXISTS pending(id INTEGER PRIMARY KEY, env TEXT NOT NULL,
    replay_id INTEGER NOT NULL REFERENCES replays(id),
    left_seat INTEGER NOT NULL, left_start INTEGER NOT NULL,
    right_seat INTEGER NOT NULL, right_start INTEGER NOT NULL,
    length INTEGER NOT NULL CHECK (length >= 1), source TEXT NOT NULL, created TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS pending_env ON pending(env);
"""


def _row_id(cursor: sqlite3.Cursor) -> int:
    """The id of the row an INSERT just added."""
    if cursor.lastrowid is None:
        raise AssertionError("an INSERT set no row id")
    return int(cursor.lastrowid)


class LabelStoreError(FileFormatError):
    """A label database that cannot be used, or a label that cannot be stored."""


class Comparison(NamedTuple):
    """One stored label with its two segments."""

    label_id: int
    left: Segment
    right: Segment
    label: float
    labeller: str


class ClipRef(NamedTuple):
    """Where a pending clip lies in its replay: the seat and the seat's first step."""

    seat: int
    start: int


class PendingRow(NamedTuple):
    """A pending pair as stored: the replay and the two clips to cut from it."""

    pending_id: int
    env: str
    replay_id: int
    left: ClipRef
    right: ClipRef
    length: int
    source: str


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class LabelStore:
    """Segments, labels and pending pairs in one SQLite file (WAL, synchronous writes: a label
    once added is on disk). Use as a context manager or call :meth:`close`."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            tables = {r[0] for r in self._db.execute(
                "SELECT name FROM sqlite_master WHERE type='table'")}
            row = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone() \
                if "meta" in tables else None
        except sqlite3.DatabaseError as exc:
            raise LabelStoreError(f"{self.path}: not a label database ({exc})") from None
        if tables and not {"meta", "segments", "labels"} <= tables:
            self._db.close()
            raise LabelStoreError(f"{self.path}: not a label database (it holds the tables "
                                  f"{', '.join(sorted(tables))}; a tournament database?)")
        known = {str(SCHEMA_VERSION), *(str(v) for v in MIGRATES_FROM)}
        if row is not None and row[0] not in known:
            self._db.close()
            raise LabelStoreError(f"{self.path}: label schema {row[0]}, this version reads "
                                  f"{SCHEMA_VERSION} (and migrates "
                                  f"{', '.join(str(v) for v in MIGRATES_FROM)})")
        try:  # creates what is missing: everything in a new file, the pending pairs in a v1 one
            self._db.executescript(_SCHEMA)
            self._db.execute("INSERT OR REPLACE INTO meta VALUES('schema', ?)",
                             (str(SCHEMA_VERSION),))
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise LabelStoreError(f"{self.path}: not a label database ({exc})") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> LabelStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_segment(self, segment: Segment, source: str) -> int:
        """Store ``segment``; returns its id."""
        cur = self._db.execute("INSERT INTO segments(env, source, data, created) VALUES(?,?,?,?)",
                               (segment.env, source, segment.to_bytes(), _now()))
        return _row_id(cur)

    def segment(self, segment_id: int) -> Segment:
        row = self._db.execute("SELECT data FROM segments WHERE id=?", (segment_id,)).fetchone()
        if row is None:
            raise LabelStoreError(f"{self.path}: no segment {segment_id}")
        return Segment.from_bytes(row[0])

    def add_label(self, left_id: int, right_id: int, label: float, labeller: str) -> int:
        """Store a label (1 left better, 0 right better, 0.5 tie) on two stored segments of the
        same env; returns its id."""
        if label not in LABEL_VALUES:
            raise LabelStoreError(f"a label is 0 (right better), 0.5 (tie) or 1 (left better), "
                                  f"got {label!r}")
        if left_id == right_id:
            raise LabelStoreError("a label compares two different segments")
        envs = [self._db.execute("SELECT env FROM segments WHERE id=?", (i,)).fetchone()
                for i in (left_id, right_id)]
        if envs[0] is None or envs[1] is None:
            missing = [i for i, e in zip((left_id, right_id), envs) if e is None]
            raise LabelStoreError(f"{self.path}: no segment {missing[0]}")
        if envs[0][0] != envs[1][0]:
            raise LabelStoreError(f"cannot compare a {envs[0][0]} segment with a {envs[1][0]} one")
        cur = self._db.execute(
            "INSERT INTO labels(env, left_id, right_id, label, labeller, created) "
            "VALUES(?,?,?,?,?,?)", (envs[0][0], left_id, right_id, float(label), labeller, _now()))
        return _row_id(cur)

    def count(self, env: str | None = None, labeller: str | None = None) -> int:
        """Number of stored labels (of ``env``, by labellers starting with ``labeller``)."""
        sql = "SELECT COUNT(*) FROM labels WHERE 1=1"
        args: list[str] = []
        if env is not None:
            sql, args = sql + " AND env=?", [*args, env]
        if labeller is not None:
            sql, args = sql + " AND labeller LIKE ?", [*args, labeller + "%"]
        return int(self._db.execute(sql, args).fetchone()[0])

    def comparisons(self, env: str) -> list[Comparison]:
        """Every label of ``env`` with its segments, oldest first."""
        rows = self._db.execute("SELECT id, left_id, right_id, label, labeller FROM labels "
                                "WHERE env=? ORDER BY id", (env,)).fetchall()
        cache: dict[int, Segment] = {}

        def seg(i: int) -> Segment:
            if i not in cache:
                cache[i] = self.segment(i)
            return cache[i]

        return [Comparison(r[0], seg(r[1]), seg(r[2]), float(r[3]), r[4]) for r in rows]


    # -- pending pairs ---------------------------------------------------------------------------
    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def add_pending(self, env: str, source: str, match_id: str, replay: dict[str, Any],
                    pairs: Sequence[tuple[ClipRef, ClipRef]], length: int) -> int | None:
        """Queue ``pairs`` of ``length``-step clips cut from ``replay`` (match ``match_id`` of
        ``source``) for a human to label, all or nothing; returns the replay's id, or None
        (nothing stored) when this match of ``source`` was queued before."""
        if isinstance(length, bool) or not isinstance(length, int) or length < 1:
            raise LabelStoreError(f"a clip's length must be a positive integer, got {length!r}")
        for clip in (c for pair in pairs for c in pair):
            if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in clip):
                raise LabelStoreError(f"a clip is a seat and a first step (integers >= 0), "
                                      f"got {clip!r}")
        blob = gzip.compress(json.dumps(replay, sort_keys=True).encode(), mtime=0)
        with self._transaction():
            if self._db.execute("SELECT 1 FROM replays WHERE source=? AND match_id=?",
                                (source, match_id)).fetchone() is not None:
                return None
            replay_id = _row_id(self._db.execute(
                "INSERT INTO replays(env, source, match_id, data, created) VALUES(?,?,?,?,?)",
                (env, source, match_id, blob, _now())))
            self._db.executemany(
                "INSERT INTO pending(env, replay_id, left_seat, left_start, right_seat, "
                "right_start, length, source, created) VALUES(?,?,?,?,?,?,?,?,?)",
                [(env, replay_id, a.seat, a.start, b.seat, b.start, length, source, _now())
                 for a, b in pairs])
        return replay_id

    def pending_counts(self) -> dict[str, int]:
        """Pending pairs per env."""
        return {str(env): int(n) for env, n in self._db.execute(
            "SELECT env, COUNT(*) FROM pending GROUP BY env ORDER BY env")}

    def pending(self, env: str | None = None, limit: int | None = None) -> list[PendingRow]:
        """The pending pairs (of ``env``), oldest first, at most ``limit`` of them."""
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                                  or limit < 1):
            raise ConfigError(f"limit must be a positive integer, got {limit!r}")
        rows = self._db.execute(
            "SELECT id, env, replay_id, left_seat, left_start, right_seat, right_start, length, "
            "source FROM pending WHERE ?1 IS NULL OR env=?1 ORDER BY id LIMIT ?2",
            (env, -1 if limit is None else limit)).fetchall()
        return [PendingRow(r[0], r[1], r[2], ClipRef(r[3], r[4]), ClipRef(r[5], r[6]), r[7], r[8])
                for r in rows]

    def replay(self, replay_id: int) -> dict[str, Any]:
        """A queued replay, as it was stored."""
        row = self._db.execute("SELECT data FROM replays WHERE id=?", (replay_id,)).fetchone()
        if row is None:
            raise LabelStoreError(f"{self.path}: no replay {replay_id}")
        try:
            data = json.loads(gzip.decompress(row[0]))
        except (OSError, EOFError, ValueError, TypeError) as exc:
            raise LabelStoreError(f"{self.path}: replay {replay_id} cannot be read "
                                  f"({type(exc).__name__}: {exc})") from None
        if not isinstance(data, dict):
            raise LabelStoreError(f"{self.path}: replay {replay_id} is not a JSON object")
        return data

    def resolve_pending(self, pending_id: int, left: Segment, right: Segment, label: float,
                        labeller: str) -> int | None:
        """Store ``label`` on pending pair ``pending_id``, whose clips are ``left`` and
        ``right`` (kept without their frames), and remove the pair, in one transaction; returns
        the label's id, or None (nothing stored) when the pair is no longer pending."""
        if not labeller.strip():
            raise LabelStoreError("a label needs the name of who gave it")
        with self._transaction():
            row = self._db.execute("SELECT env, source FROM pending WHERE id=?",
                                   (pending_id,)).fetchone()
            if row is None:
                return None
            if left.env != row[0] or right.env != row[0]:
                raise LabelStoreError(f"pending pair {pending_id} is a {row[0]} pair; got "
                                      f"{left.env} and {right.env} segments")
            ids = [self.add_segment(replace(seg, frames=None), row[1]) for seg in (left, right)]
            label_id = self.add_label(ids[0], ids[1], label, labeller)
            self._db.execute("DELETE FROM pending WHERE id=?", (pending_id,))
        return label_id

    def drop_pending(self, pending_id: int) -> bool:
        """Remove a pending pair without labelling it; False when there is none of that id."""
        return self._db.execute("DELETE FROM pending WHERE id=?", (pending_id,)).rowcount > 0


@dataclass(frozen=True)
class SyntheticOracle:
    """Labels from the true reward: the segment with the larger true return is preferred.

    ``noise``: with this probability the label is replaced by a fair coin flip (a careless
    labeller). ``tie_margin``: returns closer than this are a tie (0.5).
    """

    noise: float = 0.0
    tie_margin: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.noise <= 1.0:
            raise ConfigError(f"noise must be in [0, 1], got {self.noise}")
        if not self.tie_margin >= 0.0:
            raise ConfigError(f"tie_margin must be >= 0, got {self.tie_margin}")

    def label(self, left: Segment, right: Segment, rng: np.random.Generator) -> float:
        if self.noise > 0 and rng.random() < self.noise:
            return float(rng.integers(2))
        diff = left.true_return - right.true_return
        if abs(diff) <= self.tie_margin:
            return 0.5
        return 1.0 if diff > 0 else 0.0
