"""The exact dynamic-programming solver."""

import numpy as np
import pytest

from palaestra.envs.kelly.solver import _backup_exhaustive, solve_kelly


@pytest.fixture(scope="module")
def classic():
    return solve_kelly(0.6, 25_000, 300)


def test_haghani_dewey_value(classic):
    assert classic.value(2500, 300) == pytest.approx(246.606293, abs=5e-7)
    assert classic.exhaustive_rounds == 0  # every round used the exact concave search


def test_boundary_values(classic):
    assert classic.value(0, 300) == 0.0
    assert classic.value(25_000, 300) == 250.0
    assert classic.value(1234, 0) == 12.34


def test_one_round_closed_form():
    # With one round left, bet all that is useful: V_1(w) = w + (2p - 1) min(w, C - w).
    s = solve_kelly(0.6, 1000, 1)
    w = np.arange(1001)
    np.testing.assert_allclose(s.values[1], (w + 0.2 * np.minimum(w, 1000 - w)) / 100)
    np.testing.assert_array_equal(s.bet(w, np.ones_like(w)), np.minimum(w, 1000 - w))


@pytest.mark.parametrize("cap, rounds, edge", [(500, 40, 0.6), (777, 25, 0.7), (300, 60, 0.51)])
def test_matches_exhaustive_search(cap, rounds, edge):
    s = solve_kelly(edge, cap, rounds)
    v = np.empty((rounds + 1, cap + 1))
    b = np.zeros((rounds, cap + 1), dtype=np.int32)
    v[0] = np.arange(cap + 1) / 100
    for n in range(1, rounds + 1):
        _backup_exhaustive(v[n - 1], edge, v[n], b[n - 1])
    np.testing.assert_allclose(s.values, v, atol=1e-9)
    # The chosen bets achieve the optimum (ties may pick another bet).
    for n in (1, rounds // 2, rounds):
        w = np.arange(1, cap)
        bets = s.bet(w, np.full_like(w, n))
        achieved = edge * v[n - 1][w + bets] + (1 - edge) * v[n - 1][w - bets]
        np.testing.assert_allclose(achieved, v[n][w], atol=1e-9)


def test_fair_coin_is_worth_its_wealth():
    s = solve_kelly(0.5, 400, 30)
    np.testing.assert_allclose(s.values[30], np.arange(401) / 100, atol=1e-12)


def test_out_of_range_queries_are_refused(classic):
    with pytest.raises(ValueError, match="outside the solved range"):
        classic.value(25_001, 10)
    with pytest.raises(ValueError, match="out of the solved range"):
        classic.bet(np.array([100]), np.array([301]))
    with pytest.raises(ValueError, match="edge"):
        solve_kelly(1.2)
