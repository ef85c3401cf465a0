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

What the loops of every env share (the settings, the query by disagreement, labelling, the refit,
the rounds) is in :mod:`.rounds`; Bomber's loop, which trains a league, is :mod:`.bomber_run`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from palaestra.envs import short_names
from palaestra.errors import ConfigError
from palaestra.league.prefs.labels import LabelStore
from palaestra.league.prefs.rounds import (
    LABELS_FILE,
    MODEL_DIR,
    RESULTS_FILE,
    Labeller,
    Labelling,
    Pair,
    ProgressFn,
    RoundsConfig,
    check_positive,
    most_disputed,
    refit,
    run_rounds,
)
from palaestra.league.prefs.segments import collect_segments

if TYPE_CHECKING:
    from palaestra.envs.kelly.env import KellyCoinflipEnv, KellyCoinflipGeneralizedEnv

__all__ = ["LABELS_FILE", "MODEL_DIR", "PREFS_ENVS", "RESULTS_FILE", "Labeller", "PrefsConfig",
           "PrefsRun", "ProgressFn"]

PREFS_ENVS: tuple[str, ...] = short_names("kelly")
"""Envs :class:`PrefsRun` trains on (the Kelly envs, the single-agent envs of ``palaestra
train``); Bomber has its own loop (:mod:`palaestra.league.prefs.bomber_run`)."""


@dataclass(frozen=True)
class PrefsConfig(RoundsConfig):
    """One preference-learning run on a Kelly env (the shared settings: :class:`RoundsConfig`)."""

    env: str = "kelly"
    """Env short name (see :data:`PREFS_ENVS`)."""
    segments_per_episode: int = 4
    """Most segments cut from one episode of the current policy."""
    action_offset: float = 2.0
    """The learner's bet share is ``sigmoid(a - action_offset)`` (see ``TrainConfig``)."""
    eval_episodes: int = 2000
    """Games for the final evaluation on the true return."""

    def __post_init__(self) -> None:
        if self.env not in PREFS_ENVS:
            raise ConfigError(f"prefs trains on {', '.join(PREFS_ENVS)}, not {self.env!r} (Bomber: "
                              "BomberPrefsConfig of palaestra.league.prefs.bomber_run)")
        super().__post_init__()
        check_positive(self, ("segments_per_episode", "eval_episodes"))


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
        self.labelling = Labelling(config, self.store, labeller)
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
        self._recent: dict[str, float] = {}  # the true final wealth of PPO's recent games
        self._callback = WealthProgress(lambda _, stats: self._recent.update(stats))

    def _policy(self) -> Callable[[np.ndarray], np.ndarray]:
        def act(obs: np.ndarray) -> np.ndarray:
            return self.ppo.predict(obs, deterministic=False)[0]
        return act

    def _query(self, n: int) -> list[Pair]:
        c = self.config
        want = c.candidate_pairs(n, self.model.fitted)
        segs, steps = collect_segments(self.collect_env, c.env, self._policy(), 2 * want,
                                       c.segment_length, self.rng, agent="ppo",
                                       per_episode=c.segments_per_episode)
        self.label_steps += steps
        order = self.rng.permutation(len(segs))  # pair segments of different episodes mostly
        pairs = [(segs[order[2 * k]], segs[order[2 * k + 1]]) for k in range(want)]
        return most_disputed(self.model, pairs, n)

    def train(self, progress: ProgressFn | None = None) -> dict[str, Any]:
        """Run every round (see the module docstring), then :meth:`finish`; ``progress`` gets
        each round's history row."""
        self.history = run_rounds(self.config.schedule(), self._round, self.labelling, progress)
        return self.finish()

    def _round(self, k: int, n: int) -> dict[str, Any]:
        """Round ``k``: label ``n`` pairs, refit, train PPO (after the initial round)."""
        c = self.config
        self.labelling.label(self._query(n), self.rng)
        fit = refit(self.model, self.store, c.env, self.rng)
        if k > 0:  # PPO collects whole rollouts: aim at the running share of the total
            target = c.timesteps * k // c.rounds
            self.ppo.learn(max(1, target - int(self.ppo.num_timesteps)),
                           reset_num_timesteps=False, callback=self._callback)
        return {"round": k, "labels": self.labelling.given, "fit_loss": fit.loss,
                "fit_accuracy": fit.accuracy, "ppo_steps": int(self.ppo.num_timesteps),
                "final_wealth": self._recent.get("final_wealth")}

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
