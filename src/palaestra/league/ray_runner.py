"""Play tournament matches as Ray tasks on a cluster (Ray is an optional extra, imported lazily).

:func:`ray_runner` is a :data:`~palaestra.evaluation.runners.Runner` like
:func:`~palaestra.evaluation.runners.local_runner`, for ``palaestra tournament run
--ray-address``: every match is one task running :func:`~palaestra.evaluation.match.run_match`,
and results are handed on in the order they finish.
"""

from __future__ import annotations

from collections.abc import Callable

from palaestra.errors import require_extra
from palaestra.evaluation.match import MatchResult, MatchSpec, run_match
from palaestra.evaluation.runners import Runner, WorkerDied


def ray_runner(address: str) -> Runner:
    """Run matches as Ray tasks on the cluster at ``address`` (``auto`` or ``host:port``).

    Raises:
        MissingExtraError: if Ray is not installed (the ``rllib`` extra).
    """
    require_extra("rllib", "a tournament on a Ray cluster (--ray-address)", "ray")

    def run(specs: list[MatchSpec], done: Callable[[MatchSpec, MatchResult | BaseException], None]) -> None:
        import ray

        if not ray.is_initialized():
            ray.init(address=address, log_to_driver=False)
        # no retries: a match that kills its worker is replayed (and its culprit found) by
        # evaluation.runners.play_with_blame
        remote = ray.remote(max_retries=0)(run_match)
        pending = {remote.remote(s): s for s in specs}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                spec = pending.pop(ref)
                outcome: MatchResult | BaseException
                try:
                    outcome = ray.get(ref)
                except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError) as exc:
                    outcome = WorkerDied(f"the Ray worker playing match {spec.match_id} died: {exc}")
                except Exception as exc:  # the task failed, not an agent: report, go on
                    outcome = exc
                done(spec, outcome)

    return run
