"""An entity-pooling PPO module for hide-and-seek (RLlib's new API stack, torch).

The module sees the env's Dict observation (:func:`palaestra.envs.hide_and_seek.observe.observation_space`):
``entities`` ``(E, F)``, ``entity_mask`` ``(E,)`` (1 = the slot holds an entity seen now), ``grid``
``(C, S, S)`` and ``self`` ``(12,)``. Each entity row, concatenated with the agent's own ``self``
features, goes through one shared MLP (the entity embedding); the embeddings of the seen slots are
pooled by a masked mean and a masked max, so the result does not depend on the order of the slots
nor on what the unseen slots hold, and an agent that sees nothing pools to zeros. The pooled
vectors, an MLP of ``self`` and (with ``grid`` on) a globally pooled conv feature of the grid are
concatenated and go through a shared trunk to a policy head (the concatenated logits of the
MultiDiscrete heads, RLlib's ``TorchMultiCategorical``) and a value head.

Inputs are divided by the largest absolute bound of each feature in the observation space (offsets
and positions in cells become [-1, 1]), so larger grids do not give larger activations.

This module imports torch and Ray at the top: import it inside the function that needs it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.apis.value_function_api import ValueFunctionAPI
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from ray.rllib.core.rl_module.torch import TorchRLModule
from torch import nn

from palaestra.errors import ConfigError
from palaestra.league.rllib.modules import settings_from_model_config

CONFIG_KEY = "hide_and_seek_entity"
"""The key of this module's settings inside RLlib's ``model_config`` (RLlib merges its own keys in)."""
ENTITIES_KEY, MASK_KEY, GRID_KEY, SELF_KEY = "entities", "entity_mask", "grid", "self"
"""The observation's keys."""
CONV_CHANNELS = 32
"""Channels of the two 3x3 conv layers over the grid (with ``grid`` on)."""


