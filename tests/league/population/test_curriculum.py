"""The bot curriculum before PFSP (league/population/curriculum.py)."""

from __future__ import annotations

import pytest

from palaestra.errors import ConfigError
from palaestra.league.population.config import LeagueConfig
from palaestra.league.population.curriculum import (
    CurriculumConfig,
    curriculum_lineup,
    stage_name,
    stage_of,
)
from palaestra.league.population.state import MatchRecord

CONFIG = CurriculumConfig(("static", "random", "simple"), (0.5, 0.5, 0.25), window=4)


def game(bot: str, won: bool, source: str = "train", member: str = "m0") -> MatchRecord:
    seats = (member, f"bot:{bot}", f"bot:{bot}", f"bot:{bot}")
    ranks = (0, 1, 1, 1) if won else (1, 0, 0, 0)
    return MatchRecord(1, source, seats, ranks, 0)  # type: ignore[arg-type]


def test_a_learner_graduates_stage_by_stage() -> None:
    games = [game("static", w) for w in (True, False, False, True)]  # 2/4 = 0.5: graduates
    assert stage_of("m0", games, CONFIG) == 1
    games += [game("random", w) for w in (True, False, False, False, True, True)]
    # windows of 4: 1/4, 1/4, 2/4 -> graduates on the last
    assert stage_of("m0", games, CONFIG) == 2
    assert stage_name(2, CONFIG) == "simple" and curriculum_lineup(2, CONFIG) == {"bot:simple": 1.0}
    games += [game("simple", w) for w in (False, False, False, True)]
    assert stage_of("m0", games, CONFIG) == 3 and stage_name(3, CONFIG) == "pfsp"
    assert curriculum_lineup(3, CONFIG) is None


def test_only_this_stages_training_games_count() -> None:
    noise = [game("simple", True), game("static", True, source="eval"), game("static", True, member="m1"),
             MatchRecord(1, "train", ("m0", "m1", "bot:static", "bot:static"), (0, 1, 1, 1), 0)]
    assert stage_of("m0", noise * 5, CONFIG) == 0
    # a shared first place (a draw at the step limit) is not a win
    draws = [MatchRecord(1, "train", ("m0",) + ("bot:static",) * 3, (0, 0, 1, 1), 0)] * 8
    assert stage_of("m0", draws, CONFIG) == 0
    assert stage_of("m0", [], CurriculumConfig((), ())) == 0 and stage_name(0, CurriculumConfig((), ())) == "pfsp"


def test_config_is_checked_and_old_leagues_resume_without_it() -> None:
    with pytest.raises(ConfigError, match="3 stages need as many thresholds"):
        CurriculumConfig(("static", "random", "simple"), (0.5,))
    with pytest.raises(ConfigError, match="thresholds must be in"):
        CurriculumConfig(("static",), (0.0,))
    with pytest.raises(ConfigError, match="window"):
        CurriculumConfig(("static",), (0.5,), window=0)
    with pytest.raises(ConfigError, match="not among the league's bots"):
        LeagueConfig(bots=("simple",))
    config = LeagueConfig()
    assert LeagueConfig.from_json(config.to_json()) == config
    old = config.to_json()
    del old["curriculum"]  # a league.json written before the curriculum existed
    assert LeagueConfig.from_json(old).curriculum.stages == ()


def test_lineups_follow_each_learners_stage() -> None:
    from palaestra.league.population.run import active_lineups
    from palaestra.league.population.state import LeagueState, Member

    config = LeagueConfig(population=2, curriculum=CONFIG, snapshot_every=0)
    state = LeagueState.new("bomber", 0)
    for member in ("m0", "m1"):
        state.add_member(Member(member, "learner", config.initial_hyperparams()))
    for bot in config.bots:
        state.add_member(Member(f"bot:{bot}", "bot"))
    for g in [game("static", True)] * 4:
        state.record(g)
    lineups = active_lineups(state, config)
    assert lineups["m0"] == {"bot:random": 1.0} and lineups["m1"] == {"bot:static": 1.0}
    graduated = LeagueConfig(population=2, curriculum=CurriculumConfig((), ()), snapshot_every=0)
    assert len(active_lineups(state, graduated)["m1"]) > 1  # PFSP over the league
