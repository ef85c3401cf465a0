"""Scripted Bomber agents, on hand-built Pommerman-style observations."""

import numpy as np
import pytest

from palaestra.agents.base import Agent
from palaestra.agents.scripted.bomber import (
    SCRIPTED_BOMBER_AGENTS,
    RandomBomberAgent,
    SimpleBomberAgent,
    StaticBomberAgent,
    make_scripted_bomber_agent,
)
from palaestra.envs.bomber.constants import (
    AGENT0,
    BOARD_SIZE,
    BOMB,
    DELTAS,
    DOWN,
    EXTRA_BOMB,
    LAY_BOMB,
    LEFT,
    PASSAGE,
    RIGHT,
    RIGID,
    STOP,
    UP,
    WOOD,
)
from palaestra.errors import UnknownNameError

ME = AGENT0  # we play agent 0 in FFA
ENEMIES = [AGENT0 + 1, AGENT0 + 2, AGENT0 + 3]


def make_obs(position=(5, 5), cells=None, bombs=None, ammo=1, blast_strength=2, board=None):
    """An FFA observation for agent 0; ``cells`` maps (row, col) -> code, ``bombs`` (row, col) ->
    (blast strength, life)."""
    if board is None:
        board = np.full((BOARD_SIZE, BOARD_SIZE), PASSAGE, dtype=np.uint8)
    board = board.copy()
    strength = np.zeros((BOARD_SIZE, BOARD_SIZE), dtype=np.float32)
    life = np.zeros_like(strength)
    for cell, code in (cells or {}).items():
        board[cell] = code
    for cell, (s, t) in (bombs or {}).items():
        board[cell] = BOMB
        strength[cell], life[cell] = s, t
    board[position] = ME
    return {
        "board": board,
        "bomb_blast_strength": strength,
        "bomb_life": life,
        "bomb_moving_direction": np.zeros_like(strength),
        "flame_life": np.zeros_like(strength),
        "position": tuple(position),
        "ammo": ammo,
        "blast_strength": blast_strength,
        "can_kick": False,
        "teammate": 9,
        "enemies": list(ENEMIES),
        "alive": [AGENT0, AGENT0 + 1, AGENT0 + 2, AGENT0 + 3],
        "step_count": 0,
        "game_type": 1,
        "message": (0, 0),
    }


def simple(seed=0):
    agent = SimpleBomberAgent()
    agent.reset(np.random.default_rng(seed))
    return agent


def actions_over_seeds(obs, seeds=range(40)):
    return {simple(seed).act(obs) for seed in seeds}


def test_registry_and_unknown_name():
    assert set(SCRIPTED_BOMBER_AGENTS) == {"random", "static", "simple", "filtered-random", "cautious-random",
                                           "cautious-simple"}
    for name in SCRIPTED_BOMBER_AGENTS:
        agent = make_scripted_bomber_agent(name)
        assert isinstance(agent, Agent) and agent.name == name
    with pytest.raises(UnknownNameError,
                       match="unknown Bomber agent .smart.*random, static, simple, filtered-random, cautious-random"):
        make_scripted_bomber_agent("smart")


def test_same_seed_gives_same_actions():
    obs = make_obs(cells={(3, 3): RIGID, (7, 6): RIGID})

    def run(agent, seed, steps=60):
        agent.reset(np.random.default_rng(seed))
        return [agent.act(obs) for _ in range(steps)]

    for cls in (SimpleBomberAgent, RandomBomberAgent):
        assert run(cls(), 7) == run(cls(), 7)
        assert run(cls(), 7) != run(cls(), 8)
    # reset clears the simple agent's memory: a reused agent replays the sequence
    agent = SimpleBomberAgent()
    assert run(agent, 3) == run(agent, 3)


def test_random_covers_all_actions_and_static_stops():
    agent = RandomBomberAgent()
    agent.reset(np.random.default_rng(0))
    seen = [agent.act(make_obs()) for _ in range(300)]
    assert set(seen) == set(range(6)) and all(type(a) is int for a in seen)
    assert StaticBomberAgent().act(make_obs()) == STOP


def test_flees_bomb_in_its_row():
    # Bomb two cells to the right about to explode; left is walled, so only up/down escape.
    obs = make_obs(bombs={(5, 7): (3, 1)}, cells={(5, 4): RIGID})
    assert actions_over_seeds(obs) == {UP, DOWN}
    # Without the wall the original also allows stepping away along the row.
    assert actions_over_seeds(make_obs(bombs={(5, 7): (3, 1)})) == {UP, DOWN, LEFT}


