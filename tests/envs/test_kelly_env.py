"""Rules of the Kelly coin-flip envs."""

import gymnasium as gym
import numpy as np
import pytest

import palaestra.envs  # noqa: F401  (registers the envs)
from palaestra.envs.kelly import (
    KellyCoinflipEnv,
    KellyCoinflipGeneralizedEnv,
    KellyConfig,
    KellyGeneralizedConfig,
)
from palaestra.envs.kelly.core import KellyDraw, KellyGames


def games(uniforms, cap=25_000, edge=0.6, initial=2500):
    u = np.asarray(uniforms, dtype=float)
    return KellyGames([KellyDraw(edge, cap, len(u), u)], initial)


def test_win_then_loss_moves_wealth_by_the_bet():
    g = games([0.1, 0.9, 0.5])
    r = g.step(np.array([1000]))
    assert g.wealth_cents[0] == 3500 and r.won[0] and not r.terminated[0]
    r = g.step(np.array([700]))
    assert g.wealth_cents[0] == 2800 and not r.won[0]
    assert (g.wins[0], g.losses[0], g.rounds_elapsed[0]) == (1, 1, 2)


def test_bets_are_clipped_to_wealth_and_wins_to_the_cap():
    g = games([0.1, 0.1], cap=3000)
    r = g.step(np.array([10_000]))  # more than the wealth: bets 2500, wins up to the cap
    assert r.bets_cents[0] == 2500
    assert g.wealth_cents[0] == 3000 and r.terminated[0] and r.rewards[0] == 30.0


def test_bust_ends_the_game_with_zero():
    g = games([0.99, 0.1])
    r = g.step(np.array([2500]))
    assert g.wealth_cents[0] == 0 and r.terminated[0] and r.rewards[0] == 0.0


def test_running_out_of_rounds_pays_the_wealth():
    g = games([0.9, 0.1])
    assert not g.step(np.array([0])).terminated[0]
    r = g.step(np.array([123]))
    assert r.terminated[0] and r.rewards[0] == pytest.approx(26.23)


def test_finished_games_ignore_further_bets():
    g = KellyGames(
        [KellyDraw(0.6, 25_000, 1, np.array([0.1])), KellyDraw(0.6, 25_000, 2, np.array([0.1, 0.1]))],
        2500,
    )
    g.step(np.array([100, 100]))
    r = g.step(np.array([100, 100]))
    assert r.bets_cents[0] == 0 and not r.terminated[0] and r.terminated[1]
    assert list(g.wealth_cents) == [2600, 2700]


def test_env_episode_return_is_final_wealth():
    env = gym.make("palaestra/KellyCoinflip-v0")
    obs, _ = env.reset(seed=3)
    assert obs["wealth"][0] == 25.0 and obs["rounds_left"] == 300
    total, steps, done = 0.0, 0, False
    while not done:
        obs, reward, done, trunc, info = env.step(np.int64(int(obs["wealth"][0] * 100) // 5))
        assert not trunc
        total += reward
        steps += 1
        if not done:
            assert reward == 0.0
    assert total == pytest.approx(info["wealth_cents"] / 100)
    assert steps <= 300


def test_env_flips_follow_the_edge():
    env = KellyCoinflipEnv()
    wins = trials = 0
    for seed in range(40):
        env.reset(seed=seed)
        done = False
        while not done:
            _, _, done, _, info = env.step(np.int64(0))  # bet nothing: 300 free flips
            wins += info["won"]
            trials += 1
    assert trials == 40 * 300
    assert wins / trials == pytest.approx(0.6, abs=0.02)


def test_env_rejects_bad_actions_and_use_before_reset():
    env = KellyCoinflipEnv()
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.int64(1))
    env.reset(seed=0)
    with pytest.raises(ValueError, match="invalid action"):
        env.step(np.int64(-5))
    with pytest.raises(ValueError, match="invalid action"):
        env.step(np.int64(25_002))


def test_step_after_the_end_is_an_error():
    env = KellyCoinflipEnv(max_rounds=1)
    env.reset(seed=0)
    assert env.step(np.int64(0))[2]
    with pytest.raises(RuntimeError, match="over"):
        env.step(np.int64(0))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"initial_wealth": 25.001}, "whole number of cents"),
        ({"initial_wealth": 300.0}, "initial_wealth < max_wealth"),
        ({"edge": 1.0}, "edge"),
        ({"max_rounds": 0}, "max_rounds"),
    ],
)
def test_config_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        KellyConfig(**kwargs)


def test_generalized_config_validation():
    with pytest.raises(ValueError, match="max_wealth_m"):
        KellyGeneralizedConfig(max_wealth_m=10.0)
    with pytest.raises(TypeError, match="either config or keyword"):
        KellyCoinflipGeneralizedEnv(KellyGeneralizedConfig(), initial_wealth=30.0)


def test_ansi_render():
    env = KellyCoinflipEnv(render_mode="ansi")
    env.reset(seed=0)
    env.step(np.int64(100))
    assert env.render().startswith("round 1: wealth $")
    with pytest.raises(ValueError, match="render_mode"):
        KellyCoinflipEnv(render_mode="human")


# --- generalized game -------------------------------------------------------------------------


def test_generalized_spaces_do_not_depend_on_the_hidden_draw():
    env = KellyCoinflipGeneralizedEnv()
    spaces, hidden = set(), set()
    for seed in range(20):
        env.reset(seed=seed)
        spaces.add((repr(env.observation_space), repr(env.action_space)))
        hidden.add(tuple(env.hidden_parameters.values()))
    assert len(spaces) == 1 and len(hidden) == 20
    obs, _ = env.reset(seed=0)
    assert set(obs) == {"wealth", "max_wealth_seen", "rounds_elapsed", "wins", "losses"}


def test_generalized_counts_wins_and_losses():
    env = KellyCoinflipGeneralizedEnv()
    env.reset(seed=11)
    done, wins, losses = False, 0, 0
    while not done:
        obs, _, done, _, info = env.step(np.int64(0))
        wins += info["won"]
        losses += not info["won"]
        assert obs["wins"] == wins and obs["losses"] == losses
        assert obs["wins"] + obs["losses"] == obs["rounds_elapsed"]
    assert losses > 0 and wins > 0
    assert obs["rounds_elapsed"] == env.hidden_parameters["max_rounds"]


def test_generalized_priors():
    env = KellyCoinflipGeneralizedEnv()
    rng = np.random.default_rng(0)
    draws = [env.draw(rng) for _ in range(4000)]
    edges = np.array([d.edge for d in draws])
    caps = np.array([d.cap_cents for d in draws]) / 100
    rounds = np.array([d.rounds for d in draws])
    assert edges.mean() == pytest.approx(0.7, abs=0.01)  # Beta(7, 3)
    assert caps.min() >= 200 and np.all(caps == np.round(caps))
    assert np.median(caps) == pytest.approx(200 * 2 ** (1 / 5), rel=0.03)  # Pareto(5, 200)
    assert rounds.mean() == pytest.approx(300, abs=2) and rounds.std() == pytest.approx(25, rel=0.1)
