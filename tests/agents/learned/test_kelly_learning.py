"""The learner's view of the Kelly games: features, the bet mapping and the reward modes."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from palaestra.agents.learned.kelly import ACTION_LIMIT, KellyFeatures, KellyLearningEnv


def _obs(wealth_cents: list[int], rounds_left: list[int]) -> dict[str, np.ndarray]:
    return {
        "wealth": np.asarray(wealth_cents, dtype=np.float64) / 100.0,
        "rounds_left": np.asarray(rounds_left, dtype=np.int64),
    }


def test_learning_env_passes_check_env() -> None:
    check_env(KellyLearningEnv(gym.make("palaestra/KellyCoinflip-v0")), skip_render_check=True)
    check_env(
        KellyLearningEnv(gym.make("palaestra/KellyCoinflipGeneralized-v0")),
        skip_render_check=True,
    )


def test_bet_mapping_is_a_share_of_wealth_clipped_to_the_cap() -> None:
    f = KellyFeatures.for_env(gym.make("palaestra/KellyCoinflip-v0"))
    obs = _obs([2_500, 2_500, 20_000, 24_999], [300, 300, 10, 1])
    # a = offset bets half; the largest output bets (almost) everything but never past the cap.
    bets = f.bets(np.array([f.action_offset, -ACTION_LIMIT, ACTION_LIMIT, ACTION_LIMIT]), obs)
    assert bets[0] == 1_250
    assert bets[1] == 0
    assert bets[2] == 5_000  # cap 25,000 - wealth 20,000
    assert bets[3] == 1
    # outputs beyond the limit are clipped, not extrapolated
    assert f.bets(np.array([1e9]), _obs([100], [5]))[0] == 100


def test_learning_env_reaches_the_cap_with_a_max_bet() -> None:
    env = KellyLearningEnv(gym.make("palaestra/KellyCoinflip-v0"))
    env.reset(seed=3)
    for _ in range(300):
        _, reward, terminated, truncated, info = env.step(np.array([ACTION_LIMIT], np.float32))
        if terminated or truncated:
            break
    assert info["final_wealth"] in (0.0, 250.0)
    assert reward * env.kelly_features.wealth_scale == pytest.approx(info["final_wealth"])


@pytest.mark.parametrize("env_id", ["palaestra/KellyCoinflip-v0",
                                    "palaestra/KellyCoinflipGeneralized-v0"])
def test_increment_reward_telescopes_to_final_minus_initial(env_id: str) -> None:
    rng = np.random.default_rng(0)
    for seed in range(5):
        env = KellyLearningEnv(gym.make(env_id), reward="increment")
        _, info = env.reset(seed=seed)
        start = info["wealth_cents"] / 100
        total, done = 0.0, False
        while not done:
            a = rng.normal(-1.0, 1.0, size=1).astype(np.float32)
            _, r, terminated, truncated, info = env.step(a)
            total += r
            done = terminated or truncated
        final = info["wealth_cents"] / 100
        assert total * env.kelly_features.wealth_scale == pytest.approx(final - start)


def test_same_seed_same_learning_trajectory() -> None:
    def run() -> list[float]:
        env = KellyLearningEnv(gym.make("palaestra/KellyCoinflip-v0"))
        obs, _ = env.reset(seed=11)
        out = [float(obs[0])]
        for _ in range(50):
            obs, r, term, trunc, _ = env.step(np.array([0.0], np.float32))
            out.append(float(obs[0]))
            if term or trunc:
                break
        return out

    assert run() == run()


def test_features_refuse_the_wrong_observation() -> None:
    f = KellyFeatures("classic", 250.0, 300.0)
    with pytest.raises(ValueError, match="rounds_left"):
        f.features({"wealth": np.array([25.0])})
    with pytest.raises(ValueError, match="variant"):
        KellyFeatures("other", 1.0, 1.0)  # type: ignore[arg-type]
