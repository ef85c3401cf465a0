"""Hand-built Bomber scenarios for Pommerman's rules, each checked against the rule as documented."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from bomber_scenarios import scenario

from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber import parallel_env
from palaestra.envs.bomber.core import BomberBatch
from palaestra.envs.bomber.pommerman_io import StateFormatError, load_state, state_to_json

S, U, D, L, R, B = C.STOP, C.UP, C.DOWN, C.LEFT, C.RIGHT, C.LAY_BOMB
OPEN = ["." * 11] * 11


def run(state: dict[str, Any], *steps: list[int]) -> BomberBatch:
    batch = load_state(state)
    for actions in steps:
        batch.step(np.array([actions]))
    return batch


def agent(batch: BomberBatch, k: int) -> dict[str, Any]:
    return state_to_json(batch)["agents"][k]


def test_bomb_explodes_ten_steps_after_it_is_laid_with_blast_strength_minus_one_reach() -> None:
    state = scenario(OPEN, {0: (5, 5), 1: (5, 7), 2: (5, 6)})
    batch = run(state, [B, S, S, S])
    assert state_to_json(batch)["bombs"][0]["life"] == 9 and agent(batch, 0)["ammo"] == 0
    for _ in range(2):
        batch.step(np.array([[U, S, S, S]]))  # agent 0 walks out of reach
    for _ in range(6):
        batch.step(np.array([[S, S, S, S]]))
    s = state_to_json(batch)
    assert s["bombs"][0]["life"] == 1 and all(a["is_alive"] for a in s["agents"][:3])
    batch.step(np.array([[S, S, S, S]]))  # the 10th step
    s = state_to_json(batch)
    assert s["bombs"] == []
    flames = {tuple(f["position"]) for f in s["flames"]}
    assert flames == {(5, 5), (4, 5), (6, 5), (5, 4), (5, 6)}  # strength 2 reaches one cell
    assert not s["agents"][2]["is_alive"]  # at (5, 6), in the blast
    assert s["agents"][1]["is_alive"] and s["agents"][0]["is_alive"]  # (5, 7) and (3, 5)
    assert s["agents"][0]["ammo"] == 1  # the bomb came back


def test_flames_last_three_steps_and_reveal_the_item_under_wood() -> None:
    rows = list(OPEN)
    rows[5] = "....w#....."
    state = scenario(rows, {0: (5, 3), 1: (0, 0)}, items=[[[5, 4], C.KICK]],
                     bombs=[{"bomber_id": 0, "position": [5, 3], "life": 1, "blast_strength": 4,
                             "moving_direction": None}],
                     agent_fields={0: {"ammo": 0}})
    batch = run(state, [L, S, S, S])  # agent 0 cannot leave fast enough: it is in the blast
    s = state_to_json(batch)
    assert s["board"][5][4] == C.FLAMES and s["board"][5][5] == C.RIGID  # wood burns, rigid stops
    assert s["board"][5][6] == C.PASSAGE  # nothing passes the rigid wall
    for _ in range(2):
        batch.step(np.zeros((1, 4), np.int64))
        assert state_to_json(batch)["board"][5][4] == C.FLAMES
    batch.step(np.zeros((1, 4), np.int64))
    s = state_to_json(batch)
    assert s["board"][5][4] == C.KICK and s["items"] == [] and s["flames"] == []


def test_chain_explosion_sets_off_a_bomb_in_range_the_same_step() -> None:
    bombs = [
        {"bomber_id": 0, "position": [2, 2], "life": 1, "blast_strength": 3, "moving_direction": None},
        {"bomber_id": 1, "position": [2, 4], "life": 8, "blast_strength": 3, "moving_direction": None},
    ]
    state = scenario(OPEN, {0: (0, 0), 1: (10, 0), 2: (2, 6)}, bombs=bombs)
    s = state_to_json(run(state, [S, S, S, S]))
    assert s["bombs"] == []
    assert {(2, 5), (2, 6)} <= {tuple(f["position"]) for f in s["flames"]}
    assert not s["agents"][2]["is_alive"]


def test_agents_moving_into_the_same_cell_both_bounce_and_swaps_are_reverted() -> None:
    state = scenario(OPEN, {0: (5, 4), 1: (5, 6), 2: (8, 4), 3: (8, 5)})
    s = state_to_json(run(state, [R, L, R, L]))
    assert [a["position"] for a in s["agents"]] == [[5, 4], [5, 6], [8, 4], [8, 5]]


def test_a_chain_of_agents_behind_a_bounce_stays_too() -> None:
    # 0 and 1 collide on (5, 5); 2 wanted 1's old cell and must stay as well? No: 1 stays, so 2
    # walking into 1's cell collides with it and bounces.
    state = scenario(OPEN, {0: (5, 4), 1: (5, 6), 2: (5, 7)})
    s = state_to_json(run(state, [R, L, L, S]))
    assert [a["position"] for a in s["agents"][:3]] == [[5, 4], [5, 6], [5, 7]]


def test_walls_block_movement_and_the_board_edge_too() -> None:
    rows = list(OPEN)
    rows[4] = ".....#....."
    state = scenario(rows, {0: (5, 5), 1: (0, 0)})
    s = state_to_json(run(state, [U, U, S, S]))
    assert s["agents"][0]["position"] == [5, 5] and s["agents"][1]["position"] == [0, 0]


def test_without_kick_a_bomb_blocks_and_with_kick_it_slides_until_blocked() -> None:
    rows = list(OPEN)
    rows[5] = "........#.."
    bomb = {"bomber_id": 1, "position": [5, 4], "life": 9, "blast_strength": 2,
            "moving_direction": None}
    plain = scenario(rows, {0: (5, 3), 1: (0, 0)}, bombs=[bomb])
    s = state_to_json(run(plain, [R, S, S, S]))
    assert s["agents"][0]["position"] == [5, 3] and s["bombs"][0]["position"] == [5, 4]

    kicker = scenario(rows, {0: (5, 3), 1: (0, 0)}, bombs=[bomb],
                      agent_fields={0: {"can_kick": True}})
    batch = run(kicker, [R, S, S, S])
    s = state_to_json(batch)
    assert s["agents"][0]["position"] == [5, 4]
    assert s["bombs"][0]["position"] == [5, 5] and s["bombs"][0]["moving_direction"] == R
    batch.step(np.zeros((1, 4), np.int64))
    batch.step(np.zeros((1, 4), np.int64))
    s = state_to_json(batch)
    assert s["bombs"][0]["position"] == [5, 7] and s["bombs"][0]["moving_direction"] == R
    batch.step(np.zeros((1, 4), np.int64))  # the rigid wall at (5, 8) stops it
    s = state_to_json(batch)
    assert s["bombs"][0]["position"] == [5, 7] and s["bombs"][0]["moving_direction"] is None


def test_power_ups_are_picked_up_and_capped() -> None:
    rows = list(OPEN)
    rows[5] = "....erk...."
    state = scenario(rows, {0: (5, 3), 1: (0, 0)}, agent_fields={0: {"blast_strength": 9}})
    batch = run(state, [R, S, S, S], [R, S, S, S], [R, S, S, S])
    a = agent(batch, 0)
    assert (a["ammo"], a["blast_strength"], a["can_kick"]) == (2, 10, True)
    batch = load_state(scenario(rows, {0: (5, 5), 1: (0, 0)}, agent_fields={0: {"blast_strength": 4}}))
    batch.step(np.array([[S, S, S, S]]))
    batch.step(np.array([[L, S, S, S]]), max_blast_strength=4)  # team games cap the range at 4
    assert agent(batch, 0)["blast_strength"] == 4


def test_flames_destroy_power_ups_lying_in_the_open() -> None:
    rows = list(OPEN)
    rows[5] = "....e......"
    bomb = {"bomber_id": 1, "position": [5, 3], "life": 1, "blast_strength": 3,
            "moving_direction": None}
    batch = run(scenario(rows, {0: (0, 0), 1: (10, 0)}, bombs=[bomb]), [S, S, S, S])
    for _ in range(3):
        batch.step(np.zeros((1, 4), np.int64))
    assert state_to_json(batch)["board"][5][4] == C.PASSAGE


def _pz(state: dict[str, Any], **config: Any):
    env = parallel_env(**config)
    obs, _ = env.reset(seed=0, options={"state": state})
    return env, obs


def test_ffa_last_agent_standing_wins_and_the_dead_get_minus_one_at_once() -> None:
    bomb = {"bomber_id": 0, "position": [5, 5], "life": 1, "blast_strength": 2,
            "moving_direction": None}
    env, _ = _pz(scenario(OPEN, {0: (0, 0), 1: (5, 5), 2: (10, 10), 3: (0, 10)}, bombs=[bomb]))
    _, rew, term, trunc, info = env.step({a: 0 for a in env.agents})
    assert rew["player_1"] == -1 and term["player_1"] and "player_1" not in env.agents
    assert rew["player_0"] == 0 and not term["player_0"]
    env2, _ = _pz(scenario(OPEN, {0: (0, 0), 1: (5, 5), 2: (5, 6)}, bombs=[bomb]))
    _, rew, term, trunc, info = env2.step({a: 0 for a in env2.agents})
    assert rew == {"player_0": 1.0, "player_1": -1.0, "player_2": -1.0}
    assert all(term.values()) and info["player_0"]["result"] == "win"
    assert info["player_0"]["winners"] == ["player_0"] and env2.agents == []


def test_simultaneous_last_deaths_are_a_tie_and_time_out_is_a_truncation() -> None:
    bomb = {"bomber_id": 0, "position": [5, 5], "life": 1, "blast_strength": 2,
            "moving_direction": None}
    env, _ = _pz(scenario(OPEN, {0: (5, 4), 1: (5, 6)}, bombs=[bomb]))
    _, rew, term, _, info = env.step({a: 0 for a in env.agents})
    assert rew == {"player_0": -1.0, "player_1": -1.0} and info["player_0"]["result"] == "tie"
    env, _ = _pz(scenario(OPEN, {0: (0, 0), 1: (10, 0)}, step_count=799))
    _, rew, term, trunc, info = env.step({a: 0 for a in env.agents})
    assert rew == {"player_0": -1.0, "player_1": -1.0}
    assert all(trunc.values()) and not any(term.values())


def test_team_win_rewards_the_dead_teammate_too() -> None:
    bomb = {"bomber_id": 0, "position": [5, 5], "life": 1, "blast_strength": 2,
            "moving_direction": None}
    env, _ = _pz(scenario(OPEN, {0: (0, 0), 1: (5, 5), 3: (5, 6)}, bombs=[bomb]), mode="team")
    assert env.agents == ["player_0", "player_1", "player_2", "player_3"]
    _, rew, term, _, info = env.step({a: 0 for a in env.agents})
    assert rew == {"player_0": 1.0, "player_1": -1.0, "player_2": 1.0, "player_3": -1.0}
    assert info["player_2"]["winners"] == ["player_0", "player_2"]


def test_team_radio_delivers_words_to_the_teammate() -> None:
    env, _ = _pz(scenario(OPEN, {0: (0, 0), 1: (10, 0), 2: (10, 10), 3: (0, 10)}),
                 mode="team_radio")
    obs, *_ = env.step({"player_0": [0, 3, 5], "player_1": [0, 1, 1], "player_2": [0, 0, 0],
                        "player_3": [0, 7, 2]})
    assert obs["player_2"]["message"].tolist() == [3, 5]
    assert obs["player_1"]["message"].tolist() == [7, 2]


def test_partial_observability_fogs_what_is_out_of_view() -> None:
    bomb = {"bomber_id": 3, "position": [0, 8], "life": 5, "blast_strength": 2,
            "moving_direction": None}
    env, obs = _pz(scenario(OPEN, {0: (0, 0), 3: (0, 10)}, bombs=[bomb]),
                   partially_observable=True)
    o = obs["player_0"]
    assert o["board"][0, 4] == C.PASSAGE and o["board"][0, 5] == C.FOG
    assert o["bomb_life"][0, 8] == 0
    assert obs["player_3"]["bomb_life"][0, 8] == 5


def test_observation_dict_matches_pommerman_fields() -> None:
    env, obs = _pz(scenario(OPEN, {0: (1, 1), 1: (9, 1), 2: (9, 9), 3: (1, 9)}), mode="team")
    o = obs["player_1"]
    assert o["teammate"] == C.AGENT0 + 3 and sorted(o["enemies"].tolist()) == [9, 10, 12]
    assert o["position"].tolist() == [9, 1] and o["ammo"] == 1 and o["blast_strength"] == 2
    assert o["alive"].tolist() == [1, 1, 1, 1] and o["game_type"] == 2


def test_state_json_round_trip_and_resume() -> None:
    env = parallel_env()
    env.reset(seed=3)
    rng = np.random.default_rng(0)
    for _ in range(15):
        env.step({a: int(rng.integers(6)) for a in env.agents})
    saved = env.get_state_json()
    follow = [{a: int(rng.integers(6)) for a in env.possible_agents} for _ in range(10)]
    for acts in follow:
        if env.agents:
            env.step({a: acts[a] for a in env.agents})
    end = env.get_state_json()
    again = parallel_env()
    again.reset(options={"state": saved})
    assert again.get_state_json() == saved
    for acts in follow:
        if again.agents:
            again.step({a: acts[a] for a in again.agents})
    assert again.get_state_json() == end


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda s: s.pop("board"), "no 'board'"),
        (lambda s: s.update(board=[[0] * 11] * 10), "11x11"),
        (lambda s: s["agents"][0].update(position=[11, 0]), "off the"),
        (lambda s: s.update(items=[[[1, 1], 4]]), "not a power-up"),
        (lambda s: s.update(agents=s["agents"][:3]), "4 agents"),
        (lambda s: s["agents"][1].pop("ammo"), "missing"),
    ],
)
def test_malformed_states_are_rejected_with_the_field_named(mutate, message) -> None:
    state = scenario(OPEN, {0: (0, 0), 1: (10, 0)})
    mutate(state)
    with pytest.raises(StateFormatError, match=message):
        load_state(state)


def test_bad_actions_are_rejected() -> None:
    env = parallel_env()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="player_0"):
        env.step({"player_0": 6, "player_1": 0, "player_2": 0, "player_3": 0})
    with pytest.raises(ValueError, match="no action for player_3"):
        env.step({"player_0": 0, "player_1": 0, "player_2": 0})


def test_playground_json_info_form_loads_too() -> None:
    from palaestra.envs.bomber.pommerman_io import to_json_info

    env = parallel_env()
    env.reset(seed=4)
    for _ in range(12):
        if env.agents:
            env.step({a: 5 if a == "player_0" else 1 for a in env.agents})
    info = to_json_info(env.batch, 0, intended_actions=[5, 1, 1, 1])
    assert all(isinstance(v, str) for v in info.values())
    assert state_to_json(load_state(info)) == env.get_state_json()
    with pytest.raises(StateFormatError, match="'board' is not valid JSON"):
        load_state({**info, "board": "[[0, 1"})
    with pytest.raises(StateFormatError, match="not valid JSON"):
        load_state("{oops")
