"""Trained-agent checkpoints: the on-disk format and the loader.

A checkpoint is a directory holding ``palaestra.json`` (:class:`CheckpointMeta`) and the
backend's weights: ``model.zip`` for Stable-Baselines3, ``rl_module/`` for RLlib. The metadata
records the env, the feature mapping the policy was trained with and the resolved training config,
so ``palaestra evaluate`` can rebuild exactly the agent that was trained.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from palaestra.agents.learned.kelly import KellyFeatures, NeuralKellyAgent
from palaestra.errors import FileFormatError

META_FILE = "palaestra.json"
FORMAT = "palaestra-checkpoint"
FORMAT_VERSION = 1
SB3_MODEL = "model.zip"
RLLIB_MODULE = "rl_module"


class CheckpointError(FileFormatError):
    """A checkpoint directory is missing, malformed or does not fit the requested env."""


@dataclass(frozen=True)
class CheckpointMeta:
    """What ``palaestra.json`` holds."""

    env_id: str
    backend: Literal["sb3", "rllib"]
    algo: str
    features: dict[str, Any]
    package_version: str
    train_config: dict[str, Any] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / (META_FILE + ".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")
        tmp.replace(directory / META_FILE)

    @classmethod
    def read(cls, directory: Path) -> CheckpointMeta:
        path = Path(directory)
        if not path.is_dir():
            raise CheckpointError(f"{path}: not a checkpoint directory (it does not exist)")
        meta_path = path / META_FILE
        if not meta_path.is_file():
            raise CheckpointError(f"{path}: not a palaestra checkpoint (no {META_FILE})")
        try:
            raw = json.loads(meta_path.read_text())
        except json.JSONDecodeError as exc:
            raise CheckpointError(f"{meta_path}: not valid JSON ({exc})") from None
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise CheckpointError(f"{meta_path}: not a {FORMAT} file")
        if raw.get("format_version") != FORMAT_VERSION:
            raise CheckpointError(
                f"{meta_path}: format version {raw.get('format_version')!r} is not supported "
                f"(this palaestra reads version {FORMAT_VERSION})"
            )
        try:
            meta = cls(**raw)
        except TypeError as exc:
            raise CheckpointError(f"{meta_path}: unexpected or missing fields ({exc})") from None
        if meta.backend not in ("sb3", "rllib"):
            raise CheckpointError(f"{meta_path}: unknown backend {meta.backend!r}")
        return meta


def _sb3_predictor(directory: Path, algo: str) -> Any:
    from stable_baselines3 import PPO

    if algo != "ppo":
        raise CheckpointError(f"{directory}: unsupported SB3 algorithm {algo!r}")
    weights = directory / SB3_MODEL
    if not weights.is_file():
        raise CheckpointError(f"{directory}: {SB3_MODEL} is missing")
    try:
        model = PPO.load(str(weights), device="cpu")
    except Exception as exc:  # SB3 raises zip, pickle and torch errors alike
        raise CheckpointError(f"{weights}: cannot load the SB3 model ({exc})") from None

    def predict(x: np.ndarray) -> np.ndarray:
        return model.predict(x, deterministic=True)[0]

    return predict


def load_rllib_module(weights: Path) -> Any:
    """The RLlib module saved in directory ``weights``.

    Raises:
        CheckpointError: naming the directory, when the module cannot be loaded.
    """
    from ray.rllib.core.rl_module.rl_module import RLModule

    try:
        return RLModule.from_checkpoint(str(Path(weights).resolve()))
    except Exception as exc:  # RLlib raises many kinds for a damaged checkpoint
        raise CheckpointError(f"{weights}: cannot load the RLlib module ({exc})") from None


def _rllib_predictor(directory: Path) -> Any:
    import torch
    from ray.rllib.core.columns import Columns

    weights = directory / RLLIB_MODULE
    if not weights.is_dir():
        raise CheckpointError(f"{directory}: {RLLIB_MODULE}/ is missing")
    module = load_rllib_module(weights)

    def predict(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            out = module.forward_inference({Columns.OBS: torch.from_numpy(x)})
        dist_inputs = out[Columns.ACTION_DIST_INPUTS].numpy()
        return dist_inputs[:, : dist_inputs.shape[1] // 2]  # the Gaussian's mean

    return predict


def load_kelly_checkpoint(path: str | Path, env_id: str | None = None) -> NeuralKellyAgent:
    """Load a trained Kelly agent.

    Args:
        path: the checkpoint directory.
        env_id: if given, the env the agent is about to play; a checkpoint trained on another
            Kelly variant is refused.

    Raises:
        CheckpointError: with the reason, for anything that is not a loadable Kelly checkpoint.
    """
    directory = Path(path)
    meta = CheckpointMeta.read(directory)
    try:
        features = KellyFeatures(**meta.features)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{directory}: not a Kelly checkpoint ({exc})") from None
    if env_id is not None and meta.env_id != env_id:
        raise CheckpointError(
            f"{directory} was trained on {meta.env_id}, not {env_id}; evaluate it there"
        )
    if meta.backend == "sb3":
        predict = _sb3_predictor(directory, meta.algo)
    else:
        predict = _rllib_predictor(directory)
    return NeuralKellyAgent(f"{meta.algo}-{meta.backend}:{directory.name}", features, predict)
