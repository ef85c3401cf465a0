"""RLlib module specs shared by single-agent training and the league (Ray imported lazily)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import gymnasium as gym

from palaestra.errors import ConfigError

_Settings = TypeVar("_Settings")

SEAT_SEP = "/"
"""Separates a member id from a seat in the agent ids of team games (``m0/2``: ``m0`` in seat 2),
where one member plays two seats of a board. Member ids never contain it."""


def seat_agent_id(member: str, seat: int) -> str:
    """The agent id of ``member`` playing ``seat`` in a team game."""
    return f"{member}{SEAT_SEP}{seat}"


def identity_mapping(agent_id: Any, episode: Any = None, **kwargs: Any) -> Any:
    """Policy mapping where an agent's id is its module id (every FFA league seat is its member);
    a team game's agent id ``member/seat`` maps to ``member``."""
    return agent_id.split(SEAT_SEP, 1)[0] if isinstance(agent_id, str) else agent_id


def settings_from_model_config(cls: type[_Settings], model_config: object, key: str,
                               module: str, spec_fn: str) -> _Settings:
    """The dataclass ``cls`` stored under ``key`` of an RLModuleSpec's ``model_config`` (its
    defaults where the key is absent): how a custom module reads back its own settings. ConfigError
    for a model_config that is not a dict or holds unknown settings; ``module`` and ``spec_fn``
    name the module and its spec function in that message."""
    if model_config is None:
        return cls()
    if not isinstance(model_config, Mapping):
        raise ConfigError(f"the {module}'s model_config must be a dict (see {spec_fn}), "
                          f"got {type(model_config).__name__}")
    raw = dict(model_config.get(key) or {})
    unknown = sorted(set(raw) - {f.name for f in dataclasses.fields(cls)})  # type: ignore[arg-type]
    if unknown:
        raise ConfigError(f"unknown {key} settings: {unknown}")
    return cls(**raw)


def model_config(hidden: Sequence[int], lstm: bool = False) -> Any:
    """The default PPO model: separate MLP policy and value nets of ``hidden`` layers, with an
    LSTM in front when the policy has to keep its own memory (counting keeps its step count)."""
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    recurrent: dict[str, Any] = {"use_lstm": True, "lstm_cell_size": 32, "max_seq_len": 32} \
        if lstm else {}
    return DefaultModelConfig(fcnet_hiddens=list(hidden), vf_share_layers=False, **recurrent)


def module_spec(obs_space: gym.Space, act_space: gym.Space, hidden: Sequence[int],
                lstm: bool = False) -> Any:
    """The spec of one PPO torch module on the given spaces (see :func:`model_config`)."""
    from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import (
        DefaultPPOTorchRLModule,
    )
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    return RLModuleSpec(module_class=DefaultPPOTorchRLModule,
                        observation_space=obs_space, action_space=act_space,
                        model_config=model_config(hidden, lstm))
