"""Malformed checkpoints give an error that names the problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from palaestra.agents.learned.checkpoints import (
    FORMAT,
    FORMAT_VERSION,
    META_FILE,
    CheckpointError,
    load_kelly_checkpoint,
)

GOOD = {
    "env_id": "palaestra/KellyCoinflip-v0",
    "backend": "sb3",
    "algo": "ppo",
    "features": {"variant": "classic", "wealth_scale": 250.0, "rounds_scale": 300.0},
    "package_version": "0",
    "format": FORMAT,
    "format_version": FORMAT_VERSION,
}


def _write(tmp_path: Path, meta: object) -> Path:
    text = meta if isinstance(meta, str) else json.dumps(meta)
    (tmp_path / META_FILE).write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    "meta, message",
    [
        ("{not json", "not valid JSON"),
        ([1, 2], "not a palaestra-checkpoint"),
        ({**GOOD, "format": "other"}, "not a palaestra-checkpoint"),
        ({**GOOD, "format_version": 99}, "format version 99"),
        ({**GOOD, "surprise": 1}, "unexpected or missing fields"),
        ({**GOOD, "backend": "jax"}, "unknown backend"),
        ({**GOOD, "features": {"variant": "classic"}}, "not a Kelly checkpoint"),
        (GOOD, "model.zip is missing"),
        ({**GOOD, "backend": "rllib"}, "rl_module/ is missing"),
    ],
)
def test_malformed_checkpoint_is_refused(tmp_path: Path, meta: object, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        load_kelly_checkpoint(_write(tmp_path, meta))


def test_missing_directory_and_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        load_kelly_checkpoint(tmp_path / "nowhere")
    with pytest.raises(CheckpointError, match=f"no {META_FILE}"):
        load_kelly_checkpoint(tmp_path)


def test_corrupt_weights_are_reported(tmp_path: Path) -> None:
    _write(tmp_path, GOOD)
    (tmp_path / "model.zip").write_bytes(b"not a zip")
    with pytest.raises(CheckpointError, match="model.zip"):
        load_kelly_checkpoint(tmp_path)
