"""Human play, driven headless by scripted key presses."""

from __future__ import annotations

from pathlib import Path

import pygame
import pytest

from palaestra.envs.bomber import constants as C
from palaestra.evaluation.replay import load_replay
from palaestra.viewer.human import HumanGameConfig, HumanPlayError, play_human_game


def keys(*names: int) -> list[list[pygame.event.Event]]:
    return [[pygame.event.Event(pygame.KEYDOWN, key=k)] for k in names]


def test_key_presses_become_the_human_seats_actions(tmp_path: Path) -> None:
    script = keys(pygame.K_SPACE, pygame.K_DOWN, pygame.K_s, pygame.K_p, pygame.K_p, pygame.K_RIGHT,
                  pygame.K_a, pygame.K_UP, pygame.K_d)
    frames: list = []
    config = HumanGameConfig(("simple", "random", "static"), seat=0, turn_based=True, seed=3,
                             out=tmp_path / "h.json.gz")
    result = play_human_game(config, events=script, frame_hook=frames.append)
    replay = load_replay(result.replay_path)  # saved and re-simulates
    human = [a["player_0"] for a in replay.actions]
    assert human == [C.LAY_BOMB, C.DOWN, C.DOWN, C.RIGHT, C.LEFT, C.UP, C.RIGHT]  # p p paused
    assert replay.agents[0] == "human" and replay.agents[1:] == ["simple", "random", "static"]
    assert result.outcome == "unfinished" and result.steps == 7
    assert frames and frames[0].shape[2] == 3 and frames[0].shape[1] > frames[0].shape[0]


def test_same_seed_and_keys_give_the_same_replay_file(tmp_path: Path) -> None:
    outs = []
    for i in range(2):
        out = tmp_path / f"h{i}.json"
        config = HumanGameConfig(("simple", "simple", "random"), seat=2, turn_based=True, seed=9,
                                 out=out)
        play_human_game(config, events=keys(*[pygame.K_LEFT, pygame.K_UP, pygame.K_SPACE] * 4))
        replay = load_replay(out)
        outs.append((replay.actions, replay.seed, replay.final_state_sha256))
    assert outs[0] == outs[1]


def test_playing_to_the_end_records_the_outcome(tmp_path: Path) -> None:
    # the human lays a bomb and stands on it: dead after 10 steps; simple agents play on
    script = keys(*[pygame.K_SPACE] * 400)
    config = HumanGameConfig(("simple", "simple", "simple"), turn_based=True, seed=1,
                             out=tmp_path / "end.json.gz")
    result = play_human_game(config, events=script)
    replay = load_replay(result.replay_path)
    assert result.outcome in ("loss", "tie", "unfinished")
    assert replay.outcome["rewards"][0] == -1.0  # the human died in its own blast


def test_quit_saves_and_bad_opponent_and_no_display(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = play_human_game(HumanGameConfig(("simple", "random", "static"), turn_based=True,
                                             out=tmp_path / "q.json.gz"),
                             events=keys(pygame.K_UP, pygame.K_q, pygame.K_UP))
    assert result.steps == 1 and load_replay(result.replay_path).steps == 1
    with pytest.raises(ValueError, match="unknown opponent 'nobody'.*simple"):
        play_human_game(HumanGameConfig(("nobody", "random", "static"), turn_based=True,
                                        out=tmp_path / "x.json"), events=[])
    with pytest.raises(ValueError, match="three opponents"):
        HumanGameConfig(("simple",))
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(HumanPlayError, match="no display"):
        play_human_game(HumanGameConfig(("simple", "random", "static"), out=tmp_path / "y.json"))
