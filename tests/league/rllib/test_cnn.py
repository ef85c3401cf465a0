"""The Bomber CNN module: shapes, the action mask in every forward pass, and a real PPO run."""

from __future__ import annotations

import time
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("ray.rllib", reason="ray[rllib] is not installed")

import torch  # noqa: E402
from ray.rllib.core.columns import Columns  # noqa: E402
from ray.rllib.core.distribution.torch.torch_distribution import TorchCategorical  # noqa: E402

from palaestra.errors import ConfigError  # noqa: E402
from palaestra.league.rllib.cnn import (  # noqa: E402
    MASKED_LOGIT,
    CnnConfig,
    cnn_module_spec,
    masked_obs_space,
    multiply_adds,
    planes_size,
)

MASK = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]  # STOP, DOWN and RIGHT allowed


def _obs(n: int, mask: list[float] = MASK, seed: int = 0) -> dict[str, torch.Tensor]:
    rng = np.random.default_rng(seed)
    planes = (rng.random((n, planes_size())) < 0.2).astype(np.float32)
    return {"planes": torch.from_numpy(planes), "action_mask": torch.tensor([mask] * n)}


def _module(mask: bool = True) -> Any:
    torch.manual_seed(0)
    return cnn_module_spec(CnnConfig(mask=mask)).build()


def test_shapes_parameters_and_multiply_adds() -> None:
    module = _module()
    obs = _obs(7)
    out = module.forward_train({Columns.OBS: obs})
    assert out[Columns.ACTION_DIST_INPUTS].shape == (7, 6)
    assert out[Columns.EMBEDDINGS].shape == (7, 128)
    values = module.compute_values({Columns.OBS: obs})
    assert values.shape == (7,)
    # the embeddings PPO passes back give the same values as a fresh pass
    torch.testing.assert_close(module.compute_values({Columns.OBS: obs}, out[Columns.EMBEDDINGS]), values)
    # a time axis is kept: (B, T, ...) in, (B, T) values out
    timed = {k: v.reshape(7, 1, -1) for k, v in obs.items()}
    assert module.compute_values({Columns.OBS: timed}).shape == (7, 1)
    assert module.forward_inference({Columns.OBS: timed})[Columns.ACTION_DIST_INPUTS].shape == (7, 1, 6)
    # 22 -> 32 -> 32 -> 16 channels (3x3), 16*121 -> 128, heads 128 -> 6 and 128 -> 1
    weights = 22 * 32 * 9 + 32 * 32 * 9 + 32 * 16 * 9 + 16 * 121 * 128 + 128 * 7
    biases = 32 + 32 + 16 + 128 + 6 + 1
    assert sum(p.numel() for p in module.parameters()) == weights + biases
    assert multiply_adds(CnnConfig()) == 121 * (22 * 32 + 32 * 32 + 32 * 16) * 9 + 16 * 121 * 128 + 128 * 7
    assert 1e6 <= multiply_adds(CnnConfig()) <= 3e6


def test_masked_actions_are_never_sampled_in_exploration_or_inference() -> None:
    module = _module()
    obs = _obs(500)
    for forward in (module.forward_exploration, module.forward_inference):
        logits = forward({Columns.OBS: obs})[Columns.ACTION_DIST_INPUTS]
        torch.manual_seed(1)
        actions = TorchCategorical.from_logits(logits.repeat(20, 1)).sample()  # 10k draws
        assert actions.shape == (10_000,) and set(actions.tolist()) == {0, 2, 4}
    greedy = TorchCategorical.from_logits(logits).to_deterministic().sample()
    assert set(greedy.tolist()) <= {0, 2, 4}


