"""The NAU counting core as a recurrent PPO module for the league (RLlib's new API stack, torch).

:class:`NauCountingModule` wraps one :class:`~palaestra.agents.learned.nalu.CountingPolicy` of
kind ``nau``, the very core the REINFORCE trainer (:mod:`palaestra.league.training.counting`)
trains: an accumulator ``h_t = h_{t-1} + NAU(x_t)`` (``h_0 = 0``) over the 9 counting features
that :class:`~palaestra.league.population.envs.solo.CountingFeatures` gives as observations, an NAU
head for the five logits and an MLP value on ``[x_t, h_t]``. The module does not re-implement the
policy: it steps it once per time step of RLlib's recurrent batches.

RLlib's recurrent protocol: :meth:`NauCountingModule.get_initial_state` is the policy's initial
state (one tensor per state entry, without the batch axis, under the keys ``h0``, ``h1``, ...);
a batch holds ``Columns.OBS`` of shape ``(B, T, 9)`` (``T = 1`` when sampling, up to
``max_seq_len`` in training, zero-padded) and ``Columns.STATE_IN``, the state before its first
step; the module returns logits ``(B, T, 5)`` and ``Columns.STATE_OUT``, the state after the last
step. A batch without a time axis, ``(B, 9)``, is one step (outputs ``(B, 5)``), and a batch
without ``STATE_IN`` starts from the initial state.

The NAU needs two things from PPO that it does not do itself, both in
:class:`NauPPOTorchLearner`: the sparsity regulariser (:meth:`CountingPolicy.sparsity_penalty`)
added to each NAU module's loss with the weight of a
:class:`~palaestra.agents.learned.nau.RegularizerSchedule` at the run's progress, and the NAU
weights clamped to [-1, 1] after every optimiser step.

This module imports torch and Ray at the top: import it inside the function that needs it.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from ray.rllib.algorithms.ppo.torch.ppo_torch_learner import PPOTorchLearner
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.apis.value_function_api import ValueFunctionAPI
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from ray.rllib.core.rl_module.torch import TorchRLModule
from ray.rllib.utils.metrics import NUM_ENV_STEPS_SAMPLED_LIFETIME

from palaestra.agents.learned.nalu import FEATURE_NAMES, CountingPolicy, counting_features
from palaestra.agents.learned.nau import RegularizerSchedule
from palaestra.errors import ConfigError
from palaestra.league.rllib.modules import settings_from_model_config
from palaestra.league.training.counting import CountingTrainConfig

CONFIG_KEY = "counting_nau"
"""The key of this module's settings inside RLlib's ``model_config``."""
FEATURE_SCALE: float = float(inspect.signature(counting_features).parameters["scale"].default)
"""The scale of the features the league's counting env gives (``CountingFeatures`` calls
:func:`counting_features` with its default scale); the policy is built with the same one."""
PLANNED_ENV_STEPS_KEY = "nau_planned_env_steps"
"""The key of ``learner_config_dict`` that tells :class:`NauPPOTorchLearner` the env steps the run
plans to sample in all (``iterations * steps_per_iteration``): its progress is measured against it."""
REGULARIZER_WEIGHT_KEY = "nau_regularizer_weight"
"""Learner metric (per module): the regulariser's weight in the last update."""
SPARSITY_PENALTY_KEY = "nau_sparsity_penalty"
"""Learner metric (per module): the NAU sparsity penalty, 0 when every NAU weight is -1, 0 or 1."""
NAU_DIAGNOSTICS: tuple[str, ...] = (REGULARIZER_WEIGHT_KEY, SPARSITY_PENALTY_KEY)
"""The learner metrics a NAU module adds to PPO's own."""


_TRAINER = CountingTrainConfig(kind="nau")
"""The REINFORCE trainer's NAU settings: the defaults of :class:`NauConfig`."""


