"""Training configuration and run directories shared by the trainers."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym

import palaestra
from palaestra.agents.learned.checkpoints import CheckpointMeta
from palaestra.agents.learned.kelly import KellyFeatures, KellyLearningEnv
from palaestra.envs import get_spec
from palaestra.errors import ConfigError


@dataclass(frozen=True)
class TrainConfig:
    """A single-agent training run (PPO on a Gymnasium env)."""

    env: str = "kelly"
    """Env short name or id, from ``palaestra envs``."""
    algo: Literal["ppo"] = "ppo"
    """The algorithm."""
    backend: Literal["sb3", "rllib"] = "sb3"
    """Stable-Baselines3 in this process, or RLlib on a (local by default) Ray."""
    timesteps: int = 500_000
    """Env steps to train for."""
    seed: int = 0
    """Seeds the envs, the network initialisation and the sampling."""
    n_envs: int = 8
    """Envs stepped side by side."""
    n_steps: int = 1024
    """Steps per env per update (the rollout is n_envs * n_steps)."""
    batch_size: int = 256
    """Minibatch size of the PPO update."""
    n_epochs: int = 10
    """Passes over each rollout."""
    learning_rate: float = 3e-4
    """Adam step size."""
    gamma: float = 1.0
    """Discount; 1 because only the final wealth matters."""
    gae_lambda: float = 0.95
    """GAE lambda."""
    ent_coef: float = 0.0
    """Entropy bonus."""
    clip_range: float = 0.2
    """PPO ratio clip."""
    log_std_init: float = -1.0
    """Initial log standard deviation of the Gaussian policy."""
    hidden: tuple[int, ...] = (64, 64)
    """Hidden layer sizes of the policy and value networks."""
    reward: Literal["final", "increment"] = "final"
    """Learning signal: the final wealth, or each step's change in wealth (same optimum)."""
    action_offset: float = 2.0
    """The learner bets ``sigmoid(a - action_offset)`` of its wealth: 2 makes an untrained policy
    (a ~ 0) bet 12%, already a good bet; 0 makes it bet half (a poor start)."""
    reward_model: str | None = None
    """A reward model directory written by ``palaestra prefs train``: the learner is paid the
    learned reward instead of the env's (evaluation still uses the true final wealth)."""
    eval_episodes: int = 2000
    """Evaluation games played at the end of training (recorded in the checkpoint)."""
    ray_address: str | None = None
    """RLlib only: address of an existing Ray cluster; None starts a local Ray."""
    num_cpus: int = 2
    """RLlib only: CPUs of the local Ray."""
    tensorboard: bool = True
    """Write TensorBoard logs under the run directory."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Free-form notes stored with the run."""

    def __post_init__(self) -> None:
        spec = get_spec(self.env)  # raises with the list of known envs
        if spec.kind != "gymnasium":
            raise ConfigError(f"{spec.env_id} is multi-agent; use `palaestra league train`")
        if self.algo != "ppo":
            raise ConfigError(f"algo must be 'ppo', got {self.algo!r}")
        if self.backend not in ("sb3", "rllib"):
            raise ConfigError(f"backend must be 'sb3' or 'rllib', got {self.backend!r}")
        for name in ("timesteps", "n_envs", "n_steps", "batch_size", "n_epochs", "eval_episodes"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if (self.n_envs * self.n_steps) % self.batch_size:
            raise ConfigError(
                f"batch_size {self.batch_size} must divide the rollout n_envs * n_steps = "
                f"{self.n_envs * self.n_steps}"
            )
        if not 0.0 < self.gamma <= 1.0 or not 0.0 <= self.gae_lambda <= 1.0:
            raise ConfigError("need 0 < gamma <= 1 and 0 <= gae_lambda <= 1")
        if self.learning_rate <= 0:
            raise ConfigError(f"learning_rate must be positive, got {self.learning_rate}")
        if self.reward not in ("final", "increment"):
            raise ConfigError(f"reward must be 'final' or 'increment', got {self.reward!r}")
        if self.reward_model is not None:
            from palaestra.league.prefs.model_config import require_model_dir

            require_model_dir(self.reward_model)

    @property
    def env_id(self) -> str:
        return get_spec(self.env).env_id

    def make_env(self) -> gym.Env:
        """One learner-facing env (features in, wealth fraction out), paid the learned reward
        when ``reward_model`` is set."""
        env = KellyLearningEnv(gym.make(self.env_id), reward=self.reward,
                               action_offset=self.action_offset)
        if self.reward_model is None:
            return env
        from palaestra.league.prefs.reward_model import RewardEnsemble
        from palaestra.league.prefs.reward_wrapper import LearnedRewardWrapper

        return LearnedRewardWrapper(env, RewardEnsemble.load(self.reward_model))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        d["env_id"] = self.env_id
        d["package_version"] = palaestra.__version__
        return d


def prepare_run_dir(out: Path, force: bool) -> None:
    """Create an empty run directory; refuse to overwrite a previous run unless forced."""
    if out.exists():
        if not force:
            raise FileExistsError(
                f"{out} already exists; pass --force to replace it or choose another --out"
            )
        if not out.is_dir():
            raise FileExistsError(f"{out} exists and is not a directory")
        shutil.rmtree(out)
    out.mkdir(parents=True)


def save_config(out: Path, config: TrainConfig) -> None:
    (out / "config.json").write_text(json.dumps(config.to_dict(), indent=2, sort_keys=True) + "\n")


def write_checkpoint_meta(
    out: Path, config: TrainConfig, features: KellyFeatures, results: dict[str, Any]
) -> None:
    """Write ``palaestra.json`` for weights the trainer of ``config.backend`` has just saved."""
    CheckpointMeta(
        env_id=config.env_id,
        backend=config.backend,
        algo=config.algo,
        features=features.to_dict(),
        package_version=palaestra.__version__,
        train_config=config.to_dict(),
        results=results,
    ).write(out)
