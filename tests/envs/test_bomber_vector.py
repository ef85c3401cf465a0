"""The batched Bomber API and compiled playouts agree with the single-board rules."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber.board import make_board, make_items
from palaestra.envs.bomber.config import BomberConfig
from palaestra.envs.bomber.core import BomberBatch
from palaestra.envs.bomber.observe import NUM_PLANES, outcome
from palaestra.envs.bomber.playout import random_playout
from palaestra.envs.bomber.pommerman_io import state_to_json
from palaestra.envs.bomber.vector import BomberVectorEnv, outcome_batch


@pytest.mark.parametrize("team", [False, True])
def test_vectorised_outcome_matches_the_single_board_rules(team: bool) -> None:
    masks = np.array(list(itertools.product([0, 1], repeat=4)))
    for steps in (5, C.MAX_STEPS):
        done, rewards = outcome_batch(masks, np.full(len(masks), steps), C.MAX_STEPS, team)
        for i, mask in enumerate(masks):
            d, r = outcome(mask.tolist(), steps, C.MAX_STEPS, team)
            assert (bool(done[i]), rewards[i].tolist()) == (d, r), (mask, steps)


def test_batched_step_equals_stepping_each_board_alone() -> None:
    rng = np.random.default_rng(0)
    n = 8
    batch = BomberBatch.empty(n)
    for i in range(n):
        board = make_board(rng)
        batch.set_start(i, board, make_items(rng, board))
    singles = []
    for i in range(n):
        one = BomberBatch.empty(1)
        one.set_start(0, batch.board[i], batch.items[i])
        singles.append(one)
    for _ in range(40):
        actions = rng.integers(0, C.NUM_ACTIONS, (n, 4))
        batch.step(actions)
        for i, one in enumerate(singles):
            one.step(actions[i : i + 1])
    for i, one in enumerate(singles):
        assert state_to_json(batch, i) == state_to_json(one, 0)


def test_bad_actions_change_no_board() -> None:
    batch = BomberBatch.empty(2)
    board = make_board(np.random.default_rng(1))
    for i in range(2):
        batch.set_start(i, board, np.zeros_like(board))
    before = batch.copy()
    with pytest.raises(ValueError, match="0..5"):
        batch.step(np.array([[0, 1, 2, 3], [4, 5, 6, 0]]))
    with pytest.raises(ValueError, match="shape"):
        batch.step(np.zeros((1, 4), np.int64))
    assert all(np.array_equal(a, b) for a, b in zip(batch.arrays(), before.arrays()))


def test_vector_env_auto_restarts_and_is_deterministic() -> None:
    def run(seed: int) -> list[bytes]:
        vec = BomberVectorEnv(16, seed=seed)
        obs = vec.reset()
        assert obs.shape == (16, 4, NUM_PLANES, 11, 11) and obs.dtype == np.float32
        rng = np.random.default_rng(seed)
        trace, finished = [], 0
        for _ in range(120):
            out = vec.step(rng.integers(0, C.NUM_ACTIONS, (16, 4)))
            finished += int(out.dones.sum())
            trace.append(out.observations.tobytes() + out.rewards.tobytes())
            # a finished game pays Pommerman's final rewards and restarts at step 0
            for i in np.flatnonzero(out.dones):
                assert vec.batch.meta[i, 0] == 0 and out.rewards[i].min() == -1
        assert finished > 0
        return trace

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_vector_env_radio_delivers_words_to_teammates() -> None:
    vec = BomberVectorEnv(2, BomberConfig(mode="team_radio", observation="planes"), seed=0)
    vec.reset()
    actions = np.zeros((2, 4, 3), np.int64)
    actions[:, 0, 1:] = (7, 0)  # player 0 talks to player 2
    out = vec.step(actions)
    assert np.all(out.observations[:, 2, 20] == 1.0) and np.all(out.observations[:, 0, 20] == 0.0)
    with pytest.raises(ValueError, match="radio words"):
        vec.step(np.full((2, 4, 3), 8))


def test_random_playout_is_reproducible_and_ends_the_game() -> None:
    board = make_board(np.random.default_rng(5))
    start = BomberBatch.empty(1)
    start.set_start(0, board, make_items(np.random.default_rng(5), board))
    a, b = start.copy(), start.copy()
    steps = random_playout(a, 0, seed=9)
    assert random_playout(b, 0, seed=9) == steps
    assert state_to_json(a) == state_to_json(b)
    done, _ = outcome(a.agents[0, :, 0].tolist(), int(a.meta[0, 0]), C.MAX_STEPS, False)
    assert done and steps == a.meta[0, 0]
