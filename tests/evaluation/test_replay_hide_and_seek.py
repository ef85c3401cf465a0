"""Hide-and-seek replays: recorded, saved, loaded and re-simulated; tampered files are refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from palaestra.envs import env_id
from palaestra.envs.hide_and_seek.env import HideAndSeekParallelEnv
from palaestra.evaluation.replay import (
    HIDE_AND_SEEK_ENV_ID,
    REPLAY_VERSION,
    Replay,
    ReplayError,
    ReplayStepError,
    hide_and_seek_state,
    load_replay,
    make_replay,
    replay_bytes,
    replay_to_dict,
    save_replay,
    simulate,
    state_sha256,
    verify_replay,
)

CONFIG: dict[str, Any] = {"grid_size": 10, "n_hiders": 2, "n_seekers": 1, "n_boxes": 4, "n_ramps": 2,
                          "max_steps": 20, "prep_fraction": 0.25}
"""A small game: 20 steps, the first 5 of them preparation."""
SEED = 11
AGENTS = ["random-a", "random-b", "random-c"]
CREATED = "2025-01-01T00:00:00+00:00"


def play(config: dict[str, Any], seed: int, rng_seed: int, steps: int | None = None
         ) -> tuple[list[dict[str, Any]], HideAndSeekParallelEnv]:
    """A game of uniformly random actions (numpy arrays, as an agent returns them)."""
    env = HideAndSeekParallelEnv(**config)
    env.reset(seed=seed)
    rng = np.random.default_rng(rng_seed)
    actions = []
    while env.agents and (steps is None or len(actions) < steps):
        step = {name: rng.integers(0, [5, 5, 3]) for name in env.agents}
        env.step(step)
        actions.append(step)
    return actions, env


@pytest.fixture(scope="module")
def game() -> dict[str, Any]:
    actions, env = play(CONFIG, SEED, rng_seed=SEED)
    return {"actions": actions, "state": hide_and_seek_state(env), "stats": env.stats()}


@pytest.fixture(scope="module")
def replay(game: dict[str, Any]) -> Replay:
    return make_replay("hide-and-seek", CONFIG, SEED, AGENTS, game["actions"], created=CREATED)


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data))
    return path


# -- recording and round trips -------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".json", ".json.gz"])
def test_round_trip(tmp_path: Path, game: dict[str, Any], replay: Replay, suffix: str) -> None:
    assert replay.env_id == HIDE_AND_SEEK_ENV_ID == env_id("hide-and-seek")
    assert replay.env_config == CONFIG and replay.agents == AGENTS and replay.steps == 20
    assert replay.final_state_sha256 == state_sha256(game["state"])
    # actions are stored as the env takes them: agent -> [move, face, interact], plain ints
    first = replay.actions[0]
    assert sorted(first) == ["hider_0", "hider_1", "seeker_0"]
    assert first["hider_0"] == game["actions"][0]["hider_0"].tolist()
    assert all(type(v) is int for step in replay.actions for a in step.values() for v in a)
    loaded = load_replay(save_replay(replay, tmp_path / f"hns{suffix}"))
    assert loaded == replay
    assert json.loads(replay_bytes(replay))["version"] == REPLAY_VERSION == 1


def test_outcome_holds_team_returns_and_phase_stats(game: dict[str, Any], replay: Replay) -> None:
    out = replay.outcome
    assert set(out) == {"returns", "stats", "finished", "steps"}
    assert out["steps"] == 20 and out["finished"] is True
    assert out["stats"] == game["stats"]
    seek = out["stats"]["seek"]
    assert out["stats"]["prep"]["steps"] == 5 and seek["steps"] == 15
    # +1 to each hider for each seek step in which all hiders stayed hidden, -1 otherwise; zero-sum
    hidden = seek["hidden_steps"]
    assert out["returns"] == {"hider": float(2 * hidden - 15), "seeker": float(15 - 2 * hidden)}
    assert hidden < 15  # the seeker saw someone: the returns are not the trivial ones


def test_same_seed_and_actions_give_byte_identical_files(tmp_path: Path, game: dict[str, Any]) -> None:
    for suffix in (".json", ".json.gz"):
        files = [save_replay(make_replay(env_id("hide-and-seek"), CONFIG, SEED, AGENTS, game["actions"],
                                         created=CREATED), tmp_path / f"r{k}{suffix}").read_bytes()
                 for k in range(2)]
        assert files[0] == files[1]
    a = simulate("hide-and-seek", CONFIG, SEED, game["actions"])
    assert a == simulate("hide-and-seek", CONFIG, SEED, game["actions"])
    assert a.final_state == game["state"]
    other = simulate("hide-and-seek", CONFIG, SEED + 1, game["actions"])
    assert other.final_state_sha256 != a.final_state_sha256  # the seed sets the layout


def test_snapshots_locate_a_tampered_facing(tmp_path: Path, game: dict[str, Any]) -> None:
    replay = make_replay("hide-and-seek", CONFIG, SEED, AGENTS, game["actions"], snapshot_every=1)
    assert len(replay.snapshots) == 21 and replay.snapshots[0]["step"] == 0
    verify_replay(replay)
    data = replay_to_dict(replay)
    face = data["snapshots"][4]["agents"]["hider_0"]["face"]  # facing after 4 steps
    data["actions"][3]["hider_0"] = [0, (face + 1) % 4 + 1, 0]  # step 3 now turns it elsewhere
    with pytest.raises(ReplayError, match="does not re-simulate: step 4 differs"):
        load_replay(write_json(tmp_path / "t.json", data))


# -- refused files -------------------------------------------------------------------------------
def test_tampered_action_changes_the_final_state(tmp_path: Path, replay: Replay) -> None:
    final = simulate(HIDE_AND_SEEK_ENV_ID, CONFIG, SEED, replay.actions).final_state
    end_face = final["agents"]["hider_1"]["face"]
    data = replay_to_dict(replay)
    data["actions"][-1]["hider_1"] = [0, (end_face + 1) % 4 + 1, 0]  # the last step turns it away
    path = write_json(tmp_path / "t.json", data)
    with pytest.raises(ReplayError, match="replay does not re-simulate: final state differs"):
        load_replay(path)
    assert load_replay(path, verify=False).actions[-1]["hider_1"][1] == (end_face + 1) % 4 + 1


@pytest.mark.parametrize("change, message", [
    ({"n_boxes": 3}, "replay does not re-simulate: final state differs"),
    ({"rooms": False}, "replay does not re-simulate: final state differs"),
    ({"grid_size": 5}, "env_config is not valid for palaestra/HideAndSeek-v0: grid_size must lie in"),
    ({"colour": "red"}, "env_config is not valid for palaestra/HideAndSeek-v0: .*colour"),
    ({"render_mode": "human"}, "env_config is not valid .*'render_mode' cannot be part of a replay"),
])
def test_wrong_env_config(tmp_path: Path, replay: Replay, change: dict[str, Any], message: str) -> None:
    data = replay_to_dict(replay)
    data["env_config"].update(change)
    with pytest.raises(ReplayError, match=message):
        load_replay(write_json(tmp_path / "c.json", data))


@pytest.mark.parametrize("action, message", [
    ([1, 2], "step 3: hider_0: a hide-and-seek action is 3 integers \\[move, face, interact\\], got \\[1, 2\\]"),
    ("up", "step 3: hider_0: a hide-and-seek action is 3 integers"),
    ([1, 2.5, 0], "step 3: hider_0: a hide-and-seek action is 3 integers"),
    ([1, True, 0], "step 3: hider_0: a hide-and-seek action is 3 integers"),
])
def test_malformed_action_is_refused_when_read(tmp_path: Path, replay: Replay, action: Any,
                                               message: str) -> None:
    data = replay_to_dict(replay)
    data["actions"][3]["hider_0"] = action
    path = write_json(tmp_path / "m.json", data)
    with pytest.raises(ReplayError, match=message) as info:
        load_replay(path, verify=False)
    assert str(path) in str(info.value)
    with pytest.raises(ReplayStepError, match=message) as step_info:
        simulate(HIDE_AND_SEEK_ENV_ID, CONFIG, SEED, data["actions"])
    assert step_info.value.step == 3


def test_actions_the_game_refuses(tmp_path: Path, replay: Replay) -> None:
    data = replay_to_dict(replay)
    data["actions"][2]["seeker_0"] = [7, 0, 0]
    with pytest.raises(ReplayError, match="does not re-simulate: step 2: the env rejects the action: "
                                          "seeker_0: action .* outside MultiDiscrete"):
        load_replay(write_json(tmp_path / "a.json", data))
    data = replay_to_dict(replay)
    del data["actions"][1]["seeker_0"]
    with pytest.raises(ReplayError, match="step 1: no action for seeker_0"):
        load_replay(write_json(tmp_path / "b.json", data))
    data = replay_to_dict(replay)
    data["actions"][1]["seeker_5"] = [0, 0, 0]
    with pytest.raises(ReplayError, match="step 1: an action for seeker_5, which is not in the game"):
        load_replay(write_json(tmp_path / "c.json", data))
    data = replay_to_dict(replay)
    data["actions"].append(data["actions"][-1])
    data["outcome"]["steps"] += 1
    with pytest.raises(ReplayError, match="step 20: the game ended after 20 steps, but the replay has 21"):
        load_replay(write_json(tmp_path / "d.json", data))
    data = replay_to_dict(replay)
    data["actions"][0] = [[0, 0, 0]] * 3
    with pytest.raises(ReplayError, match="step 0: hide-and-seek actions must be a dict agent"):
        load_replay(write_json(tmp_path / "e.json", data), verify=False)


def test_changed_hash_or_outcome_is_refused(tmp_path: Path, replay: Replay) -> None:
    data = replay_to_dict(replay)
    data["final_state_sha256"] = "0" * 64
    with pytest.raises(ReplayError, match="final state differs \\(recorded sha256 0{64}, re-simulated"):
        load_replay(write_json(tmp_path / "h.json", data))
    data = replay_to_dict(replay)
    data["outcome"]["returns"]["hider"] += 2
    with pytest.raises(ReplayError, match="does not re-simulate: outcome differs"):
        load_replay(write_json(tmp_path / "o.json", data))
    data = replay_to_dict(replay)
    data["outcome"]["stats"]["seek"]["hider_locks"] += 1
    with pytest.raises(ReplayError, match="does not re-simulate: outcome differs"):
        load_replay(write_json(tmp_path / "s.json", data))


def test_agents_must_fill_the_configs_seats(replay: Replay, game: dict[str, Any]) -> None:
    with pytest.raises(ReplayError, match="agents: this config of palaestra/HideAndSeek-v0 has 3 seats "
                                          "\\(hider_0, hider_1, seeker_0\\), the replay names 2"):
        make_replay("hide-and-seek", CONFIG, SEED, ["a", "b"], game["actions"])
    with pytest.raises(ReplayError, match="HideAndSeek-v0 has 2 to 6 seat\\(s\\), got 7"):
        make_replay("hide-and-seek", CONFIG, SEED, list("abcdefg"), game["actions"])
    data = replay_to_dict(replay)
    data["agents"] = ["a", "b", "c", "d"]
    from palaestra.evaluation.replay import replay_from_dict

    with pytest.raises(ReplayError, match="has 3 seats"):
        verify_replay(replay_from_dict(data))


def test_an_unfinished_game_is_recorded_as_such() -> None:
    actions, env = play(CONFIG, 3, rng_seed=3, steps=4)
    replay = make_replay("hide-and-seek", CONFIG, 3, AGENTS, actions)
    assert replay.outcome["finished"] is False and replay.outcome["steps"] == 4
    assert replay.outcome["returns"] == {"hider": 0.0, "seeker": 0.0}  # preparation pays nothing
    assert replay.final_state_sha256 == state_sha256(hide_and_seek_state(env))
    verify_replay(replay)
