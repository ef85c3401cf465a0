"""Counting replays: recorded, saved, loaded and re-simulated; tampered files are refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from palaestra.agents.scripted.counting import make_scripted_counting_agent
from palaestra.envs import env_id
from palaestra.envs.counting.env import STAY, GridCountingEnv
from palaestra.evaluation.replay import (
    COUNTING_ENV_ID,
    Replay,
    ReplayError,
    ReplayStepError,
    load_replay,
    make_replay,
    replay_to_dict,
    save_replay,
    simulate,
    state_sha256,
    verify_replay,
)

CREATED = "2025-01-01T00:00:00+00:00"


def play(agent: str, seed: int, **config: Any) -> tuple[list[Any], dict[str, Any], dict[str, Any]]:
    """One episode of a scripted agent (its moves are numpy ints, as it returns them): the moves,
    the last info and the final state as the replay should record it."""
    env = GridCountingEnv(**config)
    obs, info = env.reset(seed=seed)
    player = make_scripted_counting_agent(agent)
    player.reset(np.random.default_rng(seed))
    moves = []
    done = False
    while not done:
        moves.append(player.act(obs))
        obs, _, terminated, truncated, info = env.step(moves[-1])
        done = terminated or truncated
    state = {"T": env.instruction, "steps": env.steps, "agent": obs["agent"].tolist(),
             "target": obs["target"].tolist(), "outcome": info.get("outcome")}
    return moves, info, state


@pytest.fixture(scope="module")
def counter_game() -> dict[str, Any]:
    moves, info, state = play("counter", seed=5)
    return {"moves": moves, "info": info, "state": state}


@pytest.fixture(scope="module")
def replay(counter_game: dict[str, Any]) -> Replay:
    return make_replay("counting", {}, 5, ["counter"], counter_game["moves"], created=CREATED)


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data))
    return path


# -- recording and round trips -------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".json", ".json.gz"])
def test_round_trip(tmp_path: Path, counter_game: dict[str, Any], replay: Replay, suffix: str) -> None:
    info = counter_game["info"]
    assert replay.env_id == COUNTING_ENV_ID == env_id("counting")
    assert replay.outcome == {"T": info["T"], "steps": info["T"], "result": "on_time", "success": True,
                              "reward": 1.0}
    assert replay.final_state_sha256 == state_sha256(counter_game["state"])
    assert replay.actions == [int(m) for m in counter_game["moves"]]
    assert all(type(m) is int for m in replay.actions)
    assert load_replay(save_replay(replay, tmp_path / f"c{suffix}")) == replay


@pytest.mark.parametrize("agent, result", [("off-by-one", "early"), ("rush", "early")])
def test_a_miss_is_recorded_with_the_envs_outcome(agent: str, result: str) -> None:
    moves, info, _ = play(agent, seed=5)
    replay = make_replay("counting", {}, 5, [agent], moves)
    assert info["outcome"] == result
    assert replay.outcome == {"T": info["T"], "steps": len(moves), "result": result, "success": False,
                              "reward": 0.0}


def test_config_is_recorded_and_played(tmp_path: Path) -> None:
    config = {"size": 7, "t_min": 13, "t_max": 13, "max_t": 20, "grace_steps": 2}
    moves, _, state = play("counter", seed=2, **config)
    replay = make_replay("counting", config, 2, ["counter"], moves)
    assert replay.env_config == config
    assert replay.outcome["T"] == 13 == replay.steps and replay.outcome["success"]
    assert replay.final_state_sha256 == state_sha256(state)
    assert load_replay(save_replay(replay, tmp_path / "c.json")) == replay


def test_same_seed_and_moves_give_byte_identical_files(tmp_path: Path, counter_game: dict[str, Any]) -> None:
    for suffix in (".json", ".json.gz"):
        files = [save_replay(make_replay("counting", {}, 5, ["counter"], counter_game["moves"],
                                         created=CREATED), tmp_path / f"r{k}{suffix}").read_bytes()
                 for k in range(2)]
        assert files[0] == files[1]
    a = simulate("counting", {}, 5, counter_game["moves"])
    assert a == simulate("counting", {}, 5, counter_game["moves"]) and a.final_state == counter_game["state"]


def test_snapshots_follow_the_agent(counter_game: dict[str, Any]) -> None:
    replay = make_replay("counting", {}, 5, ["counter"], counter_game["moves"], snapshot_every=2)
    steps = [s["steps"] for s in replay.snapshots]
    assert steps == list(range(0, replay.steps + 1, 2))
    assert replay.snapshots[0]["outcome"] is None
    verify_replay(replay)


def test_an_unfinished_episode_is_recorded_as_such() -> None:
    replay = make_replay("counting", {}, 5, ["x"], [STAY, STAY])
    assert replay.outcome["result"] == "unfinished" and replay.outcome["steps"] == 2
    assert not replay.outcome["success"] and replay.outcome["reward"] == 0.0
    verify_replay(replay)


# -- refused files -------------------------------------------------------------------------------
def test_tampered_move_is_refused(tmp_path: Path, replay: Replay) -> None:
    data = replay_to_dict(replay)
    assert data["actions"][-1] != STAY  # the last move steps onto the target
    data["actions"][-1] = STAY
    path = write_json(tmp_path / "t.json", data)
    with pytest.raises(ReplayError, match="replay does not re-simulate: final state differs"):
        load_replay(path)
    data = replay_to_dict(replay)
    data["actions"][0] = data["actions"][-1]  # walks in one step early: the episode ends before the file does
    with pytest.raises(ReplayError, match="replay does not re-simulate: step \\d+: the game ended after"):
        load_replay(write_json(tmp_path / "u.json", data))


@pytest.mark.parametrize("change, message", [
    ({"size": 9}, "replay does not re-simulate"),
    ({"size": 1}, "env_config is not valid for palaestra/GridCounting-v0: size must be at least 2"),
    ({"t_min": 40}, "env_config is not valid for palaestra/GridCounting-v0: need 1 <= t_min"),
    ({"colour": "red"}, "env_config is not valid for palaestra/GridCounting-v0: .*colour"),
    ({"config": {"size": 5}}, "env_config is not valid .*'config' cannot be part of a replay"),
    ({"render_mode": "rgb_array"}, "'render_mode' cannot be part of a replay"),
])
def test_wrong_env_config(tmp_path: Path, replay: Replay, change: dict[str, Any], message: str) -> None:
    data = replay_to_dict(replay)
    data["env_config"].update(change)
    with pytest.raises(ReplayError, match=message):
        load_replay(write_json(tmp_path / "c.json", data))


@pytest.mark.parametrize("move", [1.5, "up", True, [1], None])
def test_malformed_move_is_refused(tmp_path: Path, replay: Replay, move: Any) -> None:
    data = replay_to_dict(replay)
    data["actions"][2] = move
    message = "step 2: a counting action is an integer \\(0 stay, 1 up, 2 down, 3 left, 4 right\\)"
    with pytest.raises(ReplayError, match=message):
        load_replay(write_json(tmp_path / "m.json", data), verify=False)
    with pytest.raises(ReplayStepError, match=message) as info:
        simulate(COUNTING_ENV_ID, {}, 5, data["actions"])
    assert info.value.step == 2


def test_a_move_the_env_refuses(tmp_path: Path, replay: Replay) -> None:
    data = replay_to_dict(replay)
    data["actions"][1] = 7
    with pytest.raises(ReplayError, match="does not re-simulate: step 1: the env rejects the action: "
                                          "invalid action 7"):
        load_replay(write_json(tmp_path / "a.json", data))
    with pytest.raises(ReplayError, match="step 0: the env rejects the action"):
        simulate(COUNTING_ENV_ID, {}, 5, [2**70])


def test_changed_hash_or_outcome_is_refused(tmp_path: Path, replay: Replay) -> None:
    data = replay_to_dict(replay)
    data["final_state_sha256"] = "f" * 64
    with pytest.raises(ReplayError, match="final state differs \\(recorded sha256 f{64}"):
        load_replay(write_json(tmp_path / "h.json", data))
    data = replay_to_dict(replay)
    data["outcome"]["result"] = "late"
    with pytest.raises(ReplayError, match="does not re-simulate: outcome differs"):
        load_replay(write_json(tmp_path / "o.json", data))
    data = replay_to_dict(replay)
    data["agents"] = ["a", "b"]
    with pytest.raises(ReplayError, match="GridCounting-v0 has 1 seat\\(s\\), got 2"):
        load_replay(write_json(tmp_path / "s.json", data), verify=False)
