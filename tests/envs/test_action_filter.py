"""The Bomber action filter on hand-built boards, checked against the rules kernel itself."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from bomber_scenarios import scenario as state_of

from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber import parallel_env
from palaestra.envs.bomber.action_filter import (
    DEADLY,
    ILLEGAL,
    SAFE,
    action_mask,
    action_status,
    env_action_mask,
)
from palaestra.envs.bomber.board import make_board, make_items
from palaestra.envs.bomber.core import ALIVE, KICK, N_BOMBS, N_FLAMES, BomberBatch
from palaestra.envs.bomber.pommerman_io import load_state

S, U, D, L, R, B = C.STOP, C.UP, C.DOWN, C.LEFT, C.RIGHT, C.LAY_BOMB
MOVES = (S, U, D, L, R)
OPEN = ["." * 11] * 11
WALLED = ["#" * 11] * 11


def carve(rows: list[str], *cells: tuple[int, int], code: str = ".") -> list[str]:
    """``rows`` with ``cells`` set to ``code``."""
    out = [list(r) for r in rows]
    for r, c in cells:
        out[r][c] = code
    return ["".join(r) for r in out]


def bomb(r: int, c: int, life: int, strength: int, direction: int | None = None) -> dict[str, Any]:
    return {"bomber_id": 1, "position": [r, c], "life": life, "blast_strength": strength,
            "moving_direction": direction}


def scenario(rows: list[str], agents: dict[int, tuple[int, int]], bombs: list[dict[str, Any]] | None = None,
             flames: list[dict[str, Any]] | None = None, **fields: Any) -> BomberBatch:
    """A one-board batch; agent 0's fields (ammo, blast_strength, can_kick) are keywords, and
    agents not listed are dead."""
    return load_state(state_of(rows, agents, bombs=bombs or [], flames=flames or [], agent_fields={0: fields}))


def kernel_escapes(batch: BomberBatch, i: int, seat: int, first: int, horizon: int = 16) -> bool:
    """Ground truth from the rules kernel: after ``first``, some sequence of moves (opponents
    standing still) keeps ``seat`` alive until no bomb and no flame is left (or ``horizon`` steps).

    Exhaustive over move sequences, merging identical states, one batched kernel call per step.
    """
    start = BomberBatch(*(a[i:i + 1].copy() for a in batch.arrays()))
    actions = np.zeros((1, 4), np.int64)
    actions[0, seat] = first
    start.step(actions)
    frontier = start
    for _ in range(horizon):
        alive = frontier.agents[:, seat, ALIVE] == 1
        quiet = (frontier.meta[:, N_BOMBS] == 0) & (frontier.meta[:, N_FLAMES] == 0)
        if not alive.any():
            return False
        if (alive & quiet).any():
            return True
        keep = np.flatnonzero(alive)
        rep = np.repeat(keep, len(MOVES))
        nxt = BomberBatch(*(a[rep].copy() for a in frontier.arrays()))
        acts = np.zeros((len(rep), 4), np.int64)
        acts[:, seat] = np.tile(MOVES, len(keep))
        nxt.step(acts)
        seen: dict[bytes, int] = {}
        for j in range(len(rep)):
            if nxt.agents[j, seat, ALIVE]:
                key = b"".join(a[j].tobytes() for a in (nxt.board, nxt.agents, nxt.bombs, nxt.flames, nxt.meta))
                seen.setdefault(key, j)
        if not seen:
            return False
        frontier = BomberBatch(*(a[list(seen.values())] for a in nxt.arrays()))
    return bool((frontier.agents[:, seat, ALIVE] == 1).any())


def check_against_kernel(batch: BomberBatch, seat: int = 0) -> np.ndarray:
    """The status of ``seat`` on board 0, after asserting that each legal action's verdict is the
    kernel's."""
    status = action_status(batch)[0, seat]
    for a in range(C.NUM_ACTIONS):
        if status[a] != ILLEGAL:
            assert (status[a] == SAFE) == kernel_escapes(batch, 0, seat, a), (a, status.tolist())
    return status


