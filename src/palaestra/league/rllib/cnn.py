"""A convolutional PPO module over Bomber's planes, with an optional action mask (RLlib's new API stack).

The module sees a Dict observation (:func:`masked_obs_space`): the 22 planes flattened and a 0/1
mask over the six actions. With the mask on (the default), the logits of masked actions are replaced
by :data:`MASKED_LOGIT`, a large finite negative number, in every forward pass (exploration,
inference and training), so masked actions are never sampled and PPO's log-probability ratios stay
finite. With it off the mask is ignored, and a plain Box of the flat planes is accepted too.

For team_radio the action space is :func:`radio_action_space`, ``MultiDiscrete([6, 8, 8])``: the
move and the two words sent to the teammate, three categorical heads on one linear layer (RLlib's
``TorchMultiCategorical`` over the concatenated logits). The mask covers the move's six logits
only; every word is always allowed.

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

from palaestra.agents.learned.bomber import MASK_KEY, PLANES_KEY, RADIO_HEADS  # the observation's keys, the radio heads
from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber.observe import NUM_PLANES
from palaestra.errors import ConfigError
from palaestra.league.rllib.modules import settings_from_model_config

CONFIG_KEY = "bomber_cnn"
"""The key of this module's settings inside RLlib's ``model_config`` (RLlib merges its own keys in)."""
MASKED_LOGIT = -1e9
"""The logit a masked action gets: its probability is zero in float32, its log-probability finite."""


@dataclass(frozen=True)
class CnnConfig:
    """The shape of :class:`BomberCnnModule` and whether it applies the action mask."""

    channels: tuple[int, ...] = (32, 32, 16)
    """Output channels of each conv layer (stride 1, zero padding: every layer stays 11 x 11)."""
    kernels: tuple[int, ...] = (3, 3, 3)
    """Kernel size of each conv layer (odd, one per entry of ``channels``)."""
    hidden: int = 128
    """Width of the linear layer after the convs, shared by the policy and value heads."""
    mask: bool = True
    """Mask the logits of actions the observation's ``action_mask`` forbids."""

    def __post_init__(self) -> None:
        # JSON round trips give lists: keep the tuples the annotations promise
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        object.__setattr__(self, "kernels", tuple(int(k) for k in self.kernels))
        if not self.channels:
            raise ConfigError("channels must name at least one conv layer")
        if len(self.kernels) != len(self.channels):
            raise ConfigError(f"kernels ({len(self.kernels)}) must have one entry per conv layer "
                              f"({len(self.channels)})")
        if min(self.channels) < 1:
            raise ConfigError(f"channels must be positive, got {self.channels}")
        if any(k < 1 or k % 2 == 0 for k in self.kernels):
            raise ConfigError(f"kernels must be odd and positive (same-size padding), got {self.kernels}")
        if self.hidden < 1:
            raise ConfigError(f"hidden must be positive, got {self.hidden}")

    def to_model_config(self) -> dict[str, Any]:
        """The plain-data ``model_config`` of an RLModuleSpec (what RLlib pickles and saves)."""
        d = dataclasses.asdict(self)
        d["channels"], d["kernels"] = list(self.channels), list(self.kernels)
        return {CONFIG_KEY: d}

    @classmethod
    def from_model_config(cls, model_config: object) -> CnnConfig:
        """Read back :meth:`to_model_config` (the defaults where the key is absent)."""
        return settings_from_model_config(cls, model_config, CONFIG_KEY, "CNN module", "cnn_module_spec")


def planes_size() -> int:
    """Length of the flat planes vector: ``NUM_PLANES * BOARD_SIZE * BOARD_SIZE``."""
    return NUM_PLANES * C.BOARD_SIZE * C.BOARD_SIZE


def masked_obs_space() -> gym.spaces.Dict:
    """The module's observation space: the flat planes and the action mask, both in [0, 1]."""
    return gym.spaces.Dict({
        PLANES_KEY: gym.spaces.Box(0.0, 1.0, (planes_size(),), np.float32),
        MASK_KEY: gym.spaces.Box(0.0, 1.0, (C.NUM_ACTIONS,), np.float32),
    })


