"""The ES policies on our envs: the accumulator policy can count, episodes are reproducible."""

from __future__ import annotations

import numpy as np
import pytest

from palaestra.agents.learned.nalu import FEATURE_NAMES
from palaestra.league.es.recurrent import FlatAccumulatorPolicy
from palaestra.league.es.workers import PolicySpec, es_spaces, evaluate_parameters


def counting_solution(policy: FlatAccumulatorPolicy) -> np.ndarray:
    """Weights that wait while T - distance - steps >= 1 and then walk to the target.

    Memory unit 0 counts: h = (steps taken + 1) / 4 at each decision. The head is linear: the move
    logits point at the target (+-1 by the signs of dx, dy); the stay logit is
    8 * (T/4 - distance/4 - h) + 2, above 1 exactly while T - distance - steps >= 1.
    """
    n = len(FEATURE_NAMES)
    col = {name: i for i, name in enumerate(FEATURE_NAMES)}
    w_acc = np.zeros((n, policy.memory))
    b_acc = np.zeros(policy.memory)
    b_acc[0] = 0.25
    w = np.zeros((n + policy.memory, 5))
    bias = np.zeros(5)
    stay, up, down, left, right = range(5)
    w[col["T"], stay], w[col["distance"], stay], w[n, stay] = 8.0, -8.0, -8.0
    bias[stay] = 2.0
    w[col["sign_dy"], up], w[col["sign_dy"], down] = -1.0, 1.0
    w[col["sign_dx"], left], w[col["sign_dx"], right] = -1.0, 1.0
    return np.concatenate([w_acc.ravel(), b_acc, w.ravel(), bias])


def test_feature_names_the_solution_relies_on() -> None:
    assert {"T", "distance", "sign_dx", "sign_dy"} <= set(FEATURE_NAMES)


def test_accumulator_policy_can_count_exactly() -> None:
    """With the right weights the ES counting policy arrives on time in every episode, so what ES
    finds on counting is a matter of search, not of what the policy can express."""
    spec = PolicySpec.for_spaces(*es_spaces("counting"), hidden=(), memory=2)
    policy = spec.build()
    assert isinstance(policy, FlatAccumulatorPolicy)
    theta = counting_solution(policy)
    returns = evaluate_parameters("counting", spec, theta, None, episodes=200, seed=0)
    assert returns.mean() == 1.0
    zero = evaluate_parameters("counting", spec, np.zeros_like(theta), None, 200, 0)
    assert zero.mean() == 0.0  # always "stay": never arrives


def test_accumulator_memory_resets_and_round_trips() -> None:
    policy = FlatAccumulatorPolicy(3, "discrete", 2, memory=2, hidden=(4,))
    theta = policy.init(np.random.default_rng(0))
    assert theta.shape == (policy.num_params,) == (3 * 2 + 2 + (5 * 4 + 4) + (4 * 2 + 2),)
    policy.set_flat(theta)
    assert np.array_equal(policy.get_flat(), theta)
    x = np.array([1.0, -2.0, 0.5])
    first = [policy.act(x) for _ in range(5)]
    h = policy.h.copy()
    policy.reset()
    assert np.all(policy.h == 0)
    assert [policy.act(x) for _ in range(5)] == first
    assert np.allclose(policy.h, h)
    with pytest.raises(ValueError, match="shape"):
        policy.set_flat(theta[:-1])
    with pytest.raises(ValueError, match="non-finite"):
        policy.set_flat(np.full_like(theta, np.nan))
    with pytest.raises(ValueError, match="obs must have shape"):
        policy.act(np.zeros(4))


def test_evaluation_is_reproducible_per_seed() -> None:
    spec = PolicySpec.for_spaces(*es_spaces("kelly"), hidden=(8,))
    theta = np.random.default_rng(1).standard_normal(spec.build().get_flat().size)
    a = evaluate_parameters("kelly", spec, theta, None, 5, seed=3)
    b = evaluate_parameters("kelly", spec, theta, None, 5, seed=3)
    c = evaluate_parameters("kelly", spec, theta, None, 5, seed=4)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
