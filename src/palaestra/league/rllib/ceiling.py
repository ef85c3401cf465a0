"""The compute ceiling of a PPO module: samples per second of its forward pass plus its PPO update alone.

What a training iteration of the league must compute at least, without envs, Ray or data moving:
the sampling forward pass over ``batch_size`` observations (in chunks of ``forward_chunk``, with the
action drawn from the module's distribution, as an env runner does), the learner's value pass over
the batch (RLlib's GAE connector), and ``epochs`` passes of PPO updates over shuffled minibatches of
``minibatch_size``. The update is RLlib's own: a ``PPOTorchLearner`` built from ``PPOConfig`` and
called with ``Learner.update`` on a ready batch (loss, clipping, Adam, minibatching all RLlib's).
Observations are random (from a seeded generator); advantages and value targets are random normals.

Ray and torch are imported inside the functions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from palaestra.errors import ConfigError

MASK_ALLOWED = 0.8
"""Probability that a random action-mask entry allows its action."""


@dataclass(frozen=True)
class CeilingResult:
    """Throughput of one module's compute, in samples (env steps of one agent) per second."""

    samples_per_s: float
    """The ceiling: ``batch_size`` over the forward, value and update times together."""
    forward_samples_per_s: float
    """Sampling forward passes alone (actions drawn)."""
    update_samples_per_s: float
    """The learner alone: the value pass and the PPO epochs."""
    forward_s: float
    """Seconds for the sampling forward passes over the batch."""
    values_s: float
    """Seconds for the learner's value pass over the batch."""
    update_s: float
    """Seconds for the PPO epochs (all minibatch steps)."""
    batch_size: int
    minibatch_size: int
    epochs: int
    forward_chunk: int
    threads: int
    """torch intra-op threads used."""
    samples_trained: int
    """Samples the learner reports it trained on in the timed round (``epochs * batch_size``)."""


def random_observations(space: gym.Space[Any], n: int, rng: np.random.Generator) -> Any:
    """``n`` random observations of ``space`` as arrays with a leading batch axis.

    Boxes are drawn uniformly within their bounds (unbounded sides read as [-1, 1]), an
    ``action_mask`` entry allows its action with probability :data:`MASK_ALLOWED`, dicts recurse.
    """
    if isinstance(space, gym.spaces.Dict):
        out = {}
        for key, sub in space.spaces.items():
            if key == "action_mask":
                out[key] = (rng.random((n, *(sub.shape or ()))) < MASK_ALLOWED).astype(np.float32)
            else:
                out[key] = random_observations(sub, n, rng)
        return out
    if isinstance(space, gym.spaces.Box):
        low = np.where(np.isfinite(space.low), space.low, -1.0)
        high = np.where(np.isfinite(space.high), space.high, 1.0)
        return (low + (high - low) * rng.random((n, *space.shape))).astype(space.dtype)
    raise ConfigError(f"random observations of {type(space).__name__} spaces are not supported")


def _spec_of(spec_or_module: Any) -> tuple[Any, Any]:
    """(spec, module whose weights to use or None) from an RLModuleSpec or a built RLModule."""
    from ray.rllib.core.rl_module.rl_module import RLModule, RLModuleSpec

    if isinstance(spec_or_module, RLModuleSpec):
        return spec_or_module, None
    if isinstance(spec_or_module, RLModule):
        m = spec_or_module
        return RLModuleSpec(module_class=type(m), observation_space=m.observation_space,
                            action_space=m.action_space, model_config=m.model_config), m
    raise ConfigError(f"expected an RLModuleSpec or an RLModule, got {type(spec_or_module).__name__}")


def _learner(spec: Any, batch_size: int, minibatch_size: int, epochs: int, lr: float) -> Any:
    from ray.rllib.algorithms.ppo import PPOConfig

    config = (
        PPOConfig()
        .environment(observation_space=spec.observation_space, action_space=spec.action_space)
        .training(lr=lr, train_batch_size_per_learner=batch_size, minibatch_size=minibatch_size,
                  num_epochs=epochs)
        .rl_module(rl_module_spec=spec)
    )
    return config.build_learner()


