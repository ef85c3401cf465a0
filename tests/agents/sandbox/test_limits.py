"""Sandbox limits: their validation and the overage bank's time accounting."""

from __future__ import annotations

import pytest

from palaestra.agents.sandbox.limits import OverageBank, SandboxLimits
from palaestra.errors import ConfigError


def test_limits_are_validated() -> None:
    for bad in ({"step_time_s": 0}, {"init_time_s": -1.0}, {"overage_bank_s": -0.1},
                {"memory_mb": 1.5}, {"on_timeout": "sulk"}, {"default_action": -1},
                {"step_time_s": float("nan")}):
        with pytest.raises(ConfigError):
            SandboxLimits(**bad)


def test_the_bank_pays_only_for_time_over_the_step_time() -> None:
    bank = OverageBank(step_time_s=0.1, bank_s=0.5)
    assert bank.allowance() == pytest.approx(0.6)
    bank.charge(0.05)  # within the step time: free
    assert bank.left == pytest.approx(0.5)
    bank.charge(0.3)  # 0.2 s over
    assert bank.left == pytest.approx(0.3) and bank.allowance() == pytest.approx(0.4)
    bank.charge(1.0)  # more than is left: empty, never negative
    assert bank.left == 0.0 and bank.allowance() == pytest.approx(0.1)
