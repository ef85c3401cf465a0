"""The named action filters: ``sure-death`` is the action filter, ``cautious`` weighs a near
opponent's next bomb or step."""

from __future__ import annotations

import numpy as np
import pytest
from bomber_scenarios import scenario as state_of

from palaestra.agents.scripted.compiled import CompiledBots
from palaestra.agents.scripted.filtered import observation_mask
from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber import parallel_env
from palaestra.envs.bomber.action_filter import DEADLY, ILLEGAL, SAFE, action_mask, action_status
from palaestra.envs.bomber.board import make_board, make_items
from palaestra.envs.bomber.config import BomberConfig
from palaestra.envs.bomber.core import ALIVE, B_COL, B_ROW, COL, N_BOMBS, ROW, BomberBatch
from palaestra.envs.bomber.env import AGENT_INDEX
from palaestra.envs.bomber.filter_names import FILTERS, check_filter
from palaestra.envs.bomber.filters import RISKY, THREAT_BLAST, THREAT_RADIUS, filter_mask, filter_status
from palaestra.envs.bomber.pommerman_io import load_state
from palaestra.errors import ConfigError

S, U, D, L, R, B = C.STOP, C.UP, C.DOWN, C.LEFT, C.RIGHT, C.LAY_BOMB


def states_from_games(n: int, steps: int, seed: int) -> list[BomberBatch]:
    """Copies of ``n`` boards every 5 steps of games of four SimpleAgents (opponents come close)."""
    rng = np.random.default_rng(seed)
    batch = BomberBatch.empty(n)
    for i in range(n):
        board = make_board(rng)
        batch.set_start(i, board, make_items(rng, board, C.NUM_ITEMS))
    bots = CompiledBots("simple", n, BomberConfig())
    out = []
    for t in range(steps):
        if t % 5 == 4:
            out.append(batch.copy())
        batch.step(bots.act(batch, batch.agents[:, :, ALIVE].astype(bool), rng))
    return out


def reference_status(batch: BomberBatch, i: int, seat: int) -> np.ndarray:
    """The cautious statuses of one seat, from the sure-death filter on edited copies of the board."""
    base = action_status(batch)[i, seat].copy()
    one = BomberBatch(*(a[i:i + 1].copy() for a in batch.arrays()))
    me = one.agents[0, seat]
    variants = []
    for o in range(C.NUM_AGENTS):
        opp = one.agents[0, o]
        if o == seat or not opp[ALIVE] or abs(opp[ROW] - me[ROW]) + abs(opp[COL] - me[COL]) > THREAT_RADIUS:
            continue
        nb = int(one.meta[0, N_BOMBS])
        bombs_at = {(int(one.bombs[0, b, B_ROW]), int(one.bombs[0, b, B_COL])) for b in range(nb)}
        if (int(opp[ROW]), int(opp[COL])) not in bombs_at:
            laid = one.copy()
            laid.bombs[0, nb] = (o, opp[ROW], opp[COL], C.DEFAULT_BOMB_LIFE + 1, THREAT_BLAST, 0)
            laid.meta[0, N_BOMBS] = nb + 1
            variants.append(laid)
        for dr, dc in C.DELTAS[1:5]:
            r, c = int(opp[ROW]) + dr, int(opp[COL]) + dc
            if not (0 <= r < C.BOARD_SIZE and 0 <= c < C.BOARD_SIZE) or (r, c) in bombs_at:
                continue
            if one.board[0, r, c] in (C.RIGID, C.WOOD, C.FOG) or (r, c) == (me[ROW], me[COL]):
                continue
            stepped = one.copy()
            stepped.agents[0, o, ROW], stepped.agents[0, o, COL] = r, c
            variants.append(stepped)
    for v in variants:
        base[(base == SAFE) & (action_status(v)[0, seat] != SAFE)] = RISKY
    return base


def test_the_names_and_a_clear_error_for_an_unknown_one() -> None:
    assert FILTERS == ("sure-death", "cautious")
    with pytest.raises(ConfigError, match="unknown action filter 'careful'; known: sure-death, cautious"):
        check_filter("careful")
    with pytest.raises(ConfigError, match="unknown action filter"):
        filter_mask(BomberBatch.empty(1), "careful")  # type: ignore[arg-type]


def test_sure_death_is_the_action_filter() -> None:
    for batch in states_from_games(8, 60, seed=1):
        assert np.array_equal(filter_mask(batch, "sure-death"), action_mask(batch))


