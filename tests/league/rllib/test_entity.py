"""The hide-and-seek entity module: shapes on real observations, masking, slot permutation
invariance, sampling, gradients, errors and building through PPOConfig."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("ray.rllib", reason="ray[rllib] is not installed")

import torch  # noqa: E402
from ray.rllib.core.columns import Columns  # noqa: E402

from palaestra.envs.hide_and_seek.config import HideAndSeekConfig  # noqa: E402
from palaestra.envs.hide_and_seek.env import HideAndSeekParallelEnv  # noqa: E402
from palaestra.envs.hide_and_seek.observe import observation_space  # noqa: E402
from palaestra.errors import ConfigError  # noqa: E402
from palaestra.league.rllib.entity import (  # noqa: E402
    EntityConfig,
    EntityModule,
    entity_module_spec,
    masked_pool,
)

GAME = HideAndSeekConfig(grid_size=10, n_boxes=2, n_ramps=1, prep_fraction=0.0, rooms=False,
                         cone_half_angle=180.0)
"""A small open arena where everyone sees all around: most agents see some entity."""
ACTIONS = gym.spaces.MultiDiscrete([5, 5, 3])
SMALL = EntityConfig(hidden=32, embed=16)


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Torch on one thread: these tensors are tiny, and on a busy machine more threads only spin
    (a hundredfold slower), as the env runners use it too."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _real_obs(steps: int = 6, seed: int = 0) -> dict[str, torch.Tensor]:
    """Every agent's observations over ``steps`` random steps, stacked."""
    env = HideAndSeekParallelEnv(**dataclasses.asdict(GAME))
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    rows = list(obs.values())
    for _ in range(steps):
        actions = {a: rng.integers(0, ACTIONS.nvec) for a in env.agents}
        obs, *_ = env.step(actions)
        rows += list(obs.values())
    return {k: torch.from_numpy(np.stack([r[k] for r in rows])) for k in rows[0]}


def _module(config: EntityConfig = SMALL, game: HideAndSeekConfig = GAME) -> Any:
    torch.manual_seed(0)
    return entity_module_spec(observation_space(game), ACTIONS, config).build()


def _logits(module: Any, obs: dict[str, torch.Tensor]) -> torch.Tensor:
    out: torch.Tensor = module.forward_inference({Columns.OBS: obs})[Columns.ACTION_DIST_INPUTS]
    return out


def test_forward_on_real_observations() -> None:
    obs = _real_obs()
    n = len(obs["self"])
    seen = obs["entity_mask"].sum(-1)
    assert (seen > 0).any() and obs["entity_mask"].dtype == torch.int8
    for config in (SMALL, EntityConfig(hidden=32, embed=16, grid=False), EntityConfig()):
        module = _module(config)
        out = module.forward_train({Columns.OBS: obs})
        logits, embeddings = out[Columns.ACTION_DIST_INPUTS], out[Columns.EMBEDDINGS]
        assert logits.shape == (n, 13) and embeddings.shape == (n, config.hidden)
        values = module.compute_values({Columns.OBS: obs})
        assert values.shape == (n,) and torch.isfinite(values).all() and torch.isfinite(logits).all()
        # PPO passes the embeddings back: the same values as a fresh pass
        torch.testing.assert_close(module.compute_values({Columns.OBS: obs}, embeddings), values)
        torch.testing.assert_close(_logits(module, obs), logits)
    # a time axis is kept: (B, T, ...) in, (B, T) out
    timed = {k: v.unsqueeze(1) for k, v in obs.items()}
    assert _logits(module, timed).shape == (n, 1, 13)
    assert module.compute_values({Columns.OBS: timed}).shape == (n, 1)


