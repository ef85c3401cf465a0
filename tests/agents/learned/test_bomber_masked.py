"""A league member trained behind the action mask plays as a checkpoint agent: the mask is rebuilt
from the observation dict, in the TorchScript and the RLlib module paths alike."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ray", reason="ray is not installed")
pytest.importorskip("torch", reason="torch is not installed")

from palaestra.agents.learned.bomber import (  # noqa: E402
    TORCHSCRIPT_FILE,
    load_bomber_checkpoint,
    module_logits,
    script_module,
    takes_mask,
)
from palaestra.agents.learned.checkpoints import RLLIB_MODULE, CheckpointError, CheckpointMeta  # noqa: E402
from palaestra.agents.scripted.filtered import observation_mask  # noqa: E402
from palaestra.envs.bomber import constants as C  # noqa: E402
from palaestra.envs.bomber.env import BomberParallelEnv  # noqa: E402
from palaestra.envs.bomber.observe import planes_from_observation  # noqa: E402


def _checkpoint(tmp_path: Path, script: bool, **features: object) -> tuple[Path, object]:
    from palaestra.league.rllib.cnn import CnnConfig, cnn_module_spec

    module = cnn_module_spec(CnnConfig(channels=(8,), kernels=(3,), hidden=16)).build()
    out = tmp_path / ("scripted" if script else "module")
    module.save_to_path(str(out / RLLIB_MODULE))
    if script:
        script_module(module, out / TORCHSCRIPT_FILE)
    CheckpointMeta(env_id="palaestra/Bomber-v0", backend="rllib", algo="ppo",
                   features={"observation": "planes", "max_steps": 800, "action_mask": True, **features},
                   package_version="test").write(out)
    return out, module


def _a_state_with_masked_actions() -> dict:
    env = BomberParallelEnv()
    obs, _ = env.reset(seed=1)
    assert not observation_mask(obs["player_0"]).all()  # a corner start: walls mask some moves
    return obs["player_0"]


@pytest.mark.parametrize("script", [True, False], ids=["torchscript", "rllib module"])
def test_a_masked_member_never_plays_a_masked_action(tmp_path: Path, script: bool) -> None:
    path, module = _checkpoint(tmp_path, script)
    assert takes_mask(module)
    agent = load_bomber_checkpoint(path)
    assert agent.masked
    observation = _a_state_with_masked_actions()
    allowed = observation_mask(observation)
    agent.reset(np.random.default_rng(0))
    picked = {agent.act(observation) for _ in range(300)}
    assert picked and all(allowed[a] for a in picked) and len(picked) > 1
    # the scripted policy gives the module's own logits
    planes = planes_from_observation(observation, 800).reshape(1, -1)
    mask = allowed.astype(np.float32).reshape(1, -1)
    direct = module_logits(module)(planes, mask)
    assert np.allclose(agent._logits(planes, mask), direct, atol=1e-5)
    with pytest.raises(ValueError, match="give the mask"):
        module_logits(module)(planes, None)


@pytest.mark.parametrize("script", [True, False], ids=["torchscript", "rllib module"])
def test_a_member_plays_behind_the_filter_it_was_trained_behind(tmp_path: Path, script: bool) -> None:
    # the corridor of tests/envs/test_bomber_filters.py: the cautious filter also masks LEFT and BOMB
    rows = ["#" * 11] * 11
    rows[4], rows[5] = "####.######", "###....####"
    board = np.array([[C.RIGID if ch == "#" else C.PASSAGE for ch in row] for row in rows], np.int8)
    board[5, 5], board[4, 4] = C.AGENT0, C.AGENT0 + 1
    zeros = np.zeros((11, 11))
    observation = {"board": board, "bomb_blast_strength": zeros, "bomb_life": zeros,
                   "bomb_moving_direction": zeros, "flame_life": zeros, "position": (5, 5), "ammo": 1,
                   "blast_strength": 2, "can_kick": False, "teammate": 9, "enemies": [11, 12, 13],
                   "alive": [1, 1, 0, 0], "step_count": 0}
    assert observation_mask(observation).tolist() == [True, False, False, True, True, True]
    assert observation_mask(observation, "cautious").tolist() == [True, False, False, False, True, False]
    path, _ = _checkpoint(tmp_path, script, action_filter="cautious")
    agent = load_bomber_checkpoint(path)
    assert agent.action_filter == "cautious"
    agent.reset(np.random.default_rng(0))
    assert {agent.act(observation) for _ in range(200)} == {C.STOP, C.RIGHT}
    # a checkpoint without the feature was trained behind the sure-death filter
    old, _ = _checkpoint(tmp_path / "old", script)
    assert load_bomber_checkpoint(old).action_filter == "sure-death"


def test_a_checkpoint_with_an_unknown_filter_is_refused(tmp_path: Path) -> None:
    path, _ = _checkpoint(tmp_path, True, action_filter="clairvoyant")
    with pytest.raises(CheckpointError, match="unknown action filter 'clairvoyant'"):
        load_bomber_checkpoint(path)
