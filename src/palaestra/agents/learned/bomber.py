"""Trained Bomber policies (league members) as palaestra agents.

A Bomber checkpoint is a palaestra checkpoint directory (``palaestra.json`` with env
``palaestra/Bomber-v0``, backend ``rllib``) whose ``rl_module/`` holds an RLlib module trained on
the flat planes observation and ``policy.pt`` the same policy as TorchScript (what ``palaestra
league export`` writes). The agent loads the TorchScript when it is there: that needs only torch,
not Ray, and fits the sandbox's default 1 GiB address-space limit (the RLlib module does not). The agent rebuilds the
planes from Pommerman's dict observation (:func:`~palaestra.envs.bomber.observe.
planes_from_observation`), so it plays anywhere a scripted agent does: ``bomber play``,
tournaments and the sandbox. A module trained behind the action mask (its observation a dict of
``planes`` and ``action_mask``; checkpoint feature ``action_mask: true``) gets the mask of the
filter it was trained behind (feature ``action_filter``, ``sure-death`` when absent:
:mod:`palaestra.envs.bomber.filters`), rebuilt from the same observation.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from palaestra.envs import env_id
from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber.filter_names import FILTERS, LEGACY_FILTER, FilterName, check_filter
from palaestra.envs.bomber.observe import planes_from_observation

BOMBER_ENV_ID = env_id("bomber")
TORCHSCRIPT_FILE = "policy.pt"
PLANES_KEY = "planes"
MASK_KEY = "action_mask"
"""The keys of a masked module's observation: the flat planes and the (6,) action mask as floats."""

RADIO_HEADS: tuple[int, ...] = (C.NUM_ACTIONS, C.RADIO_VOCAB_SIZE, C.RADIO_VOCAB_SIZE)
"""The logit segments of a team_radio policy: the move and each of its two words."""

Logits = Callable[[np.ndarray, "np.ndarray | None"], np.ndarray]
"""A policy: (flat planes (n, 2662), mask (n, 6) floats or None) -> logits (n, 6)."""


def takes_mask(module: Any) -> bool:
    """Whether an RLlib module's observation is the masked dict (planes and action mask)."""
    spaces = getattr(getattr(module, "observation_space", None), "spaces", None)
    return isinstance(spaces, dict) and MASK_KEY in spaces


class BomberModuleAgent:
    """Acts with a policy that maps flat planes to action logits.

    ``greedy=False`` samples from the softmax of the logits (as in training), with the generator
    given to :meth:`reset`; ``greedy=True`` plays the most likely action.
    """

    def __init__(self, logits: Logits, name: str, greedy: bool = False,
                 max_steps: int = C.MAX_STEPS, masked: bool = False,
                 action_filter: FilterName = LEGACY_FILTER) -> None:
        self._logits = logits
        self.name = name
        self.greedy = greedy
        self.max_steps = max_steps
        self.masked = masked
        """The policy takes the action filter's mask (it was trained behind it)."""
        self.action_filter = check_filter(action_filter)
        """The filter it was trained behind (:mod:`palaestra.envs.bomber.filters`)."""
        self._rng = np.random.default_rng(0)

    def reset(self, rng: np.random.Generator) -> None:
        self._rng = rng

    def act(self, observation: Any) -> Any:
        """The move; for a team_radio policy in a team_radio game (``game_type`` 3), [move, word, word]."""
        planes = planes_from_observation(observation, self.max_steps).reshape(1, -1)
        mask = None
        if self.masked:
            from palaestra.agents.scripted.filtered import observation_mask

            mask = observation_mask(observation, self.action_filter).astype(np.float32).reshape(1, -1)
        logits = np.asarray(self._logits(planes, mask), dtype=np.float64).reshape(-1)
        if logits.shape not in ((C.NUM_ACTIONS,), (sum(RADIO_HEADS),)) or not np.all(np.isfinite(logits)):
            raise ValueError(f"{self.name}: the policy gave logits of shape {logits.shape}")
        segments = np.split(logits, np.cumsum(RADIO_HEADS)[:-1]) if len(logits) > C.NUM_ACTIONS else [logits]
        picks = [int(np.argmax(s)) if self.greedy else sample_action(s, self._rng) for s in segments]
        if len(picks) > 1 and _int_or(observation.get("game_type"), 0) == C.GAME_TYPE_VALUE[C.TEAM_RADIO]:
            return picks
        return picks[0]


def _int_or(value: Any, default: int) -> int:
    """``value`` as an int (an int, a numpy scalar or a one-element array), or ``default`` if None."""
    return default if value is None else int(np.asarray(value).reshape(-1)[0])


