"""Replays: recorded, saved, loaded, re-simulated; malformed or mismatched files are rejected."""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import palaestra.envs  # noqa: F401  (registers the envs)
from palaestra.envs.bomber.env import BomberParallelEnv
from palaestra.evaluation.replay import (
    REPLAY_FORMAT,
    REPLAY_VERSION,
    Replay,
    ReplayError,
    load_replay,
    make_replay,
    replay_bytes,
    replay_from_dict,
    replay_to_dict,
    save_replay,
    simulate,
    state_sha256,
    verify_replay,
)

BOMBER = "palaestra/Bomber-v0"
KELLY = "palaestra/KellyCoinflip-v0"
KELLY_GEN = "palaestra/KellyCoinflipGeneralized-v0"
CREATED = "2025-01-01T00:00:00+00:00"
SEATS = ["alice", "bob", "carol", "dave"]


def play_bomber(mode: str, seed: int, rng_seed: int, **config: Any) -> tuple[list[dict], BomberParallelEnv]:
    """A whole game with random actions from a seeded generator; numpy types left in on purpose."""
    env = BomberParallelEnv(mode=mode, **config)
    env.reset(seed=seed)
    rng = np.random.default_rng(rng_seed)
    actions = []
    while env.agents:
        if mode == "team_radio":
            step = {n: rng.integers(0, [6, 8, 8]) for n in env.agents}
        else:
            step = {n: rng.integers(0, 6) for n in env.agents}
        env.step(step)
        actions.append(step)
    return actions, env


def play_kelly(env_id: str, seed: int, rng_seed: int) -> tuple[list[int], dict[str, Any]]:
    """A whole game betting a random fraction (at most a third) of the wealth."""
    env = gym.make(env_id)
    _, info = env.reset(seed=seed)
    rng = np.random.default_rng(rng_seed)
    bets: list[int] = []
    done = False
    while not done:
        bet = int(info["wealth_cents"] * rng.uniform(0.0, 0.34))
        _, _, terminated, truncated, info = env.step(bet)
        bets.append(bet)
        done = terminated or truncated
    return bets, info


@pytest.fixture(scope="module")
def bomber_game() -> dict[str, Any]:
    actions, env = play_bomber("ffa", seed=11, rng_seed=1)
    return {"actions": actions, "state": env.get_state_json()}


@pytest.fixture(scope="module")
def bomber_replay(bomber_game: dict[str, Any]) -> Replay:
    return make_replay(BOMBER, {"mode": "ffa"}, 11, SEATS, bomber_game["actions"],
                       meta={"match_id": "m1"}, created=CREATED)


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data))
    return path


# -- recording and round trips -------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["ffa", "team", "team_radio"])
@pytest.mark.parametrize("suffix", [".json", ".json.gz"])
def test_bomber_round_trip(tmp_path: Path, mode: str, suffix: str) -> None:
    actions, env = play_bomber(mode, seed=5, rng_seed=2)
    replay = make_replay(BOMBER, {"mode": mode}, 5, SEATS, actions, meta={"faults": {}})
    assert replay.final_state_sha256 == state_sha256(env.get_state_json())
    assert replay.outcome["steps"] == len(actions) > 0
    assert replay.outcome["result"] in ("win", "tie")
    assert len(replay.outcome["rewards"]) == 4
    path = save_replay(replay, tmp_path / f"game{suffix}")
    if suffix.endswith(".gz"):
        assert path.read_bytes()[:2] == b"\x1f\x8b"
    loaded = load_replay(path)
    assert loaded == replay
    assert loaded.created == replay.created
    assert replay_from_dict(replay_to_dict(replay)) == replay
    assert not list(tmp_path.glob("*.tmp"))  # the temp file was renamed away


