"""Pending pairs: queued from a tournament, listed, labelled by a scripted window, removed; old
stores; bad input that loses no label."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import sqlite3  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pygame  # noqa: E402
import pytest  # noqa: E402

from palaestra.league.prefs.labels import (  # noqa: E402
    ClipRef,
    LabelStore,
    LabelStoreError,
)
from palaestra.league.prefs.pending import label_pending, load_pending  # noqa: E402
from palaestra.league.prefs.replay_labels import pending_from_tournament  # noqa: E402
from palaestra.league.prefs.run import Labeller  # noqa: E402
from palaestra.league.prefs.segments import Segment  # noqa: E402
from palaestra.viewer.prefs_labeller import label_pairs  # noqa: E402

LENGTH = 8


def keys(*ks: int) -> list[list[pygame.event.Event]]:
    return [[pygame.event.Event(pygame.KEYDOWN, key=k, mod=0, unicode="", scancode=0)]
            for k in ks]


def scripted(*ks: int) -> Labeller:
    """The labelling window, driven by key presses instead of a keyboard."""
    def label(pairs: list[tuple[Segment, Segment]]) -> list[float | None]:
        result = label_pairs(pairs, events=keys(*ks))
        return [lab.label for lab in result.labels]
    return label


def queue(db: Path, store: LabelStore, name: str = "ffa", seed: int = 0) -> tuple[int, ...]:
    return tuple(pending_from_tournament(db, name, store, np.random.default_rng(seed), LENGTH))


def test_pairs_are_queued_listed_labelled_and_removed(bomber_tournament: Path,
                                                      tmp_path: Path) -> None:
    with LabelStore(tmp_path / "l.sqlite") as store:
        assert queue(bomber_tournament, store) == (2, 12, 1, 0)  # the faulty match is left out
        assert queue(bomber_tournament, store) == (0, 0, 1, 2)  # not queued twice
        assert store.pending_counts() == {"bomber": 12} and store.count() == 0
        rows = store.pending()
        assert [r.pending_id for r in rows] == sorted(r.pending_id for r in rows)
        assert all(r.length == LENGTH and r.left.seat != r.right.seat for r in rows)
        # every pair of the four seats, once per match
        assert sorted(tuple(sorted((r.left.seat, r.right.seat))) for r in rows[:6]) == \
            [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
        pairs = load_pending(store, limit=4)
        assert [p.pending_id for p in pairs] == [r.pending_id for r in rows[:4]]
        for pair, row in zip(pairs, rows):
            assert pair.left.frames is not None and pair.right.frames is not None
            assert pair.left.frames.shape[:2] == (LENGTH, 189)
            assert (pair.left.start, pair.right.start) == (row.left.start, row.right.start)
        # left better, skip, tie, then stop: two labels, the rest stays queued
        got = label_pending(store, pairs, scripted(pygame.K_LEFT, pygame.K_s, pygame.K_t,
                                                   pygame.K_q), "human:test")
        assert (got.labelled, got.skipped, got.unseen) == (2, 1, 1)
        assert got.verdicts == {1.0: 1, 0.5: 1}
        comps = store.comparisons("bomber")
        assert [(c.label, c.labeller) for c in comps] == [(1.0, "human:test"), (0.5, "human:test")]
        assert np.array_equal(comps[0].left.obs, pairs[0].left.obs)
        assert np.array_equal(comps[1].right.actions, pairs[2].right.actions)
        assert comps[0].left.frames is None  # the store keeps no frames; the replay stays
        left = [r.pending_id for r in store.pending()]
        assert pairs[0].pending_id not in left and pairs[2].pending_id not in left
        assert pairs[1].pending_id in left and pairs[3].pending_id in left and len(left) == 10
    with LabelStore(tmp_path / "l.sqlite") as store:  # reopened: all of it is on disk
        assert store.count("bomber", labeller="human") == 2
        assert store.pending_counts() == {"bomber": 10}


def test_undo_takes_an_answer_back_before_it_is_stored(bomber_tournament: Path,
                                                       tmp_path: Path) -> None:
    with LabelStore(tmp_path / "l.sqlite") as store:
        queue(bomber_tournament, store, "teams")
        assert store.pending_counts() == {"bomber": 4}  # only seats of different teams
        assert all({r.left.seat % 2, r.right.seat % 2} == {0, 1} for r in store.pending())
        pairs = load_pending(store)
        got = label_pending(store, pairs, scripted(pygame.K_LEFT, pygame.K_RIGHT,
                                                   pygame.K_BACKSPACE, pygame.K_t, pygame.K_d,
                                                   pygame.K_a), "human")
        assert (got.labelled, got.skipped, got.unseen) == (4, 0, 0)
        assert [c.label for c in store.comparisons("bomber")] == [1.0, 0.5, 0.0, 1.0]
        assert store.pending_counts() == {}
        empty = label_pending(store, load_pending(store), scripted(), "human")
        assert empty == (0, 0, 0, {})


def test_the_side_of_each_clip_is_drawn_from_the_seed(bomber_tournament: Path,
                                                      tmp_path: Path) -> None:
    sides = []
    for k, seed in enumerate((5, 5, 6)):
        with LabelStore(tmp_path / f"{k}.sqlite") as store:
            queue(bomber_tournament, store, seed=seed)
            sides.append([(r.left.seat, r.right.seat) for r in store.pending()])
    assert sides[0] == sides[1] != sides[2]
    assert any(a > b for a, b in sides[0]) and any(a < b for a, b in sides[0])


V1_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE segments(id INTEGER PRIMARY KEY, env TEXT NOT NULL, source TEXT NOT NULL,
    data BLOB NOT NULL, created TEXT NOT NULL);
CREATE TABLE labels(id INTEGER PRIMARY KEY, env TEXT NOT NULL,
    left_id INTEGER NOT NULL REFERENCES segments(id),
    right_id INTEGER NOT NULL REFERENCES segments(id),
    label REAL NOT NULL CHECK (label IN (0.0, 0.5, 1.0)),
    labeller TEXT NOT NULL, created TEXT NOT NULL);
CREATE INDEX labels_env ON labels(env);
INSERT INTO meta VALUES('schema', '1');
"""


