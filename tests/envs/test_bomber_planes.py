"""planes_from_observation rebuilds the env's planes from Pommerman's dict observation."""

import numpy as np
import pytest

from palaestra.envs.bomber.env import BomberParallelEnv
from palaestra.envs.bomber.observe import planes_from_observation


@pytest.mark.parametrize("mode, partial", [("ffa", False), ("ffa", True), ("team", False),
                                           ("team_radio", True)])
def test_planes_from_dict_equal_the_env_planes(mode, partial):
    env = BomberParallelEnv(mode=mode, partially_observable=partial)
    rng = np.random.default_rng(0)
    checked = 0
    for game in range(4):
        obs, _ = env.reset(seed=game)
        while env.agents:
            planes = env.planes_observations()
            for a in env.agents:
                np.testing.assert_array_equal(planes_from_observation(obs[a]), planes[a])
                checked += 1
            if mode == "team_radio":
                acts = {a: np.array([rng.integers(6), rng.integers(8), rng.integers(8)])
                        for a in env.agents}
            else:
                acts = {a: int(rng.integers(6)) for a in env.agents}
            obs, *_ = env.step(acts)
    assert checked > 100


def test_own_code_must_be_recoverable():
    env = BomberParallelEnv()
    obs, _ = env.reset(seed=0)
    bad = dict(obs["player_0"], enemies=np.array([10, 11, 12, 13]))
    with pytest.raises(ValueError, match="own code"):
        planes_from_observation(bad)
