"""The compute ceiling: RLlib's PPO learner really trains epochs x batch samples, and the figures add up."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("ray.rllib", reason="ray[rllib] is not installed")

import torch  # noqa: E402

from palaestra.errors import ConfigError  # noqa: E402
from palaestra.league.rllib.ceiling import compute_ceiling, random_observations  # noqa: E402
from palaestra.league.rllib.cnn import CnnConfig, cnn_module_spec, masked_obs_space, planes_size  # noqa: E402

TINY = CnnConfig(channels=(4,), kernels=(3,), hidden=16)


def test_ceiling_trains_every_epoch_and_its_figures_add_up() -> None:
    threads = torch.get_num_threads()
    result = compute_ceiling(cnn_module_spec(TINY), batch_size=200, minibatch_size=50, epochs=3,
                             threads=1, forward_chunk=64, rounds=2)
    assert torch.get_num_threads() == threads  # restored
    assert result.threads == 1 and result.forward_chunk == 64
    assert result.samples_trained == 3 * 200
    total = result.forward_s + result.values_s + result.update_s
    assert result.samples_per_s == pytest.approx(200 / total)
    assert result.forward_samples_per_s == pytest.approx(200 / result.forward_s)
    assert result.update_samples_per_s == pytest.approx(200 / (result.values_s + result.update_s))
    assert result.samples_per_s < min(result.forward_samples_per_s, result.update_samples_per_s)


def test_ceiling_of_a_built_module_and_without_the_mask() -> None:
    module = cnn_module_spec(CnnConfig(channels=(4,), kernels=(3,), hidden=16, mask=False),
                             obs_space=masked_obs_space()["planes"]).build()
    result = compute_ceiling(module, batch_size=100, minibatch_size=100, epochs=2)
    assert result.samples_trained == 200 and result.forward_chunk == 100


def test_random_observations_are_seeded_and_inside_the_space() -> None:
    space = masked_obs_space()
    a = random_observations(space, 300, np.random.default_rng(5))
    b = random_observations(space, 300, np.random.default_rng(5))
    assert a["planes"].shape == (300, planes_size()) and a["action_mask"].shape == (300, 6)
    np.testing.assert_array_equal(a["planes"], b["planes"])
    np.testing.assert_array_equal(a["action_mask"], b["action_mask"])
    assert all(space.contains({k: v[i] for k, v in a.items()}) for i in range(300))
    assert set(np.unique(a["action_mask"])) == {0.0, 1.0}
    assert 0.7 < a["action_mask"].mean() < 0.9


def test_ceiling_refuses_bad_sizes() -> None:
    spec = cnn_module_spec(TINY)
    with pytest.raises(ConfigError, match="minibatch"):
        compute_ceiling(spec, batch_size=100, minibatch_size=200)
    with pytest.raises(ConfigError, match="threads"):
        compute_ceiling(spec, batch_size=100, minibatch_size=50, threads=0)
    with pytest.raises(ConfigError, match="RLModuleSpec"):
        compute_ceiling("cnn", batch_size=100, minibatch_size=50)
