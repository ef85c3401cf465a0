"""NAU and NMU modules, their sparsity regulariser and its schedule."""

from collections.abc import Callable

import numpy as np
import pytest
import torch

from palaestra.agents.learned.nalu import CountingPolicy, CountingPolicyAgent
from palaestra.agents.learned.nau import (
    NAU,
    NMU,
    RegularizerSchedule,
    arithmetic_units,
    sparsity_penalty,
)
from palaestra.agents.scripted.counting import play_counting_episode
from palaestra.envs.counting import GridCountingEnv
from palaestra.errors import ConfigError

Target = Callable[[torch.Tensor], torch.Tensor]


def _fit(unit: NAU | NMU, target: Target, low: float, high: float, strength: float,
         steps: int = 1500, seed: int = 0, tie: bool = False) -> NAU | NMU:
    """Fit ``unit`` to ``target`` on inputs uniform in [low, high] (``tie``: the second input a
    copy of the first): Adam with a learning rate that decays linearly to 0, the regulariser
    rising over 40%..70% of the steps."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    schedule = RegularizerSchedule(strength, 0.4, 0.7)
    optimizer = torch.optim.Adam(unit.parameters(), lr=1e-2)
    decay = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: 1 - i / steps)
    for i in range(steps):
        x = low + (high - low) * torch.rand(64, unit.in_features, generator=generator)
        if tie:
            x[:, 1] = x[:, 0]
        loss = ((unit(x).squeeze(-1) - target(x)) ** 2).mean()
        loss = loss + schedule.weight(i / (steps - 1)) * sparsity_penalty([unit])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        decay.step()
        unit.clamp_()
    return unit


def test_nau_is_linear_and_its_weights_are_clamped_to_minus_one_one():
    torch.manual_seed(0)
    nau = NAU(4, 3)
    assert torch.all(nau.weight.abs() <= 0.5)
    with torch.no_grad():
        nau.weight.mul_(10)
    nau.clamp_()
    assert torch.all(nau.weight.abs() <= 1) and torch.any(nau.weight.abs() == 1)
    x, y = torch.randn(5, 4), torch.randn(5, 4)
    torch.testing.assert_close(nau(x + 2 * y), nau(x) + 2 * nau(y), rtol=1e-5, atol=1e-5)


def test_nmu_multiplies_the_inputs_whose_weight_is_one():
    nmu = NMU(3, 2)
    with torch.no_grad():
        nmu.weight.copy_(torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]))
    x = torch.tensor([[3.0, -7.0, 11.0], [0.5, 2.0, -4.0]])
    torch.testing.assert_close(nmu(x), torch.tensor([[33.0, -7.0], [-2.0, 2.0]]))
    with torch.no_grad():
        nmu.weight.fill_(3.0)
    nmu.clamp_()
    assert torch.all(nmu.weight == 1.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_trained_nau_adds_exactly_far_outside_its_training_range(seed):
    nau = _fit(NAU(4, 1), lambda x: x[:, 0] + x[:, 1] - x[:, 3], 0.0, 1.0, 0.1, seed=seed)
    assert nau.weight.detach().round().tolist() == [[1.0, 1.0, 0.0, -1.0]]
    x = torch.randint(1_000, 10_000, (200, 4), generator=torch.Generator().manual_seed(9))
    truth = x[:, 0] + x[:, 1] - x[:, 3]
    got = nau(x.float()).squeeze(-1).detach()
    assert torch.equal(got.round().long(), truth), float((got - truth).abs().max())


def test_a_trained_nmu_multiplies_exactly_far_outside_its_training_range():
    nmu = _fit(NMU(3, 1), lambda x: x[:, 0] * x[:, 2], 1.0, 2.0, 0.1)
    assert nmu.weight.detach().tolist() == [[1.0, 0.0, 1.0]]
    x = torch.randint(10, 100, (200, 3), generator=torch.Generator().manual_seed(9)).float()
    torch.testing.assert_close(nmu(x).squeeze(-1), x[:, 0] * x[:, 2], rtol=1e-6, atol=0.0)


def test_the_regulariser_drives_the_weights_to_minus_one_zero_or_one():
    """Two copies of one input: any w0 + w1 = 1 fits. Without the regulariser the fit stops at
    an arbitrary mixture; with it, one weight goes to 1 and the other to 0."""
    def duplicated(strength: float) -> np.ndarray:
        nau = NAU(3, 1)
        with torch.no_grad():
            nau.weight.copy_(torch.tensor([[0.3, 0.2, -0.4]]))
        fitted = _fit(nau, lambda x: x[:, 0] - x[:, 2], 0.0, 1.0, strength, tie=True)
        return fitted.weight.detach().numpy()[0]

    free = duplicated(0.0)
    assert free[0] + free[1] == pytest.approx(1.0, abs=1e-3) and 0.2 < free[0] < 0.8
    w = duplicated(0.1)
    assert np.abs(w - np.round(w)).max() < 1e-4, w
    assert sorted(np.round(w).tolist()) == [-1.0, 0.0, 1.0]
    assert float(sparsity_penalty([NAU(2, 2)]).detach()) > 0.0


def test_the_penalty_is_zero_exactly_on_integer_weights():
    nau = NAU(2, 2)
    with torch.no_grad():
        nau.weight.copy_(torch.tensor([[1.0, 0.0], [-1.0, 0.25]]))
    assert float(sparsity_penalty([nau]).detach()) == pytest.approx(0.25 / 4)
    with torch.no_grad():
        nau.weight[1, 1] = 0.0
    assert float(sparsity_penalty([nau]).detach()) == 0.0
    assert float(sparsity_penalty([])) == 0.0


def test_the_schedule_rises_linearly_between_start_and_end():
    s = RegularizerSchedule(strength=2.0, start=0.2, end=0.6)
    assert [s.weight(p) for p in (0.0, 0.19, 0.2, 0.4, 0.6, 1.0)] == pytest.approx(
        [0.0, 0.0, 0.0, 1.0, 2.0, 2.0])
    assert RegularizerSchedule(1.0, 0.5, 0.5).weight(0.5) == 1.0
    for bad in ({"strength": -1.0}, {"start": 0.7, "end": 0.6}, {"end": 1.5},
                {"strength": float("nan")}):
        with pytest.raises(ConfigError, match="regulariser"):
            RegularizerSchedule(**bad)
    with pytest.raises(ConfigError, match="positive sizes"):
        NAU(0, 2)


def test_nau_policy_with_integer_weights_is_on_time_for_any_T():
    """The NAU counting policy can hold the exact rule with weights in {-1, 0, 1} (and the
    learned scale), and then extrapolates to any T."""
    policy = CountingPolicy("nau", hidden=1, feature_scale=4.0, gain=20.0)
    assert arithmetic_units(policy) == [policy.core, policy.head]
    stay = [0.0, 1.0, -1.0] + [0.0] * 6 + [-1.0]  # T - distance - steps (this one included)
    rows = [stay] + [[0.0] * 10 for _ in range(4)]
    rows[1][8], rows[2][8], rows[3][7], rows[4][7] = -1.0, 1.0, -1.0, 1.0  # towards the target
    with torch.no_grad():
        policy.core.weight.copy_(torch.tensor([[1.0] + [0.0] * 8]))
        policy.head.weight.copy_(torch.tensor(rows))
        policy.log_scale.zero_()  # the logits are gain (20) times the head's sums
        policy.bias.copy_(torch.tensor([22.5, 0.0, 0.0, 0.0, 0.0]))
    # stay: 5 * slack + 22.5, with slack = T - distance - steps (this one included); towards the
    # target: 20. The agent stays while it can still arrive in time (slack >= 0), else moves.
    assert float(policy.sparsity_penalty().detach()) == 0.0
    agent = CountingPolicyAgent(policy, greedy=True)
    env = GridCountingEnv(max_t=40)
    for t in (5, 12, 19, 30, 40):
        wins = sum(play_counting_episode(env, agent, seed, {"T": t})["is_success"]
                   for seed in range(30))
        assert wins == 30, f"T={t}: {wins}/30"
