"""Learned rewards through the RLlib trainers (minutes): the single-agent trainer and the league."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from palaestra.cli import main
from palaestra.league.bomber_league_env import OBS_SPACE
from palaestra.league.prefs.reward_model import RewardEnsemble, RewardModelConfig
from palaestra.league.prefs.segments import Segment

pytestmark = pytest.mark.slow


def test_rllib_trainer_trains_on_a_learned_reward(tmp_path: Path) -> None:
    out = tmp_path / "prefs"
    assert main(["prefs", "train", "--env", "kelly", "--budget", "40", "--rounds", "2",
                 "--timesteps", "2", "--segment-length", "10", "--eval-episodes", "20",
                 "--out", str(out)]) == 0
    assert main(["train", "kelly", "--backend", "rllib", "--timesteps", "2000",
                 "--eval-episodes", "20", "--no-tensorboard", "--reward-model",
                 str(out / "reward_model"), "--out", str(tmp_path / "rllib")]) == 0
    meta = json.loads((tmp_path / "rllib" / "palaestra.json").read_text())
    assert meta["train_config"]["reward_model"] == str(out / "reward_model")


def test_league_trains_on_a_learned_per_agent_reward(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    dim = OBS_SPACE.shape[0]
    segs = [Segment("bomber", rng.random((4, dim)) < 0.05, a, (a == 5) * 1.0)
            for a in rng.integers(6, size=(40, 4))]
    comps = [(segs[2 * k], segs[2 * k + 1], 1.0 if segs[2 * k].true_return
              > segs[2 * k + 1].true_return else 0.0) for k in range(20)]
    model = RewardEnsemble(dim, 1, RewardModelConfig(ensemble=2, hidden=(8,), epochs=5))
    model.fit(comps, rng)
    model.save(tmp_path / "rm")
    league = tmp_path / "league"
    assert main(["league", "train", "--env", "bomber", "--population", "1", "--iterations", "1",
                 "--steps-per-iteration", "500", "--minibatch-size", "250", "--snapshot-every",
                 "0", "--eval-every", "0", "--reward-model", str(tmp_path / "rm"),
                 "--out", str(league)]) == 0
    state = json.loads((league / "league.json").read_text())
    assert state["iteration"] == 1 and state["matches"]  # true outcomes are still recorded
