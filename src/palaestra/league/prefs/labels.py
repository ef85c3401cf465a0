"""Preference labels: the SQLite store and the synthetic oracle.

A label compares two segments: ``1.0`` the left one is better, ``0.0`` the right one, ``0.5`` a
tie. (A skipped pair is not stored.) The store keeps the segments (compressed ``.npz`` blobs) and
the labels with who gave them (``synthetic``, ``human:<name>``, ``replay``), so labels collected
by hand survive any number of training runs and can be reused by the next.

Schema (version 1)::

    segments(id INTEGER PRIMARY KEY, env TEXT, source TEXT, data BLOB, created TEXT)
    labels(id INTEGER PRIMARY KEY, env TEXT, left_id INTEGER, right_id INTEGER, label REAL,
           labeller TEXT, created TEXT)
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

import numpy as np

from palaestra.errors import ConfigError, FileFormatError
from palaestra.league.prefs.segments import Segment

__all__ = ["LABEL_VALUES", "Comparison", "LabelStore", "LabelStoreError", "SyntheticOracle"]

SCHEMA_VERSION = 1
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


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class LabelStore:
    """Segments and labels in one SQLite file (WAL, synchronous writes: a label once added is on
    disk). Use as a context manager or call :meth:`close`."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise LabelStoreError(f"{self.path}: not a label database ({exc})") from None
        if row is None:
            self._db.execute("INSERT INTO meta VALUES('schema', ?)", (str(SCHEMA_VERSION),))
        elif row[0] != str(SCHEMA_VERSION):
            raise LabelStoreError(f"{self.path}: label schema {row[0]}, this version reads "
                                  f"{SCHEMA_VERSION}")

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
