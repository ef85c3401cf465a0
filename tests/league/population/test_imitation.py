"""The imitation warm start: the cautious-simple teacher, its demonstrations, the fit, the config."""

import json

import numpy as np
import pytest

from palaestra.agents.scripted.compiled import COMPILED_BOTS, CompiledBots
from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber.config import BomberConfig
from palaestra.envs.bomber.core import ALIVE
from palaestra.envs.bomber.filters import filter_mask
from palaestra.envs.bomber.vector import BomberVectorEnv
from palaestra.errors import ConfigError
from palaestra.league.population.config import LeagueConfig
from palaestra.league.population.imitation import collect_demonstrations
from palaestra.league.population.imitation_config import ImitationConfig
from palaestra.league.population.vector_playout import bot_moves

FFA = BomberConfig(observation="planes")


def _played_boards(n: int, steps: int, seed: int) -> BomberVectorEnv:
    env = BomberVectorEnv(n, FFA, seed=seed)
    env.reset(seed=seed)
    bots = CompiledBots("simple", n, FFA)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        alive = env.batch.agents[:, :, ALIVE].astype(bool)
        env.batch.step(bots.act(env.batch, alive, rng).copy(), FFA.blast_cap)
    return env


def test_the_guarded_bot_plays_simples_move_unless_the_filter_forbids_it():
    env = _played_boards(24, 25, seed=3)
    seats = env.batch.agents[:, :, ALIVE].astype(bool)
    seats[:, 1:] = False  # seat 0 is the guarded bot, the others stand still
    bots = {k: CompiledBots(k, 24, FFA) for k in COMPILED_BOTS}
    simple = {k: CompiledBots(k, 24, FFA) for k in COMPILED_BOTS}
    guarded, plain = np.zeros((24, 4), np.int64), np.zeros((24, 4), np.int64)
    bot_moves(env.batch, {"cautious-simple": seats}, bots, np.random.default_rng(0), guarded)
    bot_moves(env.batch, {"simple": seats}, simple, np.random.default_rng(0), plain)
    allowed = filter_mask(env.batch, "cautious", seats)
    rows = np.flatnonzero(seats[:, 0])
    assert len(rows) > 10
    for i in rows:
        assert allowed[i, 0, guarded[i, 0]]
        if allowed[i, 0, plain[i, 0]]:
            assert guarded[i, 0] == plain[i, 0]


def test_the_python_cautious_simple_is_a_builtin_that_respects_its_filter():
    from palaestra.agents.scripted.bomber import make_scripted_bomber_agent
    from palaestra.agents.scripted.filtered import observation_mask
    from palaestra.envs.bomber.env import BomberParallelEnv

    env = BomberParallelEnv()
    obs, _ = env.reset(seed=4)
    agent = make_scripted_bomber_agent("cautious-simple")
    agent.reset(np.random.default_rng(4))
    others = [make_scripted_bomber_agent("simple") for _ in range(3)]
    for k, other in enumerate(others):
        other.reset(np.random.default_rng(10 + k))
    for _ in range(60):
        if "player_0" not in obs:
            break
        move = agent.act(obs["player_0"])
        assert observation_mask(obs["player_0"], "cautious")[move]
        actions = {"player_0": move}
        for k, other in enumerate(others, start=1):
            if f"player_{k}" in obs:
                actions[f"player_{k}"] = other.act(obs[f"player_{k}"])
        obs, *_ = env.step(actions)


def test_demonstrations_are_seeded_rotate_the_seat_and_carry_the_discounted_result():
    config = ImitationConfig(teacher="cautious-simple", samples=600, num_boards=4)
    a = collect_demonstrations(config, FFA, "cautious", 0.9, np.random.default_rng(1))
    b = collect_demonstrations(config, FFA, "cautious", 0.9, np.random.default_rng(1))
    assert len(a) >= 600 and a.games >= 2
    for x, y in ((a.planes, b.planes), (a.mask, b.mask), (a.action, b.action), (a.value, b.value)):
        assert np.array_equal(x, y)
    # one board: each game's steps lie in order, one game after the other
    a = collect_demonstrations(ImitationConfig(teacher="cautious-simple", samples=600, num_boards=1),
                               FFA, "cautious", 0.9, np.random.default_rng(1))
    assert a.mask[np.arange(len(a)), a.action].all()  # the teacher stays behind the league's mask
    results = np.abs(a.value)
    assert np.all((results > 0) & (results <= 1))
    ends = np.flatnonzero(np.isclose(results, 1.0))  # each game's last step carries the result
    assert len(ends) == a.games
    # between two ends the value grows by 1/gamma a step toward the end
    first = a.value[:ends[0] + 1]
    assert np.allclose(first[:-1], first[1:] * 0.9, atol=1e-6)
    self_plane = 9 * C.BOARD_SIZE ** 2  # "self" is plane 9: the teacher's seat moves game by game
    starts = [0, *(ends[:-1] + 1)][:4]
    corners = [tuple(np.argwhere(a.planes[s, self_plane:self_plane + 121].reshape(11, 11) > 0)[0]) for s in starts]
    assert corners == [C.START_POSITIONS[k] for k in range(len(starts))]