def test_an_agent_that_sees_nothing_gets_finite_outputs() -> None:
    module = _module()
    obs = _real_obs()
    obs["entity_mask"] = torch.zeros_like(obs["entity_mask"])
    assert torch.isfinite(_logits(module, obs)).all()
    assert torch.isfinite(module.compute_values({Columns.OBS: obs})).all()
    # pooling nothing gives zeros; unseen values never leak, not even inf or NaN
    junk = torch.tensor([[[float("nan"), float("inf")], [1.0, -2.0]]])
    pooled = masked_pool(junk, torch.tensor([[False, True]]))
    torch.testing.assert_close(pooled, torch.tensor([[1.0, -2.0, 1.0, -2.0]]))
    torch.testing.assert_close(masked_pool(junk, torch.tensor([[False, False]])), torch.zeros(1, 4))


def test_unseen_slots_do_not_matter() -> None:
    module = _module()
    obs = _real_obs()
    before = _logits(module, obs), module.compute_values({Columns.OBS: obs})
    unseen = obs["entity_mask"] == 0
    assert unseen.any()
    changed = dict(obs)
    noise = torch.randn(obs["entities"].shape, generator=torch.Generator().manual_seed(1)) * 5
    changed["entities"] = torch.where(unseen.unsqueeze(-1), noise, obs["entities"])
    assert not torch.equal(changed["entities"], obs["entities"])
    torch.testing.assert_close(_logits(module, changed), before[0])
    torch.testing.assert_close(module.compute_values({Columns.OBS: changed}), before[1])


def test_permuting_the_slots_changes_nothing() -> None:
    module = _module()
    obs = _real_obs()
    perm = torch.randperm(obs["entities"].shape[1], generator=torch.Generator().manual_seed(2))
    shuffled = dict(obs, entities=obs["entities"][:, perm], entity_mask=obs["entity_mask"][:, perm])
    assert not torch.equal(shuffled["entity_mask"], obs["entity_mask"])
    torch.testing.assert_close(_logits(module, shuffled), _logits(module, obs))
    torch.testing.assert_close(module.compute_values({Columns.OBS: shuffled}),
                               module.compute_values({Columns.OBS: obs}))


def test_the_distribution_samples_valid_actions() -> None:
    module = _module()
    obs = _real_obs()
    logits = module.forward_exploration({Columns.OBS: obs})[Columns.ACTION_DIST_INPUTS]
    dist = module.get_exploration_action_dist_cls().from_logits(logits.repeat(20, 1))
    torch.manual_seed(3)
    actions = dist.sample()
    assert actions.shape == (len(logits) * 20, 3)
    assert all(ACTIONS.contains(a) for a in actions.numpy())
    # near uniform at the start (the small policy head), so every value of every head comes up
    for head, n in enumerate(ACTIONS.nvec):
        assert set(actions[:, head].tolist()) == set(range(n))
    assert torch.isfinite(dist.logp(actions)).all() and torch.isfinite(dist.entropy()).all()
    greedy = module.get_inference_action_dist_cls().from_logits(logits).to_deterministic().sample()
    assert all(ACTIONS.contains(a) for a in greedy.numpy())


def test_ppo_like_steps_reduce_the_loss_with_finite_gradients_everywhere() -> None:
    module = _module()
    obs = _real_obs()
    dist_cls = module.get_train_action_dist_cls()
    with torch.no_grad():
        old = dist_cls.from_logits(_logits(module, obs))
        torch.manual_seed(4)
        actions = old.sample()
        old_logp = old.logp(actions)
    gen = torch.Generator().manual_seed(5)
    advantages = torch.randn(len(actions), generator=gen)
    returns = torch.randn(len(actions), generator=gen)
    optimizer = torch.optim.Adam(module.parameters(), lr=3e-3)

    def loss_fn() -> torch.Tensor:
        out = module.forward_train({Columns.OBS: obs})
        dist = dist_cls.from_logits(out[Columns.ACTION_DIST_INPUTS])
        ratio = torch.exp(dist.logp(actions) - old_logp)
        surrogate = torch.min(ratio * advantages, ratio.clamp(0.8, 1.2) * advantages)
        values = module.compute_values({Columns.OBS: obs}, out[Columns.EMBEDDINGS])
        loss: torch.Tensor = -surrogate.mean() + 0.5 * (values - returns).pow(2).mean() \
            - 0.01 * dist.entropy().mean()
        return loss

    losses = []
    for step in range(10):
        optimizer.zero_grad()
        loss = loss_fn()
        loss.backward()
        if step == 0:
            for name, p in module.named_parameters():
                assert p.grad is not None and torch.isfinite(p.grad).all(), name
                assert p.grad.abs().sum() > 0, f"no gradient reaches {name}"
        optimizer.step()
        losses.append(loss.item())
    assert all(np.isfinite(losses))
    assert losses[-1] < losses[0] - 0.05, losses