@pytest.mark.parametrize("env_id", [KELLY, KELLY_GEN])
@pytest.mark.parametrize("suffix", [".json", ".json.gz"])
def test_kelly_round_trip(tmp_path: Path, env_id: str, suffix: str) -> None:
    bets, info = play_kelly(env_id, seed=3, rng_seed=4)
    replay = make_replay(env_id, {}, 3, ["kelly-bot"], np.array(bets), created=CREATED)
    assert replay.outcome == {"final_wealth": info["wealth_cents"] / 100, "finished": True,
                              "steps": len(bets)}
    assert replay.final_state_sha256 == state_sha256(
        {"wealth_cents": info["wealth_cents"], "rounds_elapsed": info["rounds_elapsed"]})
    assert all(type(b) is int for b in replay.actions)
    loaded = load_replay(save_replay(replay, tmp_path / f"kelly{suffix}"))
    assert loaded == replay


def test_short_env_name_and_config_are_recorded() -> None:
    bets, _ = play_kelly(KELLY, seed=0, rng_seed=0)
    replay = make_replay("kelly", {}, 0, ["x"], bets)
    assert replay.env_id == KELLY
    actions, _ = play_bomber("team", seed=1, rng_seed=1, max_steps=30)
    replay = make_replay("bomber", {"mode": "team", "max_steps": 30}, 1, SEATS, actions)
    assert replay.env_id == BOMBER
    assert replay.env_config == {"mode": "team", "max_steps": 30}
    assert replay.outcome["steps"] <= 30


def test_simulation_is_deterministic(bomber_game: dict[str, Any]) -> None:
    a = simulate(BOMBER, {"mode": "ffa"}, 11, bomber_game["actions"])
    b = simulate(BOMBER, {"mode": "ffa"}, 11, bomber_game["actions"])
    assert a == b
    assert a.final_state == bomber_game["state"]
    bets, _ = play_kelly(KELLY_GEN, seed=9, rng_seed=9)
    assert simulate(KELLY_GEN, {}, 9, bets) == simulate(KELLY_GEN, {}, 9, bets)


def test_same_game_gives_byte_identical_files(tmp_path: Path, bomber_game: dict[str, Any]) -> None:
    for suffix in (".json", ".json.gz"):
        files = []
        for k in range(2):
            replay = make_replay(BOMBER, {"mode": "ffa"}, 11, SEATS, bomber_game["actions"],
                                 meta={"b": 1, "a": [1, 2]}, created=CREATED)
            files.append(save_replay(replay, tmp_path / f"copy{k}{suffix}").read_bytes())
        assert files[0] == files[1]
        assert files[0] == replay_bytes(replay, compress=suffix.endswith(".gz"))


def test_created_is_not_part_of_equality(bomber_replay: Replay) -> None:
    other = replay_from_dict({**replay_to_dict(bomber_replay), "created": "2030-01-01T00:00:00"})
    assert other == bomber_replay


def test_save_overwrites_atomically(tmp_path: Path, bomber_replay: Replay) -> None:
    path = tmp_path / "sub" / "r.json"
    save_replay(bomber_replay, path)
    save_replay(bomber_replay, path)
    assert load_replay(path) == bomber_replay
    assert sorted(p.name for p in path.parent.iterdir()) == ["r.json"]


# -- snapshots -----------------------------------------------------------------------------------
def test_snapshots_recorded_and_verified(tmp_path: Path) -> None:
    actions, _ = play_bomber("team_radio", seed=2, rng_seed=7)
    replay = make_replay(BOMBER, {"mode": "team_radio"}, 2, SEATS, actions, snapshot_every=5)
    assert replay.snapshot_every == 5
    assert len(replay.snapshots) == len(actions) // 5 + 1
    assert [s["step_count"] for s in replay.snapshots] == list(range(0, len(actions) + 1, 5))
    path = save_replay(replay, tmp_path / "snap.json.gz")
    assert load_replay(path) == replay

    data = replay_to_dict(replay)
    data["snapshots"][2]["agents"][0]["ammo"] += 1
    write_json(tmp_path / "bad.json", data)
    with pytest.raises(ReplayError, match="does not re-simulate: step 10 differs"):
        load_replay(tmp_path / "bad.json")

    data = replay_to_dict(replay)
    data["snapshots"].pop()
    write_json(tmp_path / "short.json", data)
    with pytest.raises(ReplayError, match="need .* snapshots"):
        load_replay(tmp_path / "short.json")