def test_team_demonstrations_hold_both_seats_of_a_side_and_rotate_the_sides():
    team = BomberConfig(observation="planes", mode="team")
    config = ImitationConfig(teacher="cautious-simple", samples=800, num_boards=1)
    a = collect_demonstrations(config, team, "cautious", 0.9, np.random.default_rng(3))
    b = collect_demonstrations(config, team, "cautious", 0.9, np.random.default_rng(3))
    assert np.array_equal(a.planes, b.planes) and np.array_equal(a.value, b.value)
    assert a.mask[np.arange(len(a)), a.action].all()
    results = np.abs(a.value)
    assert np.all((results > 0) & (results <= 1))
    ends = np.flatnonzero(np.isclose(results, 1.0))
    assert len(ends) == 2 * a.games  # each seat of the side has a last step carrying the result
    self_plane = 9 * C.BOARD_SIZE ** 2

    def corner(index: int) -> tuple[int, int]:
        return tuple(np.argwhere(a.planes[index, self_plane:self_plane + 121].reshape(11, 11) > 0)[0])

    # game 1: seats 0 and 2 act in turn from the first step; game 2 (after both of game 1's
    # seats have ended): seats 1 and 3
    assert [corner(0), corner(1)] == [C.START_POSITIONS[0], C.START_POSITIONS[2]]
    start = ends[1] + 1
    assert [corner(start), corner(start + 1)] == [C.START_POSITIONS[1], C.START_POSITIONS[3]]
    assert np.sign(a.value[ends[0]]) == np.sign(a.value[ends[1]])  # one result for the side


def test_fitting_makes_the_module_pick_the_teachers_moves():
    pytest.importorskip("ray")
    from palaestra.league.population.algorithm import module_spec
    from palaestra.league.population.imitation import fit_module

    config = ImitationConfig(teacher="cautious-simple", samples=1500, num_boards=8, epochs=10, lr=3e-3,
                             minibatch_size=256)
    demos = collect_demonstrations(config, FFA, "cautious", 0.99, np.random.default_rng(2))
    module = module_spec(LeagueConfig(population=1)).build()
    before = fit_module(module, demos, ImitationConfig(teacher="cautious-simple", epochs=1, lr=1e-9),
                        np.random.default_rng(0))
    after = fit_module(module, demos, config, np.random.default_rng(0))
    assert after["samples"] == len(demos) and after["dropped"] == 0
    assert after["cross_entropy"] < before["cross_entropy"] - 0.1
    assert after["accuracy"] > before["accuracy"]
    assert after["value_mse"] < before["value_mse"]


def test_the_imitation_settings_are_checked_and_saved_with_the_league(tmp_path):
    config = LeagueConfig(imitation=ImitationConfig(teacher="cautious-simple", samples=5000))
    path = tmp_path / "league_config.json"
    config.save(path)
    assert LeagueConfig.load(path) == config
    old = json.loads(path.read_text())
    del old["imitation"]  # a league saved before the warm start resumes without one
    assert LeagueConfig.from_json(old).imitation.teacher is None
    with pytest.raises(ConfigError, match="unknown imitation teacher 'smart'"):
        ImitationConfig(teacher="smart")
    with pytest.raises(ConfigError, match="samples must be a positive integer"):
        ImitationConfig(teacher="simple", samples=0)
    with pytest.raises(ConfigError, match="for Bomber leagues"):
        LeagueConfig(env="kelly", imitation=ImitationConfig(teacher="simple"))
    team = LeagueConfig(mode="team", eval_every=0, imitation=ImitationConfig(teacher="simple"))
    assert team.imitation.teacher == "simple"  # a team league may warm start too
    with pytest.raises(ConfigError, match="no imitation teacher"):
        collect_demonstrations(ImitationConfig(), FFA, "cautious", 0.99, np.random.default_rng(0))
