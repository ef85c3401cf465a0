"""The replay viewer on hide-and-seek games, headless: events, cones, views, export and the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pygame
import pytest
from grid_replays import HNS_CONFIG, heuristic_hns_replay, random_hns_replay
from PIL import Image

from palaestra.cli.main import main
from palaestra.envs.hide_and_seek import constants as K
from palaestra.envs.hide_and_seek.render import TEAM_COLORS, WALL_COLOR, render_rgb_array
from palaestra.evaluation.replay import save_replay
from palaestra.viewer.app import ReplayViewer
from palaestra.viewer.draw_hide_and_seek import (
    AGENT_COLORS,
    CONE_ALPHA,
    SPOTTED_COLOR,
    agent_color,
    cell_size,
    grid_top,
)
from palaestra.viewer.export import export_gif
from palaestra.viewer.look import BACKGROUND
from palaestra.viewer.records import HideAndSeekState
from palaestra.viewer.timeline import Timeline

PREP = 5
"""Preparation steps of HNS_CONFIG."""


@pytest.fixture(scope="module")
def timelines() -> dict[int, Timeline]:
    """Seed 10 has locks, unlocks and a vault; seed 11 has the seeker spotting hiders."""
    return {seed: Timeline.from_replay(random_hns_replay(seed)) for seed in (10, 11)}


@pytest.fixture(scope="module")
def viewer(timelines: dict[int, Timeline]) -> ReplayViewer:
    return ReplayViewer(timelines[11])


def centre(viewer: ReplayViewer, r: int, c: int) -> tuple[int, int]:
    """Pixel (x, y) a quarter cell right of and below the centre of map cell (r, c)."""
    t = cell_size(viewer.timeline.params["grid_size"], viewer.tile)
    return c * t + t // 2 + t // 4, grid_top(t) + r * t + t // 2 + t // 4


def cell_box(viewer: ReplayViewer, r: int, c: int) -> pygame.Rect:
    t = cell_size(viewer.timeline.params["grid_size"], viewer.tile)
    return pygame.Rect(c * t, grid_top(t) + r * t, t, t)


def base_frame(viewer: ReplayViewer, s: HideAndSeekState) -> np.ndarray:
    """The env's frame of the state with nobody's view shaded."""
    t = cell_size(viewer.timeline.params["grid_size"], viewer.tile)
    return render_rgb_array(s.game, np.zeros_like(s.fov), viewer.timeline.params["config"],
                            all_hidden=s.all_hidden, tile=t)


def count_color(frame: np.ndarray, rect: pygame.Rect, color: tuple[int, int, int]) -> int:
    region = frame[rect.top:rect.bottom, rect.left:rect.right]
    return int(np.all(region == np.array(color), axis=-1).sum())


def plain_floor(s: HideAndSeekState) -> np.ndarray:
    """Cells with nothing on them: no wall, box, ramp or agent."""
    g = s.game
    return ~g.walls & (g.box_at < 0) & ~g.ramp_mask & (g.agent_at < 0)


def blend(base: np.ndarray, color: tuple[int, int, int]) -> np.ndarray:
    a = CONE_ALPHA / 255
    return base * (1 - a) + np.array(color) * a


# -- timeline ------------------------------------------------------------------------------------
def test_timeline_holds_every_state(timelines: dict[int, Timeline]) -> None:
    tl = timelines[11]
    assert tl.family == "hide_and_seek" and tl.last_step == 20 and len(tl.states) == 21
    assert tl.seats == ["hider_0", "hider_1", "seeker_0"]
    assert [s.step for s in tl.states] == list(range(21))
    assert [s.prep for s in tl.states] == [True] * PREP + [False] * (21 - PREP)
    last = tl.states[-1]
    assert last.stats == tl.replay.outcome["stats"]
    assert {"hider": last.returns[0], "seeker": last.returns[1]} == tl.replay.outcome["returns"]


def test_events_agree_with_the_states(timelines: dict[int, Timeline]) -> None:
    kinds: set[str] = set()
    for tl in timelines.values():
        assert [(e.step, e.kind) for e in tl.events if e.kind == "seek"] == [(PREP, "seek")]
        assert tl.events[-1].kind == "end" and tl.events[-1].step == 20
        seek = tl.states[-1].stats["seek"]
        assert f"hiders hidden {seek['hidden_steps']} of 15 seek steps" in tl.events[-1].text
        changes = sum(int((tl.states[i].game.box_lock != tl.states[i - 1].game.box_lock).sum())
                      for i in range(1, 21))
        assert changes == len([e for e in tl.events if e.kind in ("lock", "unlock")])
        for e in tl.events:
            kinds.add(e.kind)
            before, after = tl.state(e.step - 1), tl.state(e.step)
            if e.kind in ("lock", "unlock"):
                b = int(e.text.split("box ")[1].split(" ")[0])
                locked = (before.game.box_lock[b], after.game.box_lock[b]) if e.kind == "lock" else \
                    (after.game.box_lock[b], before.game.box_lock[b])
                assert locked[0] == K.UNLOCKED and locked[1] != K.UNLOCKED
            elif e.kind == "vault":
                assert e.agent is not None
                r, c = before.game.agent_pos[e.agent]
                assert before.game.ramp_mask[r, c]
                assert np.abs(after.game.agent_pos[e.agent] - before.game.agent_pos[e.agent]).sum() == 2
            elif e.kind == "spotted":
                assert after.seen_hiders() and not before.seen_hiders()
                assert "seeker_0 (random-2) spotted hider_" in e.text
            elif e.kind == "hidden":
                assert before.seen_hiders() and not after.seen_hiders()
        stats = tl.states[-1].stats
        vaults = stats["prep"]["ramp_uses"] + stats["seek"]["ramp_uses"]
        assert vaults == len([e for e in tl.events if e.kind == "vault"])
    assert {"lock", "unlock", "vault", "spotted", "hidden"} <= kinds  # the games show every kind


# -- frames --------------------------------------------------------------------------------------
def test_the_map_sits_under_the_title_bar(viewer: ReplayViewer) -> None:
    frame = viewer.frame(0)
    assert frame.shape == (viewer.size[1], viewer.size[0], 3)
    t = cell_size(10, viewer.tile)
    assert t == 48 and viewer.size == (10 * 48 + 192 + 400, viewer.size[1])  # the env's frame is 14 cells wide
    x, y = t // 2, grid_top(t) + t // 2
    assert tuple(frame[y, x]) == WALL_COLOR  # the outer wall's first cell
    assert tuple(frame[grid_top(t) - 3, x]) == BACKGROUND


def test_each_agent_is_in_its_teams_colour(viewer: ReplayViewer) -> None:
    for step in (2, 12):
        frame = viewer.frame(step)
        s = viewer.timeline.state(step)
        for k, (r, c) in enumerate(s.game.agent_pos):
            team = int(s.game.agent_team[k])
            color = (150, 150, 160) if s.prep and team == K.SEEKERS else TEAM_COLORS[team]  # frozen grey
            box = cell_box(viewer, int(r), int(c))
            assert count_color(frame, box, color) > 0.15 * box.w * box.h, (step, k)
            ring = agent_color(s, k)
            assert count_color(frame, box, ring) > 0, (step, k)  # the ring in the agent's own colour


def test_each_cone_is_shaded_in_its_agents_colour(viewer: ReplayViewer) -> None:
    step = 12
    s = viewer.timeline.state(step)
    frame, base = viewer.frame(step).astype(float), base_frame(viewer, s).astype(float)
    floor = plain_floor(s)
    checked = 0
    for k in range(3):
        alone = floor & s.fov[k] & ~np.delete(s.fov, k, axis=0).any(axis=0)  # seen by k only
        for r, c in list(zip(*np.nonzero(alone)))[:4]:
            x, y = centre(viewer, int(r), int(c))
            assert np.abs(frame[y, x] - blend(base[y, x], agent_color(s, k))).max() <= 2, (k, r, c)
            checked += 1
    assert checked >= 8
    unseen = floor & ~s.fov.any(axis=0)
    for r, c in list(zip(*np.nonzero(unseen)))[:6]:
        x, y = centre(viewer, int(r), int(c))
        assert np.array_equal(frame[y, x], base[y, x])
    assert len(set(AGENT_COLORS[0] + AGENT_COLORS[1])) == 6


def test_blind_seekers_have_no_cone(viewer: ReplayViewer) -> None:
    step = 2
    s = viewer.timeline.state(step)
    assert s.prep
    frame, base = viewer.frame(step), base_frame(viewer, s)
    only_seeker = plain_floor(s) & s.fov[2] & ~s.fov[:2].any(axis=0)
    assert only_seeker.any()
    for r, c in zip(*np.nonzero(only_seeker)):
        x, y = centre(viewer, int(r), int(c))
        assert np.array_equal(frame[y, x], base[y, x])


def test_one_agents_view_dims_what_it_does_not_see(viewer: ReplayViewer) -> None:
    k = 2  # seeker_0, at the first seek step where it sees some floor
    step = next(i for i, st in enumerate(viewer.timeline.states)
                if not st.prep and (plain_floor(st) & st.fov[k]).any())
    s = viewer.timeline.state(step)
    full = viewer.frame(step).astype(float)
    mine = viewer.frame(step, view=k + 1).astype(float)
    base = base_frame(viewer, s).astype(float)
    floor = plain_floor(s)
    seen = floor & s.fov[k]
    hidden = floor & ~s.fov[k]
    assert seen.any() and hidden.any()
    for r, c in zip(*np.nonzero(seen)):
        x, y = centre(viewer, int(r), int(c))
        assert np.abs(mine[y, x] - blend(base[y, x], agent_color(s, k))).max() <= 2
    for r, c in zip(*np.nonzero(hidden)):
        x, y = centre(viewer, int(r), int(c))
        assert mine[y, x].sum() < 0.4 * base[y, x].sum()  # dimmed
    assert not np.array_equal(full, mine)
    viewer.set_view(9)  # no such agent: the view stays
    assert viewer.view == 0


def test_a_spotted_hider_is_framed_and_shown_seen(viewer: ReplayViewer) -> None:
    tl = viewer.timeline
    spotted = next(e for e in tl.events if e.kind == "spotted")
    s = tl.state(spotted.step)
    k = s.seen_hiders()[0]
    r, c = (int(v) for v in s.game.agent_pos[k])
    frame = viewer.frame(spotted.step)
    assert count_color(frame, cell_box(viewer, r, c), SPOTTED_COLOR) > 0
    assert count_color(frame, viewer.agent_rects[k], SPOTTED_COLOR) > 0  # the "seen" chip
    calm = tl.state(spotted.step - 1)
    assert not calm.seen_hiders()
    frame = viewer.frame(spotted.step - 1)
    r, c = (int(v) for v in calm.game.agent_pos[k])
    assert count_color(frame, cell_box(viewer, r, c), SPOTTED_COLOR) == 0
    assert count_color(frame, viewer.agent_rects[k], SPOTTED_COLOR) == 0


def test_a_bigger_game_fits_the_window() -> None:
    config = dict(HNS_CONFIG, grid_size=16, n_hiders=3, n_seekers=3, max_steps=4)
    tl = Timeline.from_replay(random_hns_replay(1, config))
    viewer = ReplayViewer(tl)
    t = cell_size(16, 48)
    assert t == 39 and viewer.size[0] == 16 * t + 400
    assert len(viewer.frame(4)) == viewer.size[1]
    assert len(viewer.agent_rects) == 6


def test_keys_pick_an_agents_view(viewer: ReplayViewer) -> None:
    pygame.display.init()
    try:
        for key, view in ((pygame.K_3, 3), (pygame.K_5, 3), (pygame.K_0, 0), (pygame.K_1, 1)):
            viewer.handle(pygame.event.Event(pygame.KEYDOWN, key=key))
            assert viewer.view == view
    finally:
        viewer.set_view(0)
        pygame.display.quit()


# -- export and the command line -----------------------------------------------------------------
def test_export_gif_frames_follow_the_game(viewer: ReplayViewer, tmp_path: Path) -> None:
    tl = viewer.timeline
    out = export_gif(tl, tmp_path / "hns.gif", fps=10)
    with Image.open(out) as im:
        assert im.n_frames == tl.last_step + 1 and im.size == viewer.size
        frames = []
        for step in (0, 12, tl.last_step):
            im.seek(step)
            frames.append(np.asarray(im.convert("RGB")).astype(int))
    player = ReplayViewer(tl)
    player.playing = True
    assert np.abs(frames[1] - player.frame(12)).mean() < 2
    main_area = player.main_rect
    moved = [f[main_area.top:main_area.bottom, main_area.left:main_area.right] for f in frames]
    assert not np.array_equal(moved[0], moved[1]) and not np.array_equal(moved[1], moved[2])


def test_cli_exports_and_views_a_recorded_game(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = save_replay(heuristic_hns_replay(3, dict(HNS_CONFIG, max_steps=12)), tmp_path / "hns.json.gz")
    assert main(["replay", "export", str(path), "--gif", str(tmp_path / "h.gif"), "--view", "1"]) == 0
    assert "13 frames written" in capsys.readouterr().out
    with Image.open(tmp_path / "h.gif") as im:
        assert im.n_frames == 13
    frames: list[Any] = []

    def quit_after_a_few(*_: Any, **__: Any) -> list[pygame.event.Event]:
        frames.append(1)
        return [pygame.event.Event(pygame.QUIT)] if len(frames) > 3 else []

    monkeypatch.setattr(pygame.event, "get", quit_after_a_few)
    assert main(["replay", "view", str(path), "--view", "3"]) == 0
    assert len(frames) == 4 and not pygame.display.get_init()
    assert main(["replay", "view", str(path), "--view", "4"]) == 2
    assert "--view 4: a game of palaestra/HideAndSeek-v0 has 3 agent(s)" in capsys.readouterr().out