@dataclass(frozen=True)
class NauConfig:
    """The shape of :class:`NauCountingModule` and its regulariser schedule.

    The defaults are those of the REINFORCE trainer (``CountingTrainConfig`` with ``kind="nau"``).
    """

    hidden: int = _TRAINER.hidden_size
    """Size of the accumulator ``h`` (the NAU core's outputs)."""
    gain: float = _TRAINER.gain_value
    """Initial value of the learned inverse temperature of the NAU head's logits."""
    regularizer: float = _TRAINER.regularizer
    """The sparsity regulariser's weight once fully on (0: none)."""
    regularizer_start: float = _TRAINER.regularizer_start
    """Fraction of the run after which the regulariser starts to rise from 0."""
    regularizer_end: float = _TRAINER.regularizer_end
    """Fraction of the run at which it reaches ``regularizer``."""
    max_seq_len: int = 32
    """Length of the sequences PPO trains on (RLlib's ``max_seq_len``; the LSTM core's too)."""

    def __post_init__(self) -> None:
        for name in ("hidden", "max_seq_len"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
            object.__setattr__(self, name, int(value))
        for name in ("gain", "regularizer", "regularizer_start", "regularizer_end"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float | np.number) \
                    or not math.isfinite(value):
                raise ConfigError(f"{name} must be a finite number, got {value!r}")
            object.__setattr__(self, name, float(value))
        if not self.gain > 0:
            raise ConfigError(f"gain must be positive, got {self.gain}")
        self.schedule()  # checks strength >= 0 and 0 <= start <= end <= 1

    def schedule(self) -> RegularizerSchedule:
        """The regulariser's weight over the run."""
        return RegularizerSchedule(self.regularizer, self.regularizer_start, self.regularizer_end)

    def to_model_config(self) -> dict[str, Any]:
        """The plain-data ``model_config`` of an RLModuleSpec: these settings under
        :data:`CONFIG_KEY`, and ``max_seq_len`` at the top, where RLlib's connectors read it."""
        return {CONFIG_KEY: dataclasses.asdict(self), "max_seq_len": self.max_seq_len}

    @classmethod
    def from_model_config(cls, model_config: object) -> NauConfig:
        """Read back :meth:`to_model_config` (the defaults where the key is absent)."""
        return settings_from_model_config(cls, model_config, CONFIG_KEY, "NAU counting module",
                                          "nau_module_spec")


def counting_obs_space() -> gym.spaces.Box:
    """The module's observation space: the counting features, as ``CountingFeatures`` declares them."""
    return gym.spaces.Box(-10.0, 10.0, (len(FEATURE_NAMES),), np.float32)


def nau_module_spec(obs_space: gym.Space | None = None, act_space: gym.Space | None = None,
                    config: NauConfig | None = None) -> RLModuleSpec:
    """The RLModuleSpec of one :class:`NauCountingModule`.

    Args:
        obs_space: the counting features' Box (:func:`counting_obs_space` when None; checked when
            the module is built).
        act_space: ``Discrete(5)`` when None (GridCounting's moves).
        config: the module's shape and regulariser schedule (the defaults when None).
    """
    config = config or NauConfig()
    return RLModuleSpec(module_class=NauCountingModule,
                        observation_space=counting_obs_space() if obs_space is None else obs_space,
                        action_space=gym.spaces.Discrete(5) if act_space is None else act_space,
                        model_config=config.to_model_config())


def state_keys(size: int) -> tuple[str, ...]:
    """The keys of a recurrent state of ``size`` tensors in RLlib's state dicts: ``h0``, ``h1``, ..."""
    return tuple(f"h{i}" for i in range(size))


class NauCountingModule(TorchRLModule, ValueFunctionAPI):
    """PPO's policy and value function for counting: a wrapped NAU :class:`CountingPolicy`,
    stepped through RLlib's recurrent batches (see the module docstring).

    The policy's value output is the value function: :meth:`_forward_train` returns the values as
    ``Columns.EMBEDDINGS``, so PPO's value loss reuses the policy pass, and :meth:`compute_values`
    unrolls the policy itself when called without them (for GAE). Settings come from
    ``model_config`` (see :class:`NauConfig` and :func:`nau_module_spec`).
    """

    policy: CountingPolicy

    def setup(self) -> None:
        """Builds the wrapped policy from ``model_config`` after checking the spaces."""
        self.nau_config = config = NauConfig.from_model_config(self.model_config)
        space = self.observation_space
        n_features = len(FEATURE_NAMES)
        if not isinstance(space, gym.spaces.Box) or space.shape != (n_features,):
            raise ConfigError(f"the NAU counting module needs a Box of the {n_features} counting "
                              f"features ({', '.join(FEATURE_NAMES)}), got {space}")
        if not isinstance(self.action_space, gym.spaces.Discrete):
            raise ConfigError(f"the NAU counting module needs a Discrete action space, got "
                              f"{self.action_space}")
        self.policy = CountingPolicy("nau", hidden=config.hidden, feature_scale=FEATURE_SCALE,
                                     gain=config.gain, n_actions=int(self.action_space.n))
        self.schedule = config.schedule()
        self._state_keys = state_keys(len(self.policy.initial_state(1)))

    def get_initial_state(self) -> dict[str, torch.Tensor]:
        """The policy's state at the start of an episode, each tensor without the batch axis."""
        return {k: s[0] for k, s in zip(self._state_keys, self.policy.initial_state(1), strict=True)}

    def _state_in(self, batch: Mapping[str, Any], size: int, like: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The batch's ``STATE_IN`` as the policy's state tuple; the initial state when absent."""
        state = batch.get(Columns.STATE_IN)
        if state is None:
            return tuple(s.to(like) for s in self.policy.initial_state(size))
        missing = [k for k in self._state_keys if k not in state]
        if missing:
            raise ConfigError(f"the NAU counting module's state_in lacks {missing}; it has {sorted(state)}")
        return tuple(state[k].to(like) for k in self._state_keys)

    def unroll(self, batch: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """Step the policy through the batch's time axis, carrying the state.

        Returns:
            The logits ``(B, T, A)``, the values ``(B, T)`` and the state after the last step
            (``STATE_OUT``); ``(B, A)`` and ``(B,)`` for observations ``(B, 9)`` without a time axis.
        """
        obs = torch.as_tensor(batch[Columns.OBS]).float()
        timeless = obs.dim() == 2
        if timeless:
            obs = obs[:, None]
        if obs.dim() != 3:
            raise ConfigError(f"the NAU counting module takes observations (B, T, F) or (B, F), "
                              f"got shape {tuple(obs.shape)}")
        state = self._state_in(batch, obs.shape[0], obs)
        logits, values = [], []
        for t in range(obs.shape[1]):
            step_logits, step_value, state = self.policy(obs[:, t], state)
            logits.append(step_logits)
            values.append(step_value)
        out_logits, out_values = torch.stack(logits, dim=1), torch.stack(values, dim=1)
        if timeless:
            out_logits, out_values = out_logits[:, 0], out_values[:, 0]
        return out_logits, out_values, dict(zip(self._state_keys, state, strict=True))

    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Inference and exploration: the logits and the state after the batch's steps."""
        logits, _, state_out = self.unroll(batch)
        return {Columns.ACTION_DIST_INPUTS: logits, Columns.STATE_OUT: state_out}

    def _forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """The logits, the state out, and the values as embeddings (for :meth:`compute_values`)."""
        logits, values, state_out = self.unroll(batch)
        return {Columns.ACTION_DIST_INPUTS: logits, Columns.STATE_OUT: state_out,
                Columns.EMBEDDINGS: values}

    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> torch.Tensor:
        """Value estimates ``(B, T)``: ``embeddings`` when given (:meth:`_forward_train`'s values),
        else the policy unrolled over the batch."""
        if embeddings is not None:
            return torch.as_tensor(embeddings)
        return self.unroll(batch)[1]

    def sparsity_penalty(self) -> torch.Tensor:
        """The policy's NAU regulariser (a scalar tensor, 0 when every NAU weight is -1, 0 or 1)."""
        return self.policy.sparsity_penalty()

    def clamp_(self) -> None:
        """Clamp the policy's NAU weights to [-1, 1]."""
        self.policy.clamp_()

    def regularizer_weight(self, progress: float) -> float:
        """The regulariser's weight at ``progress`` (a fraction of the run, 0..1)."""
        return self.schedule.weight(progress)


def training_progress(env_steps: float, planned_env_steps: int) -> float:
    """The fraction of the run done: ``env_steps / planned_env_steps``, cut to [0, 1]."""
    if planned_env_steps < 1:
        raise ConfigError(f"planned env steps must be positive, got {planned_env_steps}")
    return min(1.0, max(0.0, float(env_steps) / planned_env_steps))


def nau_modules(module: Any) -> dict[str, NauCountingModule]:
    """The :class:`NauCountingModule` s of a learner's MultiRLModule, by module id."""
    out: dict[str, NauCountingModule] = {}
    for module_id, m in module.items():
        inner = m.unwrapped() if hasattr(m, "unwrapped") else m
        if isinstance(inner, NauCountingModule):
            out[module_id] = inner
    return out


class NauPPOTorchLearner(PPOTorchLearner):
    """PPO's torch learner with what a :class:`NauCountingModule` needs (other modules train as
    under PPO alone):

    * Progress: before each update (one per training iteration) the learner reads the env steps
      sampled so far in the run, this iteration's batch included (RLlib's
      ``NUM_ENV_STEPS_SAMPLED_LIFETIME``, which checkpoints restore), and divides them by the
      planned total, ``learner_config_dict[PLANNED_ENV_STEPS_KEY]`` (the league sets
      ``iterations * steps_per_iteration``): the first iteration trains at ``1 / iterations``,
      the last at 1.
    * The regulariser: :meth:`compute_loss_for_module` adds the module's
      ``schedule.weight(progress) * sparsity_penalty()`` to PPO's loss, and logs both
      (:data:`REGULARIZER_WEIGHT_KEY`, :data:`SPARSITY_PENALTY_KEY`).
    * The clamp: :meth:`apply_gradients` (every optimiser step, i.e. every minibatch of every
      epoch) clamps the NAU weights to [-1, 1] right after the optimisers have stepped.
    """

    def build(self) -> None:
        """Reads the planned env steps, then builds the learner as PPO does."""
        planned = (self.config.learner_config_dict or {}).get(PLANNED_ENV_STEPS_KEY)
        if isinstance(planned, bool) or not isinstance(planned, int | np.integer) or planned < 1:
            raise ConfigError(f"NauPPOTorchLearner needs learner_config_dict[{PLANNED_ENV_STEPS_KEY!r}], "
                              f"the env steps the run plans in all (a positive integer), got {planned!r}")
        self.planned_env_steps = int(planned)
        self.progress = 0.0
        super().build()

    def before_gradient_based_update(self, *, timesteps: dict[str, Any]) -> None:
        """Sets :attr:`progress` from the env steps sampled so far (see the class docstring)."""
        super().before_gradient_based_update(timesteps=timesteps)
        steps = timesteps.get(NUM_ENV_STEPS_SAMPLED_LIFETIME) or 0
        self.progress = training_progress(float(steps), self.planned_env_steps)

    def compute_loss_for_module(self, *, module_id: str, config: Any, batch: dict[str, Any],
                                fwd_out: dict[str, Any]) -> Any:
        """PPO's loss, plus the scheduled sparsity regulariser for a NAU module."""
        loss = super().compute_loss_for_module(module_id=module_id, config=config, batch=batch,
                                               fwd_out=fwd_out)
        module = self.module[module_id].unwrapped()
        if not isinstance(module, NauCountingModule):
            return loss
        weight = module.regularizer_weight(self.progress)
        penalty = module.sparsity_penalty()
        self.metrics.log_dict({REGULARIZER_WEIGHT_KEY: weight, SPARSITY_PENALTY_KEY: penalty.detach()},
                              key=module_id, window=1)
        return loss + weight * penalty

    def apply_gradients(self, gradients_dict: dict[Any, Any]) -> None:
        """Step the optimisers as PPO does, then clamp every NAU module's weights to [-1, 1]."""
        super().apply_gradients(gradients_dict)
        with torch.no_grad():
            for module in nau_modules(self.module).values():
                module.clamp_()
