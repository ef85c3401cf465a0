"""Training writes a checkpoint that loads, evaluates and refuses to be overwritten silently."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from palaestra.agents.learned.checkpoints import CheckpointMeta, load_kelly_checkpoint
from palaestra.league.training.config import TrainConfig
from palaestra.league.training.run import train

TINY = dict(timesteps=512, n_envs=2, n_steps=256, batch_size=128, n_epochs=1, eval_episodes=200,
            tensorboard=False)


@pytest.fixture(scope="module")
def sb3_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("runs") / "ppo"
    result = train(TrainConfig(**TINY), out)
    return out, result


def test_sb3_run_writes_a_complete_checkpoint(sb3_run: tuple[Path, object]) -> None:
    out, result = sb3_run
    meta = CheckpointMeta.read(out)
    assert meta.backend == "sb3" and meta.env_id == "palaestra/KellyCoinflip-v0"
    assert (out / "model.zip").is_file()
    config = json.loads((out / "config.json").read_text())
    assert config["timesteps"] == 512 and "package_version" in config
    stored = json.loads((out / "evaluation.json").read_text())
    assert stored["episodes"] == 200
    assert stored["mean_wealth"] == pytest.approx(result.mean_wealth)
    assert meta.results["evaluation"]["mean_wealth"] == pytest.approx(result.mean_wealth)


def test_reloaded_checkpoint_plays_the_same_bets(sb3_run: tuple[Path, object]) -> None:
    out, _ = sb3_run
    a = load_kelly_checkpoint(out, env_id="palaestra/KellyCoinflip-v0")
    b = load_kelly_checkpoint(out)
    obs = {"wealth": np.array([25.0, 100.0, 240.0]), "rounds_left": np.array([300, 50, 2])}
    bets = a.act_batch(obs)
    assert np.array_equal(bets, b.act_batch(obs))
    assert bets.dtype.kind == "i" and np.all(bets >= 0)
    assert np.all(bets <= np.array([2_500, 10_000, 1_000]))  # never past wealth or the cap


def test_same_seed_same_policy(sb3_run: tuple[Path, object], tmp_path: Path) -> None:
    out, result = sb3_run
    again = train(TrainConfig(**TINY), tmp_path / "again")
    assert again.mean_wealth == result.mean_wealth
    first = json.loads((out / "evaluation.json").read_text())
    second = json.loads((tmp_path / "again" / "evaluation.json").read_text())
    assert first.pop("agent") == "ppo-sb3:ppo" and second.pop("agent") == "ppo-sb3:again"
    assert first == second


def test_existing_run_directory_is_not_overwritten(sb3_run: tuple[Path, object]) -> None:
    out, _ = sb3_run
    before = (out / "model.zip").read_bytes()
    with pytest.raises(FileExistsError, match="--force"):
        train(TrainConfig(**TINY), out)
    assert (out / "model.zip").read_bytes() == before


def test_checkpoint_for_another_env_is_refused(sb3_run: tuple[Path, object]) -> None:
    out, _ = sb3_run
    with pytest.raises(ValueError, match="trained on palaestra/KellyCoinflip-v0"):
        load_kelly_checkpoint(out, env_id="palaestra/KellyCoinflipGeneralized-v0")


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(timesteps=0), "timesteps"),
        (dict(env="nope"), "nope"),
        (dict(n_envs=3, n_steps=100, batch_size=64), "batch_size"),
        (dict(learning_rate=-1.0), "learning_rate"),
        (dict(backend="tf"), "backend"),
    ],
)
def test_bad_config_is_refused(bad: dict, message: str) -> None:
    with pytest.raises((ValueError, KeyError), match=message):
        TrainConfig(**bad)
