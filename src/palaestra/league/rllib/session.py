"""Start a local Ray, or join a cluster, for the league; shut down only what we started."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def ray_session(config: Any) -> Iterator[None]:
    """Ray for the block: joins ``config.address`` if set (a league config; ``ray_address`` for a
    single training run), else starts a local Ray with ``config.num_cpus`` CPUs. A Ray already
    running in this process is used as it is and left running."""
    import ray

    address = getattr(config, "address", None) or getattr(config, "ray_address", None)
    started = False
    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            # address="local": always a new Ray of our own, never one that another process on
            # this machine happens to run (ray.init would otherwise join the newest cluster)
            ray.init(address="local", num_cpus=config.num_cpus, include_dashboard=False,
                     log_to_driver=False)
        started = True
    try:
        yield
    finally:
        if started:
            ray.shutdown()
