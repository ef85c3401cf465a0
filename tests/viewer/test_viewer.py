"""The replay viewer, headless: timelines and their events, rendered frames, controls, export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pygame
import pytest
from PIL import Image

import palaestra.envs  # noqa: F401  (registers the envs)
from palaestra.agents.scripted.bomber import make_scripted_bomber_agent
from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber.env import BomberParallelEnv
from palaestra.envs.bomber.render import AGENT_COLORS, FOG_COLOR
from palaestra.evaluation.replay import Replay, ReplayError, make_replay, save_replay
from palaestra.viewer import look
from palaestra.viewer import timeline as T
from palaestra.viewer.app import ReplayViewer, ViewerError, view_replay
from palaestra.viewer.export import export_animation, export_gif, export_mp4
from palaestra.viewer.look import DEAD_COLOR, SEEK_FILL
from palaestra.viewer.timeline import KellyState, Timeline, load_timeline

CREATED = "2025-01-01T00:00:00+00:00"
STOP, UP, DOWN, LEFT, RIGHT, BOMB = range(6)
OPEN_BOARD = {"mode": "ffa", "num_rigid": 0, "num_wood": 12, "num_items": 0, "max_steps": 40}
"""No rigid walls, only the 12 corridor crates: rows 1 and 9 are blocked at columns 4..6."""


def scripted_replay(plans: dict[str, list[int]], steps: int, config: dict[str, Any] = OPEN_BOARD,
                    seed: int = 0) -> Replay:
    """A Bomber game where each agent plays its list of moves, then stands still."""
    env = BomberParallelEnv(**config)
    env.reset(seed=seed)
    actions = []
    for t in range(steps):
        if not env.agents:
            break
        step = {n: plans.get(n, [])[t] if t < len(plans.get(n, [])) else STOP for n in env.agents}
        env.step(step)
        actions.append(step)
    return make_replay("bomber", config, seed, ["alice", "bob", "carol", "dave"], actions, created=CREATED)


def scripted_agents_replay(kinds: list[str], seed: int, max_steps: int) -> Replay:
    """A Bomber game of scripted agents (dead agents stand still)."""
    config = {"mode": "ffa", "max_steps": max_steps}
    env = BomberParallelEnv(**config)
    obs, _ = env.reset(seed=seed)
    agents = [make_scripted_bomber_agent(k) for k in kinds]
    for i, agent in enumerate(agents):
        agent.reset(np.random.default_rng(100 * seed + i))
    actions = []
    while env.agents:
        alive = env.batch.agents[0, :, 0]
        step = {n: int(agents[int(n[-1])].act(obs[n])) if alive[int(n[-1])] else STOP for n in env.agents}
        obs, *_ = env.step(step)
        actions.append(step)
    return make_replay("bomber", config, seed, list(kinds), actions, created=CREATED)


def kelly_replay(bet: Any, seed: int, name: str = "bettor") -> Replay:
    """A Kelly game betting ``bet(wealth_cents)`` every round."""
    env = gym.make("palaestra/KellyCoinflip-v0")
    _, info = env.reset(seed=seed)
    bets, done = [], False
    while not done:
        bets.append(int(bet(info["wealth_cents"])))
        _, _, terminated, truncated, info = env.step(bets[-1])
        done = terminated or truncated
    return make_replay("kelly", {}, seed, [name], bets, created=CREATED)


# player_1 blows itself up at once; player_0 walks round the crates to (1, 8), bombs player_3 at
# (1, 9) and steps out of the blast.
KILL_PLANS = {"player_0": [DOWN] + [RIGHT] * 7 + [UP, BOMB, DOWN, LEFT], "player_1": [BOMB]}


@pytest.fixture(scope="module")
def kill_timeline() -> Timeline:
    return Timeline.from_replay(scripted_replay(KILL_PLANS, 22))


@pytest.fixture(scope="module")
def game_timeline() -> Timeline:
    return Timeline.from_replay(scripted_agents_replay(["simple", "random", "simple", "simple"], 4, 120))


@pytest.fixture(scope="module")
def kelly_timeline() -> Timeline:
    return Timeline.from_replay(kelly_replay(lambda w: w // 5, seed=3, name="fifth"))


@pytest.fixture()
def display() -> Any:
    pygame.display.init()
    yield
    pygame.display.quit()


def pixel(frame: np.ndarray, x: float, y: float) -> tuple[int, ...]:
    return tuple(int(v) for v in frame[round(y), round(x)])


def count_color(frame: np.ndarray, rect: pygame.Rect, color: tuple[int, int, int]) -> int:
    region = frame[rect.top:rect.bottom, rect.left:rect.right]
    return int(np.all(region == np.array(color), axis=-1).sum())


# -- timeline ------------------------------------------------------------------------------------
def test_kill_event_names_the_bomber_and_self_kills_are_deaths(kill_timeline: Timeline) -> None:
    tl = kill_timeline
    assert tl.last_step == 22 and len(tl.states) == 23
    kills = [e for e in tl.events if e.kind == "kill"]
    assert len(kills) == 1
    kill = kills[0]
    assert (kill.agent, kill.victim, kill.killers, kill.name) == (0, 3, (0,), "player_0")
    assert kill.text == "player_0 (alice) killed player_3 (dave)"
    assert tl.state(kill.step - 1).alive[3] and not tl.state(kill.step).alive[3]
    deaths = [e for e in tl.events if e.kind == "death"]
    assert [(e.victim, e.text) for e in deaths] == [(1, "player_1 (bob) died in its own blast")]
    assert tl.death_step(3) == kill.step and tl.death_step(0) is None
    bombs = [(e.agent, e.text) for e in tl.events if e.kind == "bomb"]
    assert bombs == [(1, "player_1 laid a bomb at (9, 1)"), (0, "player_0 laid a bomb at (1, 8)")]
    assert [e.step for e in tl.events] == sorted(e.step for e in tl.events)
    assert tl.events_until(kill.step - 1, ["kill"]) == [] and tl.events_until(kill.step, ["kill"]) == [kill]


def test_game_end_gives_a_win_event() -> None:
    plans = dict(KILL_PLANS, player_2=[BOMB])  # player_2 dies at once too: player_0 is left
    tl = Timeline.from_replay(scripted_replay(plans, 22))
    assert tl.replay.outcome["winners"] == ["player_0"]
    last = tl.events[-1]
    assert (last.kind, last.agent, last.step, last.text) == ("win", 0, tl.last_step, "player_0 (alice) wins")


def test_pickups_and_explosions_agree_with_the_states(game_timeline: Timeline) -> None:
    tl = game_timeline
    pickups = [e for e in tl.events if e.kind == "pickup"]
    assert pickups, "the simple agents pick up power-ups in this game"
    names = {"extra bomb": 3, "blast range": 4, "kick": 5}
    for e in pickups:
        before, after = tl.state(e.step - 1).agents[e.agent], tl.state(e.step).agents[e.agent]
        column = next(col for item, col in names.items() if e.text.endswith(item))
        if column == 5:
            assert after[5] == 1
        elif column == 4:
            assert after[4] == min(before[4] + 1, C.MAX_BLAST_STRENGTH)
        assert tuple(after[1:3]) != tuple(before[1:3])
    # every cell set on fire in a step is reached by the blast of a bomb that went off in it
    for i in range(1, tl.last_step + 1):
        before, after = tl.state(i - 1), tl.state(i)
        new_fire = {(int(r), int(c)) for r, c, life in after.flames if life == C.FLAME_LIFE}
        gone = {(int(o), int(r), int(c)) for o, r, c, *_ in before.bombs} - \
            {(int(o), int(r), int(c)) for o, r, c, *_ in after.bombs}
        reach = set()
        for o, r, c, _, strength, _ in before.bombs:
            if (int(o), int(r), int(c)) in gone:
                reach |= T.blast_cells(before.board, int(r), int(c), int(strength))
        assert new_fire == reach, f"step {i}"
    dead = [k for k, a in enumerate(tl.state(tl.last_step).alive) if not a]
    assert sorted(e.victim for e in tl.events if e.kind in ("kill", "death")) == dead


def test_blast_cells_follow_pommerman() -> None:
    board = np.zeros((11, 11), dtype=np.int8)
    board[5, 7] = C.WOOD
    board[3, 5] = C.RIGID
    cells = T.blast_cells(board, 5, 5, 3)
    # up: (4,5) then the rigid wall; down: own cell, (6,5), (7,5); left: (5,4), (5,3); right: (5,6),
    # then wood at (5,7) burns and stops the blast
    assert cells == {(4, 5), (5, 5), (6, 5), (7, 5), (5, 4), (5, 3), (5, 6), (5, 7)}


def test_kelly_timeline_tracks_wealth_and_ends(kelly_timeline: Timeline) -> None:
    tl = kelly_timeline
    assert tl.family == "kelly" and tl.last_step == tl.replay.steps
    first, last = tl.states[0], tl.states[-1]
    assert isinstance(first, KellyState) and first.wealth_cents == 2500 and first.won is None
    assert last.wealth_cents == round(tl.replay.outcome["final_wealth"] * 100)
    for prev, s in zip(tl.states, tl.states[1:]):
        assert s.bet_cents == prev.wealth_cents // 5
        assert s.wealth_cents == min(prev.wealth_cents + s.bet_cents, 25_000) if s.won \
            else s.wealth_cents == prev.wealth_cents - s.bet_cents
    assert [e.kind for e in tl.events] == ["cap"] and tl.events[0].step == tl.last_step
    assert tl.params["cap_cents"] == 25_000 and tl.params["rounds"] == 300


def test_kelly_bust_and_rounds_running_out() -> None:
    bust = next(tl for tl in (Timeline.from_replay(kelly_replay(lambda w: w, s)) for s in range(20))
                if tl.states[-1].wealth_cents == 0)
    assert [e.kind for e in bust.events] == ["bust"]
    assert bust.events[0].text == f"bust: wealth $0.00 after round {bust.last_step}"
    idle = Timeline.from_replay(kelly_replay(lambda w: 0, 0))
    assert idle.last_step == 300
    assert [e.text for e in idle.events] == ["rounds ran out: $25.00 after 300 rounds"]


# -- frames --------------------------------------------------------------------------------------
def test_full_view_shows_each_agent_in_its_colour(kill_timeline: Timeline) -> None:
    viewer = ReplayViewer(kill_timeline)
    frame = viewer.frame(0)
    assert frame.shape == (viewer.size[1], viewer.size[0], 3) and frame.dtype == np.uint8
    state = kill_timeline.state(0)
    for k in range(4):
        cell = viewer.cell_rect(int(state.agents[k, 1]), int(state.agents[k, 2]))
        assert pixel(frame, cell.centerx + 0.2 * viewer.tile, cell.centery) == AGENT_COLORS[k]


def test_agent_view_fogs_cells_outside_its_square(kill_timeline: Timeline) -> None:
    viewer = ReplayViewer(kill_timeline)
    full, fogged = viewer.frame(0), viewer.frame(0, view=1)  # player_0 at (1, 1), sees rows/cols 0..5
    assert kill_timeline.params["agent_view_size"] == 4
    for r, c in [(9, 9), (1, 9), (9, 1), (6, 6)]:
        cell = viewer.cell_rect(r, c)
        region = fogged[cell.top + 4:cell.bottom - 4, cell.left + 4:cell.right - 4].reshape(-1, 3)
        assert np.abs(region.mean(axis=0) - np.array(FOG_COLOR)).max() < 8, (r, c)
        assert not np.array_equal(full[cell.top:cell.bottom, cell.left:cell.right],
                                  fogged[cell.top:cell.bottom, cell.left:cell.right])
    inside = viewer.cell_rect(3, 3)
    assert np.array_equal(full[inside.top + 4:inside.bottom - 4, inside.left + 4:inside.right - 4],
                          fogged[inside.top + 4:inside.bottom - 4, inside.left + 4:inside.right - 4])
    # the agent sees itself in its colour; agent 3 (far away) is hidden
    me = viewer.cell_rect(1, 1)
    assert pixel(fogged, me.centerx + 0.2 * viewer.tile, me.centery) == AGENT_COLORS[0]
    far = viewer.cell_rect(1, 9)
    assert pixel(fogged, far.centerx + 0.2 * viewer.tile, far.centery) != AGENT_COLORS[3]


def test_dead_agent_is_shown_dead_in_the_panel(kill_timeline: Timeline) -> None:
    viewer = ReplayViewer(kill_timeline, ratings={"alice": "1500 ± 50"})
    died = kill_timeline.death_step(3)
    alive_frame = viewer.frame(died - 1)
    badge = viewer.status_rects[3]
    assert count_color(alive_frame, badge, DEAD_COLOR) == 0
    dead_frame = viewer.frame(died)
    assert count_color(dead_frame, viewer.status_rects[3], DEAD_COLOR) > 0.3 * badge.w * badge.h
    assert count_color(dead_frame, viewer.status_rects[0], DEAD_COLOR) == 0
    # ratings are drawn in the agent's row
    plain = ReplayViewer(kill_timeline).frame(died)
    row = viewer.agent_rects[0]
    assert not np.array_equal(plain[row.top:row.bottom, row.left:row.right],
                              dead_frame[row.top:row.bottom, row.left:row.right])


def test_seek_bar_fills_with_the_step(kill_timeline: Timeline) -> None:
    viewer = ReplayViewer(kill_timeline)
    bar = viewer.seek_rect
    counts = [count_color(viewer.frame(s), bar, SEEK_FILL) for s in (0, 5, 11, 22)]
    assert counts[0] == 0 and counts[0] < counts[1] < counts[2] < counts[3]
    viewer.seek(11)
    assert abs(viewer.seek_fill_width() - bar.w / 2) <= 1


def test_kelly_frame_is_a_wealth_chart(kelly_timeline: Timeline) -> None:
    viewer = ReplayViewer(kelly_timeline, ratings={"fifth": "1400"})
    mid = viewer.frame(kelly_timeline.last_step // 2)
    assert mid.shape == (viewer.size[1], viewer.size[0], 3)
    chart = viewer.main_rect
    assert count_color(mid, chart, look.WEALTH_COLOR) > 200
    assert count_color(mid, chart, look.CAP_COLOR) > 100
    assert count_color(mid, chart, look.WIN_BAR) > 0 and count_color(mid, chart, look.LOSS_BAR) > 0
    assert not np.array_equal(mid, viewer.frame(kelly_timeline.last_step))


# -- controls ------------------------------------------------------------------------------------
def post_keys(viewer: ReplayViewer, *keys: int) -> list[bool]:
    for key in keys:
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key))
    return [viewer.handle(e) for e in pygame.event.get() if e.type == pygame.KEYDOWN]


def test_keys_play_pause_step_and_speed(kill_timeline: Timeline, display: Any) -> None:
    viewer = ReplayViewer(kill_timeline)
    assert (viewer.step, viewer.playing, viewer.speed) == (0, False, 1.0)
    post_keys(viewer, pygame.K_SPACE)
    assert viewer.playing
    viewer.tick(0.5)  # x1 plays 8 steps a second
    assert viewer.step == 4
    post_keys(viewer, pygame.K_SPACE, pygame.K_RIGHT, pygame.K_RIGHT, pygame.K_LEFT)
    assert (viewer.step, viewer.playing) == (5, False)
    viewer.tick(1.0)
    assert viewer.step == 5
    post_keys(viewer, pygame.K_END)
    assert viewer.step == kill_timeline.last_step
    post_keys(viewer, pygame.K_RIGHT, pygame.K_HOME)
    assert viewer.step == 0
    post_keys(viewer, pygame.K_UP, pygame.K_UP)
    assert viewer.speed == 4.0
    post_keys(viewer, *[pygame.K_DOWN] * 10)
    assert viewer.speed == 0.25
    post_keys(viewer, *[pygame.K_UP] * 10)
    assert viewer.speed == 16.0
    post_keys(viewer, pygame.K_SPACE)
    viewer.tick(10.0)  # runs to the end and stops there
    assert (viewer.step, viewer.playing) == (kill_timeline.last_step, False)
    post_keys(viewer, pygame.K_SPACE)  # play at the end starts again
    assert (viewer.step, viewer.playing) == (0, True)
    post_keys(viewer, pygame.K_3)
    assert viewer.view == 3
    post_keys(viewer, pygame.K_0, pygame.K_b)
    assert viewer.view == 0 and viewer.show_bombs
    assert post_keys(viewer, pygame.K_q) == [False]
    assert post_keys(viewer, pygame.K_ESCAPE) == [False]
    assert viewer.handle(pygame.event.Event(pygame.QUIT)) is False


def test_click_on_the_seek_bar_seeks(kill_timeline: Timeline, display: Any) -> None:
    viewer = ReplayViewer(kill_timeline)
    bar = viewer.seek_rect
    middle = (bar.x + bar.w // 2, bar.centery)
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=middle))
    for e in pygame.event.get():
        assert viewer.handle(e)
    assert viewer.step == 11
    viewer.handle(pygame.event.Event(pygame.MOUSEMOTION, pos=(bar.right, bar.centery), buttons=(1, 0, 0)))
    assert viewer.step == kill_timeline.last_step
    viewer.handle(pygame.event.Event(pygame.MOUSEBUTTONUP, button=1, pos=(bar.right, bar.centery)))
    viewer.handle(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=(bar.x + 3, 5)))  # off the bar
    assert viewer.step == kill_timeline.last_step


def test_run_opens_a_window_with_the_dummy_driver(kill_timeline: Timeline) -> None:
    viewer = ReplayViewer(kill_timeline)
    viewer.playing = True
    viewer.change_speed(+10)  # x16: about two steps a frame at 60 fps
    viewer.run(fps=60, max_frames=6)
    assert viewer.step > 0 and not pygame.display.get_init()


def test_missing_display_is_a_clear_error(kill_timeline: Timeline, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    pygame.display.quit()
    for var in ("SDL_VIDEODRIVER", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    viewer = ReplayViewer(kill_timeline)
    with pytest.raises(ViewerError, match="no display.*palaestra replay export.*SDL_VIDEODRIVER=dummy"):
        viewer.run()
    path = save_replay(kill_timeline.replay, tmp_path / "game.json")
    with pytest.raises(ViewerError, match="no display"):
        view_replay(path)
    monkeypatch.setenv("SDL_VIDEODRIVER", "no-such-video-driver")
    with pytest.raises(ViewerError, match="cannot open a window"):
        viewer.run()


def test_bad_file_gives_the_replay_loader_error(tmp_path: Path) -> None:
    with pytest.raises(ReplayError, match="not found"):
        load_timeline(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ReplayError, match="not valid JSON"):
        load_timeline(bad)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ReplayError, match="not a palaestra replay"):
        load_timeline(other)


def test_load_timeline_reads_a_saved_replay(kill_timeline: Timeline, tmp_path: Path) -> None:
    path = save_replay(kill_timeline.replay, tmp_path / "game.json.gz")
    tl = load_timeline(path)
    assert tl.events == kill_timeline.events and tl.last_step == kill_timeline.last_step


# -- export --------------------------------------------------------------------------------------
def test_export_gif_has_one_frame_per_step(kill_timeline: Timeline, tmp_path: Path) -> None:
    out = export_gif(kill_timeline, tmp_path / "sub" / "game.gif", fps=10, view=1)
    assert out == tmp_path / "sub" / "game.gif"
    with Image.open(out) as im:
        assert im.format == "GIF" and im.n_frames == kill_timeline.last_step + 1
        assert im.info.get("loop") == 0 and im.info.get("duration") == 100
        assert im.size == ReplayViewer(kill_timeline).size
        viewer = ReplayViewer(kill_timeline)
        viewer.playing = True
        for step in (0, 11, kill_timeline.last_step):  # delta frames composite to the real picture
            im.seek(step)
            decoded = np.asarray(im.convert("RGB")).astype(int)
            assert np.abs(decoded - viewer.frame(step, view=1).astype(int)).mean() < 2


def test_export_mp4_writes_an_mp4(kill_timeline: Timeline, tmp_path: Path) -> None:
    out = export_animation(kill_timeline, tmp_path / "game.mp4", fps=8)
    data = out.read_bytes()
    assert len(data) > 1000 and data[4:8] == b"ftyp"
    assert b"moov" in data and b"mdat" in data


def test_export_rejects_bad_paths(kill_timeline: Timeline, tmp_path: Path) -> None:
    with pytest.raises(ViewerError, match="must end with .gif"):
        export_gif(kill_timeline, tmp_path / "game.png")
    with pytest.raises(ViewerError, match="must end with .mp4"):
        export_mp4(kill_timeline, tmp_path / "game.gif")
    with pytest.raises(ViewerError, match="unknown extension '.avi'"):
        export_animation(kill_timeline, tmp_path / "game.avi")
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a directory")
    with pytest.raises(ViewerError, match="cannot write"):
        export_gif(kill_timeline, blocker / "game.gif")
    (tmp_path / "folder.mp4").mkdir()
    with pytest.raises(ViewerError, match="cannot write .*directory"):
        export_mp4(kill_timeline, tmp_path / "folder.mp4")
