"""Whole Bomber games between scripted agents (evaluation/bomber.py), in every mode."""

from __future__ import annotations

import pytest

from palaestra.agents.scripted.bomber import make_scripted_bomber_agent
from palaestra.envs.bomber.config import BomberConfig
from palaestra.envs.bomber.env import BomberParallelEnv
from palaestra.evaluation.bomber import play_bomber_game


@pytest.mark.parametrize("mode", ["ffa", "team", "team_radio"])
def test_four_simple_agents_finish_their_games(mode: str) -> None:
    # in the team modes the dead stay in the game; they are not asked to act (the port's path
    # search failed on a dead agent's stale position before); in team_radio a built-in's bare move
    # is a silent [move, 0, 0] (it stopped the game before)
    config = BomberConfig(mode=mode)  # type: ignore[arg-type]
    for seed in range(4):
        agents = [make_scripted_bomber_agent("simple") for _ in range(4)]
        result = play_bomber_game(agents, config, seed)
        assert 0 < result.steps <= config.max_steps
        assert result.result in ("win", "tie")


def test_a_dead_teammate_stands_still() -> None:
    env = BomberParallelEnv(mode="team")
    env.reset(seed=0)
    env.batch.agents[0, 0, 0] = 0  # player_0 dies
    assert env.agents[0] == "player_0" and not env.alive("player_0") and env.alive("player_1")
    assert env.idle_action() == 0
    assert BomberParallelEnv(mode="team_radio").idle_action() == [0, 0, 0]
