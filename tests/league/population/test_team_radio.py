"""team_radio leagues: the CNN's word heads, words carried to the mate's planes on the league's
boards, PPO on [move, word, word] actions, and the exported policy speaking in radio games."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from palaestra.envs.bomber import constants as C
from palaestra.league.population.vector_boards import LeagueBoards, bomber_config

ray = pytest.importorskip("ray")
torch = pytest.importorskip("torch")

MESSAGE_PLANES = (20, 21)
CELLS = C.BOARD_SIZE * C.BOARD_SIZE


def _heard(obs: np.ndarray, i: int, k: int) -> list[int]:
    """The two words seat ``k`` of board ``i`` hears, read back from its flat planes."""
    planes = obs[i, k].reshape(-1, C.BOARD_SIZE, C.BOARD_SIZE)
    return [round(float(planes[p, 0, 0]) * (C.RADIO_VOCAB_SIZE - 1)) for p in MESSAGE_PLANES]


def test_words_reach_the_mate_in_the_next_step_and_bots_say_nothing():
    boards = LeagueBoards(3, bomber_config({"mode": "team_radio", "max_steps": 300}), 2)
    assert boards.radio and boards.team
    boards.set_league({"m0": {"bot:simple": 1.0}}, ["bot:simple"], {})
    boards.restart(np.arange(3))
    rng = np.random.default_rng(0)
    obs = boards.observe()
    assert all(_heard(obs, i, k) == [0, 0] for i in range(3) for k in range(4))
    checked = 0
    for _ in range(40):
        words = rng.integers(C.RADIO_VOCAB_SIZE, size=(3, 4, 2))
        alive = boards.batch.agents[:, :, 0].astype(bool)
        active = boards.active.copy()
        step = boards.step(np.where(boards.active, rng.integers(6, size=(3, 4)), 0), words)
        for i in range(3):
            if step.over[i]:
                continue
            for k in range(4):
                mate = (k + 2) % 4
                if not step.observations[i, mate].any():
                    continue  # a dead mate sees nothing
                if active[i, k] and alive[i, k]:
                    assert _heard(step.observations, i, mate) == words[i, k].tolist()
                    checked += 1
                elif alive[i, k]:  # a bot seat: no words
                    assert _heard(step.observations, i, mate) == [0, 0]
        if step.over.any():
            boards.restart(np.flatnonzero(step.over))
    assert checked > 50
    with pytest.raises(ValueError, match="radio words must lie in 0..7"):
        boards.step(np.zeros((3, 4), np.int64), np.full((3, 4, 2), 8))


def test_a_radio_module_masks_only_the_move_and_samples_three_heads():
    from ray.rllib.core.columns import Columns

    from palaestra.errors import ConfigError
    from palaestra.league.rllib.cnn import CnnConfig, action_heads, cnn_module_spec, radio_action_space

    assert action_heads(radio_action_space()) == (6, 8, 8)
    import gymnasium as gym

    with pytest.raises(ConfigError, match="needs Discrete"):
        action_heads(gym.spaces.MultiDiscrete([6, 4]))
    module = cnn_module_spec(CnnConfig(channels=(8,), kernels=(3,), hidden=16),
                             act_space=radio_action_space()).build()
    mask = torch.tensor([[1, 0, 0, 0, 1, 0]] * 4, dtype=torch.float32)
    obs = {"planes": torch.rand(4, 22 * CELLS), "action_mask": mask}
    logits = module.forward_exploration({Columns.OBS: obs})[Columns.ACTION_DIST_INPUTS]
    assert logits.shape == (4, 22)
    assert (logits[:, [1, 2, 3, 5]] < -1e8).all() and (logits[:, 6:] > -1e8).all()
    dist = module.get_train_action_dist_cls().from_logits(logits)
    actions = dist.sample()
    assert actions.shape == (4, 3) and set(actions[:, 0].tolist()) <= {0, 4}
    assert dist.logp(actions).shape == (4,)


def test_ppo_trains_a_radio_league_on_move_and_word_actions(ray_session):
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.tune.registry import register_env

    from palaestra.league.population.algorithm import ENV_NAME, make_league_env, module_spec
    from palaestra.league.population.config import LeagueConfig
    from palaestra.league.population.vector_runner import BomberVectorEnvRunner
    from palaestra.league.rllib.modules import identity_mapping
    from palaestra.league.rllib.weights import module_weights

    register_env(ENV_NAME, make_league_env)
    spec = module_spec(LeagueConfig(mode="team_radio", eval_every=0))
    members = ["m0", "m1"]
    env_config = {"lineups": {"m0": {"m1": 0.5, "bot:simple": 0.5}, "m1": {"m0": 1.0}},
                  "bots": ["bot:simple"], "seed": 1, "agent_ids": members, "num_boards": 6,
                  "env": "bomber", "mode": "team_radio", "action_filter": "cautious"}
    algo = (PPOConfig()
            .environment(ENV_NAME, env_config=env_config, disable_env_checking=True)
            .env_runners(num_env_runners=0, num_envs_per_env_runner=1, env_runner_cls=BomberVectorEnvRunner,
                         rollout_fragment_length="auto")
            .multi_agent(policies=set(members), policy_mapping_fn=identity_mapping, policies_to_train=members)
            .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs={m: spec for m in members}))
            .training(train_batch_size_per_learner=400, minibatch_size=200, num_epochs=1, lr=1e-3)
            .debugging(seed=1, log_level="ERROR")).build_algo()
    try:
        eps = algo.env_runner.sample(num_timesteps=300)
        spoke = 0
        for e in eps:
            for sa in e.agent_episodes.values():
                actions = np.asarray(sa.get_actions())
                assert actions.shape[1:] == (3,) and actions[:, 1:].max() < C.RADIO_VOCAB_SIZE
                spoke += int(actions[:, 1:].any())
        assert spoke
        before = {k: v.copy() for k, v in module_weights(algo, "m0").items()}
        algo.train()
        after = module_weights(algo, "m0")
        assert any(not np.array_equal(before[k], after[k]) for k in after)
    finally:
        algo.stop()


def test_an_exported_radio_policy_speaks_in_radio_games_only(tmp_path: Path):
    from palaestra.agents.learned.bomber import TORCHSCRIPT_FILE, load_bomber_checkpoint, script_module
    from palaestra.agents.learned.checkpoints import CheckpointMeta
    from palaestra.envs.bomber.env import BomberParallelEnv
    from palaestra.league.rllib.cnn import CnnConfig, cnn_module_spec, radio_action_space

    module = cnn_module_spec(CnnConfig(channels=(8,), kernels=(3,), hidden=16),
                             act_space=radio_action_space()).build()
    script_module(module, tmp_path / TORCHSCRIPT_FILE)
    CheckpointMeta(env_id="palaestra/Bomber-v0", backend="rllib", algo="ppo",
                   features={"observation": "planes", "max_steps": 800, "action_mask": True,
                             "action_filter": "cautious"}, package_version="test").write(tmp_path)
    agent = load_bomber_checkpoint(tmp_path)
    agent.reset(np.random.default_rng(0))
    radio = BomberParallelEnv(mode="team_radio")
    obs, _ = radio.reset(seed=0)
    said = [agent.act(obs["player_0"]) for _ in range(50)]
    assert all(len(a) == 3 and 0 <= a[0] < 6 and max(a[1:]) < 8 for a in said)
    radio.step({name: (said[0] if name == "player_0" else radio.idle_action()) for name in radio.agents})
    team = BomberParallelEnv(mode="team")
    obs, _ = team.reset(seed=0)
    assert isinstance(agent.act(obs["player_0"]), int)
