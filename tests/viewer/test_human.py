"""Human play, driven headless by scripted key presses (SDL_VIDEODRIVER=dummy from conftest)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pygame
import pytest

from palaestra.agents.sandbox.isolation import sha256_of
from palaestra.envs.bomber import constants as C
from palaestra.errors import ConfigError
from palaestra.evaluation.replay import load_replay
from palaestra.evaluation.store import TournamentStore
from palaestra.viewer.human import HumanGameConfig, HumanPlayError, play_human_game

WALKER = Path(__file__).resolve().parents[2] / "examples" / "bots" / "walker.py"


def keys(*names: int) -> list[list[pygame.event.Event]]:
    """One frame per key press."""
    return [[pygame.event.Event(pygame.KEYDOWN, key=k)] for k in names]


def test_key_presses_become_the_human_seats_actions(tmp_path: Path) -> None:
    script = keys(pygame.K_SPACE, pygame.K_DOWN, pygame.K_s, pygame.K_p, pygame.K_UP, pygame.K_p,
                  pygame.K_RIGHT, pygame.K_a, pygame.K_UP, pygame.K_w, pygame.K_d, pygame.K_LEFT)
    frames: list[np.ndarray] = []
    config = HumanGameConfig(("simple", "random", "static"), seat=0, turn_based=True, seed=3,
                             out=tmp_path / "h.json.gz")
    result = play_human_game(config, events=script, frame_hook=frames.append)
    replay = load_replay(result.replay_path)  # saved, and re-simulates
    human = [a["player_0"] for a in replay.actions]
    # the UP pressed while paused is ignored; one key is one step
    assert human == [C.LAY_BOMB, C.DOWN, C.DOWN, C.RIGHT, C.LEFT, C.UP, C.UP, C.RIGHT, C.LEFT]
    assert replay.agents == ["human", "simple", "random", "static"]
    assert replay.seed == 3 and replay.meta["human_seat"] == 0
    assert result.outcome == "unfinished" and result.steps == 9 and result.winners == []
    # one frame per event batch plus the game-over frame: board and side panel
    assert len(frames) == len(script) + 1
    assert frames[0].dtype == np.uint8 and frames[0].shape[2] == 3
    assert frames[0].shape[1] > frames[0].shape[0]


def test_the_human_moves_where_the_keys_say(tmp_path: Path) -> None:
    config = HumanGameConfig(("static", "static", "static"), turn_based=True, seed=0,
                             out=tmp_path / "m.json")
    start = play_human_game(config, events=[])
    assert start.steps == 0
    from palaestra.envs.bomber.env import BomberParallelEnv

    env = BomberParallelEnv()
    obs, _ = env.reset(seed=0)
    row, col = (int(x) for x in obs["player_0"]["position"])
    board = obs["player_0"]["board"]
    # pick the first move onto a free passage, then press it and check the position after it
    moves = ((pygame.K_DOWN, C.DOWN, (1, 0)), (pygame.K_RIGHT, C.RIGHT, (0, 1)))
    free = [m for m in moves if board[row + m[2][0], col + m[2][1]] == C.PASSAGE]
    if not free:
        pytest.skip("the human starts boxed in")
    key, action, (dr, dc) = free[0]
    result = play_human_game(config, events=keys(key))
    replay = load_replay(result.replay_path)
    assert [a["player_0"] for a in replay.actions] == [action]
    env.reset(seed=0)
    obs, *_ = env.step(replay.actions[0])
    assert tuple(int(x) for x in obs["player_0"]["position"]) == (row + dr, col + dc)


def test_same_seed_and_keys_give_the_same_replay_file(tmp_path: Path) -> None:
    data, replays = [], []
    for i, created in enumerate(["2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00", None]):
        out = tmp_path / f"h{i}.json.gz"
        config = HumanGameConfig(("simple", "simple", "random"), seat=2, turn_based=True, seed=9,
                                 out=out, created=created)
        play_human_game(config, events=keys(*[pygame.K_LEFT, pygame.K_UP, pygame.K_SPACE] * 8))
        data.append(out.read_bytes())
        replays.append(load_replay(out))
    assert data[0] == data[1]  # byte for byte
    assert replays[0] == replays[2]  # the same game; only the timestamp differs
    replay = replays[0]
    assert replay.agents[2] == "human" and replay.steps == 24
    assert [a["player_2"] for a in replay.actions][:3] == [C.LEFT, C.UP, C.LAY_BOMB]


def test_real_time_scripted_frames_step_with_stop_when_no_key(tmp_path: Path) -> None:
    script = [[], [pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SPACE)], [], []]
    config = HumanGameConfig(("simple", "simple", "simple"), seed=5, mode="team_radio",
                             out=tmp_path / "rt.json")
    result = play_human_game(config, events=iter(script))
    replay = load_replay(result.replay_path)
    assert [a["player_0"] for a in replay.actions] == [[0, 0, 0], [5, 0, 0], [0, 0, 0], [0, 0, 0]]
    assert replay.env_config["mode"] == "team_radio"


def test_playing_to_the_end_records_the_outcome(tmp_path: Path) -> None:
    # the human lays a bomb and stands on it: dead after 10 steps; the simple agents play on alone
    frames: list[np.ndarray] = []
    calls = iter(range(10_000))

    def source() -> list[pygame.event.Event]:
        next(calls)
        return [pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SPACE)]

    config = HumanGameConfig(("simple", "simple", "simple"), turn_based=True, seed=1,
                             out=tmp_path / "end.json.gz")
    result = play_human_game(config, events=source, frame_hook=frames.append)
    replay = load_replay(result.replay_path)
    assert replay.outcome["rewards"][0] == -1.0  # the human died in its own blast
    assert result.steps == replay.steps and replay.outcome["result"] in ("win", "tie")
    assert result.outcome == ("loss" if replay.outcome["result"] == "win" else "tie")
    assert frames[-1].shape == frames[0].shape


def test_quit_still_saves(tmp_path: Path) -> None:
    for quit_key in (pygame.K_q, pygame.K_ESCAPE):
        out = tmp_path / f"q{quit_key}.json.gz"
        result = play_human_game(HumanGameConfig(("simple", "random", "static"), turn_based=True,
                                                 out=out),
                                 events=keys(pygame.K_UP, quit_key, pygame.K_UP))
        replay = load_replay(out)
        assert result.steps == 1 and replay.steps == 1 and result.outcome == "unfinished"
        assert replay.outcome["result"] == "unfinished"
    closed = play_human_game(HumanGameConfig(("simple", "random", "static"), turn_based=True,
                                             out=tmp_path / "closed.json"),
                             events=[[pygame.event.Event(pygame.QUIT)]])
    assert closed.steps == 0 and load_replay(closed.replay_path).steps == 0


def test_opponents_from_files_and_submissions(tmp_path: Path) -> None:
    db = tmp_path / "t.sqlite"
    with TournamentStore(db) as store:
        store.add_submission("walker", "bomber", "python", f"python:{WALKER}", sha256_of(WALKER), {})
        store.add_submission("bi", "bomber", "builtin", "builtin:simple", "0" * 64, {})
    config = HumanGameConfig((str(WALKER), "walker", "bi"), turn_based=True, seed=2,
                             out=tmp_path / "s.json")
    result = play_human_game(config, db=db, events=keys(*[pygame.K_SPACE] * 3))
    replay = load_replay(result.replay_path)
    assert replay.agents == ["human", str(WALKER), "walker", "bi"]
    assert result.steps == 3 and "faults" not in replay.meta


def test_submissions_play_jailed_against_the_human_or_not_at_all(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import palaestra.agents.sandbox.isolation as isolation

    db = tmp_path / "t.sqlite"
    with TournamentStore(db) as store:  # a hash that is not the file's: changed since submit
        store.add_submission("walker", "bomber", "python", f"python:{WALKER}", "0" * 64, {})
    config = HumanGameConfig(("walker", "simple", "static"), turn_based=True, out=tmp_path / "s.json")
    if isolation.isolation_problem() is None:
        with pytest.raises(HumanPlayError, match="changed since it was submitted"):
            play_human_game(config, db=db, events=keys(pygame.K_SPACE))
    monkeypatch.setattr(isolation, "isolation_problem", lambda: "no bubblewrap (test)")
    for opponent in ("walker", str(WALKER)):
        with pytest.raises(ConfigError, match="cannot run isolated here: no bubblewrap.*--trust-submissions"):
            play_human_game(replace(config, opponents=(opponent, "simple", "static")), db=db,
                            events=keys(pygame.K_SPACE))
    trusted = replace(config, opponents=(str(WALKER), "simple", "static"), trust_submissions=True)
    assert play_human_game(trusted, db=db, events=keys(pygame.K_SPACE)).steps == 1


def test_unknown_opponents_and_bad_configs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown opponent 'nobody'.*simple"):
        play_human_game(HumanGameConfig(("nobody", "random", "static"), turn_based=True,
                                        out=tmp_path / "x.json"), events=[])
    with pytest.raises(ValueError, match="no such agent file"):
        play_human_game(HumanGameConfig(("simple", str(tmp_path / "nope.py"), "static"),
                                        out=tmp_path / "x.json"), events=[])
    assert not (tmp_path / "x.json").exists()
    with pytest.raises(ValueError, match="three opponents"):
        HumanGameConfig(("simple",))
    with pytest.raises(ValueError, match="seat"):
        HumanGameConfig(("simple",) * 3, seat=4)
    with pytest.raises(ValueError, match="mode"):
        HumanGameConfig(("simple",) * 3, mode="duel")
    assert HumanGameConfig(("simple",) * 3, seed=7).replay_path == Path("replays/human-7.json.gz")


def test_missing_display_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    with pytest.raises(HumanPlayError, match="no display"):
        play_human_game(HumanGameConfig(("simple", "random", "static"), out=tmp_path / "y.json"))
    assert not (tmp_path / "y.json").exists()
    # scripted games need no display: they draw off-screen
    result = play_human_game(HumanGameConfig(("simple", "random", "static"), turn_based=True,
                                             out=tmp_path / "z.json"), events=keys(pygame.K_UP))
    assert result.steps == 1
