"""One agent against three: seats rotated, ties apart from losses, the same for any worker count."""

from __future__ import annotations

import pytest

from palaestra.errors import ConfigError, UnknownNameError
from palaestra.evaluation.versus import play_seat, play_versus


def test_standing_to_the_time_out_is_a_tie_and_dying_is_a_loss_even_when_the_game_is_a_tie() -> None:
    # static agents never bomb, so every game runs to the time-out without a winner
    statics = play_versus("static", "static", games=4, seed=3)
    assert (statics.wins, statics.ties, statics.losses) == (0, 4, 0)
    # a random agent among statics mostly blows itself up: the game still ends without a winner,
    # but the seat lost it; only a random agent that survived to the end ties
    randoms = play_versus("random", "static", games=8, seed=3)
    assert randoms.wins == 0 and randoms.losses >= 1
    assert randoms.ties + randoms.losses == 8


def test_the_seat_rotates_with_the_game_index(monkeypatch: pytest.MonkeyPatch) -> None:
    from palaestra.evaluation import bomber

    seats = []
    real = bomber.play_bomber_game

    def spy(agents, config, seed, env=None, on_step=None, on_actions=None):  # type: ignore[no-untyped-def]
        seats.append([a.name for a in agents].index("random"))
        return real(agents, config, seed, env, on_step, on_actions)

    monkeypatch.setattr(bomber, "play_bomber_game", spy)
    play_versus("random", "static", games=6, seed=0)
    assert seats == [0, 1, 2, 3, 0, 1]


def test_the_tally_does_not_depend_on_the_number_of_workers() -> None:
    one = play_versus("random", "simple", games=12, seed=5, workers=1)
    two = play_versus("random", "simple", games=12, seed=5, workers=2)
    assert one == two
    assert [play_seat("random", "simple", g, 5) for g in range(12)].count("loss") == one.losses


def test_bad_input_is_refused_before_any_game() -> None:
    with pytest.raises(UnknownNameError, match="nobody"):
        play_versus("nobody", "simple", games=2, workers=2)
    with pytest.raises(ConfigError, match="positive"):
        play_versus("random", "simple", games=0)


def test_the_command_refuses_zero_workers_rather_than_taking_the_default() -> None:
    from palaestra.cli.main import main

    assert main(["bomber", "versus", "--agent", "random", "--games", "2", "--workers", "0"]) == 2
    assert main(["bomber", "versus", "--agent", "random", "--opponent", "static", "--games", "2",
                 "--workers", "1"]) == 0


def test_team_mode_seats_the_agent_on_one_side_and_scores_the_side(monkeypatch: pytest.MonkeyPatch) -> None:
    from palaestra.evaluation import bomber

    sides, modes = [], []
    real = bomber.play_bomber_game

    def spy(agents, config, seed, env=None, on_step=None, on_actions=None):  # type: ignore[no-untyped-def]
        sides.append([k for k, a in enumerate(agents) if a.name == "random"])
        modes.append(config.mode)
        return real(agents, config, seed, env, on_step, on_actions)

    monkeypatch.setattr(bomber, "play_bomber_game", spy)
    tally = play_versus("random", "static", games=4, seed=0, mode="team")
    assert sides == [[0, 2], [1, 3], [0, 2], [1, 3]] and set(modes) == {"team"}
    assert tally.mode == "team" and tally.to_dict()["mode"] == "team"
    # two static bots never bomb: a random team that blows itself up loses, one that lives ties
    assert tally.wins == 0 and tally.ties + tally.losses == 4
    statics = play_versus("static", "static", games=2, seed=0, mode="team")
    assert (statics.wins, statics.ties, statics.losses) == (0, 2, 0)
    with pytest.raises(ConfigError, match="mode must be one of ffa, team, team_radio, got 'radio'"):
        play_versus("random", "static", games=2, mode="radio")
    # team_radio seats a side the same way; bare moves of built-ins are silent radio actions
    sides.clear()
    radio = play_versus("random", "static", games=2, seed=0, mode="team_radio")
    assert sides == [[0, 2], [1, 3]] and radio.mode == "team_radio"
