"""Every env of the registry table passes the API checkers and is deterministic under seed."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from palaestra.envs import ENVS, get_spec

GYM_SPECS = [s for s in ENVS if s.kind == "gymnasium"]


@pytest.mark.parametrize("spec", GYM_SPECS, ids=lambda s: s.env_id)
def test_gymnasium_env_passes_check_env(spec):
    env = gym.make(spec.env_id)
    check_env(env.unwrapped, skip_render_check=False)


def _random_action(obs, space, rng):
    if "wealth" in obs:  # Kelly: bet up to a third of the wealth, in cents
        wealth_cents = int(round(float(obs["wealth"][0]) * 100))
        return np.int64(rng.integers(0, wealth_cents // 3 + 1))
    return np.int64(rng.integers(0, space.n))


def _rollout(env_id, seed, steps=400):
    env = gym.make(env_id)
    actions = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    trace = [repr(obs)]
    for _ in range(steps):
        obs, reward, term, trunc, _ = env.step(_random_action(obs, env.action_space, actions))
        trace.append(repr((obs, reward, term, trunc)))
        if term or trunc:
            obs, _ = env.reset()
            trace.append(repr(obs))
    return "\n".join(trace)


@pytest.mark.parametrize("spec", GYM_SPECS, ids=lambda s: s.env_id)
def test_same_seed_same_trajectory(spec):
    assert _rollout(spec.env_id, 7) == _rollout(spec.env_id, 7)
    assert _rollout(spec.env_id, 7) != _rollout(spec.env_id, 8)


def test_lookup_by_short_name_and_unknown_name():
    assert get_spec("kelly").env_id == "palaestra/KellyCoinflip-v0"
    with pytest.raises(KeyError, match="unknown environment 'nope'.*kelly"):
        get_spec("nope")


def test_all_table_entries_registered_with_gymnasium():
    for spec in GYM_SPECS:
        assert spec.env_id in gym.registry
        assert gym.registry[spec.env_id].entry_point == spec.entry_point


PZ_SPECS = [s for s in ENVS if s.kind == "pettingzoo"]
PZ_CONFIGS = {
    "bomber": [
        {},
        {"mode": "team"},
        {"mode": "team_radio", "partially_observable": True},
        {"observation": "planes"},
        {"mode": "team_radio", "observation": "planes", "partially_observable": True},
    ],
    "hide-and-seek": [
        {},
        {"n_hiders": 1, "n_seekers": 1},
        {"n_hiders": 3, "n_seekers": 3},
        {"rooms": False},
        {"grid_radius": 4},
    ],
}
"""Extra configurations per env (by short name); every env is also tested with its defaults."""


def _pz_cases():
    cases = []
    for spec in PZ_SPECS:
        for config in PZ_CONFIGS.get(spec.short_name, [{}]):
            label = "-".join(map(str, config.values())) or "default"
            cases.append(pytest.param(spec, config, id=f"{spec.short_name}-{label}"))
    return cases


@pytest.mark.parametrize("spec, config", _pz_cases())
def test_pettingzoo_env_passes_the_api_tests(spec, config):
    from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test

    module = spec.load()
    api_test(module.env(**config), num_cycles=200)
    parallel_api_test(module.parallel_env(**config), num_cycles=200)
    parallel_seed_test(lambda: module.parallel_env(**config), num_cycles=200)


@pytest.mark.parametrize("spec", PZ_SPECS, ids=lambda s: s.env_id)
def test_pettingzoo_env_passes_the_render_test(spec):
    from pettingzoo.test import render_test

    render_test(spec.load().env)