def radio_action_space() -> gym.spaces.MultiDiscrete:
    """The team_radio action space: ``MultiDiscrete([6, 8, 8])`` (move, word, word)."""
    return gym.spaces.MultiDiscrete(list(RADIO_HEADS))


def action_heads(space: gym.Space) -> tuple[int, ...]:
    """The logit segments of an action space: ``(6,)`` for ``Discrete(6)``, :data:`RADIO_HEADS`
    for :func:`radio_action_space`.

    Raises:
        ConfigError: for any other space.
    """
    if isinstance(space, gym.spaces.Discrete):
        return (int(space.n),)
    if isinstance(space, gym.spaces.MultiDiscrete) and tuple(int(n) for n in space.nvec) == RADIO_HEADS:
        return RADIO_HEADS
    raise ConfigError(f"the CNN module needs Discrete(6) or the team_radio MultiDiscrete({list(RADIO_HEADS)}), "
                      f"got {space}")


def multiply_adds(config: CnnConfig, num_actions: int = C.NUM_ACTIONS) -> int:
    """Multiply-adds of one forward pass per sample (convs, the linear layer, both heads)."""
    cells = C.BOARD_SIZE * C.BOARD_SIZE
    total, c_in = 0, NUM_PLANES
    for c_out, k in zip(config.channels, config.kernels, strict=True):
        total += cells * c_out * c_in * k * k
        c_in = c_out
    return total + c_in * cells * config.hidden + config.hidden * (num_actions + 1)


def cnn_module_spec(config: CnnConfig | None = None, obs_space: gym.Space | None = None,
                    act_space: gym.Space | None = None) -> Any:
    """The RLModuleSpec of one :class:`BomberCnnModule`.

    Args:
        config: the module's shape and mask switch (the defaults when None).
        obs_space: :func:`masked_obs_space` when None; with the mask off a Box of the flat planes
            is accepted too.
        act_space: ``Discrete(6)`` when None, or :func:`radio_action_space` for team_radio.

    Returns:
        A ``ray.rllib.core.rl_module.rl_module.RLModuleSpec``.
    """
    config = config or CnnConfig()
    return RLModuleSpec(module_class=BomberCnnModule,
                        observation_space=masked_obs_space() if obs_space is None else obs_space,
                        action_space=gym.spaces.Discrete(C.NUM_ACTIONS) if act_space is None else act_space,
                        model_config=config.to_model_config())


