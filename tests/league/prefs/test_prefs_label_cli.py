"""`palaestra prefs import-replays --pending` and `palaestra prefs label` on the command line; the
window's keyboard is replaced by scripted key presses."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import sqlite3  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pygame  # noqa: E402
import pytest  # noqa: E402

from palaestra.cli.main import main  # noqa: E402
from palaestra.league.prefs.labels import LabelStore  # noqa: E402


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, " ".join((out.out + out.err).split())


def keyboard(monkeypatch: pytest.MonkeyPatch, *ks: int) -> None:
    """The window's next key presses, one a frame; then Q (stop)."""
    presses: Iterator[int] = iter([*ks, pygame.K_q])

    def get(*_: object, **__: object) -> list[pygame.event.Event]:
        k = next(presses, pygame.K_q)
        return [pygame.event.Event(pygame.KEYDOWN, key=k, mod=0, unicode="", scancode=0)]

    monkeypatch.setattr(pygame.event, "get", get)


@pytest.fixture()
def queued(bomber_tournament: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    db = tmp_path / "mine.sqlite"
    code, out = run(capsys, "prefs", "import-replays", "--db", str(bomber_tournament), "--name",
                    "ffa", "--labels-db", str(db), "--pending", "--length", "6")
    assert code == 0
    assert "12 pairs from 2 matches queued for labelling by hand (1 skipped" in out
    # the console may wrap a long path anywhere: compare without any whitespace
    squeeze = lambda text: "".join(text.split())  # noqa: E731
    assert squeeze(f"palaestra prefs label --labels-db {db}") in squeeze(out)
    return db


def test_help_explains_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["prefs", "label", "--help"])
    assert info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for words in ("usage: palaestra prefs label", "--labels-db", "import-replays --pending",
                  "Backspace undo", "S/Space skip", "stay queued", "--list", "--drop ID",
                  "--limit", "prefs fit --labels-db"):
        assert words in text, words


def test_label_by_keyboard_stores_labels_and_empties_the_queue(
        queued: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = run(capsys, "prefs", "label", "--labels-db", str(queued), "--list")
    assert code == 0 and "pair 1: bomber, replay:ffa, 6 steps: walker (player_0) from step 4 | " \
        "static (player_1) from step 34" in out and "12 pending pairs" in out
    keyboard(monkeypatch, pygame.K_LEFT, pygame.K_s, pygame.K_RIGHT, pygame.K_BACKSPACE,
             pygame.K_t)
    code, out = run(capsys, "prefs", "label", "--labels-db", str(queued), "--limit", "5",
                    "--labeller", "ana")
    assert code == 0
    assert ("2 labelled (1 left better, 0 right better, 1 ties), 1 skipped, 2 not reached; "
            "10 pairs still pending") in out
    assert "".join(f"prefs fit --labels-db {queued} --env bomber".split()) in "".join(out.split())
    with LabelStore(queued) as store:
        assert [(c.label, c.labeller) for c in store.comparisons("bomber")] == \
            [(1.0, "human:ana"), (0.5, "human:ana")]
        ids = [r.pending_id for r in store.pending()]
    code, out = run(capsys, "prefs", "label", "--labels-db", str(queued), "--drop",
                    str(ids[0]), "--drop", str(ids[1]))
    assert code == 0 and "removed 2 pending pairs; 8 pending" in out
    keyboard(monkeypatch)  # stop at once
    code, out = run(capsys, "prefs", "label", "--labels-db", str(queued))
    assert code == 0 and "no labels given (0 skipped, 8 not reached): nothing was stored" in out
    keyboard(monkeypatch, *[pygame.K_a] * 8)
    code, out = run(capsys, "prefs", "label", "--labels-db", str(queued), "--blind")
    assert code == 0 and "8 labelled" in out and "0 pairs still pending" in out
    code, out = run(capsys, "prefs", "label", "--labels-db", str(queued))
    assert code == 0 and f"nothing to label: no pending pairs in {queued}" in out


def test_mistakes_are_one_clear_line_and_lose_no_label(
        queued: Path, tmp_path: Path, bomber_tournament: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nowhere.sqlite"
    code, out = run(capsys, "prefs", "label", "--labels-db", str(missing))
    assert code == 2 and f"error: no label store at {missing}" in out and not missing.exists()
    code, out = run(capsys, "prefs", "label", "--labels-db", str(bomber_tournament))
    assert code == 2 and "not a label database" in out
    with pytest.raises(SystemExit):  # only Bomber pairs are queued
        main(["prefs", "label", "--labels-db", str(queued), "--env", "kelly"])
    assert "invalid choice: 'kelly' (choose from 'bomber')" in capsys.readouterr().err
    with LabelStore(tmp_path / "empty.sqlite"):
        pass
    code, out = run(capsys, "prefs", "label", "--labels-db", str(tmp_path / "empty.sqlite"),
                    "--env", "bomber")
    assert code == 0 and "nothing to label: no pending bomber pairs in" in out
    assert "import-replays --db T --name N" in out
    code, out = run(capsys, "prefs", "import-replays", "--db", str(bomber_tournament), "--name",
                    "kelly", "--labels-db", str(queued), "--pending")
    assert code == 2 and "is a Kelly one" in out
    code, out = run(capsys, "prefs", "label", "--labels-db", str(queued), "--drop", "999")
    assert code == 2 and "no pending pair 999; nothing was removed" in out
    keyboard(monkeypatch, pygame.K_LEFT)
    assert run(capsys, "prefs", "label", "--labels-db", str(queued), "--limit", "1")[0] == 0
    with sqlite3.connect(queued) as db:
        db.execute("UPDATE pending SET left_start=500 WHERE id=(SELECT MIN(id) FROM pending)")
    db.close()
    code, out = run(capsys, "prefs", "label", "--labels-db", str(queued))
    assert code == 2 and "pending pair 2 (replay:ffa) cannot be shown" in out
    assert "prefs label --drop 2" in out
    with LabelStore(queued) as store:
        assert store.count() == 1 and store.pending_counts() == {"bomber": 11}