def test_snapshots_locate_a_tampered_action(tmp_path: Path) -> None:
    actions, _ = play_bomber("ffa", seed=4, rng_seed=3)
    replay = make_replay(BOMBER, {}, 4, SEATS, actions, snapshot_every=1)
    data = replay_to_dict(replay)
    data["actions"][3]["player_0"] = 5 if data["actions"][3]["player_0"] != 5 else 0  # a bomb or not
    with pytest.raises(ReplayError, match="does not re-simulate: step 4 differs"):
        load_replay(write_json(tmp_path / "t.json", data))


def test_kelly_snapshots() -> None:
    bets, _ = play_kelly(KELLY, seed=1, rng_seed=1)
    replay = make_replay(KELLY, {}, 1, ["k"], bets, snapshot_every=3)
    assert replay.snapshots[0] == {"wealth_cents": 2500, "rounds_elapsed": 0}
    assert replay.snapshots[1]["rounds_elapsed"] == 3
    verify_replay(replay)


# -- rejected files ------------------------------------------------------------------------------
def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ReplayError, match="replay file not found"):
        load_replay(tmp_path / "nope.json")


@pytest.mark.parametrize("suffix", [".json", ".json.gz"])
def test_truncated_file(tmp_path: Path, bomber_replay: Replay, suffix: str) -> None:
    path = save_replay(bomber_replay, tmp_path / f"r{suffix}")
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    message = "corrupt or truncated gzip" if suffix.endswith(".gz") else "not valid JSON.*truncated"
    with pytest.raises(ReplayError, match=message):
        load_replay(path)


def test_not_gzip_and_not_json(tmp_path: Path, bomber_replay: Replay) -> None:
    plain = replay_bytes(bomber_replay)
    (tmp_path / "r.json.gz").write_bytes(plain)
    with pytest.raises(ReplayError, match="not a gzip file"):
        load_replay(tmp_path / "r.json.gz")
    (tmp_path / "r.bin").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ReplayError, match="neither gzip nor UTF-8 JSON"):
        load_replay(tmp_path / "r.bin")
    (tmp_path / "empty.json").write_text("")
    with pytest.raises(ReplayError, match="not valid JSON"):
        load_replay(tmp_path / "empty.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(ReplayError, match="a replay is a JSON object, got list"):
        load_replay(tmp_path / "list.json")
    # a gzip file whose name does not say so still loads
    (tmp_path / "hidden.json").write_bytes(gzip.compress(plain))
    assert load_replay(tmp_path / "hidden.json") == bomber_replay


def _mutated(replay: Replay, change: Any) -> dict[str, Any]:
    data = copy.deepcopy(replay_to_dict(replay))
    change(data)
    return data


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.update(format="pommerman-log"),
         "not a palaestra replay: format is 'pommerman-log', expected 'palaestra-replay'"),
        (lambda d: d.pop("format"), "not a palaestra replay: no 'format' field"),
        (lambda d: d.update(version=99),
         "unsupported replay version 99; this palaestra reads version\\(s\\) 1"),
        (lambda d: d.update(version="1"), "field 'version' must be an integer"),
        (lambda d: d.pop("version"), "missing field 'version'"),
        (lambda d: d.pop("seed"), "missing field 'seed'"),
        (lambda d: d.pop("actions"), "missing field 'actions'"),
        (lambda d: d.pop("final_state_sha256"), "missing field 'final_state_sha256'"),
        (lambda d: d.update(seed="eleven"), "field 'seed' must be an integer, got str"),
        (lambda d: d.update(seed=True), "field 'seed' must be an integer, got bool"),
        (lambda d: d.update(seed=-1), "seed must be a non-negative integer"),
        (lambda d: d.update(env_config=[]), "field 'env_config' must be an object"),
        (lambda d: d.update(agents=["a", "b"]), "Bomber-v0 has 4 seat\\(s\\), got 2"),
        (lambda d: d.update(agents=[1, 2, 3, 4]), "agents must be a list of strings"),
        (lambda d: d.update(snapshot_every="5"), "field 'snapshot_every' must be an integer or null"),
        (lambda d: d.update(snapshot_every=5), "'snapshot_every' and 'snapshots' must be both set"),
        (lambda d: d.update(extra=1), "unknown field\\(s\\) 'extra'"),
        (lambda d: d.update(final_state_sha256="abc"), "must be 64 lowercase hex digits"),
        (lambda d: d["actions"].__setitem__(0, [1, 2]), "step 0: Bomber actions must be a dict"),
        (lambda d: d["actions"][1].__setitem__("player_0", 1.5),
         "step 1: player_0: action must be an integer or \\[move, word, word\\]"),
        (lambda d: d["outcome"].update(steps=1), "outcome says 1 steps"),
        (lambda d: d.update(env_id="palaestra/Chess-v0"),
         "unknown env id 'palaestra/Chess-v0'; replays exist for palaestra/Bomber-v0"),
        (lambda d: d.update(env_id="palaestra/Bomber-v1"),
         "env version mismatch: the replay is for palaestra/Bomber-v1, but this palaestra "
         "\\(version .*\\) has palaestra/Bomber-v0"),
        (lambda d: d.update(env_id=7), "field 'env_id' must be a string"),
    ],
)
def test_malformed_replay_rejected(tmp_path: Path, bomber_replay: Replay, change: Any,
                                   message: str) -> None:
    path = write_json(tmp_path / "bad.json", _mutated(bomber_replay, change))
    with pytest.raises(ReplayError, match=message) as info:
        load_replay(path, verify=False)
    assert str(path) in str(info.value)


