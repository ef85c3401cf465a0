"""Trained Bomber policies (league members) as palaestra agents.

A Bomber checkpoint is a palaestra checkpoint directory (``palaestra.json`` with env
``palaestra/Bomber-v0``, backend ``rllib``) whose ``rl_module/`` holds an RLlib module trained on
the flat planes observation and ``policy.pt`` the same policy as TorchScript (what ``palaestra
league export`` writes). The agent loads the TorchScript when it is there: that needs only torch,
not Ray, and fits the sandbox's default 1 GiB address-space limit (the RLlib module does not). The agent rebuilds the
planes from Pommerman's dict observation (:func:`~palaestra.envs.bomber.observe.
planes_from_observation`), so it plays anywhere a scripted agent does: ``bomber play``,
tournaments and the sandbox.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from palaestra.envs import env_id
from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber.observe import planes_from_observation

BOMBER_ENV_ID = env_id("bomber")
TORCHSCRIPT_FILE = "policy.pt"


class BomberModuleAgent:
    """Acts with a policy that maps flat planes to action logits.

    ``greedy=False`` samples from the softmax of the logits (as in training), with the generator
    given to :meth:`reset`; ``greedy=True`` plays the most likely action.
    """

    def __init__(self, logits: Callable[[np.ndarray], np.ndarray], name: str,
                 greedy: bool = False, max_steps: int = C.MAX_STEPS) -> None:
        self._logits = logits
        self.name = name
        self.greedy = greedy
        self.max_steps = max_steps
        self._rng = np.random.default_rng(0)

    def reset(self, rng: np.random.Generator) -> None:
        self._rng = rng

    def act(self, observation: Any) -> int:
        planes = planes_from_observation(observation, self.max_steps).reshape(1, -1)
        logits = np.asarray(self._logits(planes), dtype=np.float64).reshape(-1)
        if logits.shape != (C.NUM_ACTIONS,) or not np.all(np.isfinite(logits)):
            raise ValueError(f"{self.name}: the policy gave logits of shape {logits.shape}")
        if self.greedy:
            return int(np.argmax(logits))
        return sample_action(logits, self._rng)


def sample_action(logits: np.ndarray, rng: np.random.Generator) -> int:
    """An action drawn from the softmax of ``logits`` (float64) with ``rng``."""
    p = np.exp(logits - logits.max())
    return int(rng.choice(len(p), p=p / p.sum()))


def module_logits(module: Any) -> Callable[[np.ndarray], np.ndarray]:
    """An RLlib module's action logits for a batch of flat planes."""
    import torch

    def logits(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            out = module.forward_inference({"obs": torch.from_numpy(x.astype(np.float32))})
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
    script = directory / TORCHSCRIPT_FILE
    if script.is_file():
        import torch

        try:
            policy = torch.jit.load(str(script), map_location="cpu")
        except Exception as exc:  # torch raises RuntimeError and others for a damaged file
            raise CheckpointError(f"{script}: cannot load the TorchScript policy ({exc})") from None
        return BomberModuleAgent(_script_logits(policy), name, greedy, max_steps)
    weights = directory / RLLIB_MODULE
    if not weights.is_dir():
        raise CheckpointError(f"{directory}: neither {TORCHSCRIPT_FILE} nor {RLLIB_MODULE}/")
    return BomberModuleAgent(module_logits(load_rllib_module(weights)), name, greedy, max_steps)


def _script_logits(policy: Any) -> Callable[[np.ndarray], np.ndarray]:
    import torch

    def logits(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return policy(torch.from_numpy(x.astype(np.float32))).numpy()

    return logits


def script_module(module: Any, path: Path) -> None:
    """Save an RLlib module's logits function (flat planes -> 6 logits) as TorchScript."""
    import torch

    class _Logits(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.inner.forward_inference({"obs": x})["action_dist_inputs"]

    example = torch.zeros(1, C.BOARD_SIZE * C.BOARD_SIZE * 22)
    traced = torch.jit.trace(_Logits(module).eval(), example, strict=False)
    traced.save(str(path))