def _sample(module: Any, obs: Any, chunk: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Actions, their logp and the distribution inputs, chunk by chunk, as an env runner gets them."""
    import torch
    from ray.rllib.core.columns import Columns
    from ray.rllib.utils.numpy import convert_to_numpy

    dist_cls = module.get_exploration_action_dist_cls()
    n = _length(obs)
    actions, logps, inputs = [], [], []
    with torch.no_grad():
        for start in range(0, n, chunk):
            part = _slice(obs, start, start + chunk)
            out = module.forward_exploration({Columns.OBS: part})
            dist = dist_cls.from_logits(out[Columns.ACTION_DIST_INPUTS])
            action = dist.sample()
            actions.append(action)
            logps.append(dist.logp(action))
            inputs.append(out[Columns.ACTION_DIST_INPUTS])
    return tuple(convert_to_numpy(torch.cat(x)) for x in (actions, logps, inputs))  # type: ignore[return-value]


def _length(obs: Any) -> int:
    return _length(next(iter(obs.values()))) if isinstance(obs, dict) else len(obs)


def _slice(obs: Any, start: int, stop: int) -> Any:
    import torch

    if isinstance(obs, dict):
        return {k: _slice(v, start, stop) for k, v in obs.items()}
    return torch.from_numpy(obs[start:stop])


def compute_ceiling(spec_or_module: Any, batch_size: int = 4000, minibatch_size: int = 500,
                    epochs: int = 4, *, threads: int | None = None, forward_chunk: int | None = None,
                    rounds: int = 1, lr: float = 3e-4, seed: int = 0) -> CeilingResult:
    """Measure the compute ceiling of one PPO module (see the module docstring for what is timed).

    Args:
        spec_or_module: an ``RLModuleSpec``, or a built ``RLModule`` whose class, spaces, config and
            weights are used.
        batch_size: samples per training iteration (``train_batch_size_per_learner``).
        minibatch_size: samples per PPO gradient step.
        epochs: passes over the batch per iteration (``num_epochs``).
        threads: torch intra-op threads for the measurement (restored after); None keeps torch's.
        forward_chunk: observations per sampling forward pass (env runner's envs times agents);
            the whole batch at once when None.
        rounds: timed repetitions after one untimed warm-up; the fastest round is reported.
        lr: the learner's learning rate (the updates change the weights; their values do not matter).
        seed: seeds the random batch and torch.

    Returns:
        A :class:`CeilingResult`.
    """
    import torch
    from ray.rllib.core import DEFAULT_MODULE_ID
    from ray.rllib.core.columns import Columns
    from ray.rllib.evaluation.postprocessing import Postprocessing
    from ray.rllib.policy.sample_batch import MultiAgentBatch, SampleBatch
    from ray.rllib.utils.metrics import NUM_MODULE_STEPS_TRAINED

    if min(batch_size, minibatch_size, epochs, rounds) < 1 or minibatch_size > batch_size:
        raise ConfigError(f"need 1 <= minibatch_size <= batch_size and epochs, rounds >= 1, got batch "
                          f"{batch_size}, minibatch {minibatch_size}, epochs {epochs}, rounds {rounds}")
    chunk = batch_size if forward_chunk is None else forward_chunk
    if chunk < 1:
        raise ConfigError(f"forward_chunk must be positive, got {forward_chunk}")
    before = torch.get_num_threads()
    if threads is not None:
        if threads < 1:
            raise ConfigError(f"threads must be positive, got {threads}")
        torch.set_num_threads(threads)
    try:
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        spec, weights_from = _spec_of(spec_or_module)
        learner = _learner(spec, batch_size, minibatch_size, epochs, lr)
        trained = learner.module[DEFAULT_MODULE_ID]
        sampler = spec.build()
        if weights_from is not None:
            trained.set_state(weights_from.get_state())
        sampler.set_state(trained.get_state())
        obs = random_observations(spec.observation_space, batch_size, rng)

        def one_round(n_epochs: int, n: int) -> tuple[float, float, float, int]:
            t0 = time.perf_counter()
            actions, logp, inputs = _sample(sampler, _slice_np(obs, n), min(chunk, n))
            t1 = time.perf_counter()
            with torch.no_grad():
                trained.compute_values({Columns.OBS: _slice(obs, 0, n)})
            t2 = time.perf_counter()
            data = SampleBatch({
                Columns.OBS: _slice_np(obs, n), Columns.ACTIONS: actions, Columns.ACTION_LOGP: logp,
                Columns.ACTION_DIST_INPUTS: inputs,
                Postprocessing.ADVANTAGES: rng.standard_normal(n).astype(np.float32),
                Postprocessing.VALUE_TARGETS: rng.standard_normal(n).astype(np.float32),
            })
            metrics = learner.update(batch=MultiAgentBatch({DEFAULT_MODULE_ID: data}, env_steps=n),
                                     minibatch_size=min(minibatch_size, n), num_epochs=n_epochs,
                                     shuffle_batch_per_epoch=True)
            t3 = time.perf_counter()
            trained_steps = int(metrics[DEFAULT_MODULE_ID][NUM_MODULE_STEPS_TRAINED].peek())
            return t1 - t0, t2 - t1, t3 - t2, trained_steps

        one_round(1, minibatch_size)  # warm-up: first calls allocate and pick kernels
        timed = [one_round(epochs, batch_size) for _ in range(rounds)]
    finally:
        used = torch.get_num_threads()
        torch.set_num_threads(before)
    forward_s, values_s, update_s, steps = min(timed, key=lambda t: t[0] + t[1] + t[2])
    return CeilingResult(
        samples_per_s=batch_size / (forward_s + values_s + update_s),
        forward_samples_per_s=batch_size / forward_s,
        update_samples_per_s=batch_size / (values_s + update_s),
        forward_s=forward_s, values_s=values_s, update_s=update_s,
        batch_size=batch_size, minibatch_size=minibatch_size, epochs=epochs, forward_chunk=chunk,
        threads=used, samples_trained=steps,
    )


def _slice_np(obs: Any, n: int) -> Any:
    return {k: _slice_np(v, n) for k, v in obs.items()} if isinstance(obs, dict) else obs[:n]
