"""Real ES runs (minutes): Kelly to a good bet, Bomber against a trained league member."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from palaestra.cli.main import main
from palaestra.league.es.run import ESRun, ESRunConfig
from palaestra.league.population.config import LeagueConfig
from palaestra.league.population.layout import CONFIG_FILE, STATE_FILE
from palaestra.league.population.state import LeagueState
from palaestra.league.rllib.session import ray_session

pytestmark = pytest.mark.slow


def test_openai_es_on_kelly_with_the_benchmark_settings(tmp_path: Path) -> None:
    """34 generations (~300k env steps) at the benchmark's settings end above $240 on 1000 unseen
    games (optimum $246.61). The default initialisation bets ~12% and already makes ~$238, so
    this guards the run end to end against a broken update rather than proving learning from
    scratch (sigma 0.05 or more drives the same start down to $85-190 in as many steps)."""
    config = ESRunConfig(env="kelly", population=8, episodes=4, sigma=0.02, lr=0.01, hidden=(16,),
                         workers=2, generations=34, seed=0)
    with ray_session(config):
        run = ESRun(config, tmp_path / "es")
        run.train()
        run.close()
    assert run.history[-1]["total_steps"] >= 290_000
    assert run.evaluate(1000, seed=1).mean() * 250 >= 240.0


def test_es_plays_learned_league_members(tmp_path: Path) -> None:
    """The ES workers load a trained learner's module from the league's checkpoint and play it."""
    league = tmp_path / "league"
    assert main(["league", "train", "--env", "bomber", "--population", "1", "--iterations", "1",
                 "--steps-per-iteration", "500", "--minibatch-size", "250", "--snapshot-every",
                 "0", "--eval-every", "0", "--out", str(league)]) == 0
    stored = LeagueConfig.load(league / CONFIG_FILE)
    no_bots = dataclasses.replace(stored.matchmaking, bot_weight=0.0)  # m0 in every lineup
    dataclasses.replace(stored, matchmaking=no_bots).save(league / CONFIG_FILE)
    config = ESRunConfig(env="bomber", league=str(league), member="es:slow", generations=1,
                         population=2, episodes=1, hidden=(8,), workers=2, rate_games=2,
                         noise_size=100_000)
    with ray_session(config):
        run = ESRun(config, tmp_path / "es")
        history = run.train()
        run.close()
    assert history[0]["rated_games"] == 2 and history[0]["lost_workers"] == 0
    state = LeagueState.load(league / STATE_FILE)
    rated = [m for m in state.matches if "es:slow" in m.seats]
    assert len(rated) == 2 and all("m0" in m.seats for m in rated)