def test_masked_actions_get_zero_probability_in_training_with_finite_logp_and_gradients() -> None:
    module = _module()
    obs = _obs(256)
    out = module.forward_train({Columns.OBS: obs})
    logits = out[Columns.ACTION_DIST_INPUTS]
    assert torch.all(logits[:, [1, 3, 5]] == MASKED_LOGIT)
    probs = torch.softmax(logits, dim=-1)
    assert torch.all(probs[:, [1, 3, 5]] < 1e-30)
    torch.testing.assert_close(probs[:, [0, 2, 4]].sum(-1), torch.ones(256))
    dist = TorchCategorical.from_logits(logits)
    # every action's logp is finite, masked ones included, and so is the entropy
    logp_all = torch.stack([dist.logp(torch.full((256,), a)) for a in range(6)], dim=-1)
    assert torch.isfinite(logp_all).all() and torch.isfinite(dist.entropy()).all()
    # a PPO-like loss on sampled (allowed) actions back-propagates finite gradients
    actions = dist.sample()
    ratio = torch.exp(dist.logp(actions) - dist.logp(actions).detach())
    loss = -(ratio * torch.randn(256)).mean() - 0.01 * dist.entropy().mean() \
        + module.compute_values({Columns.OBS: obs}, out[Columns.EMBEDDINGS]).pow(2).mean()
    loss.backward()
    grads = [p.grad for p in module.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


def test_mask_off_ignores_the_mask() -> None:
    module = _module(mask=False)
    obs = _obs(500)
    logits = module.forward_exploration({Columns.OBS: obs})[Columns.ACTION_DIST_INPUTS]
    assert torch.all(logits > -100.0)
    torch.manual_seed(1)
    actions = TorchCategorical.from_logits(logits.repeat(20, 1)).sample()
    counts = np.bincount(actions.numpy(), minlength=6)
    assert np.all(counts > 1000), counts  # near uniform: the small policy head starts there
    # the same weights with the mask on differ only where the mask forbids
    masked = cnn_module_spec(CnnConfig(mask=True)).build()
    masked.set_state(module.get_state())
    on = masked.forward_exploration({Columns.OBS: obs})[Columns.ACTION_DIST_INPUTS]
    torch.testing.assert_close(on[:, [0, 2, 4]], logits[:, [0, 2, 4]])
    # with the mask off a plain Box of planes works as well
    boxed = cnn_module_spec(CnnConfig(mask=False), obs_space=masked_obs_space()["planes"]).build()
    boxed.set_state(module.get_state())
    plain = boxed.forward_exploration({Columns.OBS: obs["planes"]})[Columns.ACTION_DIST_INPUTS]
    torch.testing.assert_close(plain, logits)


def test_a_row_that_allows_nothing_is_left_unmasked() -> None:
    module = _module()
    obs = _obs(4, mask=[0.0] * 6)
    logits = module.forward_exploration({Columns.OBS: obs})[Columns.ACTION_DIST_INPUTS]
    assert torch.all(logits > -100.0)


def test_config_round_trip_and_errors() -> None:
    config = CnnConfig(channels=(8, 16), kernels=(3, 5), hidden=32, mask=False)
    assert CnnConfig.from_model_config(config.to_model_config()) == config
    # RLlib merges its own keys into model_config: they are ignored
    assert CnnConfig.from_model_config({"vf_share_layers": False, **config.to_model_config()}) == config
    assert CnnConfig.from_model_config(None) == CnnConfig()
    module = cnn_module_spec(config).build()
    assert [m.kernel_size for m in module.trunk if isinstance(m, torch.nn.Conv2d)] == [(3, 3), (5, 5)]
    with pytest.raises(ConfigError, match="unknown"):
        CnnConfig.from_model_config({"bomber_cnn": {"channel": [8]}})
    with pytest.raises(ConfigError, match="odd"):
        CnnConfig(kernels=(2, 3, 3))
    with pytest.raises(ConfigError, match="one entry per conv layer"):
        CnnConfig(channels=(8, 8), kernels=(3,))
    with pytest.raises(ConfigError, match="mask is on"):
        cnn_module_spec(CnnConfig(), obs_space=masked_obs_space()["planes"]).build()
    with pytest.raises(ConfigError, match="2662"):
        cnn_module_spec(CnnConfig(mask=False), obs_space=gym.spaces.Box(0, 1, (100,), np.float32)).build()


BLOCKED_PAYS = 1
"""The action that pays when the best one (BOMB, 5) is masked."""


class MaskedBandit(gym.Env):  # type: ignore[type-arg]
    """Each step pays 1 for BOMB; half the time BOMB is masked and UP pays instead (BOMB then pays
    0). The planes are noise, so without the mask a policy can earn at most 0.5 a step; with it,
    preferring BOMB and then UP earns 1."""

    def __init__(self, config: Any = None) -> None:
        self.observation_space = masked_obs_space()
        self.action_space = gym.spaces.Discrete(6)
        self.blocked = False
        self.t = 0

    def _observe(self) -> dict[str, np.ndarray]:
        self.blocked = bool(self.np_random.random() < 0.5)
        mask = np.ones(6, np.float32)
        mask[5] = 0.0 if self.blocked else 1.0
        return {"planes": (self.np_random.random(planes_size()) < 0.1).astype(np.float32), "action_mask": mask}

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        self.t = 0
        return self._observe(), {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        paying = BLOCKED_PAYS if self.blocked else 5
        reward = float(int(action) == paying)
        self.t += 1
        return self._observe(), reward, self.t >= 16, False, {}


def _mean_reward(module: Any, n: int = 2000) -> float:
    rng = np.random.default_rng(3)
    blocked = rng.random(n) < 0.5
    masks = np.ones((n, 6), np.float32)
    masks[blocked, 5] = 0.0
    planes = (rng.random((n, planes_size())) < 0.1).astype(np.float32)
    obs = {"planes": torch.from_numpy(planes), "action_mask": torch.from_numpy(masks)}
    logits = module.forward_exploration({Columns.OBS: obs})[Columns.ACTION_DIST_INPUTS]
    actions = TorchCategorical.from_logits(logits).sample().numpy()
    return float(np.mean(np.where(blocked, actions == BLOCKED_PAYS, actions == 5)))


def test_ppo_learns_a_bandit_where_the_mask_matters() -> None:
    import ray
    from ray.rllib.algorithms.ppo import PPOConfig

    start = time.perf_counter()
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        # a small trunk: this checks the module inside RLlib's PPO, not the default size
        spec = cnn_module_spec(CnnConfig(channels=(8,), kernels=(3,), hidden=32))
        algo = (
            PPOConfig()
            .environment(MaskedBandit)
            .env_runners(num_env_runners=0, num_envs_per_env_runner=8, rollout_fragment_length=32)
            .training(lr=3e-3, gamma=0.0, lambda_=0.0, train_batch_size_per_learner=256,
                      minibatch_size=64, num_epochs=4, entropy_coeff=0.0)
            .rl_module(rl_module_spec=spec)
            .debugging(seed=0, log_level="ERROR")
            .build_algo()
        )
        try:
            torch.manual_seed(2)
            before = _mean_reward(algo.get_module())
            after = before
            for _ in range(12):
                result = algo.train()
                assert np.isfinite(result["learners"]["default_policy"]["policy_loss"])
                after = _mean_reward(algo.get_module())
                if after > 0.8:
                    break
        finally:
            algo.stop()
    finally:
        ray.shutdown()
    # chance with the mask is 0.5/6 + 0.5/5 = 0.18, and nothing without it earns more than 0.5
    assert before < 0.3
    assert after > 0.8, f"mean reward {after:.2f} after training"
    assert time.perf_counter() - start < 120


def test_module_saved_to_disk_restores_with_its_config_and_weights(tmp_path: Any) -> None:
    from ray.rllib.core.rl_module.rl_module import RLModule

    module = cnn_module_spec(CnnConfig(channels=(8, 8), kernels=(3, 3), hidden=16)).build()
    module.save_to_path(str(tmp_path / "module"))
    restored = RLModule.from_checkpoint(str(tmp_path / "module"))
    assert restored.cnn_config == module.cnn_config
    obs = _obs(5)
    torch.testing.assert_close(restored.forward_inference({Columns.OBS: obs})[Columns.ACTION_DIST_INPUTS],
                               module.forward_inference({Columns.OBS: obs})[Columns.ACTION_DIST_INPUTS])