def test_open_board_everything_is_safe_and_edges_and_corners_are_illegal() -> None:
    assert action_status(scenario(OPEN, {0: (5, 5)}))[0, 0].tolist() == [SAFE] * 6
    corner = action_status(scenario(OPEN, {0: (0, 0)}))[0, 0]
    assert corner.tolist() == [SAFE, ILLEGAL, SAFE, ILLEGAL, SAFE, SAFE]
    edge = action_status(scenario(OPEN, {0: (10, 4)}))[0, 0]
    assert edge[D] == ILLEGAL and edge[[S, U, L, R, B]].tolist() == [SAFE] * 5


def test_rigid_wood_and_agents_block_moves() -> None:
    rows = carve(carve(OPEN, (4, 5)), (6, 5), code="w")
    rows = carve(rows, (4, 5), code="#")
    status = action_status(scenario(rows, {0: (5, 5), 1: (5, 6)}))[0, 0]
    assert status.tolist() == [SAFE, ILLEGAL, ILLEGAL, SAFE, ILLEGAL, SAFE]


def test_power_ups_can_be_walked_onto() -> None:
    rows = carve(OPEN, (5, 6), code="k")
    assert action_status(scenario(rows, {0: (5, 5)}))[0, 0, R] == SAFE


def test_bomb_without_ammo_or_on_a_bomb_is_illegal() -> None:
    assert action_status(scenario(OPEN, {0: (5, 5)}, ammo=0))[0, 0, B] == ILLEGAL
    on_bomb = scenario(OPEN, {0: (5, 5)}, bombs=[bomb(5, 5, 9, 2)], ammo=2)
    assert action_status(on_bomb)[0, 0, B] == ILLEGAL


def test_a_bomb_about_to_blow_leaves_one_escape_route() -> None:
    # a pocket: (5, 5) with its bomb, the only way out is right then down, out of the blast's lines;
    # at life 3 there is time to wait one step first, at life 2 not, at life 1 not even to leave
    rows = carve(WALLED, (5, 5), (5, 6), (6, 6))
    for life, expected in ((3, [SAFE, ILLEGAL, ILLEGAL, ILLEGAL, SAFE, ILLEGAL]),
                           (2, [DEADLY, ILLEGAL, ILLEGAL, ILLEGAL, SAFE, ILLEGAL]),
                           (1, [DEADLY, ILLEGAL, ILLEGAL, ILLEGAL, DEADLY, ILLEGAL])):
        batch = scenario(rows, {0: (5, 5)}, bombs=[bomb(5, 5, life, 2)])
        assert check_against_kernel(batch).tolist() == expected, life
    # nothing survives at life 1: the mask gives up and allows everything
    assert action_mask(batch)[0, 0].all()


def test_running_into_a_dead_end_is_deadly_and_the_long_way_out_is_safe() -> None:
    # corridor (5, 1)..(5, 7) with a side pocket at (6, 2); (5, 8) closes the right end
    rows = carve(WALLED, *[(5, c) for c in range(1, 8)], (6, 2))
    batch = scenario(rows, {0: (5, 5)}, bombs=[bomb(5, 5, 3, 3)])
    assert check_against_kernel(batch).tolist() == [DEADLY, ILLEGAL, ILLEGAL, SAFE, DEADLY, ILLEGAL]
    assert action_mask(batch)[0, 0].tolist() == [False, False, False, True, False, False]


def test_laying_a_bomb_where_the_blast_covers_every_reachable_cell_is_deadly() -> None:
    rows = carve(WALLED, *[(5, c) for c in range(3, 8)])
    short = scenario(rows, {0: (5, 5)}, blast_strength=3)  # reaches 2 cells: the corridor's ends
    assert check_against_kernel(short)[B] == DEADLY
    room = carve(rows, (4, 3))  # a way up out of the row
    assert check_against_kernel(scenario(room, {0: (5, 5)}, blast_strength=3))[B] == SAFE