def sample_action(logits: np.ndarray, rng: np.random.Generator) -> int:
    """An action drawn from the softmax of ``logits`` (float64) with ``rng``."""
    p = np.exp(logits - logits.max())
    return int(rng.choice(len(p), p=p / p.sum()))


def module_logits(module: Any) -> Logits:
    """An RLlib module's action logits for a batch of flat planes (and masks, for a module that
    takes them: :func:`takes_mask`)."""
    import torch

    masked = takes_mask(module)

    def logits(x: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        obs: Any = torch.from_numpy(x.astype(np.float32))
        if masked:
            if mask is None:
                raise ValueError("this policy was trained behind the action mask: give the mask")
            obs = {PLANES_KEY: obs, MASK_KEY: torch.from_numpy(mask.astype(np.float32))}
        with torch.no_grad():
            out = module.forward_inference({"obs": obs})
        return out["action_dist_inputs"].numpy()

    return logits


def load_bomber_checkpoint(path: str | Path, greedy: bool = False) -> BomberModuleAgent:
    """The agent stored in a Bomber checkpoint directory.

    Raises:
        CheckpointError: naming the problem (not a checkpoint, another env, a damaged module).
    """
    from palaestra.agents.learned.checkpoints import (
        RLLIB_MODULE,
        CheckpointError,
        CheckpointMeta,
        load_rllib_module,
    )

    directory = Path(path)
    meta = CheckpointMeta.read(directory)
    if meta.env_id != BOMBER_ENV_ID:
        raise CheckpointError(f"{directory} was trained on {meta.env_id}, not {BOMBER_ENV_ID}")
    if meta.backend != "rllib" or meta.features.get("observation") != "planes":
        raise CheckpointError(f"{directory}: a Bomber checkpoint must hold an RLlib module on "
                              "the planes observation")
    name = str(meta.results.get("member", directory.name))
    max_steps = int(meta.features.get("max_steps", C.MAX_STEPS))
    masked = bool(meta.features.get("action_mask", False))
    stored = str(meta.features.get("action_filter", LEGACY_FILTER))
    if stored not in FILTERS:
        raise CheckpointError(f"{directory}: unknown action filter {stored!r} (known: "
                              f"{', '.join(FILTERS)}); a newer palaestra may have written it")
    action_filter = check_filter(stored)
    script = directory / TORCHSCRIPT_FILE
    if script.is_file():
        import torch

        try:
            policy = torch.jit.load(str(script), map_location="cpu")
        except Exception as exc:  # torch raises RuntimeError and others for a damaged file
            raise CheckpointError(f"{script}: cannot load the TorchScript policy ({exc})") from None
        return BomberModuleAgent(_script_logits(policy, masked), name, greedy, max_steps, masked,
                                 action_filter)
    weights = directory / RLLIB_MODULE
    if not weights.is_dir():
        raise CheckpointError(f"{directory}: neither {TORCHSCRIPT_FILE} nor {RLLIB_MODULE}/")
    module = load_rllib_module(weights)
    return BomberModuleAgent(module_logits(module), name, greedy, max_steps, takes_mask(module),
                             action_filter)


def _script_logits(policy: Any, masked: bool) -> Logits:
    import torch

    def logits(x: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        args = [torch.from_numpy(x.astype(np.float32))]
        if masked:
            if mask is None:
                raise ValueError("this policy was trained behind the action mask: give the mask")
            args.append(torch.from_numpy(mask.astype(np.float32)))
        with torch.no_grad():
            return policy(*args).numpy()

    return logits


def script_module(module: Any, path: Path) -> None:
    """Save an RLlib module's logits function as TorchScript: flat planes -> 6 logits, or
    (flat planes, mask) -> 6 logits for a module that takes the mask (22 logits, the move's and
    the two words', for a team_radio module)."""
    import torch

    planes = torch.zeros(1, C.BOARD_SIZE * C.BOARD_SIZE * 22)
    if takes_mask(module):
        class _MaskedLogits(torch.nn.Module):
            def __init__(self, inner: Any) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
                obs = {PLANES_KEY: x, MASK_KEY: m}
                return self.inner.forward_inference({"obs": obs})["action_dist_inputs"]

        traced = torch.jit.trace(_MaskedLogits(module).eval(), (planes, torch.ones(1, C.NUM_ACTIONS)),
                                 strict=False)
    else:
        class _Logits(torch.nn.Module):
            def __init__(self, inner: Any) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                return self.inner.forward_inference({"obs": x})["action_dist_inputs"]

        traced = torch.jit.trace(_Logits(module).eval(), planes, strict=False)
    traced.save(str(path))
