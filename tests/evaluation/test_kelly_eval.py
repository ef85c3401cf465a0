"""The batched evaluator plays exactly the games the env plays."""

import numpy as np
import pytest

from palaestra.agents.scripted.kelly import make_scripted_kelly_agent
from palaestra.envs.kelly import KellyCoinflipEnv, KellyCoinflipGeneralizedEnv
from palaestra.evaluation.kelly import episode_seeds, evaluate_kelly, play_kelly_games


def _env_rollout(env, agent, seed):
    obs, _ = env.reset(seed=int(seed))
    done = False
    while not done:
        obs, reward, done, _, _ = env.step(agent.act(obs))
    return reward


@pytest.mark.parametrize(
    "env_cls, agent_name",
    [
        (KellyCoinflipEnv, "optimal"),
        (KellyCoinflipEnv, "capped-kelly"),
        (KellyCoinflipGeneralizedEnv, "bayes-kelly"),
        (KellyCoinflipGeneralizedEnv, "fraction:0.3"),
    ],
)
def test_batched_games_equal_env_rollouts(env_cls, agent_name):
    env = env_cls()
    agent = make_scripted_kelly_agent(agent_name)
    seeds = episode_seeds(3, 60)
    games = play_kelly_games(env, agent, seeds)
    singles = [_env_rollout(env, agent, s) for s in seeds]
    np.testing.assert_array_equal(games.wealth_cents / 100.0, singles)


def test_optimal_agent_mean_is_consistent_with_the_exact_value():
    env = KellyCoinflipEnv()
    r = evaluate_kelly(env, make_scripted_kelly_agent("optimal"), "kelly", 10_000, seed=0)
    assert r.optimum == pytest.approx(246.606293, abs=1e-6)
    assert r.ci95_low <= r.optimum <= r.ci95_high
    assert r.regret == pytest.approx(r.optimum - r.mean_wealth)
    assert r.cap_rate + r.bust_rate <= 1.0


def test_kelly_is_worse_than_optimal_and_evaluation_is_deterministic():
    env = KellyCoinflipEnv()
    a = evaluate_kelly(env, make_scripted_kelly_agent("kelly"), "kelly", 3000, seed=4)
    b = evaluate_kelly(env, make_scripted_kelly_agent("kelly"), "kelly", 3000, seed=4)
    assert a == b
    assert a.regret > 5.0  # Kelly 20% leaves about $10 on the table
    assert a.bust_rate == 0.0  # betting a fraction of whole cents never reaches $0


def test_generalized_has_no_optimum():
    env = KellyCoinflipGeneralizedEnv()
    r = evaluate_kelly(env, make_scripted_kelly_agent("bayes-kelly"), "g", 500, seed=0)
    assert r.optimum is None and r.regret is None


def test_misbehaving_agent_is_reported():
    class Broken:
        name = "broken"

        def reset(self, rng):
            pass

        def act_batch(self, obs):
            return np.zeros(3, dtype=np.int64)

    with pytest.raises(ValueError, match="broken.*returned"):
        evaluate_kelly(KellyCoinflipEnv(), Broken(), "kelly", 10)

    class Floaty(Broken):
        def act_batch(self, obs):
            return np.full(len(obs["wealth"]), 0.5)

    with pytest.raises(ValueError, match="integer cents"):
        evaluate_kelly(KellyCoinflipEnv(), Floaty(), "kelly", 10)


def test_no_games_is_a_config_error() -> None:
    from palaestra.errors import ConfigError
    from palaestra.evaluation.kelly import episode_seeds

    with pytest.raises(ConfigError, match="episodes must be >= 1, got 0"):
        episode_seeds(0, 0)
