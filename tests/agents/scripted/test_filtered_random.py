"""``filtered-random``: random actions behind the action filter, from observation dicts."""

from __future__ import annotations

import numpy as np

from palaestra.agents.base import Agent
from palaestra.agents.scripted.bomber import RandomBomberAgent
from palaestra.agents.scripted.filtered import FilteredRandomBomberAgent, observation_batch, observation_mask
from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber import parallel_env
from palaestra.envs.bomber.action_filter import action_mask
from palaestra.envs.bomber.config import BomberConfig
from palaestra.envs.bomber.env import AGENT_INDEX, BomberParallelEnv
from palaestra.evaluation.bomber import play_bomber_game


def test_the_mask_from_an_observation_is_the_mask_of_the_full_state() -> None:
    # with full observability the observation holds everything the filter reads
    rng = np.random.default_rng(0)
    env = parallel_env()
    compared = 0
    for game in range(6):
        obs, _ = env.reset(seed=game)
        while env.agents:
            full = action_mask(env.batch)[0]
            for name in env.agents:
                assert np.array_equal(observation_mask(obs[name]), full[AGENT_INDEX[name]]), name
                compared += 1
            obs, *_ = env.step({name: int(rng.integers(6)) for name in env.agents})
    assert compared > 300


def test_the_observers_seat_and_bombs_are_read_from_the_dict() -> None:
    env = parallel_env(mode="team")
    obs, _ = env.reset(seed=4)
    obs, *_ = env.step({"player_0": C.LAY_BOMB, "player_1": C.STOP, "player_2": C.STOP, "player_3": C.STOP})
    batch, seat = observation_batch(obs["player_2"])
    assert seat == 2 and batch.meta[0, 1] == 1
    assert batch.bombs[0, 0, 1:5].tolist() == [*env.batch.bombs[0, 0, 1:3].tolist(), 9, 2]


def test_it_never_picks_a_masked_action_and_is_reproducible() -> None:
    rows = ["#" * 11] * 11
    rows = [r if i != 5 else "#" * 5 + ".." + "#" * 4 for i, r in enumerate(rows)]
    board = [[C.RIGID if ch == "#" else C.PASSAGE for ch in row] for row in rows]
    board[5][5] = C.AGENT0
    obs = {"board": np.array(board, np.int8), "bomb_blast_strength": np.zeros((11, 11)),
           "bomb_life": np.zeros((11, 11)), "bomb_moving_direction": np.zeros((11, 11)),
           "flame_life": np.zeros((11, 11)), "position": (5, 5), "ammo": 1, "blast_strength": 2,
           "can_kick": False, "teammate": 9, "enemies": [11, 12, 13], "alive": [1, 0, 0, 0]}
    # in a two-cell pocket: laying a bomb is deadly, UP/DOWN/LEFT are walls; STOP and RIGHT remain
    assert observation_mask(obs).tolist() == [True, False, False, False, True, False]
    agent = FilteredRandomBomberAgent()
    assert isinstance(agent, Agent) and agent.name == "filtered-random"
    agent.reset(np.random.default_rng(1))
    picks = [agent.act(obs) for _ in range(60)]
    assert set(picks) == {C.STOP, C.RIGHT}
    agent.reset(np.random.default_rng(1))
    assert [agent.act(obs) for _ in range(60)] == picks


def test_filtered_random_outlives_random_against_random_opponents() -> None:
    config = BomberConfig(max_steps=150)

    def deaths(first: type) -> int:
        dead = 0
        for seed in range(16):
            env = BomberParallelEnv(max_steps=config.max_steps)
            play_bomber_game([first()] + [RandomBomberAgent() for _ in range(3)], config, seed, env=env)
            dead += not env.alive("player_0")
        return dead

    random_deaths, filtered_deaths = deaths(RandomBomberAgent), deaths(FilteredRandomBomberAgent)
    assert random_deaths >= 10 and filtered_deaths * 3 < random_deaths, (filtered_deaths, random_deaths)


def test_cautious_random_keeps_to_the_cautious_mask() -> None:
    from palaestra.agents.scripted.bomber import make_scripted_bomber_agent

    env = parallel_env()
    agent = make_scripted_bomber_agent("cautious-random")
    assert agent.name == "cautious-random"
    agent.reset(np.random.default_rng(3))
    rng = np.random.default_rng(4)
    decisions = 0
    for game in range(4):
        obs, _ = env.reset(seed=game)
        while "player_0" in env.agents and len(env.agents) > 1:
            allowed = observation_mask(obs["player_0"], "cautious")
            actions = {a: int(rng.integers(6)) for a in env.agents}
            actions["player_0"] = agent.act(obs["player_0"])
            assert allowed[actions["player_0"]]
            obs, *_ = env.step(actions)
            decisions += 1
    assert decisions > 60