def apply_mask(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``logits`` with every action whose mask entry is below 0.5 set to :data:`MASKED_LOGIT`.

    A row that allows no action at all is left as it is (a policy must be able to act).
    """
    allowed = mask > 0.5
    allowed = allowed | ~allowed.any(dim=-1, keepdim=True)
    return logits.masked_fill(~allowed, MASKED_LOGIT)


class BomberCnnModule(TorchRLModule, ValueFunctionAPI):
    """PPO's policy and value function on Bomber's planes: a conv trunk shared by two linear heads.

    The planes are reshaped to ``(NUM_PLANES, 11, 11)`` and go through ``len(channels)`` conv
    layers (ReLU, zero padding, stride 1) and one linear layer of ``hidden`` units (ReLU); a linear
    policy head gives the logits, a linear value head the value. The trunk is shared because the
    convs are nearly all of the compute: separate trunks would double the cost of every PPO update
    (forward and backward through two conv stacks) and of the learner's value pass for GAE, while
    sampling, which needs only the policy, would cost the same. :meth:`_forward_train` returns the
    trunk's output as embeddings, so PPO's value loss reuses the policy's pass.

    Settings come from ``model_config`` (see :class:`CnnConfig` and :func:`cnn_module_spec`).
    """

    def setup(self) -> None:
        """Builds the trunk and heads from ``model_config`` after checking the spaces."""
        self.cnn_config = CnnConfig.from_model_config(self.model_config)
        if self.action_space is None:
            raise ConfigError("the CNN module needs an action space")
        self.heads = action_heads(self.action_space)
        if len(self.heads) > 1:
            from ray.rllib.core.distribution.torch.torch_distribution import TorchMultiCategorical

            # RLlib's partial class: a MultiCategorical with the segments fixed
            partial: Any = TorchMultiCategorical.get_partial_dist_cls  # type: ignore[misc]
            self.action_dist_cls = partial(input_lens=list(self.heads))
        self._check_obs_space(self.heads[0])
        layers: list[nn.Module] = []
        c_in = NUM_PLANES
        for c_out, k in zip(self.cnn_config.channels, self.cnn_config.kernels, strict=True):
            layers += [nn.Conv2d(c_in, c_out, k, padding=k // 2), nn.ReLU()]
            c_in = c_out
        layers += [nn.Flatten(), nn.Linear(c_in * C.BOARD_SIZE * C.BOARD_SIZE, self.cnn_config.hidden),
                   nn.ReLU()]
        self.trunk = nn.Sequential(*layers)
        self.pi = nn.Linear(self.cnn_config.hidden, sum(self.heads))
        self.vf = nn.Linear(self.cnn_config.hidden, 1)
        # a small policy head starts PPO near the uniform policy
        nn.init.orthogonal_(self.pi.weight, gain=0.01)
        nn.init.zeros_(self.pi.bias)

    def _check_obs_space(self, num_actions: int) -> None:
        space = self.observation_space
        planes: gym.Space[Any] | None = space
        if isinstance(space, gym.spaces.Dict):
            if PLANES_KEY not in space.spaces:
                raise ConfigError(f"the observation space has no {PLANES_KEY!r}: {space}")
            planes = space[PLANES_KEY]
            mask = space.spaces.get(MASK_KEY)
            if self.cnn_config.mask and (mask is None or mask.shape != (num_actions,)):
                raise ConfigError(f"the action mask is on, so the observation space needs "
                                  f"{MASK_KEY!r} of shape ({num_actions},): {space}")
        elif self.cnn_config.mask:
            raise ConfigError(f"the action mask is on, so the observation space must be a Dict with "
                              f"{PLANES_KEY!r} and {MASK_KEY!r}, got {space}")
        shape = None if planes is None else planes.shape
        if shape is None or int(np.prod(shape)) != planes_size():
            raise ConfigError(f"the planes must have {planes_size()} values, got shape {shape}")

    def _split(self, batch: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor | None]:
        obs = batch[Columns.OBS]
        if isinstance(obs, Mapping):
            return obs[PLANES_KEY], obs.get(MASK_KEY) if self.cnn_config.mask else None
        return obs, None

    def _embed(self, planes: torch.Tensor) -> torch.Tensor:
        lead = planes.shape[:-1]
        x = planes.reshape(-1, NUM_PLANES, C.BOARD_SIZE, C.BOARD_SIZE)
        out: torch.Tensor = self.trunk(x)
        return out.reshape(*lead, -1)

    def _logits(self, embeddings: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        logits: torch.Tensor = self.pi(embeddings)
        if mask is None:
            return logits
        if len(self.heads) == 1:
            return apply_mask(logits, mask)
        move = self.heads[0]
        return torch.cat([apply_mask(logits[..., :move], mask), logits[..., move:]], dim=-1)

    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Inference and exploration (RLlib runs these without gradients): the masked logits."""
        planes, mask = self._split(batch)
        return {Columns.ACTION_DIST_INPUTS: self._logits(self._embed(planes), mask)}

    def _forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """The masked logits and the trunk's output, which :meth:`compute_values` reuses."""
        planes, mask = self._split(batch)
        embeddings = self._embed(planes)
        return {Columns.ACTION_DIST_INPUTS: self._logits(embeddings, mask),
                Columns.EMBEDDINGS: embeddings}

    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> torch.Tensor:
        """Value estimates of shape ``(B,)`` (or ``(B, T)``), from ``embeddings`` when given."""
        if embeddings is None:
            embeddings = self._embed(self._split(batch)[0])
        values: torch.Tensor = self.vf(embeddings)
        return values.squeeze(-1)
