"""``palaestra prefs train``: learn a reward from pairwise preferences and train PPO on it.

The loop of Christiano et al. (2017), in rounds. Each round:

1. play the current policy (sampling its actions) and cut ``segment_length``-step segments;
2. pair them at random into ``candidates`` times as many pairs as the round may label, and keep the
   pairs the reward ensemble disagrees on most (the first round, before any fit, keeps random
   pairs);
3. have them labelled: the synthetic oracle (true reward, optional noise) or a human in the
   pygame labeller; every segment and label goes to the SQLite store at once;
4. refit the ensemble on every label of the env in the store;
5. train PPO (the SB3 trainer of ``palaestra train``) on the learned reward for its share of
   ``timesteps``.

``initial_fraction`` of the budget is labelled on segments of the untrained policy before PPO
starts; the rest is spread evenly over the rounds. The learner's final policy is evaluated on the
env's true return (the final wealth) and saved as a palaestra checkpoint, which
``palaestra evaluate`` and ``palaestra tournament submit`` load; the reward model is saved next to
it (``reward_model/``), which ``palaestra train --reward-model`` trains on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from palaestra.envs import short_names
from palaestra.errors import ConfigError
from palaestra.league.prefs.labels import LabelStore, SyntheticOracle
from palaestra.league.prefs.model_config import RewardModelConfig
from palaestra.league.prefs.segments import Segment, collect_segments

if TYPE_CHECKING:
    from palaestra.envs.kelly.env import KellyCoinflipEnv, KellyCoinflipGeneralizedEnv

PREFS_ENVS: tuple[str, ...] = short_names("kelly")
"""Envs ``prefs train`` runs on (the Kelly envs, the single-agent envs of ``palaestra train``)."""
LABELS_FILE = "labels.sqlite"
MODEL_DIR = "reward_model"
RESULTS_FILE = "prefs_results.json"

ProgressFn = Callable[[dict[str, Any]], None]
Labeller = Callable[[list[tuple[Segment, Segment]]], list[float | None]]
"""Labels for pairs (1 left, 0 right, 0.5 tie, None skipped); may return fewer (the user quit)."""


@dataclass(frozen=True)
class PrefsConfig:
    """One preference-learning run."""

    env: str = "kelly"
    """Env short name (see :data:`PREFS_ENVS`)."""
    labels: str = "synthetic"
    """``synthetic`` (oracle on the true reward) or ``human`` (the pygame labeller)."""
    budget: int = 1000
    """Comparisons to label in all."""
    rounds: int = 10
    """Label-fit-train rounds after the initial labelling."""
    timesteps: int = 300_000
    """PPO env steps on the learned reward, in all."""
    segment_length: int = 25
    """Steps per segment."""
    candidates: int = 4
    """Candidate pairs per labelled pair (the most disputed are labelled)."""
    segments_per_episode: int = 4
    """Most segments cut from one episode of the current policy."""
    initial_fraction: float = 0.25
    """Share of the budget labelled on the untrained policy's segments."""
    oracle_noise: float = 0.0
    """Synthetic labels: chance a label is a coin flip."""
    action_offset: float = 2.0
    """The learner's bet share is ``sigmoid(a - action_offset)`` (see ``TrainConfig``)."""
    seed: int = 0
    eval_episodes: int = 2000
    """Games for the final evaluation on the true return."""
    model: RewardModelConfig = field(default_factory=RewardModelConfig)

    def __post_init__(self) -> None:
        if self.env not in PREFS_ENVS:
            raise ConfigError(f"prefs trains on {', '.join(PREFS_ENVS)}, not {self.env!r}")
        if self.labels not in ("synthetic", "human"):
            raise ConfigError(f"labels must be 'synthetic' or 'human', got {self.labels!r}")
        for name in ("budget", "rounds", "timesteps", "segment_length", "candidates",
                     "segments_per_episode", "eval_episodes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if not 0.0 < self.initial_fraction < 1.0:
            raise ConfigError(f"initial_fraction must be in (0, 1), got {self.initial_fraction}")
        if not 0.0 <= self.oracle_noise <= 1.0:
            raise ConfigError(f"oracle_noise must be in [0, 1], got {self.oracle_noise}")
        if self.budget < self.rounds + 1:
            raise ConfigError(f"budget {self.budget} is less than one label per round "
                              f"({self.rounds} rounds + the initial one)")

    def schedule(self) -> list[int]:
        """Labels per round: the initial round, then ``rounds`` equal shares."""
        first = max(1, int(round(self.budget * self.initial_fraction)))
        rest = self.budget - first
        shares = [rest // self.rounds + (1 if k < rest % self.rounds else 0)
                  for k in range(self.rounds)]
        return [first, *shares]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["model"]["hidden"] = list(self.model.hidden)
        return data


def _train_config(config: PrefsConfig) -> Any:
    from palaestra.league.training.config import TrainConfig

    return TrainConfig(env=config.env, timesteps=config.timesteps, seed=config.seed,
                       reward="increment", eval_episodes=config.eval_episodes,
                       action_offset=config.action_offset, tensorboard=False)


class PrefsRun:
    """A preference-learning run in ``out`` (see the module docstring)."""

    def __init__(self, config: PrefsConfig, out: Path, labeller: Labeller | None = None,
                 labels_db: Path | None = None) -> None:
        import torch
        from stable_baselines3.common.env_util import make_vec_env

        from palaestra.league.prefs.reward_wrapper import LearnedRewardWrapper
        from palaestra.league.training.sb3 import WealthProgress, build_ppo

        torch.set_num_threads(1)  # small networks: more threads only contend (as train_sb3)
        self.config, self.out = config, Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.train_config = _train_config(config)
        self.rng = np.random.default_rng(config.seed)
        self.store = LabelStore(labels_db or self.out / LABELS_FILE)
        self.oracle = SyntheticOracle(noise=config.oracle_noise)
        if config.labels == "human" and labeller is None:
            raise ConfigError("human labels need a labeller (the pygame window)")
        self.labeller = labeller
        self.collect_env = self.train_config.make_env()  # true (increment) reward: the oracle's
        self.obs_dim = int(np.prod(self.collect_env.observation_space.shape))
        self.act_dim = int(np.prod(self.collect_env.action_space.shape))
        from palaestra.league.prefs.reward_model import RewardEnsemble

        self.model = RewardEnsemble(self.obs_dim, self.act_dim, config.model)
        tc = self.train_config
        self.venv = make_vec_env(lambda: LearnedRewardWrapper(tc.make_env(), self.model),
                                 n_envs=tc.n_envs, seed=config.seed)
        self.ppo = build_ppo(tc, self.venv)
        self.history: list[dict[str, Any]] = []
        self.label_steps = 0
        self.stopped = False
        self._recent: dict[str, float] = {}  # the true final wealth of PPO's recent games
        self._callback = WealthProgress(lambda _, stats: self._recent.update(stats))

    def _policy(self) -> Callable[[np.ndarray], np.ndarray]:
        def act(obs: np.ndarray) -> np.ndarray:
            return self.ppo.predict(obs, deterministic=False)[0]
        return act

    def _query(self, n: int) -> list[tuple[Segment, Segment]]:
        c = self.config
        want = n * (c.candidates if self.model.fitted else 1)
        segs, steps = collect_segments(self.collect_env, c.env, self._policy(), 2 * want,
                                       c.segment_length, self.rng, agent="ppo",
                                       per_episode=c.segments_per_episode)
        self.label_steps += steps
        order = self.rng.permutation(len(segs))  # pair segments of different episodes mostly
        pairs = [(segs[order[2 * k]], segs[order[2 * k + 1]]) for k in range(want)]
        if not self.model.fitted:
            return pairs
        disputed = np.argsort(-self.model.disagreement(pairs), kind="stable")[:n]
        return [pairs[k] for k in sorted(disputed)]

    def _label(self, pairs: list[tuple[Segment, Segment]]) -> int:
        """Label ``pairs`` and store them; returns how many got a label (not skipped)."""
        if self.config.labels == "synthetic":
            labels: list[float | None] = [self.oracle.label(a, b, self.rng) for a, b in pairs]
            who = f"synthetic:noise={self.config.oracle_noise}"
        else:
            assert self.labeller is not None
            labels = list(self.labeller(pairs))
            who = "human"
            self.stopped = len(labels) < len(pairs)
        done = 0
        for (left, right), label in zip(pairs, labels):
            if label is None:
                continue
            a = self.store.add_segment(left, who)
            b = self.store.add_segment(right, who)
            self.store.add_label(a, b, float(label), who)
            done += 1
        return done

    def _fit(self) -> Any:
        comps = [(c.left, c.right, c.label) for c in self.store.comparisons(self.config.env)]
        if not comps:
            raise RuntimeError("no labels yet: the labeller skipped every pair")
        return self.model.fit(comps, self.rng)

    def train(self, progress: ProgressFn | None = None) -> dict[str, Any]:
        c = self.config
        schedule = c.schedule()
        labelled = 0
        for k, n in enumerate(schedule):
            start = time.perf_counter()
            got = self._label(self._query(n))
            labelled += got
            fit = self._fit()
            row: dict[str, Any] = {"round": k, "labels": labelled, "fit_loss": fit.loss,
                                   "fit_accuracy": fit.accuracy}
            if k > 0:  # PPO collects whole rollouts: aim at the running share of the total
                target = c.timesteps * k // c.rounds
                self.ppo.learn(max(1, target - int(self.ppo.num_timesteps)),
                               reset_num_timesteps=False, callback=self._callback)
            row.update(ppo_steps=int(self.ppo.num_timesteps), seconds=time.perf_counter() - start,
                       final_wealth=self._recent.get("final_wealth"))
            self.history.append(row)
            if progress is not None:
                progress(row)
            if self.stopped:
                break  # the human labeller stopped: keep what was trained so far
        return self.finish()

    def finish(self) -> dict[str, Any]:
        """Save the reward model and the policy; evaluate the policy on the true return."""
        import gymnasium as gym

        from palaestra.agents.learned.checkpoints import load_kelly_checkpoint
        from palaestra.evaluation.kelly import evaluate_kelly
        from palaestra.league.training.run import EVAL_SEED_OFFSET
        from palaestra.league.training.sb3 import save_sb3_checkpoint

        self.model.save(self.out / MODEL_DIR)
        tc = self.train_config
        features = self.collect_env.get_wrapper_attr("kelly_features")
        save_sb3_checkpoint(self.ppo, tc, features, self.out,
                            {"timesteps": int(self.ppo.num_timesteps), "reward": "learned"})
        agent = load_kelly_checkpoint(self.out, env_id=tc.env_id)
        env = cast("KellyCoinflipEnv | KellyCoinflipGeneralizedEnv", gym.make(tc.env_id).unwrapped)
        result = evaluate_kelly(env, agent, tc.env_id,
                                self.config.eval_episodes, seed=self.config.seed + EVAL_SEED_OFFSET)
        summary = {"config": self.config.to_json(), "history": self.history,
                   "labels": self.store.count(self.config.env),
                   "label_env_steps": self.label_steps, "ppo_steps": int(self.ppo.num_timesteps),
                   "evaluation": result.to_dict()}
        (self.out / RESULTS_FILE).write_text(json.dumps(summary, indent=2) + "\n")
        self.store.close()
        return summary