@dataclass(frozen=True)
class EntityConfig:
    """The shape of :class:`EntityModule`."""

    hidden: int = 128
    """Width of the trunk's two layers, shared by the policy and value heads."""
    embed: int = 64
    """Width of each entity's embedding (and of the MLP of ``self``)."""
    grid: bool = True
    """Add a globally pooled (mean and max) two-layer conv feature of the ``grid`` observation."""

    def __post_init__(self) -> None:
        for name in ("hidden", "embed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
            object.__setattr__(self, name, int(value))
        if not isinstance(self.grid, bool | np.bool_):
            raise ConfigError(f"grid must be True or False, got {self.grid!r}")
        object.__setattr__(self, "grid", bool(self.grid))

    def to_model_config(self) -> dict[str, Any]:
        """The plain-data ``model_config`` of an RLModuleSpec (what RLlib pickles and saves)."""
        return {CONFIG_KEY: dataclasses.asdict(self)}

    @classmethod
    def from_model_config(cls, model_config: object) -> EntityConfig:
        """Read back :meth:`to_model_config` (the defaults where the key is absent)."""
        return settings_from_model_config(cls, model_config, CONFIG_KEY, "entity module",
                                          "entity_module_spec")


def entity_module_spec(obs_space: gym.spaces.Dict, act_space: gym.spaces.MultiDiscrete,
                       config: EntityConfig | None = None) -> RLModuleSpec:
    """The RLModuleSpec of one :class:`EntityModule`.

    Args:
        obs_space: the hide-and-seek observation space (checked when the module is built).
        act_space: a MultiDiscrete action space, ``MultiDiscrete([5, 5, 3])`` for hide-and-seek.
        config: the module's shape (the defaults when None).
    """
    config = config or EntityConfig()
    return RLModuleSpec(module_class=EntityModule, observation_space=obs_space, action_space=act_space,
                        model_config=config.to_model_config())


def _scale(space: gym.spaces.Box) -> torch.Tensor:
    """The largest absolute bound of each feature (the last axis) of ``space``; 1 where it is
    infinite or zero."""
    bound = np.maximum(np.abs(space.low), np.abs(space.high)).astype(np.float64)
    bound = bound.reshape(-1, bound.shape[-1]).max(axis=0)
    bound[~np.isfinite(bound) | (bound <= 0)] = 1.0
    return torch.as_tensor(bound, dtype=torch.float32)


def _mlp(*widths: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for w_in, w_out in zip(widths[:-1], widths[1:], strict=True):
        layers += [nn.Linear(w_in, w_out), nn.ReLU()]
    return nn.Sequential(*layers)


def masked_pool(embeddings: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The masked mean and masked max of ``embeddings`` ``(N, E, D)`` over the slots where the
    boolean ``mask`` ``(N, E)`` is True, concatenated to ``(N, 2 D)``; zeros where no slot is.

    Unmasked values never reach the result, not even NaN or infinite ones.
    """
    keep = mask.unsqueeze(-1)
    seen = torch.where(keep, embeddings, torch.zeros((), dtype=embeddings.dtype, device=embeddings.device))
    count = mask.sum(dim=-1, keepdim=True).to(embeddings.dtype)
    mean = seen.sum(dim=-2) / count.clamp(min=1.0)
    lowest = torch.finfo(embeddings.dtype).min
    highest = torch.where(keep, embeddings, torch.full((), lowest, dtype=embeddings.dtype,
                                                       device=embeddings.device)).amax(dim=-2)
    highest = torch.where(count > 0, highest, torch.zeros_like(highest))
    return torch.cat([mean, highest], dim=-1)


class EntityModule(TorchRLModule, ValueFunctionAPI):
    """PPO's policy and value function on hide-and-seek observations: pooled entity embeddings,
    the agent's own features and an optional grid conv, through one trunk shared by two heads.

    The trunk is shared so that PPO's value loss reuses the policy's pass: :meth:`_forward_train`
    returns the trunk's output as embeddings and :meth:`compute_values` takes them back.
    Settings come from ``model_config`` (see :class:`EntityConfig` and :func:`entity_module_spec`).
    """

    def setup(self) -> None:
        """Builds the networks from ``model_config`` after checking the spaces."""
        self.entity_config = config = EntityConfig.from_model_config(self.model_config)
        space = self.action_space
        if not isinstance(space, gym.spaces.MultiDiscrete) or len(space.nvec.shape) != 1:
            raise ConfigError(f"the entity module needs a one-dimensional MultiDiscrete action space "
                              f"(MultiDiscrete([5, 5, 3]) for hide-and-seek), got {space}")
        self.heads = tuple(int(n) for n in space.nvec)
        from ray.rllib.core.distribution.torch.torch_distribution import TorchMultiCategorical

        # RLlib's partial class: a MultiCategorical with the segments fixed
        partial: Any = TorchMultiCategorical.get_partial_dist_cls  # type: ignore[misc]
        self.action_dist_cls = partial(input_lens=list(self.heads))
        entities, selves, grid = self._check_obs_space()
        n_features, n_self = int(entities.shape[-1]), int(selves.shape[-1])
        # the scales follow from the observation space: not saved with the weights
        self.register_buffer("entity_scale", _scale(entities), persistent=False)
        self.register_buffer("self_scale", _scale(selves), persistent=False)
        self.embed = _mlp(n_features + n_self, config.embed, config.embed)
        self.self_mlp = _mlp(n_self, config.embed)
        width = 3 * config.embed
        self.conv: nn.Sequential | None = None
        if grid is not None:
            self.conv = nn.Sequential(nn.Conv2d(int(grid.shape[0]), CONV_CHANNELS, 3, padding=1), nn.ReLU(),
                                      nn.Conv2d(CONV_CHANNELS, CONV_CHANNELS, 3, padding=1), nn.ReLU())
            width += 2 * CONV_CHANNELS
        self.trunk = _mlp(width, config.hidden, config.hidden)
        self.pi = nn.Linear(config.hidden, sum(self.heads))
        self.vf = nn.Linear(config.hidden, 1)
        # a small policy head starts PPO near the uniform policy
        nn.init.orthogonal_(self.pi.weight, gain=0.01)
        nn.init.zeros_(self.pi.bias)

    def _check_obs_space(self) -> tuple[gym.spaces.Box, gym.spaces.Box, gym.spaces.Box | None]:
        """The ``entities``, ``self`` and (with ``grid`` on) ``grid`` Boxes of the observation space."""
        space = self.observation_space
        keys = (ENTITIES_KEY, MASK_KEY, SELF_KEY) + ((GRID_KEY,) if self.entity_config.grid else ())
        if not isinstance(space, gym.spaces.Dict):
            raise ConfigError(f"the entity module needs the hide-and-seek Dict observation space with "
                              f"keys {list(keys)}, got {space}")
        missing = [k for k in keys if k not in space.spaces]
        if missing:
            raise ConfigError(f"the observation space has no {missing} (the entity module needs "
                              f"{list(keys)}): {space}")
        entities, mask, selves = space[ENTITIES_KEY], space[MASK_KEY], space[SELF_KEY]
        if not isinstance(entities, gym.spaces.Box) or len(entities.shape) != 2:
            raise ConfigError(f"{ENTITIES_KEY!r} must be a Box of shape (slots, features), got {entities}")
        if not isinstance(mask, gym.spaces.MultiBinary | gym.spaces.Box) or mask.shape != entities.shape[:1]:
            raise ConfigError(f"{MASK_KEY!r} must be a MultiBinary of shape {entities.shape[:1]} "
                              f"(one entry per entity slot), got {mask}")
        if not isinstance(selves, gym.spaces.Box) or len(selves.shape) != 1:
            raise ConfigError(f"{SELF_KEY!r} must be a one-dimensional Box, got {selves}")
        if not self.entity_config.grid:
            return entities, selves, None
        grid = space[GRID_KEY]
        if not isinstance(grid, gym.spaces.Box) or len(grid.shape) != 3:
            raise ConfigError(f"{GRID_KEY!r} must be a Box of shape (channels, size, size) "
                              f"(or turn the module's grid off), got {grid}")
        return entities, selves, grid

    def _embed(self, obs: Mapping[str, Any]) -> torch.Tensor:
        """The trunk's output ``(*lead, hidden)`` for observations with leading axes ``lead``."""
        entities, selves = obs[ENTITIES_KEY], obs[SELF_KEY]
        lead = selves.shape[:-1]
        n_slots, n_features = entities.shape[-2:]
        me = selves.reshape(-1, selves.shape[-1]).float() / self.self_scale
        rows = entities.reshape(-1, n_slots, n_features).float() / self.entity_scale
        mask = obs[MASK_KEY].reshape(-1, n_slots) > 0.5
        pairs = torch.cat([rows, me.unsqueeze(1).expand(-1, n_slots, -1)], dim=-1)
        parts = [masked_pool(self.embed(pairs), mask), self.self_mlp(me)]
        if self.conv is not None:
            grid = obs[GRID_KEY]
            maps = self.conv(grid.reshape(-1, *grid.shape[-3:]).float()).flatten(2)
            parts += [maps.mean(dim=-1), maps.amax(dim=-1)]
        out: torch.Tensor = self.trunk(torch.cat(parts, dim=-1))
        return out.reshape(*lead, -1)

    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Inference and exploration (RLlib runs these without gradients): the concatenated logits."""
        return {Columns.ACTION_DIST_INPUTS: self.pi(self._embed(batch[Columns.OBS]))}

    def _forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """The logits and the trunk's output, which :meth:`compute_values` reuses."""
        embeddings = self._embed(batch[Columns.OBS])
        return {Columns.ACTION_DIST_INPUTS: self.pi(embeddings), Columns.EMBEDDINGS: embeddings}

    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> torch.Tensor:
        """Value estimates of shape ``(B,)`` (or ``(B, T)``), from ``embeddings`` when given."""
        if embeddings is None:
            embeddings = self._embed(batch[Columns.OBS])
        values: torch.Tensor = self.vf(embeddings)
        return values.squeeze(-1)
