"""The RLlib backend: a short run on a local Ray writes a checkpoint `evaluate` loads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ray.rllib", reason="ray[rllib] is not installed")

from palaestra.agents.learned.checkpoints import CheckpointMeta, load_kelly_checkpoint  # noqa: E402
from palaestra.league.training.config import TrainConfig  # noqa: E402
from palaestra.league.training.run import train  # noqa: E402


def test_rllib_run_round_trips_through_the_loader(tmp_path: Path) -> None:
    out = tmp_path / "rllib"
    config = TrainConfig(backend="rllib", timesteps=512, n_envs=2, n_steps=256, batch_size=128,
                         n_epochs=1, eval_episodes=200, tensorboard=False)
    steps: list[int] = []
    result = train(config, out, progress=lambda s, _: steps.append(s))
    assert steps and steps[-1] >= 512
    meta = CheckpointMeta.read(out)
    assert meta.backend == "rllib" and meta.results["timesteps"] >= 512
    assert (out / "rl_module").is_dir()
    agent = load_kelly_checkpoint(out, env_id="palaestra/KellyCoinflip-v0")
    obs = {"wealth": np.array([25.0, 240.0]), "rounds_left": np.array([300, 3])}
    bets = agent.act_batch(obs)
    assert np.all(bets >= 0) and bets[1] <= 1_000
    assert 0.0 <= result.mean_wealth <= 250.0 and result.episodes == 200