def test_cautious_statuses_match_a_reference_built_on_the_sure_death_filter() -> None:
    checked = risky = 0
    for batch in states_from_games(8, 120, seed=2):
        status = filter_status(batch, "cautious")
        for i in range(8):
            for k in range(C.NUM_AGENTS):
                if not batch.agents[i, k, ALIVE]:
                    assert (status[i, k] == ILLEGAL).all()
                    continue
                ref = reference_status(batch, i, k)
                assert status[i, k].tolist() == ref.tolist(), (i, k)
                checked += 1
                risky += int((ref == RISKY).any())
    assert checked > 300 and risky > 30, (checked, risky)


def test_the_cautious_mask_keeps_within_the_sure_death_mask_and_is_never_empty() -> None:
    for batch in states_from_games(8, 100, seed=3):
        sure, cautious = action_mask(batch), filter_mask(batch, "cautious")
        assert cautious.any(axis=-1).all()
        any_safe = (action_status(batch) == SAFE).any(axis=-1)
        assert not (cautious & ~sure)[any_safe].any()


def test_an_opponent_that_can_step_into_the_only_way_out_makes_a_bomb_risky() -> None:
    # corridor (5, 3)..(5, 6): laying at (5, 5) leaves one way out, left past (5, 4), which the
    # opponent in the pocket above (4, 4) could step into; the right end (5, 6) is in the blast
    rows = ["#" * 11] * 11
    rows = [r if i != 5 else "###....####" for i, r in enumerate(rows)]
    rows[4] = "####.######"
    batch = load_state(state_of(rows, {0: (5, 5), 1: (4, 4)}))
    assert action_status(batch)[0, 0].tolist() == [SAFE, ILLEGAL, ILLEGAL, SAFE, SAFE, SAFE]
    # LEFT is risky too: the opponent may take (5, 4) first
    assert filter_status(batch, "cautious")[0, 0].tolist() == [SAFE, ILLEGAL, ILLEGAL, RISKY, SAFE, RISKY]
    assert filter_mask(batch, "cautious")[0, 0].tolist() == [True, False, False, False, True, False]
    far = load_state(state_of(carve_far(rows), {0: (5, 5), 1: (0, 10)}))  # nobody near: as sure-death
    assert np.array_equal(filter_status(far, "cautious")[0, 0], action_status(far)[0, 0])


def carve_far(rows: list[str]) -> list[str]:
    """``rows`` with a cell open in the far corner for an opponent out of the threat radius."""
    out = list(rows)
    out[0] = out[0][:10] + "."
    return out


def test_when_every_move_is_risky_the_risky_ones_are_allowed() -> None:
    # a dead-end pocket (5, 4)..(5, 5) whose mouth (5, 6) the opponent stands beside: its bomb
    # would cover every reachable cell, so nothing is safe from it, and the mask keeps the
    # sure-death choices
    rows = ["#" * 11] * 11
    rows = [r if i != 5 else "####...####" for i, r in enumerate(rows)]
    batch = load_state(state_of(rows, {0: (5, 5), 1: (5, 6)}))
    status = filter_status(batch, "cautious")[0, 0]
    assert not (status == SAFE).any() and (status == RISKY).any()
    assert np.array_equal(filter_mask(batch, "cautious")[0, 0], action_mask(batch)[0, 0])


def test_only_the_seats_asked_for_are_filtered() -> None:
    batch = states_from_games(6, 40, seed=4)[-1]
    seats = np.zeros((6, 4), bool)
    seats[:, 1] = True
    part, full = filter_mask(batch, "cautious", seats), filter_mask(batch, "cautious")
    assert np.array_equal(part[:, 1], full[:, 1])
    assert part[:, [0, 2, 3]].all()


@pytest.mark.parametrize("name", FILTERS)
def test_the_mask_from_an_observation_is_the_mask_of_the_full_state(name: str) -> None:
    # both filters read only what an FFA observation shows (not opponents' ammo or blast)
    rng = np.random.default_rng(0)
    env = parallel_env()
    compared = 0
    for game in range(4):
        obs, _ = env.reset(seed=game)
        while env.agents:
            full = filter_mask(env.batch, name)[0]  # type: ignore[arg-type]
            for agent in env.agents:
                assert np.array_equal(observation_mask(obs[agent], name), full[AGENT_INDEX[agent]]), agent  # type: ignore[arg-type]
                compared += 1
            obs, *_ = env.step({a: int(rng.integers(6)) for a in env.agents})
    assert compared > 200


def test_deadly_stays_deadly() -> None:
    # the cautious filter only demotes SAFE actions; the sure-death verdicts stay as they are
    for batch in states_from_games(6, 100, seed=5):
        sure, cautious = action_status(batch), filter_status(batch, "cautious")
        for status in (DEADLY, ILLEGAL):
            assert np.array_equal(sure == status, cautious == status)
