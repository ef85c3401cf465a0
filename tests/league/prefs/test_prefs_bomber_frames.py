"""Bomber segments cut from replays carry small RGB frames of the board, and the labelling window
shows them as boards."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pygame  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from palaestra.envs.bomber import render as R  # noqa: E402
from palaestra.envs.bomber.constants import BOARD_SIZE  # noqa: E402
from palaestra.league.prefs.bomber_clips import (  # noqa: E402
    ACTION_NAMES,
    FRAME_TILE,
    MARK_COLOR,
    BomberGame,
)
from palaestra.league.prefs.labels import LabelStore  # noqa: E402
from palaestra.league.prefs.replay_labels import (  # noqa: E402
    bomber_replay_segments,
    labels_from_tournament,
)
from palaestra.league.prefs.segments import Segment  # noqa: E402
from palaestra.viewer.prefs_labeller import LabellerConfig, label_pairs  # noqa: E402

BomberReplay = Callable[..., dict[str, Any]]  # the conftest's fixture: a replay of a short game
BOARD_PX = BOARD_SIZE * FRAME_TILE
FRAME_SHAPE = (BOARD_PX + round(0.8 * FRAME_TILE), BOARD_PX, 3)  # the board and its status bar


def ring(frame: np.ndarray, cell: tuple[int, int], tile: int = FRAME_TILE) -> np.ndarray:
    """The outermost pixels of a cell of a frame."""
    r, c = cell
    box = frame[r * tile:(r + 1) * tile, c * tile:(c + 1) * tile]
    return np.concatenate([box[0], box[-1], box[:, 0], box[:, -1]])


def expected_frame(game: BomberGame, seat: int, t: int) -> np.ndarray:
    """The board before game step ``t``, the seat's cell outlined."""
    return R.outline_cell(game.frame(t), *game._boards[t].positions[seat], tile=FRAME_TILE,
                          color=MARK_COLOR)


def test_every_seat_gets_frames_of_the_board_with_its_agent_outlined(
        bomber_replay: BomberReplay) -> None:
    replay = bomber_replay(1)
    game = BomberGame(replay)
    segs = bomber_replay_segments(replay, length=12)
    assert len(segs) == 4
    for seat, seg in enumerate(segs):
        assert seg.frames is not None and seg.frames.dtype == np.uint8
        assert seg.frames.shape == (12, *FRAME_SHAPE)
        assert seg.agent == f"{replay['agents'][seat]} (player_{seat})"
        assert seg.start == game.last_start(seat, 12)
        for k in range(seg.length):
            t = min(seg.start + k, game.played(seat))  # an absorbing step shows the board after
            assert np.array_equal(seg.frames[k], expected_frame(game, seat, t))
            pos = tuple(game._boards[t].positions[seat])
            assert np.all(ring(seg.frames[k], pos) == MARK_COLOR)
            # apart from the outline in the seat's cell, the frame is the board as drawn
            differs = np.any(seg.frames[k] != game.frame(t), axis=2)
            r, c = pos
            cell = differs[r * FRAME_TILE:(r + 1) * FRAME_TILE, c * FRAME_TILE:(c + 1) * FRAME_TILE]
            assert cell.sum() > 0 and cell.sum() == differs.sum()
    # the clips move: a board changes over a clip (bombs, flames, agents walking)
    assert any(not np.array_equal(s.frames[0], s.frames[-1]) for s in segs)  # type: ignore[index]
    assert game.frame(0).shape == FRAME_SHAPE


def test_an_early_death_is_padded_with_the_board_after_it(bomber_replay: BomberReplay) -> None:
    replay = bomber_replay(1)
    game = BomberGame(replay)
    seat = 0  # laid a bomb at once and stood by it
    played = game.played(seat)
    assert played < len(replay["actions"])
    seg = game.clip(seat, 0, played + 3)
    assert seg.absorbing is not None and seg.absorbing.tolist() == [False] * played + [True] * 3
    assert seg.frames is not None
    for k in range(played, seg.length):
        assert np.array_equal(seg.frames[k], expected_frame(game, seat, played))
    assert not np.array_equal(seg.frames[played - 1], seg.frames[played])
    assert seg.true_return == -1.0  # it died: the last real step paid -1


def test_clips_are_the_same_every_time_and_survive_storing(bomber_replay: BomberReplay) -> None:
    replay = bomber_replay(2)
    a = bomber_replay_segments(replay, length=6)
    b = BomberGame(replay).clip(2, a[2].start, 6)
    assert np.array_equal(a[2].frames, b.frames) and np.array_equal(a[2].obs, b.obs)  # type: ignore[arg-type]
    again = Segment.from_bytes(a[2].to_bytes())
    assert np.array_equal(again.frames, a[2].frames)  # type: ignore[arg-type]


