"""ES on Ray actors: training, a lost worker, checkpoint and resume, the CLI."""

import pickle

import pytest

from palaestra.cli.main import main
from palaestra.league.es.run import STATE_FILE, ESRun, ESRunConfig
from palaestra.league.rllib.session import ray_session

TINY = dict(population=4, episodes=1, workers=2, noise_size=100_000)


def test_lost_worker_costs_only_its_share_then_is_replaced(tmp_path):
    import ray

    config = ESRunConfig(generations=3, **TINY)
    with ray_session(config):
        run = ESRun(config, tmp_path / "es")
        run.train()
        ray.kill(run._workers[0])
        more = ESRunConfig(generations=5, **TINY)
        resumed = ESRun(more, tmp_path / "es", resume=True)
        resumed._workers = run._workers  # the same (now damaged) actor pool
        history = resumed.train()
        resumed.close()
    assert [h["generation"] for h in history] == [1, 2, 3, 4, 5]
    assert history[3]["lost_workers"] == 1 and history[3]["num_used"] == 2
    assert history[4]["lost_workers"] == 0 and history[4]["num_used"] == 4


def test_a_worker_exception_is_raised_with_its_traceback_not_counted_as_lost(tmp_path, monkeypatch):
    from palaestra.league.es import run as es_run

    class BrokenWorker(es_run.ESWorker):  # defined here so that Ray ships it by value
        def evaluate(self, *args, **kwargs):
            raise ZeroDivisionError("a bug in the worker's own code")

    monkeypatch.setattr(es_run, "ESWorker", BrokenWorker)
    config = ESRunConfig(generations=2, **TINY)
    with ray_session(config):
        run = ESRun(config, tmp_path / "es")
        with pytest.raises(ZeroDivisionError, match="a bug in the worker's own code") as info:
            run.train()
        run.close()
    remote = str(info.value)  # with the worker's traceback
    assert "BrokenWorker.evaluate" in remote and 'raise ZeroDivisionError("a bug' in remote
    assert run.es.generation == 0 and run.history == []
    assert not (tmp_path / "es" / STATE_FILE).exists()  # no generation was told or saved


def test_resume_equals_an_uninterrupted_run(tmp_path):
    whole = ESRunConfig(generations=4, workers=1, population=4, episodes=1, noise_size=100_000)
    with ray_session(whole):
        a = ESRun(whole, tmp_path / "a")
        a.train()
        a.close()
        first = ESRunConfig(generations=2, workers=1, population=4, episodes=1, noise_size=100_000)
        b = ESRun(first, tmp_path / "b")
        b.train()
        b.close()
        b2 = ESRun(whole, tmp_path / "b", resume=True)
        b2.train()
        b2.close()
    sa = pickle.loads((tmp_path / "a" / STATE_FILE).read_bytes())
    sb = pickle.loads((tmp_path / "b" / STATE_FILE).read_bytes())
    assert (sa["es"]["theta"] == sb["es"]["theta"]).all()
    assert [h["fitness_mean"] for h in sa["history"]] == [h["fitness_mean"] for h in sb["history"]]


def test_cli_train_resume_and_errors(tmp_path):
    out = str(tmp_path / "es")
    args = ["es", "train", "--env", "kelly", "--out", out, "--population", "4", "--episodes", "1",
            "--workers", "1", "--eval-episodes", "10"]
    assert main([*args, "--generations", "2"]) == 0
    assert main([*args, "--generations", "2"]) == 2  # exists
    assert main([*args, "--generations", "3", "--resume"]) == 0
    assert main([*args, "--generations", "4", "--resume", "--sigma", "0.5"]) == 2
    assert main(["es", "train", "--out", str(tmp_path / "x"), "--resume"]) == 2
    with pytest.raises(ValueError, match="algo must be"):
        ESRunConfig(algo="cma")