def test_tampered_action_fails_verification(tmp_path: Path, bomber_replay: Replay) -> None:
    data = replay_to_dict(bomber_replay)
    first = data["actions"][0]
    first["player_0"] = 5 if first["player_0"] != 5 else 0
    path = write_json(tmp_path / "t.json", data)
    with pytest.raises(ReplayError, match="replay does not re-simulate: "):
        load_replay(path)
    loaded = load_replay(path, verify=False)  # well-formed, only the game is wrong
    with pytest.raises(ReplayError, match="replay does not re-simulate"):
        verify_replay(loaded)


def test_tampered_kelly_bet_fails_verification(tmp_path: Path) -> None:
    bets, _ = play_kelly(KELLY, seed=2, rng_seed=2)
    replay = make_replay(KELLY, {}, 2, ["k"], bets)
    data = replay_to_dict(replay)
    data["actions"][0] += 1
    with pytest.raises(ReplayError, match="replay does not re-simulate: final state differs"):
        load_replay(write_json(tmp_path / "k.json", data))


def test_tampered_hash_and_outcome(tmp_path: Path, bomber_replay: Replay) -> None:
    data = replay_to_dict(bomber_replay)
    data["final_state_sha256"] = "0" * 64
    with pytest.raises(ReplayError, match="does not re-simulate: final state differs .*recorded sha256 0000"):
        load_replay(write_json(tmp_path / "h.json", data))
    data = replay_to_dict(bomber_replay)
    data["outcome"]["winners"] = ["player_3"]
    with pytest.raises(ReplayError, match="does not re-simulate: outcome differs"):
        load_replay(write_json(tmp_path / "o.json", data))