def test_leaves_own_bomb_by_a_non_dead_end():
    # Standing on our bomb: up and down are walled, right (tried first) is a dead end inside the
    # blast, so it goes left where it can turn a corner.
    cells = {(4, 5): RIGID, (6, 5): RIGID, (5, 8): RIGID}
    cells.update({(r, c): RIGID for r in (4, 6) for c in (6, 7)})
    obs = make_obs(cells=cells, bombs={(5, 5): (2, 8)})
    assert actions_over_seeds(obs) == {LEFT}
    # With the right side open too, the first direction in the original's order (right) wins.
    obs = make_obs(cells={(4, 5): RIGID, (6, 5): RIGID}, bombs={(5, 5): (2, 8)})
    assert actions_over_seeds(obs) == {RIGHT}


def test_lays_bomb_next_to_wood_only_with_ammo_and_escape():
    cells = {(5, 6): WOOD}
    assert actions_over_seeds(make_obs(cells=cells, ammo=1)) == {LAY_BOMB}
    assert actions_over_seeds(make_obs(cells=cells, ammo=0)) == {STOP}
    # Boxed in (rigid all round but the wood): no way out of the blast, so no bomb.
    boxed = {(5, 6): WOOD, (4, 5): RIGID, (6, 5): RIGID, (5, 4): RIGID}
    assert actions_over_seeds(make_obs(cells=boxed, ammo=3)) == {STOP}


def test_bombs_adjacent_enemy():
    obs = make_obs(cells={(6, 5): AGENT0 + 2})
    assert actions_over_seeds(obs) == {LAY_BOMB}


def test_moves_toward_power_up_in_reach():
    assert actions_over_seeds(make_obs(cells={(5, 7): EXTRA_BOMB})) == {RIGHT}
    # Diagonal item with the upper path walled: goes right first.
    assert actions_over_seeds(make_obs(cells={(4, 6): EXTRA_BOMB, (4, 5): RIGID})) == {RIGHT}
    # Out of reach (3 moves away): not chased, random walk instead.
    assert len(actions_over_seeds(make_obs(cells={(5, 8): EXTRA_BOMB}))) > 1


def test_never_walks_into_rigid_walls_or_off_board():
    rng = np.random.default_rng(123)
    for trial in range(150):
        board = rng.choice([PASSAGE, RIGID], size=(BOARD_SIZE, BOARD_SIZE), p=[0.6, 0.4])
        position = tuple(int(v) for v in rng.integers(0, BOARD_SIZE, 2))
        obs = make_obs(position=position, board=board.astype(np.uint8))
        action = simple(trial).act(obs)
        if action in (UP, DOWN, LEFT, RIGHT):
            row, col = position[0] + DELTAS[action][0], position[1] + DELTAS[action][1]
            assert 0 <= row < BOARD_SIZE and 0 <= col < BOARD_SIZE
            assert board[row, col] == PASSAGE
    # A corridor open only to the right: always goes right.
    walls = {(4, 5): RIGID, (6, 5): RIGID, (5, 4): RIGID}
    assert actions_over_seeds(make_obs(cells=walls)) == {RIGHT}
    # In the flee branch too: bomb on the left, walls above and below.
    obs = make_obs(bombs={(5, 3): (2, 3)}, cells={(4, 5): RIGID, (6, 5): RIGID})
    assert actions_over_seeds(obs) == {RIGHT}


def test_recent_positions_stop_it_turning_back_in_a_corridor():
    board = np.full((BOARD_SIZE, BOARD_SIZE), RIGID, dtype=np.uint8)
    board[5, 1:10] = PASSAGE
    for seed in range(10):
        agent, position, moves = simple(seed), (5, 5), []
        for _ in range(4):
            action = agent.act(make_obs(position=position, board=board))
            moves.append(action)
            position = (position[0], position[1] + DELTAS[action][1])
        assert moves[0] in (LEFT, RIGHT) and len(set(moves)) == 1


def test_accepts_numpy_representations():
    obs = make_obs(cells={(5, 7): EXTRA_BOMB, (2, 2): WOOD}, bombs={(1, 1): (2, 5)})
    numpy_obs = dict(
        obs,
        position=np.array(obs["position"]),
        ammo=np.array([1]),
        blast_strength=np.array(2),
        can_kick=np.array(False),
        enemies=np.array(ENEMIES),
        alive=np.array(obs["alive"]),
        board=obs["board"].astype(np.int64),
    )
    plain = [simple(s).act(obs) for s in range(10)]
    converted = [simple(s).act(numpy_obs) for s in range(10)]
    assert plain == converted and all(type(a) is int for a in converted)
