"""Single-agent training entry point: dispatch to a backend, then evaluate the result."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, cast

import gymnasium as gym

from palaestra.agents.learned.checkpoints import CheckpointMeta, load_kelly_checkpoint
from palaestra.evaluation.kelly import KellyEvaluation, evaluate_kelly
from palaestra.league.training.config import TrainConfig, prepare_run_dir, save_config

if TYPE_CHECKING:
    from palaestra.envs.kelly.env import KellyCoinflipEnv, KellyCoinflipGeneralizedEnv

ProgressFn = Callable[[int, dict[str, float]], None]

EVAL_SEED_OFFSET = 1_000_003
"""Final evaluation games are seeded apart from the training seed so they are unseen games."""


def train(
    config: TrainConfig, out: Path, force: bool = False, progress: ProgressFn | None = None
) -> KellyEvaluation:
    """Train, save a checkpoint in ``out``, reload it and evaluate it; the result is stored too."""
    prepare_run_dir(out, force)
    save_config(out, config)
    if config.backend == "sb3":
        from palaestra.league.training.sb3 import train_sb3

        train_sb3(config, out, progress)
    else:
        from palaestra.league.training.rllib import train_rllib

        train_rllib(config, out, progress)
    # Evaluate what was saved, through the same loader `palaestra evaluate` uses.
    agent = load_kelly_checkpoint(out, env_id=config.env_id)
    env = cast("KellyCoinflipEnv | KellyCoinflipGeneralizedEnv", gym.make(config.env_id).unwrapped)
    result = evaluate_kelly(
        env, agent, config.env_id, config.eval_episodes, seed=config.seed + EVAL_SEED_OFFSET
    )
    meta = CheckpointMeta.read(out)
    results = dict(meta.results)
    results["evaluation"] = result.to_dict()
    CheckpointMeta(**{**meta.__dict__, "results": results}).write(out)
    (out / "evaluation.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    return result
