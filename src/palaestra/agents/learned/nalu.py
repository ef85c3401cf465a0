"""Neural accumulators (NAC) and neural arithmetic logic units (NALU), and a counting policy.

:class:`NAC` and :class:`NALU` follow Trask et al. (2018), *Neural Arithmetic Logic Units*:

* NAC: ``y = W x`` with ``W = tanh(W_hat) * sigmoid(M_hat)``, so every weight lies in (-1, 1) and
  is pushed towards -1, 0 or 1: the unit adds and subtracts its inputs and does nothing else, which
  is why it extrapolates far outside the range it was trained on.
* NALU: ``y = g * a + (1 - g) * m`` with ``a = W x`` (a NAC), ``m = exp(W log(|x| + eps))`` (the
  same NAC in log space: products, quotients and powers) and a learned gate ``g = sigmoid(G x)``.

:class:`CountingPolicy` is a recurrent actor-critic for ``palaestra/GridCountingEnv``: observation
features go through a recurrent core, an LSTM or an accumulator whose increment is a NAC, a NALU
or an NAU (:mod:`palaestra.agents.learned.nau`), and a head gives the five action logits and a
value.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from palaestra.agents.learned.nau import NAU, arithmetic_units, clamp_units, sparsity_penalty
from palaestra.errors import ConfigError

PolicyKind = Literal["lstm", "nac", "nalu", "nau"]
POLICY_KINDS: tuple[str, ...] = ("lstm", "nac", "nalu", "nau")


class NAC(nn.Module):
    """Neural accumulator: a linear map whose weights are pushed towards {-1, 0, 1}."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.W_hat = nn.Parameter(torch.empty(out_features, in_features))
        self.M_hat = nn.Parameter(torch.empty(out_features, in_features))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.W_hat)
        nn.init.xavier_uniform_(self.M_hat)

    @property
    def weight(self) -> Tensor:
        """``W = tanh(W_hat) * sigmoid(M_hat)``, each entry in (-1, 1)."""
        return torch.tanh(self.W_hat) * torch.sigmoid(self.M_hat)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"


class NALU(nn.Module):
    """Neural arithmetic logic unit: a gate between a NAC and the same NAC in log space."""

    def __init__(self, in_features: int, out_features: int, eps: float = 1e-7) -> None:
        super().__init__()
        self.in_features, self.out_features, self.eps = in_features, out_features, eps
        self.nac = NAC(in_features, out_features)
        self.G = nn.Parameter(torch.empty(out_features, in_features))
        nn.init.xavier_uniform_(self.G)

    def gate(self, x: Tensor) -> Tensor:
        """``g = sigmoid(G x)``: 1 selects the additive path, 0 the multiplicative one."""
        return torch.sigmoid(F.linear(x, self.G))

    def forward(self, x: Tensor) -> Tensor:
        w = self.nac.weight
        a = F.linear(x, w)
        m = torch.exp(F.linear(torch.log(torch.abs(x) + self.eps), w))
        g = self.gate(x)
        return g * a + (1 - g) * m

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, eps={self.eps}"


# ------------------------------------------------------------------------------ counting policy

FEATURE_NAMES: tuple[str, ...] = (
    "tick", "T", "distance", "dx", "dy", "abs_dx", "abs_dy", "sign_dx", "sign_dy",
)
"""What :func:`counting_features` computes from an observation, in order.

``tick`` is ``1 / scale``; ``T``, ``distance`` (city-block, to the target), ``dx`` (columns to the
right) and ``dy`` (rows down) are counts of steps divided by ``scale``, so that one step is worth
the same everywhere: sums and differences of these features (what a NAC computes) are counts too.
"""


