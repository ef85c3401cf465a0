"""Scripted hide-and-seek agents: registry, determinism, and the behaviours they promise."""

from __future__ import annotations

import numpy as np
import pytest

from palaestra.agents.base import Agent
from palaestra.agents.scripted.hide_and_seek import SCRIPTED_HNS_AGENTS, make_scripted_hns_agent
from palaestra.envs import hide_and_seek as hns
from palaestra.envs.hide_and_seek import constants as K
from palaestra.envs.hide_and_seek.state import GameState
from palaestra.errors import UnknownNameError


def play(env, agents: dict, seed: int, state: GameState | None = None) -> tuple[dict, dict]:
    """One episode; returns the summed rewards and the last infos."""
    obs, _ = env.reset(seed=seed, options={"state": state} if state is not None else None)
    for k, name in enumerate(env.possible_agents):
        agents[name].reset(np.random.default_rng(seed * 100 + k))
    total = dict.fromkeys(env.possible_agents, 0.0)
    infos: dict = {}
    while env.agents:
        obs, rewards, _, _, infos = env.step({name: agents[name].act(obs[name]) for name in env.agents})
        for name, r in rewards.items():
            total[name] += r
    return total, infos


def team(env, hider: str, seeker: str) -> dict:
    return {name: make_scripted_hns_agent(hider if name.startswith("hider") else seeker)
            for name in env.possible_agents}


def test_registry_builds_every_agent_and_rejects_unknown_names():
    for name in SCRIPTED_HNS_AGENTS:
        agent = make_scripted_hns_agent(name)
        assert isinstance(agent, Agent) and agent.name == name
    with pytest.raises(UnknownNameError, match="unknown hide-and-seek agent 'nope'.*heuristic"):
        make_scripted_hns_agent("nope")


def test_agents_are_deterministic_under_their_generator():
    env = hns.parallel_env(n_hiders=2, n_seekers=2, max_steps=60)

    def trace(seed: int) -> list:
        obs, _ = env.reset(seed=seed)
        agents = team(env, "heuristic", "heuristic")
        for k, agent in enumerate(agents.values()):
            agent.reset(np.random.default_rng(k))
        out = []
        while env.agents:
            actions = {name: agents[name].act(obs[name]) for name in env.agents}
            out.append([a.tolist() for a in actions.values()])
            obs, *_ = env.step(actions)
        return out

    assert trace(3) == trace(3)


def test_wrong_team_or_local_grid_is_refused():
    env = hns.parallel_env(n_hiders=1, n_seekers=1)
    obs, _ = env.reset(seed=0)
    with pytest.raises(ValueError, match="hider agent plays the hiders"):
        make_scripted_hns_agent("hider").act(obs["seeker_0"])
    with pytest.raises(ValueError, match="seeker agent plays the seekers"):
        make_scripted_hns_agent("seeker").act(obs["hider_0"])
    local = hns.parallel_env(n_hiders=1, n_seekers=1, grid_radius=3)
    obs, _ = local.reset(seed=0)
    with pytest.raises(ValueError, match="grid_radius=None"):
        make_scripted_hns_agent("heuristic").act(obs["hider_0"])
    # the random and noop agents work on any observation
    for name in ("random", "noop"):
        agent = make_scripted_hns_agent(name)
        agent.reset(np.random.default_rng(0))
        assert local.action_space("hider_0").contains(agent.act(obs["hider_0"]))


BARRICADE = [
    "##########",
    "#.......X#",
    "#........#",
    "#........#",
    "####.#####",
    "#........#",
    "#...o....#",
    "#.A......#",
    "#........#",
    "##########",
]


def barricade_state() -> GameState:
    walls = np.array([[ch == "#" for ch in row] for row in BARRICADE])
    return GameState(walls=walls, ramps=np.zeros((0, 2), np.int64), boxes=np.array([[6, 4]]),
                     box_lock=np.array([K.UNLOCKED]), agent_pos=np.array([[7, 2], [1, 8]]),
                     agent_face=np.array([K.UP, K.LEFT]), agent_team=np.array([K.HIDERS, K.SEEKERS]))


def test_hider_carries_a_box_into_the_door_and_locks_it_in_time():
    env = hns.parallel_env(grid_size=10, n_hiders=1, n_seekers=1, n_boxes=1, n_ramps=0, max_steps=40)
    total, infos = play(env, team(env, "hider", "seeker"), seed=0, state=barricade_state())
    assert env.game.boxes[0].tolist() == [4, 4] and env.game.box_lock[0] == K.HIDERS
    assert env.game.agent_pos[0][0] > 4  # inside, below the door
    stats = infos["hider_0"]["stats"]
    assert stats["prep"]["hider_locks"] == 1 and stats["prep"]["hider_box_moves"] >= 2
    assert total["hider_0"] == env.config.max_steps - env.config.prep_steps  # never seen


def test_seeker_finds_and_watches_a_still_hider():
    env = hns.parallel_env(n_hiders=1, n_seekers=1, rooms=False)
    wins = [play(env, team(env, "noop", "seeker"), seed)[0]["seeker_0"] for seed in range(3)]
    assert np.mean(wins) > 20, wins


def test_heuristics_beat_random_play():
    env = hns.parallel_env(n_hiders=2, n_seekers=2)
    hiders = [play(env, team(env, "hider", "random"), seed)[0]["hider_0"] for seed in range(3)]
    seekers = [play(env, team(env, "random", "seeker"), seed)[0]["seeker_0"] for seed in range(3)]
    assert np.mean(hiders) > 30 and np.mean(seekers) > 30, (hiders, seekers)


def test_heuristic_hiders_build_shelters_against_heuristic_seekers():
    env = hns.parallel_env(n_hiders=2, n_seekers=2)
    locks = moves = 0
    for seed in range(4):
        _, infos = play(env, team(env, "heuristic", "heuristic"), seed)
        prep = infos["hider_0"]["stats"]["prep"]
        locks += prep["hider_locks"]
        moves += prep["hider_box_moves"]
        assert prep["seeker_box_moves"] == prep["seeker_locks"] == 0  # frozen
    assert locks >= 2 and moves >= 8
