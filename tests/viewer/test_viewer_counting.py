"""The replay viewer on counting episodes, headless: events, the grid, T and the step count, export
and the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pygame
import pytest
from grid_replays import CREATED, counting_replay
from PIL import Image

from palaestra.cli.main import main
from palaestra.envs.counting.env import STAY
from palaestra.evaluation.replay import make_replay, save_replay
from palaestra.viewer.app import ReplayViewer
from palaestra.viewer.draw_counting import (
    AGENT_COLOR,
    DUE_COLOR,
    OUTCOME_COLORS,
    PATH_COLOR,
    TARGET_COLOR,
    grid_layout,
)
from palaestra.viewer.export import export_gif
from palaestra.viewer.timeline import Timeline


@pytest.fixture(scope="module")
def counter() -> Timeline:
    return Timeline.from_replay(counting_replay("counter", seed=5))


def count_color(frame: np.ndarray, rect: pygame.Rect, color: tuple[int, int, int]) -> int:
    region = frame[rect.top:rect.bottom, rect.left:rect.right]
    return int(np.all(region == np.array(color), axis=-1).sum())


def cell_rect(viewer: ReplayViewer, rc: tuple[int, int]) -> pygame.Rect:
    _, grid, cell = grid_layout(viewer.main_rect, viewer.tile, viewer.timeline.params["size"])
    return pygame.Rect(grid.x + rc[1] * cell, grid.y + rc[0] * cell, cell, cell)


def stayer(seed: int) -> Timeline:
    """An agent that never moves: step T passes, then the episode times out."""
    T = Timeline.from_replay(make_replay("counting", {}, seed, ["stayer"], [])).params["T"]
    return Timeline.from_replay(make_replay("counting", {}, seed, ["stayer"], [STAY] * (T + 5),
                                            created=CREATED))


# -- timeline ------------------------------------------------------------------------------------
def test_timeline_follows_the_agent(counter: Timeline) -> None:
    T = counter.params["T"]
    assert counter.family == "counting" and counter.seats == ["agent"] and counter.agents == ["counter"]
    assert counter.last_step == T == counter.replay.outcome["T"]
    first, last = counter.states[0], counter.states[-1]
    assert first.move is None and first.outcome is None
    assert sum(abs(a - b) for a, b in zip(first.agent, first.target)) == counter.params["distance"]
    assert last.agent == last.target and last.outcome == "on_time" and last.reward == 1.0
    assert [(e.step, e.kind) for e in counter.events] == [(T, "on_time")]
    assert counter.events[0].text == f"on the target exactly at step T = {T}: reward 1"


def test_misses_are_told_apart() -> None:
    early = Timeline.from_replay(counting_replay("rush", seed=5))
    assert [e.kind for e in early.events] == ["early"] and early.last_step < early.params["T"]
    late = stayer(5)
    T = late.params["T"]
    assert [(e.step, e.kind) for e in late.events] == [(T, "due"), (T + 5, "timeout")]
    assert late.events[1].text == f"time out: not on the target by step {T + 5} (T = {T}): no reward"


# -- frames --------------------------------------------------------------------------------------
def test_grid_shows_the_agent_the_target_and_the_path(counter: Timeline) -> None:
    viewer = ReplayViewer(counter)
    assert viewer.size == (928, 680)
    first, last = counter.states[0], counter.states[-1]
    frame = viewer.frame(0)
    target, agent = cell_rect(viewer, first.target), cell_rect(viewer, first.agent)
    assert count_color(frame, target, TARGET_COLOR) > 0.4 * target.w * target.h
    assert count_color(frame, agent, AGENT_COLOR) > 0.25 * agent.w * agent.h
    end = viewer.frame(counter.last_step)
    assert count_color(end, target, OUTCOME_COLORS["on_time"]) > 0.25 * target.w * target.h  # arrived
    assert count_color(end, viewer.main_rect, PATH_COLOR) > count_color(frame, viewer.main_rect, PATH_COLOR)
    assert last.agent == last.target


def test_strip_counts_the_steps_and_marks_T(counter: Timeline) -> None:
    viewer = ReplayViewer(counter)
    strip, _, _ = grid_layout(viewer.main_rect, viewer.tile, counter.params["size"])
    strip = strip.inflate(8, 8)
    filled = [count_color(viewer.frame(s), strip, AGENT_COLOR) for s in range(4)]
    assert filled[0] == 0 and filled[1] > 0
    assert filled[2] == 2 * filled[1] and filled[3] == 3 * filled[1]  # one box per step
    assert count_color(viewer.frame(0), strip, DUE_COLOR) > 0  # box T


def test_T_and_the_step_count_are_written_above_the_grid(counter: Timeline) -> None:
    viewer = ReplayViewer(counter)
    area = viewer.main_rect
    header = round(1.2 * viewer.tile)
    left = pygame.Rect(area.x, area.y, area.w // 3, header)
    right = pygame.Rect(area.right - area.w // 3, area.y, area.w // 3, header)

    def part(frame: np.ndarray, rect: pygame.Rect) -> np.ndarray:
        return frame[rect.top:rect.bottom, rect.left:rect.right]

    a, b = viewer.frame(3), viewer.frame(4)
    assert np.array_equal(part(a, left), part(b, left))  # the same T
    assert not np.array_equal(part(a, right), part(b, right))  # step 3, step 4
    other = Timeline.from_replay(counting_replay("counter", seed=0))
    assert other.params["T"] != counter.params["T"]
    assert not np.array_equal(part(ReplayViewer(other).frame(3), left), part(a, left))
    assert (part(a, left) != part(a, left)[0, 0]).any()  # something is written there


# -- export and the command line -----------------------------------------------------------------
def test_export_gif_frames_follow_the_episode(counter: Timeline, tmp_path: Path) -> None:
    out = export_gif(counter, tmp_path / "count.gif", fps=4)
    with Image.open(out) as im:
        assert im.n_frames == counter.last_step + 1 and im.info.get("duration") == 250
        im.seek(0)
        first = np.asarray(im.convert("RGB")).astype(int)
        im.seek(counter.last_step)
        last = np.asarray(im.convert("RGB")).astype(int)
    player = ReplayViewer(counter)
    player.playing = True
    assert np.abs(last - player.frame(counter.last_step)).mean() < 2
    area = player.main_rect
    assert not np.array_equal(first[area.top:area.bottom, area.left:area.right],
                              last[area.top:area.bottom, area.left:area.right])


def test_cli_exports_and_views_a_recorded_episode(counter: Timeline, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = save_replay(counter.replay, tmp_path / "count.json")
    assert main(["replay", "export", str(path), "--gif", str(tmp_path / "c.gif")]) == 0
    assert f"{counter.last_step + 1} frames written" in capsys.readouterr().out
    monkeypatch.setattr(pygame.event, "get", lambda *_a, **_k: [pygame.event.Event(pygame.QUIT)])
    assert main(["replay", "view", str(path)]) == 0
    assert main(["replay", "export", str(path), "--gif", str(tmp_path / "d.gif"), "--view", "2"]) == 2
    out = capsys.readouterr().out
    assert "--view 2: a game of palaestra/GridCounting-v0 has 1 agent(s)" in out
