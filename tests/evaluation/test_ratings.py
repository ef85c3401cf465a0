"""Elo, OpenSkill, the replay of tournament results, the leaderboard and the rating plots."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from rich.console import Console

from palaestra.errors import ConfigError, RunStateError
from palaestra.evaluation.plots import plot_rating_history, plot_win_matrix
from palaestra.evaluation.ratings import (
    Elo,
    EloConfig,
    OpenSkillRater,
    RatedGame,
    RatingTable,
    leaderboard_rows,
    print_leaderboard,
    rate_games,
)

# ------------------------------------------------------------------------------------------- Elo


def test_elo_config_is_validated() -> None:
    assert EloConfig() == EloConfig(initial=1500.0, k=32.0, scale=400.0)
    for bad in ({"k": 0.0}, {"k": -1.0}, {"scale": 0.0}, {"initial": math.nan},
                {"k": math.inf}):
        with pytest.raises(ConfigError):
            EloConfig(**bad)


def test_two_equal_players_winner_gets_half_of_k() -> None:
    elo = Elo()
    assert elo.rating("new") == 1500.0
    deltas = elo.update({"a": 0, "b": 1})
    assert deltas == pytest.approx({"a": 16.0, "b": -16.0}, abs=1e-12)
    assert elo.ratings == pytest.approx({"a": 1516.0, "b": 1484.0}, abs=1e-12)


def test_elo_known_answer_1600_vs_1400() -> None:
    elo = Elo(ratings={"strong": 1600.0, "weak": 1400.0})
    assert round(elo.expected(1600.0, 1400.0), 4) == 0.7597
    assert elo.expected(1600.0, 1400.0) + elo.expected(1400.0, 1600.0) == pytest.approx(1.0)
    deltas = elo.update({"strong": 0, "weak": 1})
    # 32 * (1 - 1 / (1 + 10 ** (-200 / 400))) = 7.6880...
    assert round(deltas["strong"], 2) == 7.69
    assert deltas["weak"] == pytest.approx(-deltas["strong"])
    # the upset moves the ratings much more: 32 * 0.7597...
    upset = Elo(ratings={"strong": 1600.0, "weak": 1400.0}).update({"strong": 1, "weak": 0})
    assert round(upset["weak"], 2) == 24.31


def test_draw_between_equals_changes_nothing_and_draw_pulls_ratings_together() -> None:
    elo = Elo()
    assert elo.update({"a": 0, "b": 0}) == {"a": 0.0, "b": 0.0}
    assert elo.ratings == {"a": 1500.0, "b": 1500.0}
    uneven = Elo(ratings={"hi": 1600.0, "lo": 1400.0}).update({"hi": 3, "lo": 3})
    assert uneven["lo"] == pytest.approx(32 * (0.5 - 1 / (1 + 10 ** 0.5)))
    assert uneven["hi"] == pytest.approx(-uneven["lo"])


def test_free_for_all_of_three_uses_k_over_n_minus_1() -> None:
    # each of the 3 pairs is a game; a change is k/(n-1) = 16 times the summed (score - expected)
    # first: (1 - .5) + (1 - .5) = 1 -> +16; second: (0 - .5) + (1 - .5) = 0; last: -16
    elo = Elo()
    deltas = elo.update({"first": 0, "second": 1, "last": 2})
    assert deltas == pytest.approx({"first": 16.0, "second": 0.0, "last": -16.0}, abs=1e-12)
    # a shared first place: each winner scores (0.5 - .5) + (1 - .5) = 0.5 -> +8
    shared = Elo().update({"x": 0, "y": 0, "z": 2})
    assert shared == pytest.approx({"x": 8.0, "y": 8.0, "z": -16.0}, abs=1e-12)


def test_elo_uses_pre_game_ratings_so_order_does_not_matter() -> None:
    start = {"a": 1620.0, "b": 1480.0, "c": 1390.0, "d": 1555.0}
    ranks = {"c": 0, "a": 1, "d": 1, "b": 3}
    forward = Elo(ratings=start).update(ranks)
    backward = Elo(ratings=start).update(dict(reversed(list(ranks.items()))))
    assert forward == pytest.approx(backward, rel=1e-12, abs=1e-12)

    def expected(x: float, y: float) -> float:
        return 1 / (1 + 10 ** ((y - x) / 400))

    def score(x: int, y: int) -> float:
        return 1.0 if x < y else 0.5 if x == y else 0.0

    # the same formula by hand, every pair from the ratings before the game
    for p in start:
        want = 32 / 3 * sum(score(ranks[p], ranks[q]) - expected(start[p], start[q])
                            for q in start if q != p)
        assert forward[p] == pytest.approx(want, abs=1e-9)
    assert sum(forward.values()) == pytest.approx(0.0, abs=1e-9)


def test_elo_team_update_uses_team_means_and_every_member_gets_the_team_delta() -> None:
    elo = Elo(ratings={"a": 1600.0, "b": 1500.0, "c": 1450.0, "d": 1450.0})
    deltas = elo.update_teams([["a", "b"], ["c", "d"]], [0, 1])
    # means 1550 vs 1450: 32 * (1 - 1 / (1 + 10 ** (-100 / 400))) = 11.5179...
    assert deltas == pytest.approx({"a": 11.5179, "b": 11.5179, "c": -11.5179, "d": -11.5179},
                                   abs=1e-4)
    assert elo.ratings == pytest.approx({"a": 1611.5179, "b": 1511.5179, "c": 1438.4821,
                                         "d": 1438.4821}, abs=1e-4)
    # equal means: a plain +-16, however the ratings are spread inside the teams
    spread = Elo(ratings={"a": 1700.0, "b": 1300.0}).update_teams([["a", "b"], ["c", "d"]], [1, 0])
    assert spread == pytest.approx({"a": -16.0, "b": -16.0, "c": 16.0, "d": 16.0}, abs=1e-12)


def test_elo_rejects_malformed_games() -> None:
    elo = Elo()
    with pytest.raises(ConfigError, match="at least 2"):
        elo.update({"alone": 0})
    with pytest.raises(ConfigError, match="more than once"):
        elo.update_teams([["a", "b"], ["b"]], [0, 1])
    with pytest.raises(ConfigError, match="ranks"):
        elo.update_teams([["a"], ["b"]], [0])
    with pytest.raises(ConfigError, match="integers"):
        elo.update_teams([["a"], ["b"]], [0, 0.5])  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="at least one player"):
        elo.update_teams([["a"], []], [0, 1])
    assert elo.ratings == {}


# ------------------------------------------------------------------------------------- OpenSkill

# Reference numbers from the openskill package itself (6.2.0), PlackettLuce() with its defaults
# (mu=25, sigma=25/3, beta=25/6, tau=25/300), computed once with
#   model.rate([[model.rating()], [model.rating()]], ranks=[0, 1])
#   model.rate([[model.rating()] * 2, [model.rating()] * 2], ranks=[0, 1])
PL_1V1_WINNER = (27.635389493140497, 8.06590141354368)
PL_1V1_LOSER = (22.364610506859503, 8.06590141354368)
PL_2V2_WINNER = (26.964294621803063, 8.177962604389991)
PL_2V2_LOSER = (23.035705378196937, 8.177962604389991)


def test_openskill_one_game_between_fresh_players() -> None:
    rater = OpenSkillRater()
    assert (rater.mu("x"), rater.sigma("x"), rater.ordinal("x")) == pytest.approx((25.0, 25 / 3, 0.0))
    new = rater.update([["w"], ["l"]], [0, 1])
    assert rater.mu("w") > 25.0 > rater.mu("l")
    assert rater.sigma("w") < 25 / 3 and rater.sigma("l") < 25 / 3
    assert new["w"] == pytest.approx(PL_1V1_WINNER, abs=1e-9)
    assert new["l"] == pytest.approx(PL_1V1_LOSER, abs=1e-9)
    assert rater.ordinal("w") == pytest.approx(PL_1V1_WINNER[0] - 3 * PL_1V1_WINNER[1])


def test_openskill_teams_and_ties() -> None:
    rater = OpenSkillRater()
    rater.update([["a", "b"], ["c", "d"]], [0, 1])
    for p, want in (("a", PL_2V2_WINNER), ("b", PL_2V2_WINNER), ("c", PL_2V2_LOSER),
                    ("d", PL_2V2_LOSER)):
        assert (rater.mu(p), rater.sigma(p)) == pytest.approx(want, abs=1e-9)

    tie = OpenSkillRater()
    tie.update([["p"], ["q"]], [0, 0])
    assert tie.mu("p") == tie.mu("q") == pytest.approx(25.0)
    assert tie.sigma("p") < 25 / 3
    ffa = OpenSkillRater()
    ffa.update([["x"], ["y"], ["z"]], [0, 0, 2])
    assert ffa.mu("x") == pytest.approx(ffa.mu("y")) and ffa.mu("y") > 25.0 > ffa.mu("z")


def test_openskill_predict_win_and_determinism() -> None:
    rater = OpenSkillRater()
    assert rater.predict_win([["a"], ["b"]]) == pytest.approx([0.5, 0.5])
    for _ in range(3):
        rater.update([["a"], ["b"]], [0, 1])
    p = rater.predict_win([["a"], ["b"]])
    assert sum(p) == pytest.approx(1.0) and p[0] > 0.5
    again = OpenSkillRater()
    for _ in range(3):
        again.update([["a"], ["b"]], [0, 1])
    assert again.ratings == rater.ratings  # bit for bit


# ------------------------------------------------------------------------------------ rate_games


def _games() -> list[RatedGame]:
    return [
        RatedGame("g0", [["A"], ["B"]], [0, 1]),
        RatedGame("g1", [["A"], ["B"]], [0, 1]),
        RatedGame("g2", [["B"], ["A"]], [0, 1]),
        RatedGame("g3", [["A"], ["B"]], [0, 0]),
        RatedGame("g4", [["A"], ["B"], ["C"]], [0, 1, 2]),
        RatedGame("g5", [["A", "C"], ["B", "D"]], [1, 0]),
    ]


def test_rated_game_is_validated_and_copies_its_lists() -> None:
    teams, ranks = [["a"], ["b"]], [0, 1]
    game = RatedGame("g", teams, ranks)
    teams[0].append("c")
    ranks[0] = 5
    assert game.teams == [["a"], ["b"]] and game.ranks == [0, 1]
    with pytest.raises(ConfigError):
        RatedGame("bad", [["a"]], [0])
    with pytest.raises(ConfigError):
        RatedGame("bad", [["a"], ["a"]], [0, 1])


def test_rate_games_replays_through_both_systems() -> None:
    games = _games()
    table = rate_games(games)
    elo, skill = Elo(), OpenSkillRater()
    for g in games:
        elo.update_teams(g.teams, g.ranks)
        skill.update(g.teams, g.ranks)
    assert list(table.players) == ["A", "B", "C", "D"]
    for name, s in table.players.items():
        assert s.elo == elo.rating(name)
        assert (s.mu, s.sigma, s.ordinal) == (skill.mu(name), skill.sigma(name), skill.ordinal(name))
    assert table.n_games == 6
    assert rate_games(games) == table  # deterministic replay
    assert rate_games(reversed(games)) != table  # ...that depends on the order
    # another Elo configuration changes Elo only
    other = rate_games(games, EloConfig(initial=1000.0, k=10.0))
    assert other.players["A"].elo != table.players["A"].elo
    assert other.players["A"].mu == table.players["A"].mu


def test_rate_games_records_and_history() -> None:
    table = rate_games(_games())
    a, b, c, d = (table.players[p] for p in "ABCD")
    # A: won g0 g1 g4, lost g2 g5, drew g3; B: won g2 g5, lost g0 g1 g4, drew g3
    assert (a.games, a.wins, a.draws, a.losses) == (6, 3, 1, 2)
    assert (b.games, b.wins, b.draws, b.losses) == (6, 2, 1, 3)
    assert (c.games, c.wins, c.draws, c.losses) == (2, 0, 0, 2)
    assert (d.games, d.wins, d.draws, d.losses) == (1, 1, 0, 0)
    assert a.win_rate == pytest.approx(0.5)
    assert len(table.history) == 2 + 2 + 2 + 2 + 3 + 4
    assert table.history[0] == (0, "A", pytest.approx(1516.0), pytest.approx(
        PL_1V1_WINNER[0] - 3 * PL_1V1_WINNER[1]))
    assert [h[:2] for h in table.history[-4:]] == [(5, "A"), (5, "C"), (5, "B"), (5, "D")]
    assert table.history[-1][2:] == (d.elo, d.ordinal)


def test_win_matrix_counts_pairwise_results() -> None:
    table = rate_games(_games())
    wins = table.win_matrix(["A", "B", "C", "D"])
    # A beat B in g0, g1, g4; B beat A in g2 and (on the other team) g5; g3 was a draw
    assert wins == [
        [0, 3, 1, 0],   # A beat C in g4; A and C were teammates in g5
        [2, 0, 2, 0],   # B beat C in g4 and g5
        [0, 0, 0, 0],
        [1, 0, 1, 0],   # D (B's teammate) beat A and C in g5
    ]
    met = table.meeting_matrix(["A", "B", "C", "D"])
    assert met[0][1] == met[1][0] == 6 and met[0][2] == 1 and met[1][3] == 0 and met[0][0] == 0
    assert table.win_matrix(["B", "zed"]) == [[0, 0], [0, 0]]


# ----------------------------------------------------------------------------------- leaderboard


def test_leaderboard_rows_sort_and_serialize() -> None:
    table = rate_games(_games())
    rows = leaderboard_rows(table)
    assert [r["rank"] for r in rows] == [1, 2, 3, 4]
    ordinals = [r["ordinal"] for r in rows]
    assert ordinals == sorted(ordinals, reverse=True)
    by_elo = leaderboard_rows(table, sort="elo")
    assert [r["elo"] for r in by_elo] == sorted((s.elo for s in table.players.values()), reverse=True)
    assert json.loads(json.dumps(rows)) == rows
    assert set(rows[0]) >= {"player", "ordinal", "mu", "sigma", "elo", "games", "wins", "draws",
                            "losses", "win_rate"}
    with pytest.raises(ConfigError):
        leaderboard_rows(table, sort="name")


def test_print_leaderboard() -> None:
    console = Console(record=True, width=140)
    print_leaderboard(rate_games(_games()), console)
    text = console.export_text()
    for word in ("player", "ordinal", "Elo", "W/D/L", "A", "3/1/2", "50.0%"):
        assert word in text
    empty = Console(record=True, width=80)
    print_leaderboard(RatingTable(), empty)
    assert "no rated games" in empty.export_text()


# ----------------------------------------------------------------------------------------- plots


def _png(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_plots_write_pngs(tmp_path: Path) -> None:
    table = rate_games(_games())
    for system in ("elo", "ordinal"):
        out = plot_rating_history(table, tmp_path / f"h_{system}.png", system=system)
        assert out == tmp_path / f"h_{system}.png"
        width, height = _png(out)
        assert width > 600 and height > 300
    out = plot_win_matrix(table, str(tmp_path / "w.png"))
    assert isinstance(out, Path) and _png(out)[0] > 400


def test_plots_reject_empty_tables_and_unknown_systems(tmp_path: Path) -> None:
    with pytest.raises(RunStateError, match="empty"):
        plot_rating_history(RatingTable(), tmp_path / "h.png")
    with pytest.raises(RunStateError, match="empty"):
        plot_win_matrix(rate_games([]), tmp_path / "w.png")
    with pytest.raises(ConfigError, match="system"):
        plot_rating_history(rate_games(_games()), tmp_path / "h.png", system="glicko")
    assert not any(tmp_path.iterdir())
