"""PPO training with Stable-Baselines3 for the single-agent envs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.logger import Logger

from palaestra.agents.learned.checkpoints import SB3_MODEL
from palaestra.agents.learned.kelly import KellyFeatures
from palaestra.league.training.config import TrainConfig, write_checkpoint_meta

ProgressFn = Callable[[int, dict[str, float]], None]


class WealthProgress(BaseCallback):
    """Reports env steps and the mean final wealth of recent games to a callback."""

    def __init__(self, report: ProgressFn | None) -> None:
        super().__init__()
        self._report = report
        self._finals: list[float] = []

    def _on_step(self) -> bool:
        for info in self.locals.get("infos", []):
            final = info.get("final_wealth")
            if final is not None:
                self._finals.append(float(final))
        if self._report is not None:
            recent = self._finals[-200:]
            stats = {"final_wealth": float(np.mean(recent))} if recent else {}
            self._report(int(self.num_timesteps), stats)
        return True


def train_sb3(config: TrainConfig, out: Path, progress: ProgressFn | None = None) -> Path:
    """Train PPO with SB3 and save a checkpoint in ``out`` (which must exist and be empty).

    An interrupted run (Ctrl-C) still saves the policy it has, marked ``interrupted`` in the
    checkpoint's results, before re-raising.
    """
    torch.set_num_threads(1)
    venv = make_vec_env(config.make_env, n_envs=config.n_envs, seed=config.seed)
    features = venv.get_attr("kelly_features", indices=[0])[0]
    model = build_ppo(config, venv, out if config.tensorboard else None)
    results: dict[str, Any] = {}
    try:
        model.learn(config.timesteps, callback=WealthProgress(progress), tb_log_name="ppo")
    except KeyboardInterrupt:
        results["interrupted_at_step"] = int(model.num_timesteps)
        save_sb3_checkpoint(model, config, features, out, results)
        raise
    results["timesteps"] = int(model.num_timesteps)
    save_sb3_checkpoint(model, config, features, out, results)
    return out


def build_ppo(config: TrainConfig, venv: Any, tensorboard_dir: Path | None = None) -> PPO:
    """SB3 PPO with ``config``'s hyperparameters on ``venv`` (seeded by ``config.seed``); it logs
    TensorBoard scalars under ``tensorboard_dir`` if given, and nothing otherwise."""
    torch.manual_seed(config.seed)
    model = PPO(
        "MlpPolicy",
        venv,
        n_steps=config.n_steps,
        batch_size=config.batch_size,
        n_epochs=config.n_epochs,
        learning_rate=config.learning_rate,
        gamma=config.gamma,
        gae_lambda=config.gae_lambda,
        ent_coef=config.ent_coef,
        clip_range=config.clip_range,
        seed=config.seed,
        device="cpu",
        verbose=0,
        tensorboard_log=str(tensorboard_dir / "tensorboard") if tensorboard_dir else None,
        policy_kwargs={"log_std_init": config.log_std_init, "net_arch": list(config.hidden)},
    )
    if tensorboard_dir is None:
        # Without a folder SB3's default logger writes an empty /tmp/SB3-<time> on every learn():
        # a logger with no outputs is what verbose=0 gives, and writes nothing anywhere.
        model.set_logger(Logger(folder=None, output_formats=[]))
    return model


def save_sb3_checkpoint(
    model: PPO, config: TrainConfig, features: KellyFeatures, out: Path, results: dict[str, Any]
) -> None:
    tmp = out / (SB3_MODEL + ".tmp.zip")
    model.save(str(tmp))
    tmp.replace(out / SB3_MODEL)
    write_checkpoint_meta(out, config, features, results)