def test_chain_reactions_set_bombs_off_early() -> None:
    # bomb A at (5, 1) blows now and sets off B at (5, 3), whose blast reaches (5, 4)..(5, 7)
    rows = carve(WALLED, *[(5, c) for c in range(1, 8)], (4, 6))
    b_only = [bomb(5, 3, 9, 5)]
    alone = check_against_kernel(scenario(rows, {0: (5, 6)}, bombs=b_only))
    assert alone[S] == SAFE and alone[R] == SAFE
    chained = check_against_kernel(scenario(rows, {0: (5, 6)}, bombs=[bomb(5, 1, 1, 3)] + b_only))
    assert chained.tolist() == [DEADLY, SAFE, ILLEGAL, DEADLY, DEADLY, DEADLY]


def test_flames_last_their_life_and_walking_into_them_is_deadly() -> None:
    rows = carve(WALLED, (5, 4), (5, 5), (5, 6))
    batch = scenario(rows, {0: (5, 5)}, flames=[{"position": [5, 6], "life": 2}])
    assert check_against_kernel(batch).tolist() == [SAFE, ILLEGAL, ILLEGAL, SAFE, DEADLY, DEADLY]


def test_wood_burnt_by_a_blast_opens_a_way_out_once_its_flames_are_gone() -> None:
    # (5, 4) is wood; the pocket's own bomb at (5, 6) (life 9) must be escaped through it, and the
    # bomb at (5, 3) burns it in step 1: its flames are gone after step 3
    rows = carve(carve(WALLED, (5, 1), (5, 2), (5, 3), (5, 5), (5, 6), (5, 7), (4, 2)), (5, 4), code="w")
    batch = scenario(rows, {0: (5, 6)}, bombs=[bomb(5, 3, 1, 2), bomb(5, 6, 9, 4)], ammo=0)
    assert check_against_kernel(batch)[S] == SAFE
    shut = scenario(rows, {0: (5, 6)}, bombs=[bomb(5, 6, 9, 4)], ammo=0)
    assert check_against_kernel(shut)[S] == DEADLY


def test_kick_pushes_a_bomb_away_only_when_the_cell_behind_it_is_free() -> None:
    bombs = [bomb(5, 6, 9, 2)]
    assert action_status(scenario(OPEN, {0: (5, 5)}, bombs=bombs))[0, 0, R] == ILLEGAL
    assert check_against_kernel(scenario(OPEN, {0: (5, 5)}, bombs=bombs, can_kick=True))[R] == SAFE
    blocked = carve(OPEN, (5, 7), code="#")
    assert action_status(scenario(blocked, {0: (5, 5)}, bombs=bombs, can_kick=True))[0, 0, R] == ILLEGAL
    behind = scenario(OPEN, {0: (5, 5), 1: (5, 7)}, bombs=bombs, can_kick=True)
    assert action_status(behind)[0, 0, R] == ILLEGAL


def test_a_kicked_bomb_slides_on_before_it_blows() -> None:
    rows = carve(WALLED, *[(5, c) for c in range(2, 11)])
    # life 1: it blows one cell on, next to the kicker; life 2: it has slid two cells on
    for life, verdict in ((1, DEADLY), (2, SAFE)):
        batch = scenario(rows, {0: (5, 5)}, bombs=[bomb(5, 6, life, 2)], can_kick=True)
        assert check_against_kernel(batch)[R] == verdict, life


def test_a_moving_bomb_is_followed_along_its_path() -> None:
    rows = carve(WALLED, *[(5, c) for c in range(0, 7)])
    # the bomb slides right from (5, 2) and blows after 3 steps at (5, 5), reaching 2 cells: the
    # agent waiting at the corridor's dead end (5, 6) dies; were the bomb still, it would not. (By
    # stepping into the bomb's way the agent could stop it early: the filter does not see that.)
    batch = scenario(rows, {0: (5, 6)}, bombs=[bomb(5, 2, 3, 3, direction=R)], ammo=0)
    assert action_status(batch)[0, 0, S] == DEADLY and not kernel_escapes(batch, 0, 0, S)
    still = scenario(rows, {0: (5, 6)}, bombs=[bomb(5, 2, 3, 3)], ammo=0)
    assert check_against_kernel(still)[S] == SAFE


