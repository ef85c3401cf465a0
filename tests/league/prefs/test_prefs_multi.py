"""Learned rewards in multi-agent envs: per agent, per team, and inside the Bomber league env."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from palaestra.envs.bomber.env import BomberParallelEnv
from palaestra.league.population.config import LeagueConfig
from palaestra.league.population.envs.bomber import OBS_SPACE, BomberLeagueEnv
from palaestra.league.prefs.multi_agent import LearnedRewardParallelEnv, learned_rewards
from palaestra.league.prefs.reward_model import RewardEnsemble, RewardModelConfig
from palaestra.league.prefs.segments import Segment

DIM = OBS_SPACE.shape[0]


@pytest.fixture(scope="module")
def bomber_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small reward model over Bomber planes, fitted to labels that prefer bombing (action 5)."""
    rng = np.random.default_rng(0)

    def segment() -> Segment:
        actions = rng.integers(6, size=4)
        return Segment("bomber", rng.random((4, DIM)) < 0.05, actions, (actions == 5) * 1.0)

    segs = [segment() for _ in range(80)]
    comps = [(segs[2 * k], segs[2 * k + 1],
              0.5 if segs[2 * k].true_return == segs[2 * k + 1].true_return
              else float(segs[2 * k].true_return > segs[2 * k + 1].true_return))
             for k in range(40)]
    model = RewardEnsemble(DIM, 1, RewardModelConfig(ensemble=2, hidden=(8,), epochs=20))
    model.fit(comps, rng)
    return model.save(tmp_path_factory.mktemp("rm") / "reward_model")


def test_per_agent_and_per_team_rewards(bomber_model: Path) -> None:
    model = RewardEnsemble.load(bomber_model)
    teams = {"player_0": "a", "player_2": "a", "player_1": "b", "player_3": "b"}
    for split in (None, teams):
        env = LearnedRewardParallelEnv(BomberParallelEnv(mode="team", observation="planes"),
                                       model, split)
        obs, _ = env.reset(seed=3)
        actions = {a: k + 2 for k, a in enumerate(env.agents)}  # player_3 lays a bomb
        own = {a: float(model.reward(obs[a].reshape(1, -1), np.array([[actions[a]]]))[0])
               for a in env.agents}
        _, rewards, _, _, infos = env.step(actions)
        assert all("true_reward" in infos[a] for a in rewards)
        if split is None:
            assert rewards == pytest.approx(own)
        else:
            assert rewards["player_0"] == rewards["player_2"] == pytest.approx(
                (own["player_0"] + own["player_2"]) / 2)
            assert rewards["player_1"] == rewards["player_3"] == pytest.approx(
                (own["player_1"] + own["player_3"]) / 2)
    assert learned_rewards(model, {}, {}) == {}
    with pytest.raises(ValueError, match="no team"):
        learned_rewards(model, obs, {"player_0": 0}, {"player_1": "a"})
    with pytest.raises(ValueError, match="teams must name every agent"):
        LearnedRewardParallelEnv(BomberParallelEnv(observation="planes"), model, {"player_0": "a"})


def test_league_env_pays_the_learned_reward(bomber_model: Path) -> None:
    model = RewardEnsemble.load(bomber_model)
    config = {"lineups": {"m0": {"bot:static": 1.0}}, "bots": ["bot:static"],
              "shaping": {"m0": {"shape_pickup": 0.0, "shape_enemy_death": 0.0}}}
    plain = BomberLeagueEnv(config)
    learned = BomberLeagueEnv({**config, "reward_model": str(bomber_model)})
    obs_a, _ = plain.reset(seed=1)
    obs_b, _ = learned.reset(seed=1)
    assert np.array_equal(obs_a["m0"], obs_b["m0"])
    for action in (5, 0, 1):
        expected = float(model.reward(obs_b["m0"][None], np.array([[action]]))[0])
        obs_a, ra, *_ = plain.step({"m0": action})
        obs_b, rb, *_ = learned.step({"m0": action})
        assert rb["m0"] == pytest.approx(expected)
        assert ra["m0"] in (0.0, 1.0, -1.0)


def test_league_config_checks_the_reward_model(bomber_model: Path, tmp_path: Path) -> None:
    old_path = {"sampler": "env", "model": "mlp", "action_mask": False}
    assert LeagueConfig(reward_model=str(bomber_model), **old_path).reward_model == str(bomber_model)  # type: ignore[arg-type]
    assert LeagueConfig(reward_model=str(bomber_model)).sampler == "boards"  # the boards pay it too
    with pytest.raises(ValueError, match="a reward model pays FFA leagues only, not mode 'team'"):
        LeagueConfig(reward_model=str(bomber_model), mode="team")
    with pytest.raises(ValueError, match="no reward model"):
        LeagueConfig(reward_model=str(tmp_path), **old_path)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Bomber leagues"):
        LeagueConfig(env="kelly", reward_model=str(bomber_model))
