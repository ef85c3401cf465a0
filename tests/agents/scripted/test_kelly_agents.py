"""Scripted Kelly agents."""

import numpy as np
import pytest

from palaestra.agents.base import Agent, BatchAgent
from palaestra.agents.scripted.kelly import (
    BayesKellyAgent,
    FractionAgent,
    RandomBetAgent,
    make_scripted_kelly_agent,
)
from palaestra.errors import UnknownNameError


def batch(wealth, rounds_left=None, **extra):
    obs = {"wealth": np.asarray(wealth, dtype=float).reshape(-1, 1)}
    if rounds_left is not None:
        obs["rounds_left"] = np.asarray(rounds_left)
    obs.update({k: np.asarray(v) for k, v in extra.items()})
    return obs


def test_kelly_bets_twenty_percent_rounded_down():
    agent = make_scripted_kelly_agent("kelly")
    np.testing.assert_array_equal(agent.act_batch(batch([25.0, 0.04, 100.01])), [500, 0, 2000])


def test_capped_kelly_never_bets_past_the_cap():
    agent = make_scripted_kelly_agent("capped-kelly")
    np.testing.assert_array_equal(agent.act_batch(batch([25.0, 240.0, 250.0])), [500, 1000, 0])


def test_constant_fraction_parsing():
    assert make_scripted_kelly_agent("fraction:0.5").act_batch(batch([10.0]))[0] == 500
    with pytest.raises(ValueError, match="needs a number"):
        make_scripted_kelly_agent("fraction:abc")
    with pytest.raises(UnknownNameError, match="unknown Kelly agent"):
        make_scripted_kelly_agent("martingale")


def test_optimal_agent_follows_the_solution_and_refuses_the_generalized_game():
    agent = make_scripted_kelly_agent("optimal")
    bets = agent.act_batch(batch([25.0, 249.0, 100.0], rounds_left=[300, 5, 1]))
    assert bets[1] == 100  # one dollar from the cap: bet exactly what reaches it
    assert bets[2] == 10_000  # last round below half the cap: bet everything useful
    with pytest.raises(ValueError, match="generalized"):
        agent.act_batch(batch([25.0], wins=[1], losses=[0], rounds_elapsed=[1]))


def test_bayes_kelly_uses_the_posterior_mean():
    agent = BayesKellyAgent()
    # prior Beta(7, 3): p = 0.7 -> 40%; after 0 wins and 10 losses p = 0.35 -> nothing
    bets = agent.act_batch(batch([10.0, 10.0], wins=[0, 0], losses=[0, 10], rounds_elapsed=[0, 10]))
    np.testing.assert_array_equal(bets, [400, 0])
    with pytest.raises(ValueError, match="wins and losses"):
        agent.act_batch(batch([10.0], rounds_left=[3]))


def test_act_matches_act_batch_rows():
    agent = make_scripted_kelly_agent("optimal")
    obs = batch([3.0, 77.5], rounds_left=[2, 150])
    rows = [agent.act({"wealth": obs["wealth"][i], "rounds_left": obs["rounds_left"][i]}) for i in range(2)]
    np.testing.assert_array_equal(rows, agent.act_batch(obs))


def test_random_agent_is_reproducible_and_in_range():
    agent = RandomBetAgent()
    agent.reset(np.random.default_rng(5))
    a = agent.act_batch(batch([1.0] * 1000))
    agent.reset(np.random.default_rng(5))
    b = agent.act_batch(batch([1.0] * 1000))
    np.testing.assert_array_equal(a, b)
    assert a.min() == 0 and a.max() == 100


def test_agents_follow_the_protocol():
    for name in ("optimal", "kelly", "capped-kelly", "fraction:0.1", "bayes-kelly", "random"):
        agent = make_scripted_kelly_agent(name)
        assert isinstance(agent, Agent) and isinstance(agent, BatchAgent)
    with pytest.raises(ValueError, match="fraction must lie"):
        FractionAgent(1.5)