def test_dead_seats_and_the_env_helper() -> None:
    batch = scenario(OPEN, {0: (5, 5), 2: (1, 1)})
    assert action_mask(batch)[0, 1].all() and action_mask(batch)[0, 3].all()
    env = parallel_env()
    env.reset(seed=3)
    mask = env_action_mask(env)
    assert mask.shape == (4, 6) and mask.dtype == bool
    assert np.array_equal(mask, action_mask(env.batch)[0])


def random_batch(n: int, seed: int) -> BomberBatch:
    rng = np.random.default_rng(seed)
    batch = BomberBatch.empty(n)
    for i in range(n):
        board = make_board(rng)
        batch.set_start(i, board, make_items(rng, board, C.NUM_ITEMS))
    return batch


def pick(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One uniformly random allowed action per (board, seat)."""
    u = rng.random(mask.shape) * mask
    return u.argmax(axis=-1)


def play(filtered_seats: tuple[int, ...], others: str, n: int, steps: int, seed: int,
         states: list[BomberBatch] | None = None) -> np.ndarray:
    """Seats in ``filtered_seats`` pick among the mask, the others act ``others`` ('random' or
    'stop'); returns (n, 4) deaths over ``steps`` steps. ``states`` collects copies on the way."""
    rng = np.random.default_rng(seed)
    batch = random_batch(n, seed)
    for t in range(steps):
        acts = rng.integers(0, 6, (n, 4)) if others == "random" else np.zeros((n, 4), np.int64)
        if filtered_seats:
            chosen = pick(action_mask(batch), rng)
            for k in filtered_seats:
                acts[:, k] = chosen[:, k]
        if states is not None and t % 7 == 3:
            states.append(batch.copy())
        batch.step(acts)
    return 1 - batch.agents[:, :, ALIVE]


def test_filtered_agents_die_far_less_often_than_random_ones() -> None:
    deaths_random = play((), "random", 64, 150, seed=11)[:, 0].mean()
    deaths_filtered = play((0,), "random", 64, 150, seed=11)[:, 0].mean()
    assert deaths_random > 0.6
    assert deaths_filtered < deaths_random / 3, (deaths_filtered, deaths_random)


def test_against_still_opponents_the_filter_is_never_wrong() -> None:
    # opponents that never act are what the filter assumes: a filtered agent then dies only when
    # the filter found no safe action at all
    rng = np.random.default_rng(5)
    n = 48
    batch = random_batch(n, 5)
    for _ in range(200):
        status = action_status(batch)
        hopeless = ~(status[:, 0] == SAFE).any(axis=-1) & (batch.agents[:, 0, ALIVE] == 1)
        acts = np.zeros((n, 4), np.int64)
        acts[:, 0] = pick(action_mask(batch), rng)[:, 0]
        was = batch.agents[:, 0, ALIVE].copy()
        batch.step(acts)
        died = (was == 1) & (batch.agents[:, 0, ALIVE] == 0)
        assert not (died & ~hopeless).any()


def test_verdicts_match_the_kernel_on_states_from_filtered_games() -> None:
    # wherever the filter calls some action deadly: deadly means no continuation survives in the
    # kernel, safe means one does (opponents still);
    # deadly verdicts of agents that can kick are not checked: a later kick may open a way out
    states: list[BomberBatch] = []
    play((0, 1, 2, 3), "random", 12, 100, seed=21, states=states)
    checked = deadly = 0
    for batch in states:
        status = action_status(batch)
        for i in range(batch.size):
            for k in range(4):
                row = status[i, k]
                if not batch.agents[i, k, ALIVE] or not (row == DEADLY).any():
                    continue
                for a in np.flatnonzero(row != ILLEGAL):
                    if row[a] == DEADLY and batch.agents[i, k, KICK]:
                        continue  # the filter's continuations do not kick (module docstring)
                    assert (row[a] == SAFE) == kernel_escapes(batch, i, k, int(a)), (i, k, a, row.tolist())
                    checked += 1
                    deadly += row[a] == DEADLY
    assert checked > 300 and deadly > 100, (checked, deadly)


@pytest.mark.parametrize("n", [1, 7])
def test_mask_shape_and_fallback(n: int) -> None:
    batch = random_batch(n, 2)
    mask = action_mask(batch)
    assert mask.shape == (n, 4, 6) and mask.dtype == bool and mask.any(axis=-1).all()
