"""PPO training with RLlib (new API stack) for the single-agent envs, on a local or remote Ray."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from palaestra.agents.learned.checkpoints import RLLIB_MODULE
from palaestra.agents.learned.kelly import KellyFeatures
from palaestra.league.rllib.modules import model_config
from palaestra.league.rllib.session import ray_session
from palaestra.league.rllib.weights import save_module
from palaestra.league.training.config import TrainConfig, write_checkpoint_meta

ProgressFn = Callable[[int, dict[str, float]], None]

_ENV_NAME = "palaestra_single_agent"


def _env_creator(env_config: dict[str, Any]) -> Any:
    # Rebuilt on every env runner from the resolved config: nothing but plain data crosses Ray.
    return TrainConfig(**env_config["train_config"]).make_env()


def _ppo_config(config: TrainConfig) -> Any:
    from ray.rllib.algorithms.ppo import PPOConfig

    plain = {k: v for k, v in config.__dict__.items()}
    plain["hidden"] = tuple(config.hidden)
    return (
        PPOConfig()
        .environment(
            _ENV_NAME,
            env_config={"train_config": plain},
            # The policy's raw output is mapped to a bet by KellyFeatures, as with SB3.
            normalize_actions=False,
            clip_actions=True,
        )
        .env_runners(
            num_env_runners=0,
            num_envs_per_env_runner=config.n_envs,
            rollout_fragment_length=config.n_steps,
        )
        .training(
            lr=config.learning_rate,
            gamma=config.gamma,
            lambda_=config.gae_lambda,
            entropy_coeff=config.ent_coef,
            clip_param=config.clip_range,
            train_batch_size_per_learner=config.n_envs * config.n_steps,
            minibatch_size=config.batch_size,
            num_epochs=config.n_epochs,
        )
        .rl_module(model_config=model_config(config.hidden))
        .debugging(seed=config.seed)
    )


def train_rllib(config: TrainConfig, out: Path, progress: ProgressFn | None = None) -> Path:
    """Train PPO with RLlib and save the policy module in ``out`` (existing, empty).

    Starts a local Ray with ``config.num_cpus`` CPUs unless ``config.ray_address`` names a cluster
    (Ray is shut down again only if this call started it).
    """
    with ray_session(config):
        return _train(config, out, progress)


def _train(config: TrainConfig, out: Path, progress: ProgressFn | None) -> Path:
    from ray.rllib.utils.metrics import ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME
    from ray.tune.registry import register_env

    register_env(_ENV_NAME, _env_creator)
    features = config.make_env().get_wrapper_attr("kelly_features")
    algo = _ppo_config(config).build_algo()
    results: dict[str, Any] = {}
    steps = 0
    finished = False
    try:
        while steps < config.timesteps:
            result = algo.train()
            runner = result.get(ENV_RUNNER_RESULTS, {})
            steps = int(runner.get(NUM_ENV_STEPS_SAMPLED_LIFETIME, steps))
            if progress is not None:
                stats = {}
                mean_return = runner.get("episode_return_mean")
                if mean_return is not None and config.reward == "final":
                    stats["final_wealth"] = float(mean_return) * features.wealth_scale
                progress(steps, stats)
        finished = True
        results["timesteps"] = steps
    except KeyboardInterrupt:
        results["interrupted_at_step"] = steps
        raise
    finally:
        try:
            if finished or "interrupted_at_step" in results:
                _save(algo, config, features, out, results)
        finally:
            algo.stop()
    return out


def _save(
    algo: Any, config: TrainConfig, features: KellyFeatures, out: Path, results: dict[str, Any]
) -> None:
    save_module(algo, out / RLLIB_MODULE)
    write_checkpoint_meta(out, config, features, results)
