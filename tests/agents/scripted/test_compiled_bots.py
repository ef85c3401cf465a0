"""The compiled scripted Bomber bots against the Python port, state by state, in real games.

Games in every mode (fog too) are played by a mix of Python SimpleAgents and random agents. In
every state, every live seat is also decided by a Python ``SimpleBomberAgent`` that shadows the
seat and by the compiled ``simple`` bot for that seat, from the same state, the same memory and
the same uniforms: actions, the number of draws and the memory after the step must all agree.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pytest

from palaestra.agents.scripted.bomber import RandomBomberAgent, SimpleBomberAgent, StaticBomberAgent
from palaestra.agents.scripted.compiled import COMPILED_BOTS, CompiledBots, make_compiled_bots
from palaestra.agents.scripted.simple import UniformDraws
from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber.config import BomberConfig
from palaestra.envs.bomber.core import ALIVE, BomberBatch
from palaestra.envs.bomber.env import AGENT_NAMES, BomberParallelEnv
from palaestra.envs.bomber.vector import BomberVectorEnv
from palaestra.errors import ConfigError, UnknownNameError

CONFIGS = [
    BomberConfig(mode="ffa"),
    BomberConfig(mode="team"),
    BomberConfig(mode="team_radio"),
    BomberConfig(mode="ffa", partially_observable=True),
    BomberConfig(mode="team", partially_observable=True),
]


@dataclass
class Tally:
    states: int = 0
    mismatches: list[str] = field(default_factory=list)


def _stack(envs: list[BomberParallelEnv]) -> BomberBatch:
    """One batch holding the boards of ``envs`` (copies), in order."""
    return BomberBatch(*(np.concatenate(parts) for parts in zip(*(e.batch.arrays() for e in envs))))


class _Table:
    """``n_boards`` games of one config in lockstep; finished games restart on a new seed."""

    def __init__(self, config: BomberConfig, n_boards: int, rng: np.random.Generator) -> None:
        self.config, self.rng = config, rng
        self.envs = [BomberParallelEnv(**asdict(config)) for _ in range(n_boards)]
        self.bots = CompiledBots("simple", n_boards, config)
        self.obs: list[dict] = [{} for _ in range(n_boards)]
        self.shadows: list[list[SimpleBomberAgent]] = [[] for _ in range(n_boards)]
        self.players: list[list[RandomBomberAgent | None]] = [[] for _ in range(n_boards)]
        for i in range(n_boards):
            self._new_game(i)

    def _new_game(self, i: int) -> None:
        self.obs[i], _ = self.envs[i].reset(seed=int(self.rng.integers(2**31)))
        self.shadows[i] = [SimpleBomberAgent() for _ in range(C.NUM_AGENTS)]
        for agent in self.shadows[i]:
            agent.reset(np.random.default_rng(0))  # its draws are replaced at every step
        # each seat is played by its SimpleAgent (None) or, one time in four, by a random agent
        self.players[i] = []
        for _ in range(C.NUM_AGENTS):
            player = RandomBomberAgent() if self.rng.random() < 0.25 else None
            if player is not None:
                player.reset(np.random.default_rng(int(self.rng.integers(2**31))))
            self.players[i].append(player)
        self.bots.reset(i)

    def step(self, tally: Tally) -> None:
        batch = _stack(self.envs)
        mask = batch.agents[:, :, ALIVE] == 1
        seed = int(self.rng.integers(2**63))
        moves = self.bots.act(batch, mask, np.random.default_rng(seed))
        draws = UniformDraws(np.random.default_rng(seed))  # the same uniforms, in the same order
        for i, env in enumerate(self.envs):
            actions = {}
            for name in env.agents:
                k = AGENT_NAMES.index(name)
                if not env.alive(name):
                    actions[name] = env.idle_action()
                    continue
                shadow = self.shadows[i][k]
                shadow.draws = draws
                before = draws.used
                mine = shadow.act(self.obs[i][name])
                tally.states += 1
                memory = self.bots.memory(i, k)
                got = (int(moves[i, k]), int(self.bots.draws_used[i, k]), memory.recent, memory.prev_direction)
                want = (mine, draws.used - before, shadow._recent, shadow._prev_direction)
                if got != want and len(tally.mismatches) < 5:
                    tally.mismatches.append(f"{self.config} board state {env.get_state_json()} seat {k}: "
                                            f"compiled {got}, python {want}")
                elif got != want:
                    tally.mismatches.append("...")
                player = self.players[i][k]
                move = mine if player is None else player.act(self.obs[i][name])
                actions[name] = [move, 0, 0] if self.config.radio else move
            self.obs[i], *_ = env.step(actions)
            if not env.agents:
                self._new_game(i)


def _differential(n_states: int, seed: int, n_boards: int = 8) -> Tally:
    """Play every config until ``n_states`` seat-states in all were compared."""
    rng = np.random.default_rng(seed)
    tables = [_Table(config, n_boards, rng) for config in CONFIGS]
    tally = Tally()
    while tally.states < n_states:
        for table in tables:
            table.step(tally)
    return tally


def test_compiled_simple_matches_python_port_in_every_visited_state():
    tally = _differential(20_000, seed=0)
    print(f"compared {tally.states} states, {len(tally.mismatches)} mismatches")
    assert tally.states >= 20_000
    assert tally.mismatches == []


@pytest.mark.slow
def test_compiled_simple_matches_python_port_in_200k_states():
    tally = _differential(200_000, seed=1)
    print(f"compared {tally.states} states, {len(tally.mismatches)} mismatches")
    assert tally.states >= 200_000
    assert tally.mismatches == []


def _play_python(config: BomberConfig, seed: int, names: list[str], draw_seed: int) -> list[list[int]]:
    """A full game of Python agents drawing one uniform per draw from one shared generator."""
    env = BomberParallelEnv(**asdict(config))
    obs, _ = env.reset(seed=seed)
    classes = {"simple": SimpleBomberAgent, "random": RandomBomberAgent, "static": StaticBomberAgent}
    agents = [classes[name]() for name in names]
    draws = UniformDraws(np.random.default_rng(draw_seed))
    for agent in agents:
        agent.draws = draws
    history = []
    while env.agents:
        moves = [C.STOP] * C.NUM_AGENTS
        for k, name in enumerate(AGENT_NAMES):
            if name in env.agents and env.alive(name):
                moves[k] = agents[k].act(obs[name])
        history.append(moves)
        actions = {name: ([moves[k], 0, 0] if config.radio else moves[k])
                   for k, name in enumerate(AGENT_NAMES) if name in env.agents}
        obs, *_ = env.step(actions)
    return history


def _play_compiled(config: BomberConfig, seed: int, names: list[str], draw_seed: int) -> list[list[int]]:
    """The same game with the compiled bots, one instance per kind, seats asked in order."""
    env = BomberParallelEnv(**asdict(config))
    env.reset(seed=seed)
    rng = np.random.default_rng(draw_seed)
    bots = {name: make_compiled_bots(name, 1, config) for name in set(names)}
    history = []
    while env.agents:
        moves = np.zeros((1, C.NUM_AGENTS), np.int64)
        for k, name in enumerate(names):  # one seat per call keeps the draws in seat order
            mask = np.zeros((1, C.NUM_AGENTS), bool)
            mask[0, k] = True
            moves[0, k] = bots[name].act(env.batch, mask, rng)[0, k]
        history.append(moves[0].tolist())
        actions = {name: ([int(moves[0, k]), 0, 0] if config.radio else int(moves[0, k]))
                   for k, name in enumerate(AGENT_NAMES) if name in env.agents}
        env.step(actions)
    return history


@pytest.mark.parametrize("mode", C.MODES)
def test_four_simple_agents_play_whole_games_the_same_compiled_and_in_python(mode):
    config = BomberConfig(mode=mode)
    for seed in range(2):
        names = ["simple"] * 4
        python = _play_python(config, seed, names, draw_seed=seed + 10)
        compiled = _play_compiled(config, seed, names, draw_seed=seed + 10)
        assert len(python) >= 10 and python == compiled
    mixed = ["simple", "random", "static", "simple"]
    assert _play_python(config, 5, mixed, 3) == _play_compiled(config, 5, mixed, 3)


def test_simple_bots_beat_static_and_random_ones_in_a_vector_env():
    n = 32
    env = BomberVectorEnv(n, BomberConfig(mode="ffa", observation="planes"), seed=0)
    env.reset()
    simple, weak = make_compiled_bots("simple", n), make_compiled_bots("random", n)
    rng = np.random.default_rng(0)
    seats = np.zeros((n, C.NUM_AGENTS), bool)
    seats[:, 0] = True  # seat 0 is the simple bot, the others random
    wins = np.zeros(C.NUM_AGENTS)
    games = 0
    while games < 60:
        moves = simple.act(env.batch, seats, rng).copy()
        moves[~seats] = weak.act(env.batch, ~seats, rng)[~seats]
        step = env.step(moves, observe=False)
        wins += (step.rewards > 0)[step.dones].sum(axis=0)
        for i in np.flatnonzero(step.dones):
            simple.reset(int(i))
            games += 1
    assert wins[0] > 2 * wins[1:].max()


def test_memory_reset_and_masks():
    env = BomberParallelEnv()
    env.reset(seed=3)
    bots = make_compiled_bots("simple", 1)
    everyone = np.ones((1, 4), bool)
    for _ in range(40):
        moves = bots.act(env.batch, everyone, np.random.default_rng(1)).copy()
        env.step({name: int(moves[0, k]) for k, name in enumerate(AGENT_NAMES) if name in env.agents})
    assert any(bots.memory(0, k).recent for k in range(4))
    bots.reset(0, seat=1)
    assert bots.memory(0, 1).recent == [] and bots.memory(0, 1).prev_direction is None
    bots.reset(0)
    assert all(bots.memory(0, k).recent == [] for k in range(4))
    # seats outside the mask stop, use no draws and keep their memory
    only_two = np.zeros((1, 4), bool)
    only_two[0, 2] = True
    moves = bots.act(env.batch, only_two, np.random.default_rng(0))
    assert moves[0, [0, 1, 3]].tolist() == [C.STOP] * 3 and bots.draws_used[0, [0, 1, 3]].tolist() == [0] * 3
    assert bots.draws_used[0, 2] >= 1
    randoms = make_compiled_bots("random", 1)
    seen = {int(randoms.act(env.batch, everyone, np.random.default_rng(s))[0, 0]) for s in range(200)}
    assert seen == set(range(C.NUM_ACTIONS))
    assert make_compiled_bots("static", 1).act(env.batch, everyone, np.random.default_rng(0)).tolist() == [[0] * 4]


def test_errors():
    assert set(COMPILED_BOTS) == {"simple", "random", "static"}
    with pytest.raises(UnknownNameError, match="unknown compiled Bomber bot 'smart'"):
        make_compiled_bots("smart", 1)
    with pytest.raises(ConfigError, match="num_boards"):
        make_compiled_bots("simple", 0)
    bots = make_compiled_bots("simple", 2)
    with pytest.raises(ConfigError, match="batch of 2 boards"):
        bots.act(BomberBatch.empty(3), np.ones((3, 4), bool), np.random.default_rng(0))
    with pytest.raises(ConfigError, match="mask must have shape"):
        bots.act(BomberBatch.empty(2), np.ones((2, 3), bool), np.random.default_rng(0))
    with pytest.raises(ConfigError, match="board_index"):
        bots.reset(2)
    with pytest.raises(ConfigError, match="seat"):
        bots.reset(0, seat=4)