def test_a_store_from_before_pending_pairs_opens_and_gains_them(bomber_tournament: Path,
                                                                tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    seg = Segment("bomber", np.ones((3, 4)), np.arange(3), np.zeros(3))
    with sqlite3.connect(path) as db:
        db.executescript(V1_SCHEMA)
        for k in (1, 2):
            db.execute("INSERT INTO segments VALUES(?, 'bomber', 'old', ?, 'then')",
                       (k, seg.to_bytes()))
        db.execute("INSERT INTO labels VALUES(1, 'bomber', 1, 2, 0.0, 'human:old', 'then')")
    db.close()
    with LabelStore(path) as store:
        assert [(c.label, c.labeller) for c in store.comparisons("bomber")] == [(0.0, "human:old")]
        assert store.pending_counts() == {}
        queue(bomber_tournament, store)
        assert store.pending_counts() == {"bomber": 12}
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM meta WHERE key='schema'").fetchone() == ("2",)
    db.close()


def label_count(path: Path) -> int:
    with LabelStore(path) as store:
        return store.count()


@pytest.mark.parametrize("damage, match", [
    ("UPDATE replays SET data=x'1f8b0000'", r"replay \d+ cannot be read"),
    ("UPDATE pending SET left_seat=7", "seat must be 0-3, got 7"),
    ("UPDATE pending SET right_start=999", "start must be a step of seat"),
    ("UPDATE pending SET right_start=left_start, right_seat=left_seat", "both of its clips"),
    ("UPDATE pending SET env='kelly'", "env 'kelly' has no clips"),
    ("UPDATE replays SET data=(SELECT data FROM segments LIMIT 1)", "cannot be read"),
])
def test_a_malformed_pending_pair_is_named_and_nothing_is_lost(
        bomber_tournament: Path, tmp_path: Path, damage: str, match: str) -> None:
    path = tmp_path / "l.sqlite"
    with LabelStore(path) as store:
        queue(bomber_tournament, store, "teams")
        first = store.pending()[0].pending_id
        label_pending(store, load_pending(store, limit=1), scripted(pygame.K_LEFT), "human")
        assert store.count() == 1
    with sqlite3.connect(path) as db:
        db.execute(damage + " WHERE id=(SELECT MIN(id) FROM " +
                   ("replays)" if damage.startswith("UPDATE replays") else "pending)"))
    db.close()
    with LabelStore(path) as store:
        before = store.pending_counts()
        with pytest.raises(LabelStoreError, match=rf"pending pair {first + 1} \(replay:teams\) "
                                                  rf"cannot be shown: .*{match}") as info:
            load_pending(store)
        assert "Nothing was labelled or removed" in str(info.value)
        assert store.pending_counts() == before and store.count() == 1
    assert label_count(path) == 1


def test_bad_input_is_refused_by_name_and_loses_no_label(bomber_tournament: Path,
                                                         tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    with LabelStore(path) as store:
        queue(bomber_tournament, store, "teams")
        pairs = load_pending(store)
        label_pending(store, pairs[:1], scripted(pygame.K_RIGHT), "human")
        with pytest.raises(ValueError, match="unknown env 'chess'; envs: .*bomber"):
            load_pending(store, env="chess")
        assert load_pending(store, env="kelly") == []
        with pytest.raises(ValueError, match="tournament 'kelly' is a Kelly one"):
            queue(bomber_tournament, store, "kelly")
        with pytest.raises(ValueError, match="no finished match"):
            queue(bomber_tournament, store, "nope")
        with pytest.raises(ValueError, match="a label is 0, 0.5, 1 or None"):
            label_pending(store, pairs[1:], lambda ps: [1.0, 0.7, None], "human")
        with pytest.raises(ValueError, match="gave 4 answers for 3 pairs"):
            label_pending(store, pairs[1:], lambda ps: [1.0] * 4, "human")
        with pytest.raises(ValueError, match="limit must be a positive"):
            store.pending(limit=0)
        with pytest.raises(LabelStoreError, match="a clip is a seat and a first step"):
            store.add_pending("bomber", "x", "m", {}, [(ClipRef(0, -1), ClipRef(1, 0))], 4)
        # labelling a pair already labelled elsewhere stores nothing
        assert store.resolve_pending(pairs[0].pending_id, pairs[0].left, pairs[0].right, 1.0,
                                     "human") is None
        assert store.count() == 1 and store.pending_counts() == {"bomber": 3}
    with pytest.raises(LabelStoreError, match="not a label database .*tournament database"):
        LabelStore(bomber_tournament)
    assert label_count(path) == 1


def test_a_counting_tournament_is_refused_by_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from palaestra.cli.main import main
    from palaestra.league.prefs.replay_labels import labels_from_tournament

    db = tmp_path / "t.sqlite"
    assert main(["tournament", "--db", str(db), "run", "--env", "counting", "--name", "count",
                 "--agent", "counter", "--agent", "rush", "--rounds", "1", "--workers", "1",
                 "--seed", "1"]) == 0
    with LabelStore(tmp_path / "l.sqlite") as store:
        with pytest.raises(ValueError, match="Bomber and Kelly tournaments only"):
            labels_from_tournament(db, "count", store)
        with pytest.raises(ValueError, match="played 'palaestra/GridCounting-v0'"):
            pending_from_tournament(db, "count", store, np.random.default_rng(0))
        assert store.count("counting") == 0
    capsys.readouterr()
    assert main(["prefs", "import-replays", "--db", str(db), "--name", "count",
                 "--labels-db", str(tmp_path / "cli.sqlite")]) == 2
    said = capsys.readouterr()
    assert "Bomber and Kelly tournaments only" in said.out + said.err
