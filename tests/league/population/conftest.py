"""Shared fixtures of the league population tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def ray_session() -> Iterator[None]:
    """A local Ray on two CPUs for one test module (torch on one thread, as the runners use it)."""
    ray = pytest.importorskip("ray")
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    yield
    ray.shutdown()