def test_action_the_env_rejects(tmp_path: Path, bomber_replay: Replay) -> None:
    data = replay_to_dict(bomber_replay)
    data["actions"][2]["player_1"] = 9
    with pytest.raises(ReplayError, match="step 2: the env rejects the action: player_1: action must be"):
        load_replay(write_json(tmp_path / "a.json", data))
    data = replay_to_dict(bomber_replay)
    del data["actions"][1]["player_2"]
    with pytest.raises(ReplayError, match="step 1: no action for player_2"):
        load_replay(write_json(tmp_path / "b.json", data))
    data = replay_to_dict(bomber_replay)
    data["actions"].append(data["actions"][-1])
    data["outcome"]["steps"] += 1
    n = len(bomber_replay.actions)
    with pytest.raises(ReplayError, match=f"step {n}: the game ended after {n} steps"):
        load_replay(write_json(tmp_path / "c.json", data))


def test_simulate_rejects_bad_input() -> None:
    with pytest.raises(ReplayError, match="unknown env id 'palaestra/Nope-v0'"):
        simulate("palaestra/Nope-v0", {}, 0, [])
    with pytest.raises(ReplayError, match="env version mismatch"):
        simulate("palaestra/KellyCoinflip-v3", {}, 0, [])
    with pytest.raises(ReplayError, match="env_config is not valid for palaestra/Bomber-v0"):
        simulate(BOMBER, {"mode": "chess"}, 0, [])
    with pytest.raises(ReplayError, match="env_config is not valid for palaestra/KellyCoinflip-v0"):
        simulate(KELLY, {"colour": "red"}, 0, [])
    with pytest.raises(ReplayError, match="step 1: the env rejects the action"):
        simulate(KELLY, {}, 0, [100, -5])
    with pytest.raises(ReplayError, match="step 0: a Kelly action is a bet in whole cents"):
        simulate(KELLY, {}, 0, [1.5])
    with pytest.raises(ReplayError, match="step 0: player_0: a team_radio action is"):
        simulate(BOMBER, {"mode": "team_radio"}, 0, [{f"player_{k}": 0 for k in range(4)}])
    with pytest.raises(ReplayError, match="step 0: an action for player_9"):
        simulate(BOMBER, {}, 0, [{**{f"player_{k}": 0 for k in range(4)}, "player_9": 0}])


def test_unfinished_games_are_recorded_as_such() -> None:
    replay = make_replay(BOMBER, {}, 0, SEATS, [{f"player_{k}": 0 for k in range(4)}] * 3)
    assert replay.outcome == {"result": "unfinished", "winners": [], "rewards": [0.0] * 4, "steps": 3}
    replay = make_replay(KELLY, {}, 0, ["k"], [0, 0])
    assert replay.outcome == {"final_wealth": 25.0, "finished": False, "steps": 2}
    verify_replay(replay)


def test_format_constants(bomber_replay: Replay) -> None:
    data = replay_to_dict(bomber_replay)
    assert data["format"] == REPLAY_FORMAT == "palaestra-replay"
    assert data["version"] == REPLAY_VERSION == 1
    assert data["meta"] == {"match_id": "m1"}
    assert issubclass(ReplayError, ValueError)


def test_replayable_envs_and_errors_come_from_the_registry_and_errors_module() -> None:
    from palaestra.envs import env_id, family_specs
    from palaestra.errors import FileFormatError
    from palaestra.evaluation import replay

    assert (replay.BOMBER_ENV_ID, replay.KELLY_ENV_ID, replay.KELLY_GENERALIZED_ENV_ID) == (
        env_id("bomber"), env_id("kelly"), env_id("kelly-generalized"))
    for spec in family_specs("bomber", "kelly", "hide_and_seek", "counting"):
        assert replay.resolve_env_id(spec.short_name, allow_short_name=True) == spec.env_id
    assert replay.REPLAY_FAMILIES == ("bomber", "kelly", "hide_and_seek", "counting")
    with pytest.raises(ReplayError, match="unknown env id 'hide-and-seek'"):
        replay.resolve_env_id("hide-and-seek")  # a short name only where allowed
    assert issubclass(ReplayError, FileFormatError) and issubclass(replay.ReplayStepError, ReplayError)
