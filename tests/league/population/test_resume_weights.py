"""A resumed league samples with the weights it trained, on every env runner (league/rllib/weights.py).

After ``restore_from_path``, remote env runners kept older weights than the learners' and RLlib's
own weight sync did not replace them: the first resumed iteration of a Bomber league sampled
from another policy than it trained (entropy 0.25 -> 1.02 nats, KL 0.19).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from palaestra.league.population.config import LeagueConfig
from palaestra.league.population.run import LeagueRun, prepare_run
from palaestra.league.rllib.session import ray_session
from palaestra.league.rllib.weights import module_weights


def _runner_weights(algo: Any, module_id: str) -> list[dict[str, np.ndarray]]:
    def grab(runner: Any) -> dict[str, np.ndarray]:
        state = runner.module[module_id].get_state()
        return {k: np.asarray(v.detach().cpu() if hasattr(v, "detach") else v).copy()
                for k, v in state.items()}

    return algo.env_runner_group.foreach_env_runner(grab, local_env_runner=False)


def _same(runner: dict[str, np.ndarray], learner: dict[str, Any]) -> bool:
    return all(np.array_equal(v, np.asarray(learner[k].detach().cpu() if hasattr(learner[k], "detach")
                                            else learner[k])) for k, v in runner.items())


def test_resumed_remote_runners_hold_the_learners_weights(tmp_path: Path) -> None:
    out = tmp_path / "kelly"
    config = LeagueConfig(env="kelly", population=1, iterations=3, steps_per_iteration=600,
                          minibatch_size=200, epochs=2, snapshot_every=0, eval_every=0, gamma=1.0,
                          num_env_runners=2, num_cpus_per_env_runner=0.5, num_cpus=2, seed=5)
    config, state = prepare_run(config, out, resume=False, force=False)
    with ray_session(config):
        run = LeagueRun(config, state, out)
        try:
            run.train(None)
        finally:
            run.stop()
    config, state = prepare_run(config, out, resume=True, force=False)
    assert state.iteration == 3 and state.checkpoint
    with ray_session(config):
        run = LeagueRun(config, state, out)
        try:
            run.start()
            learner = module_weights(run.algo, "m0")
            runners = _runner_weights(run.algo, "m0")
            assert len(runners) == 2
            assert all(_same(r, learner) for r in runners)
        finally:
            run.stop()