def test_config_round_trip_and_errors() -> None:
    config = EntityConfig(hidden=24, embed=8, grid=False)
    assert EntityConfig.from_model_config(config.to_model_config()) == config
    # RLlib merges its own keys into model_config: they are ignored
    assert EntityConfig.from_model_config({"vf_share_layers": False, **config.to_model_config()}) == config
    assert EntityConfig.from_model_config(None) == EntityConfig()
    assert _module(config).conv is None
    for bad, field in ((dict(hidden=0), "hidden"), (dict(embed=-3), "embed"), (dict(embed=2.5), "embed"),
                       (dict(grid="yes"), "grid")):
        with pytest.raises(ConfigError, match=f"^{field} must"):
            EntityConfig(**bad)
    with pytest.raises(ConfigError, match="unknown"):
        EntityConfig.from_model_config({"hide_and_seek_entity": {"width": 8}})
    with pytest.raises(ConfigError, match="must be a dict"):
        EntityConfig.from_model_config([1])


def test_wrong_spaces_raise_a_clear_error() -> None:
    space = observation_space(GAME)
    with pytest.raises(ConfigError, match="needs the hide-and-seek Dict observation space"):
        entity_module_spec(space["entities"], ACTIONS).build()  # type: ignore[arg-type]
    no_mask = gym.spaces.Dict({k: v for k, v in space.spaces.items() if k != "entity_mask"})
    with pytest.raises(ConfigError, match=r"has no \['entity_mask'\]"):
        entity_module_spec(no_mask, ACTIONS).build()
    no_grid = gym.spaces.Dict({k: v for k, v in space.spaces.items() if k != "grid"})
    with pytest.raises(ConfigError, match=r"has no \['grid'\]"):
        entity_module_spec(no_grid, ACTIONS).build()
    assert isinstance(entity_module_spec(no_grid, ACTIONS, EntityConfig(grid=False)).build(), EntityModule)
    short_mask = gym.spaces.Dict(dict(space.spaces, entity_mask=gym.spaces.MultiBinary(3)))
    with pytest.raises(ConfigError, match="one entry per entity slot"):
        entity_module_spec(short_mask, ACTIONS).build()
    with pytest.raises(ConfigError, match="MultiDiscrete action space"):
        entity_module_spec(space, gym.spaces.Discrete(5)).build()  # type: ignore[arg-type]


def test_ppo_config_builds_the_module_from_the_spec() -> None:
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.apis.value_function_api import ValueFunctionAPI

    space = observation_space(HideAndSeekConfig(grid_size=10, n_boxes=2, n_ramps=1, grid_radius=2))
    config = PPOConfig().rl_module(rl_module_spec=entity_module_spec(space, ACTIONS, SMALL))
    spec = config.get_rl_module_spec()
    merged = spec.model_config
    assert isinstance(merged, dict) and "vf_share_layers" in merged  # RLlib merged its defaults in
    module = spec.build()
    assert isinstance(module, EntityModule) and isinstance(module, ValueFunctionAPI)
    assert module.entity_config == SMALL
    space.seed(6)
    samples = [space.sample() for _ in range(4)]
    obs = {k: torch.from_numpy(np.stack([s[k] for s in samples])) for k in space.spaces}
    assert _logits(module, obs).shape == (4, 13)
    # a saved state restores into a fresh module (the input scales are not part of it)
    fresh = _module(SMALL, HideAndSeekConfig(grid_size=10, n_boxes=2, n_ramps=1, grid_radius=2))
    fresh.set_state(module.get_state())
    torch.testing.assert_close(_logits(fresh, obs), _logits(module, obs))
