"""ES against a league: opponents drawn from the league, rated matches in the league's table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from palaestra.cli.main import main
from palaestra.league.es.league_fitness import es_lineup, join_league, match_score
from palaestra.league.es.run import ESRun, ESRunConfig
from palaestra.league.population.config import LeagueConfig
from palaestra.league.population.layout import STATE_FILE
from palaestra.league.population.run import active_lineups, env_config, prepare_run
from palaestra.league.population.state import LeagueState
from palaestra.league.rllib.session import ray_session


@pytest.fixture()
def league(tmp_path: Path) -> Path:
    """A Bomber league before its first iteration: one learner (no weights yet) and three bots."""
    out = tmp_path / "league"
    prepare_run(LeagueConfig(env="bomber", population=1), out, resume=False, force=False)
    return out


def test_match_score_is_the_share_of_seats_beaten() -> None:
    assert match_score(["a", "b", "c", "d"], [0, 1, 2, 3], "a") == 1.0
    assert match_score(["a", "b", "c", "d"], [3, 0, 1, 2], "a") == 0.0
    assert match_score(["b", "a", "c", "d"], [0, 0, 1, 1], "a") == pytest.approx(2.5 / 3)


def test_external_member_draws_league_opponents_but_is_never_drawn(league: Path) -> None:
    join_league(league, "es:x", {"sigma": 0.05})
    dist, bots = es_lineup(league, "es:x")
    # m0 has no stored weights yet, so only the bots can be played
    assert set(dist) == set(bots) == {"bot:random", "bot:static", "bot:simple"}
    assert sum(dist.values()) == pytest.approx(1.0)
    state = LeagueState.load(league / STATE_FILE)
    assert state.members["es:x"].kind == "external" and state.externals() == ["es:x"]
    config = LeagueConfig.load(league / "league_config.json")
    assert all("es:x" not in d for d in active_lineups(state, config).values())
    assert "es:x" not in env_config(state, config)["agent_ids"]
    join_league(league, "es:x", {})  # joining again is a no-op
    with pytest.raises(ValueError, match="is a learner"):
        join_league(league, "m0", {})


def test_es_on_bomber_is_rated_in_the_league_table(league: Path, tmp_path: Path) -> None:
    config = ESRunConfig(env="bomber", league=str(league), member="es:tiny", generations=2,
                         population=2, episodes=1, hidden=(4,), workers=1, rate_games=2,
                         noise_size=100_000)
    with ray_session(config):
        run = ESRun(config, tmp_path / "es")
        history = run.train()
        run.close()
    assert [h["rated_games"] for h in history] == [2, 2]
    assert all(0.0 <= h["rated_score"] <= 1.0 for h in history)
    state = LeagueState.load(league / STATE_FILE)
    rated = [m for m in state.matches if "es:tiny" in m.seats]
    assert len(rated) == 4 and all(m.source == "eval" for m in rated)
    assert all(set(m.seats) - {"es:tiny"} <= set(state.bots()) for m in rated)
    table = state.rating_table()
    assert table.players["es:tiny"].games == 4
    # the league's own CLI shows the ES agent among its members
    assert main(["league", "table", "--out", str(league), "--plots", str(tmp_path / "p")]) == 0
    rows = json.loads((tmp_path / "p" / "league_table.json").read_text())
    rows = rows["rows"] if isinstance(rows, dict) else rows
    assert any(r["member"] == "es:tiny" and r["kind"] == "external" for r in rows)


def test_league_settings_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--league"):
        ESRunConfig(env="bomber")
    with pytest.raises(ValueError, match="single-agent"):
        ESRunConfig(env="kelly", league="runs/x")
    config = ESRunConfig(env="bomber", league=str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match="not a league run"):
        ESRun(config, tmp_path / "es")
    assert main(["es", "train", "--env", "bomber", "--out", str(tmp_path / "es2")]) == 2
