"""How tournament matches are run, and what happens when a match kills the process running it.

A :data:`Runner` plays a list of :class:`~palaestra.evaluation.match.MatchSpec` and reports each
outcome (a result, or the exception that stopped the match) as it comes. :func:`local_runner`
uses worker processes; ``league/ray_runner.py`` uses a Ray cluster.

A match whose worker process dies (an agent that escapes its sandbox and kills it, a crash of the
host's code) is reported as :class:`WorkerDied`. :func:`play_with_blame` then plays it again
alone, since it may only have shared the worker with the culprit; if it kills its worker again,
it is played once with each submission forfeited in turn, and the first replay that finishes is
recorded, charging the forfeited entrant with a ``worker_killed`` fault. Only a match that
kills its worker whoever sits out is left unplayed. A worker's death never stops the tournament.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace

from palaestra.evaluation.match import BUILTIN_PREFIX, MatchResult, MatchSpec, run_match

Outcome = MatchResult | BaseException
Runner = Callable[[list[MatchSpec], Callable[[MatchSpec, Outcome], None]], None]
WORKER_KILLED = "worker_killed"
"""The fault of an entrant without which a match no longer killed its worker."""


class WorkerDied(RuntimeError):
    """The process playing a match died before it could report."""


def local_runner(workers: int) -> Runner:
    """Run matches in ``workers`` processes (in this process when ``workers`` is 1).

    At most ``workers`` matches are in flight, so a pool broken by a dying worker names exactly
    the matches that may have caused it (:class:`WorkerDied`); a fresh pool plays the rest.
    """

    def run(specs: list[MatchSpec], done: Callable[[MatchSpec, Outcome], None]) -> None:
        if workers <= 1:
            for spec in specs:
                outcome: Outcome
                try:
                    outcome = run_match(spec)
                except Exception as exc:  # the harness failed, not an agent: report, go on
                    outcome = exc
                done(spec, outcome)
            return
        ctx = multiprocessing.get_context("spawn")
        queue = list(reversed(specs))
        while queue:
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                futures: dict[Future[MatchResult], MatchSpec] = {}
                broken = False
                while (queue or futures) and not broken:
                    while queue and len(futures) < workers and not broken:
                        try:
                            futures[pool.submit(run_match, queue[-1])] = queue[-1]
                        except BrokenProcessPool:  # broke since the last wait: not started
                            broken = True
                        else:
                            queue.pop()
                    if not futures:
                        break
                    finished, _ = wait(futures, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        spec = futures.pop(fut)
                        error = fut.exception()
                        if isinstance(error, BrokenProcessPool):
                            broken = True
                            error = WorkerDied(f"the worker playing match {spec.match_id} died")
                        done(spec, error if error is not None else fut.result())
                for spec in futures.values():  # in flight when the pool broke
                    done(spec, WorkerDied(f"the worker playing match {spec.match_id} died"))

    return run


def play_with_blame(specs: list[MatchSpec], runner: Runner, done: Callable[[MatchSpec, Outcome], None]) -> None:
    """Play ``specs`` with ``runner``; matches whose worker died are replayed alone, then without
    each submission in turn (see the module docstring). ``done`` sees each match once."""
    died: list[MatchSpec] = []

    def first(spec: MatchSpec, outcome: Outcome) -> None:
        if isinstance(outcome, WorkerDied):
            died.append(spec)
        else:
            done(spec, outcome)

    runner(specs, first)
    for spec in died:
        outcome = _alone(spec, runner)
        if isinstance(outcome, WorkerDied):
            outcome = _without_the_culprit(spec, runner, outcome)
        done(spec, outcome)


def _alone(spec: MatchSpec, runner: Runner) -> Outcome:
    outcomes: list[Outcome] = []
    runner([spec], lambda _, outcome: outcomes.append(outcome))
    return outcomes[0]


def _without_the_culprit(spec: MatchSpec, runner: Runner, death: WorkerDied) -> Outcome:
    entrants = [k for k, s in enumerate(spec.specs) if not s.startswith(BUILTIN_PREFIX) and k not in spec.forfeits]
    for k in entrants:
        why = (f"{WORKER_KILLED}: the match worker died every time this agent played; the match "
               "was replayed without it")
        outcome = _alone(replace(spec, forfeits={**spec.forfeits, k: why}), runner)
        if not isinstance(outcome, BaseException):
            return outcome
    return WorkerDied(f"{death}, with every entrant sitting out in turn ({len(entrants)} tried)")
