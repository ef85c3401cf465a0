"""NAC and NALU modules, and the recurrent counting policy built on them."""

import numpy as np
import pytest
import torch

from palaestra.agents.learned.nalu import (
    NAC,
    NALU,
    CountingPolicy,
    CountingPolicyAgent,
    counting_features,
)
from palaestra.agents.scripted.counting import play_counting_episode
from palaestra.envs.counting import GridCountingEnv


def _set_nac(nac: NAC, weights) -> None:
    """Saturate the NAC so that its effective weights are (almost exactly) ``weights``."""
    w = torch.as_tensor(weights, dtype=torch.float32)
    with torch.no_grad():
        nac.W_hat.copy_(torch.where(w.abs() == 1, 20.0 * w, torch.atanh(w)))
        nac.M_hat.copy_(torch.where(w == 0, torch.full_like(w, -20.0), torch.full_like(w, 20.0)))


def test_nac_weights_lie_in_minus_one_one_and_it_is_linear():
    torch.manual_seed(0)
    nac = NAC(4, 3)
    with torch.no_grad():
        nac.W_hat.mul_(100)
    w = nac.weight
    assert torch.all(w.abs() < 1)
    x, y = torch.randn(5, 4), torch.randn(5, 4)
    torch.testing.assert_close(nac(x + 2 * y), nac(x) + 2 * nac(y), rtol=1e-5, atol=1e-5)


def test_saturated_nac_adds_and_subtracts_exactly_far_outside_any_range():
    nac = NAC(3, 1)
    _set_nac(nac, [[1.0, -1.0, 0.0]])
    x = torch.tensor([[1e4, 2.5e3, 7.0]])
    torch.testing.assert_close(nac(x), torch.tensor([[7.5e3]]), rtol=1e-6, atol=1e-3)


def test_nalu_multiplies_when_its_gate_selects_the_log_path():
    nalu = NALU(2, 1)
    _set_nac(nalu.nac, [[1.0, 1.0]])
    with torch.no_grad():
        nalu.G.fill_(-50.0)  # gate 0 on positive inputs: the multiplicative path
    x = torch.tensor([[3.0, 7.0], [12.0, 0.5]])
    torch.testing.assert_close(nalu(x), torch.tensor([[21.0], [6.0]]), rtol=1e-4, atol=1e-4)
    with torch.no_grad():
        nalu.G.fill_(50.0)  # gate 1: the additive path
    torch.testing.assert_close(nalu(x), torch.tensor([[10.0], [12.5]]), rtol=1e-4, atol=1e-4)


def test_gradients_flow_through_nac_and_nalu():
    for module in (NAC(3, 2), NALU(3, 2)):
        x = torch.rand(4, 3) + 0.5
        module(x).sum().backward()
        grads = [p.grad for p in module.parameters()]
        assert all(g is not None and torch.isfinite(g).all() for g in grads)
        assert any(g.abs().sum() > 0 for g in grads)


def test_features_never_include_the_step_count():
    obs = {"agent": np.array([1, 2]), "target": np.array([3, 0]), "T": np.int64(9)}
    f = counting_features(obs, scale=4.0)
    assert f.shape == (1, 9)
    # tick, T, distance, dx, dy, |dx|, |dy|, sign dx, sign dy
    np.testing.assert_allclose(f[0], [0.25, 2.25, 1.0, -0.5, 0.5, 0.5, 0.5, -1.0, 1.0])


@pytest.mark.parametrize("kind", ["lstm", "nac", "nalu"])
def test_policy_shapes_state_and_agent_plays_an_episode(kind):
    torch.manual_seed(0)
    policy = CountingPolicy(kind, hidden=8)
    state = policy.initial_state(3)
    obs = {"agent": np.zeros((3, 2)), "target": np.ones((3, 2)), "T": np.array([5, 6, 7])}
    logits, value, state2 = policy(policy.features(obs), state)
    assert logits.shape == (3, 5) and value.shape == (3,)
    assert len(state2) == len(state)
    agent = CountingPolicyAgent(policy, greedy=False)
    env = GridCountingEnv()
    o, _ = env.reset(seed=1)
    agent.reset(np.random.default_rng(1))
    done = False
    while not done:
        o, _, term, trunc, _ = env.step(agent.act(o))
        done = term or trunc


def test_nac_policy_with_counting_weights_is_on_time_for_any_T():
    """The NAC policy can represent the exact counting rule, and then extrapolates to any T."""
    policy = CountingPolicy("nac", hidden=1, feature_scale=4.0, gain=20.0)
    # core: h += tick (h counts steps / scale)
    _set_nac(policy.core, [[1.0] + [0.0] * 8])
    # h already counts the step being chosen, so staying is right while T - distance - h >= 0.
    # Stay logit = gain * (T - distance - steps_after + 0.5) / scale: +-2.5 around the decision;
    # a move towards the target scores +1, away -1.
    stay = [0.5, 1.0, -1.0] + [0.0] * 6 + [-1.0]  # tick, T, distance, ..., h
    toward = 0.05
    rows = [stay] + [[0.0] * 10 for _ in range(4)]
    rows[1][8], rows[2][8], rows[3][7], rows[4][7] = -toward, toward, -toward, toward
    _set_nac(policy.head, rows)
    with torch.no_grad():
        policy.bias.zero_()
    agent = CountingPolicyAgent(policy, greedy=True)
    env = GridCountingEnv(max_t=40)
    for t in (5, 12, 19, 30, 40):
        wins = sum(play_counting_episode(env, agent, seed, {"T": t})["is_success"]
                   for seed in range(30))
        assert wins == 30, f"T={t}: {wins}/30"


def test_bad_policy_arguments():
    with pytest.raises(ValueError, match="kind must be one of"):
        CountingPolicy("gru")
    with pytest.raises(ValueError, match="feature_scale"):
        CountingPolicy("nac", feature_scale=0.0)
