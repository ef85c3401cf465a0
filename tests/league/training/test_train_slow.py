"""End-to-end training quality (slow: `make test-slow`)."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import pytest

from palaestra.agents.learned.checkpoints import load_kelly_checkpoint
from palaestra.evaluation.kelly import evaluate_kelly
from palaestra.league.training.config import TrainConfig
from palaestra.league.training.run import train

KELLY_20 = 237.4
"""Mean final wealth of the 20% Kelly bettor (issue 2's reference figure)."""


@pytest.mark.slow
def test_ppo_with_the_readme_budget_beats_236_over_10000_games(tmp_path: Path) -> None:
    # The README's command: palaestra train kelly --algo ppo --timesteps 300000 (seed 0).
    train(TrainConfig(timesteps=300_000, eval_episodes=100, tensorboard=False), tmp_path / "ppo")
    agent = load_kelly_checkpoint(tmp_path / "ppo", env_id="palaestra/KellyCoinflip-v0")
    env = gym.make("palaestra/KellyCoinflip-v0").unwrapped
    result = evaluate_kelly(env, agent, "palaestra/KellyCoinflip-v0", episodes=10_000, seed=0)
    assert result.mean_wealth >= 236.0, result
    assert result.ci95_low > KELLY_20 - 1.0, result


@pytest.mark.slow
def test_rllib_ppo_learns_to_bet_well(tmp_path: Path) -> None:
    pytest.importorskip("ray.rllib", reason="ray[rllib] is not installed")
    config = TrainConfig(backend="rllib", timesteps=60_000, eval_episodes=2_000,
                         tensorboard=False)
    result = train(config, tmp_path / "rllib")
    assert result.mean_wealth >= 236.0, result