def test_tile_sets_the_frame_size_and_none_gives_no_frames(bomber_replay: BomberReplay) -> None:
    replay = bomber_replay(1)
    small = bomber_replay_segments(replay, length=4, tile=8)
    assert small[1].frames is not None
    assert small[1].frames.shape == (4, BOARD_SIZE * 8 + round(6.4), BOARD_SIZE * 8, 3)
    assert all(s.frames is None for s in bomber_replay_segments(replay, length=4, tile=None))


def test_labels_from_the_outcome_store_no_frames(bomber_tournament: Path, tmp_path: Path) -> None:
    with LabelStore(tmp_path / "l.sqlite") as store:
        got = labels_from_tournament(bomber_tournament, "ffa", store, bomber_length=8)
        comps = store.comparisons("bomber")
    assert (got.matches, got.labels, got.skipped_matches) == (2, 12, 1)
    assert all(c.left.frames is None and c.right.frames is None for c in comps)
    assert comps[0].left.obs.shape == (8, 2662)


@pytest.mark.parametrize("replay, match", [
    ({"env_id": "palaestra/KellyCoinflip-v0", "seed": 1, "actions": [], "agents": []},
     "not a Bomber replay"),
    ({"env_id": "palaestra/Bomber-v0", "env_config": {"mode": "team_radio"}, "seed": 1,
      "actions": [], "agents": ["a"] * 4}, "team_radio"),
    ({"env_id": "palaestra/Bomber-v0", "seed": 1, "agents": ["a"] * 4}, "'actions'"),
    ({"env_id": "palaestra/Bomber-v0", "seed": 1, "actions": [{"player_9": 1}],
      "agents": ["a"] * 4}, "step 0 of the replay"),
    ({"env_id": "palaestra/Bomber-v0", "seed": 1, "actions": [], "agents": ["a"] * 3},
     "names 4 agents"),
])
def test_what_is_not_a_playable_bomber_replay_is_refused(replay: dict[str, object],
                                                         match: str) -> None:
    with pytest.raises(ValueError, match=match):
        BomberGame(replay)


def test_a_clip_outside_the_game_is_refused(bomber_replay: BomberReplay) -> None:
    game = BomberGame(bomber_replay(1))
    with pytest.raises(ValueError, match="seat must be 0-3"):
        game.clip(4, 0, 5)
    with pytest.raises(ValueError, match="start must be a step of seat 1"):
        game.clip(1, game.played(1), 5)
    with pytest.raises(ValueError, match="length must be a positive"):
        game.clip(1, 0, 0)


def test_outline_cell_draws_on_a_copy_inside_the_frame() -> None:
    frame = np.zeros((40, 32, 3), dtype=np.uint8)
    out = R.outline_cell(frame, 1, 0, tile=16, color=(255, 0, 0))
    assert not frame.any() and np.all(ring(out, (1, 0), 16) == (255, 0, 0))
    assert not out[:16].any() and not out[:, 16:].any()
    with pytest.raises(ValueError, match="outside"):
        R.outline_cell(frame, 2, 0, tile=16, color=(255, 0, 0))


def test_the_labeller_shows_both_clips_as_boards(bomber_replay: BomberReplay,
                                                 tmp_path: Path) -> None:
    segs = bomber_replay_segments(bomber_replay(2), length=8)
    path = tmp_path / "boards.png"
    config = LabellerConfig(action_names=ACTION_NAMES)
    result = label_pairs([(segs[1], segs[2])], config, events=[[pygame.event.Event(
        pygame.KEYDOWN, key=pygame.K_LEFT, mod=0, unicode="", scancode=0)]], screenshot=path)
    assert [lab.label for lab in result.labels] == [1.0]
    img = np.asarray(Image.open(path).convert("RGB"))
    half = img.shape[1] // 2
    for side in (img[:, :half], img[:, half:]):
        pixels = {tuple(p) for p in side.reshape(-1, 3)}
        # each panel holds a board scaled by a whole factor: its wall, wood and floor colours
        assert R.RIGID_COLOR in pixels and R.WOOD_COLOR in pixels and R.PASSAGE_COLORS[0] in pixels
        assert MARK_COLOR in pixels
        rigid = np.all(side == R.RIGID_COLOR, axis=2)
        rows = np.nonzero(rigid.any(axis=1))[0]
        assert rows.max() - rows.min() > 1.5 * BOARD_PX  # scaled up (2x), not the 176 px frame


def test_the_window_names_bomber_actions_and_the_steps_past_the_end() -> None:
    from palaestra.viewer.prefs_painter import Painter

    painter = Painter(LabellerConfig(action_names=ACTION_NAMES), 1)
    assert ACTION_NAMES == ("stop", "up", "down", "left", "right", "bomb")
    assert painter._action(np.array([5.0])) == "5 (bomb)"
    assert painter._action(np.array([7.0])) == "7"  # not a known action: the number alone
    assert Painter(LabellerConfig(), 1)._action(np.array([3.0])) == "3"
    for bad in ("stop", ("stop", "")):
        with pytest.raises(ValueError, match="action_names"):
            LabellerConfig(action_names=bad)  # type: ignore[arg-type]