def counting_features(observations: dict[str, Any], scale: float = 4.0) -> np.ndarray:
    """Features (float32, shape (B, len(FEATURE_NAMES))) of a batch of GridCounting observations.

    ``observations`` holds ``agent`` and ``target`` of shape (B, 2) and ``T`` of shape (B,); a
    single observation (shapes (2,) and ()) gives a batch of one. Nothing but the observation is
    used: in particular not the number of steps taken, which the policy has to count itself.
    """
    agent = np.asarray(observations["agent"], dtype=np.float64).reshape(-1, 2)
    target = np.asarray(observations["target"], dtype=np.float64).reshape(-1, 2)
    t = np.asarray(observations["T"], dtype=np.float64).reshape(-1)
    dy, dx = (target - agent).T
    b = agent.shape[0]
    columns = (
        np.full(b, 1.0 / scale), t / scale, (np.abs(dx) + np.abs(dy)) / scale,
        dx / scale, dy / scale, np.abs(dx) / scale, np.abs(dy) / scale, np.sign(dx), np.sign(dy),
    )
    return np.stack(columns, axis=1).astype(np.float32)


State = tuple[Tensor, ...]


class CountingPolicy(nn.Module):
    """Recurrent actor-critic: features -> core -> (five action logits, value).

    ``kind="lstm"``: an :class:`torch.nn.LSTMCell` core and an MLP head on the core's output and the
    features, the usual recurrent agent.

    ``kind="nac"`` / ``"nalu"``: an accumulator ``h_t = h_{t-1} + NAC(x_t)`` (or NALU) with
    ``h_0 = 0``. With the right weights it holds sums of features over the steps taken, the step
    count among them, exactly and without bound. The logits are ``gain * NAC([x_t, h_t]) + bias``:
    linear in the counts, so they keep their meaning outside the range of T seen in training, and
    with weights pushed towards -1, 0 and 1, so they tend to exact sums and differences of counts
    (such as ``T - distance - steps``) rather than approximate mixtures. ``gain`` is a fixed
    inverse temperature; ``core_gate_init`` the initial ``M_hat`` of the core NAC.

    ``kind="nau"``: the same accumulator and head with NAUs in place of the NACs: plain weights in
    [-1, 1] that the trainer's sparsity regulariser (:meth:`sparsity_penalty`) drives to exactly
    -1, 0 or 1, so the count and the head's sums of counts become exact. ``core_init`` bounds the
    core NAU's initial weights (uniform in +-``core_init``), small for the reason above.
    """

    def __init__(
        self,
        kind: PolicyKind = "nac",
        hidden: int = 32,
        feature_scale: float = 4.0,
        gain: float = 20.0,
        head_init: float = 0.05,
        core_gate_init: float = -2.0,
        core_init: float = 0.1,
        n_actions: int = 5,
    ) -> None:
        super().__init__()
        if kind not in POLICY_KINDS:
            raise ConfigError(f"kind must be one of {POLICY_KINDS}, got {kind!r}")
        if hidden < 1 or not gain > 0:
            raise ConfigError("hidden and gain must be positive")
        if not feature_scale > 0:
            raise ConfigError(f"feature_scale must be positive, got {feature_scale}")
        self.kind, self.hidden, self.feature_scale = kind, hidden, float(feature_scale)
        self.n_actions = n_actions
        n_in = len(FEATURE_NAMES)
        self.core: nn.Module
        self.head: nn.Module
        if kind == "lstm":
            self.core = nn.LSTMCell(n_in, hidden)
            self.head = nn.Sequential(nn.Linear(n_in + hidden, 64), nn.Tanh())
            self.logits = nn.Linear(64, n_actions)
            nn.init.zeros_(self.logits.bias)
            nn.init.normal_(self.logits.weight, std=0.01)
            self.value = nn.Sequential(nn.Linear(64, 1))
        elif kind == "nau":
            self.core = NAU(n_in, hidden)
            nn.init.uniform_(self.core.weight, -core_init, core_init)
            head_nau = NAU(n_in + hidden, n_actions)
            nn.init.uniform_(head_nau.weight, -head_init, head_init)
            self.head = head_nau
            self.gain = float(gain)
            # One learned scale for all the logits: the NAU's weights stay integers (sums of
            # counts) while how sharply they decide is learned apart from them. It is shared so
            # that the difference of two actions' logits stays an integer sum of counts times one
            # number: a scale per action would weigh the counts of one against another by a ratio
            # that only approaches the right one, and the error would grow with T.
            self.log_scale = nn.Parameter(torch.zeros(()))
            self.bias = nn.Parameter(torch.zeros(n_actions))
            self.value = nn.Sequential(nn.Linear(n_in + hidden, 64), nn.Tanh(), nn.Linear(64, 1))
        else:
            self.core = NAC(n_in, hidden) if kind == "nac" else NALU(n_in, hidden)
            core_nac = self.core if isinstance(self.core, NAC) else self.core.nac
            # Small effective weights at first (sigmoid(-2) = 0.12): a freshly initialised
            # accumulator would otherwise pile up large sums that saturate the logits within a few
            # steps, and a policy that stops exploring mid-episode never finds the reward.
            nn.init.constant_(core_nac.M_hat, core_gate_init)
            head = NAC(n_in + hidden, n_actions)
            nn.init.uniform_(head.W_hat, -head_init, head_init)
            self.head = head
            self.gain = float(gain)
            self.bias = nn.Parameter(torch.zeros(n_actions))
            self.value = nn.Sequential(nn.Linear(n_in + hidden, 64), nn.Tanh(), nn.Linear(64, 1))

    def features(self, observations: dict[str, Any]) -> Tensor:
        """:func:`counting_features` of a batch of observations, as a tensor."""
        return torch.from_numpy(counting_features(observations, self.feature_scale))

    def initial_state(self, batch: int) -> State:
        """The recurrent state at the start of an episode (zeros)."""
        zeros = torch.zeros(batch, self.hidden)
        return (zeros, zeros.clone()) if self.kind == "lstm" else (zeros,)

    def forward(self, x: Tensor, state: State) -> tuple[Tensor, Tensor, State]:
        """One step: features (B, F) and state -> logits (B, 5), value (B,), next state."""
        if self.kind == "lstm":
            h, c = self.core(x, state)
            z = self.head(torch.cat([x, h], dim=1))
            return self.logits(z), self.value(z).squeeze(-1), (h, c)
        h = state[0] + self.core(x)
        z = torch.cat([x, h], dim=1)
        scale = self.gain * torch.exp(self.log_scale) if self.kind == "nau" else self.gain
        logits = scale * self.head(z) + self.bias
        return logits, self.value(z).squeeze(-1), (h,)

    def nac_l1(self) -> Tensor:
        """Sum of the absolute effective weights of every NAC and NAU in the policy (0 for the
        LSTM).

        A penalty on it is a prior for formulas with few terms, such as ``T - distance - steps``.
        """
        total = torch.zeros(())
        for module in self.modules():
            if isinstance(module, (NAC, NAU)):
                total = total + module.weight.abs().sum()
        return total

    def sparsity_penalty(self) -> Tensor:
        """The NAU regulariser over the policy's NAUs (0 for the other kinds): the mean of
        ``min(|w|, 1 - |w|)``, zero when every NAU weight is -1, 0 or 1."""
        return sparsity_penalty(arithmetic_units(self))

    def clamp_(self) -> None:
        """Clamp the NAU weights to [-1, 1] (after every optimiser step; nothing for the other
        kinds)."""
        clamp_units(arithmetic_units(self))

    def spec(self) -> dict[str, Any]:
        """Constructor arguments, to rebuild the policy from saved weights."""
        spec: dict[str, Any] = {"kind": self.kind, "hidden": self.hidden,
                                "feature_scale": self.feature_scale, "n_actions": self.n_actions}
        if self.kind != "lstm":
            spec["gain"] = self.gain
        return spec


class CountingPolicyAgent:
    """A :class:`CountingPolicy` as a palaestra agent (keeps its recurrent state per episode).

    ``greedy=True`` plays the most likely action; otherwise actions are sampled with the generator
    given to :meth:`reset`.
    """

    def __init__(self, policy: CountingPolicy, greedy: bool = True, name: str | None = None) -> None:
        self.policy = policy
        self.greedy = greedy
        self.name = name or f"{policy.kind}-policy"
        self._rng = np.random.default_rng(0)
        self._state = policy.initial_state(1)

    def reset(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._state = self.policy.initial_state(1)

    @torch.no_grad()
    def act(self, observation: dict[str, Any]) -> np.int64:
        logits, _, self._state = self.policy(self.policy.features(observation), self._state)
        if self.greedy:
            return np.int64(int(torch.argmax(logits[0])))
        p = torch.softmax(logits[0].double(), dim=0).numpy()
        return np.int64(self._rng.choice(len(p), p=p / p.sum()))
