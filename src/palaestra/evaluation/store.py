"""The tournament database: submissions, scheduled matches, results and replays in SQLite.

One file holds everything. A match row is created ``pending`` when it is scheduled and becomes
``done`` in a single transaction that also stores its result and replay, so a run killed at any
moment (even ``kill -9``) leaves every match either fully recorded or still pending: a rerun plays
the pending ones and never records a match twice (the match id is the primary key).
"""

from __future__ import annotations

import gzip
import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from palaestra.errors import RunStateError

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS submissions (
    name TEXT PRIMARY KEY, env TEXT NOT NULL, kind TEXT NOT NULL, spec TEXT NOT NULL,
    sha256 TEXT NOT NULL, info TEXT NOT NULL, created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS tournaments (
    name TEXT PRIMARY KEY, config TEXT NOT NULL, created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS matches (
    match_id TEXT PRIMARY KEY, tournament TEXT NOT NULL REFERENCES tournaments(name),
    round INTEGER NOT NULL, ordinal INTEGER NOT NULL, seats TEXT NOT NULL, seed INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'done')),
    result TEXT, replay BLOB, finished REAL
);
CREATE INDEX IF NOT EXISTS matches_by_tournament ON matches (tournament, round, ordinal);
"""


class StoreError(RunStateError):
    """The database is not a palaestra tournament store, or a request contradicts what it holds."""


class TournamentStore:
    """Access to one tournament database file (created on first use).

    Args:
        path: the SQLite file.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a tournament database ({exc})") from None
        row = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) != SCHEMA_VERSION:
            raise StoreError(f"{self.path}: schema version {row[0]}, this palaestra reads {SCHEMA_VERSION}")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> TournamentStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- submissions ---------------------------------------------------------------------------
    def add_submission(self, name: str, env: str, kind: str, spec: str, sha256: str,
                       info: dict[str, Any], replace: bool = False) -> None:
        """Register a validated submission; an existing name is refused unless ``replace``."""
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM submissions WHERE name=?", (name,)).fetchone():
                if not replace:
                    raise StoreError(
                        f"a submission named {name!r} exists; pass --replace or pick another name")
                db.execute("DELETE FROM submissions WHERE name=?", (name,))
            db.execute("INSERT INTO submissions VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (name, env, kind, spec, sha256, json.dumps(info, sort_keys=True), time.time()))

    def submission(self, name: str) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT name, env, kind, spec, sha256, info FROM submissions WHERE name=?", (name,)
        ).fetchone()
        if row is None:
            return None
        return {"name": row[0], "env": row[1], "kind": row[2], "spec": row[3], "sha256": row[4],
                "info": json.loads(row[5])}

    def submissions(self, env: str | None = None) -> list[dict[str, Any]]:
        names = [r[0] for r in self._db.execute(
            "SELECT name FROM submissions WHERE ?1 IS NULL OR env=?1 ORDER BY name", (env,))]
        return [s for s in (self.submission(n) for n in names) if s is not None]

    # -- tournaments ---------------------------------------------------------------------------
    def open_tournament(self, name: str, config: dict[str, Any]) -> bool:
        """Create the tournament, or check that a stored one has the same config.

        Returns True when it already existed (a resumed run).

        Raises:
            StoreError: if a tournament of that name exists with another config.
        """
        text = json.dumps(config, sort_keys=True)
        with self._transaction() as db:
            row = db.execute("SELECT config FROM tournaments WHERE name=?", (name,)).fetchone()
            if row is None:
                db.execute("INSERT INTO tournaments VALUES (?, ?, ?)", (name, text, time.time()))
                return False
        if row[0] != text:
            stored = json.loads(row[0])
            diff = sorted(k for k in set(stored) | set(config) if stored.get(k) != config.get(k))
            raise StoreError(
                f"tournament {name!r} exists with another configuration (differs in {', '.join(diff)}); "
                "rerun it with the same options to resume, or choose another --name"
            )
        return True

    def tournament_config(self, name: str) -> dict[str, Any]:
        row = self._db.execute("SELECT config FROM tournaments WHERE name=?", (name,)).fetchone()
        if row is None:
            known = [r[0] for r in self._db.execute("SELECT name FROM tournaments ORDER BY name")]
            raise StoreError(f"no tournament named {name!r}; known: {', '.join(known) or 'none'}")
        return json.loads(row[0])

    def tournaments(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT name FROM tournaments ORDER BY created")]

    # -- matches -------------------------------------------------------------------------------
    def schedule(self, tournament: str, matches: list[dict[str, Any]]) -> int:
        """Add pending matches (``match_id, round, ordinal, seats, seed``); known ids are kept.

        Returns how many were new.
        """
        with self._transaction() as db:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO matches (match_id, tournament, round, ordinal, seats, seed, status)"
                " VALUES (?, ?, ?, ?, ?, ?, 'pending')",
                [(m["match_id"], tournament, m["round"], m["ordinal"], json.dumps(m["seats"]), m["seed"])
                 for m in matches],
            )
            return db.total_changes - before

    def record(self, match_id: str, result: dict[str, Any], replay: dict[str, Any]) -> None:
        """Store a finished match and its replay atomically (a done match is never overwritten)."""
        blob = gzip.compress(json.dumps(replay, sort_keys=True).encode(), mtime=0)
        with self._transaction() as db:
            cur = db.execute(
                "UPDATE matches SET status='done', result=?, replay=?, finished=? "
                "WHERE match_id=? AND status='pending'",
                (json.dumps(result, sort_keys=True), blob, time.time(), match_id),
            )
            if cur.rowcount != 1:
                raise StoreError(f"match {match_id} is not pending (unknown or already recorded)")

    def matches(self, tournament: str, status: str | None = None) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT match_id, round, ordinal, seats, seed, status, result FROM matches "
            "WHERE tournament=? AND (?2 IS NULL OR status=?2) ORDER BY round, ordinal",
            (tournament, status),
        ).fetchall()
        return [
            {"match_id": r[0], "round": r[1], "ordinal": r[2], "seats": json.loads(r[3]),
             "seed": r[4], "status": r[5], "result": json.loads(r[6]) if r[6] else None}
            for r in rows
        ]

    def tournament_of(self, match_id: str) -> str | None:
        """The tournament a match belongs to (None if unknown)."""
        row = self._db.execute("SELECT tournament FROM matches WHERE match_id=?", (match_id,)).fetchone()
        return None if row is None else str(row[0])

    def replay(self, match_id: str) -> dict[str, Any]:
        row = self._db.execute("SELECT replay FROM matches WHERE match_id=?", (match_id,)).fetchone()
        if row is None or row[0] is None:
            raise StoreError(f"no recorded replay for match {match_id!r}")
        return json.loads(gzip.decompress(row[0]))
