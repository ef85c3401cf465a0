"""Start a local Ray, or join a cluster, for the league; shut down only what we started."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from palaestra.league.league_config import LeagueConfig


@contextmanager
def ray_session(config: LeagueConfig) -> Iterator[None]:
    import ray

    started = False
    if not ray.is_initialized():
        if config.address:
            ray.init(address=config.address, log_to_driver=False)
        else:
            ray.init(num_cpus=config.num_cpus, include_dashboard=False, log_to_driver=False)
        started = True
    try:
        yield
    finally:
        if started:
            ray.shutdown()
