"""The events of a Bomber step (envs/bomber/events.py) against the kernel on recorded Pommerman games.

Reads the first games of every ``*.jsonl.gz`` / ``*.jsonl`` under ``../shared/reference/pommerman/``
(next to the repository) or under ``PALAESTRA_POMMERMAN_REFERENCE``; skipped when there are none.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pommerman_reference import FILES
from pommerman_reference import needs_reference as needs_reference_for

from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber.core import (
    ALIVE,
    AMMO,
    B_BLAST,
    B_COL,
    B_ROW,
    BLAST,
    COL,
    DIRECTION,
    KICK,
    LIFE,
    N_BOMBS,
    N_FLAMES,
    OWNER,
    ROW,
    BomberBatch,
)
from palaestra.envs.bomber.events import (
    BombLaid,
    Death,
    Explosion,
    StepEvents,
    blast_cells,
    burnt_board,
    step_events,
)
from palaestra.envs.bomber.fidelity import read_trajectories, recorded_blast_cap
from palaestra.envs.bomber.pommerman_io import load_state

needs_reference = needs_reference_for("the step events against recorded games")
GAMES_PER_FILE = {"ffa_random": 40, "ffa_kicky": 15}
"""Games read from the start of a file (short random games: more); the rest read 3."""


def games(path: Path) -> list[dict[str, Any]]:
    n = next((v for k, v in GAMES_PER_FILE.items() if path.name.startswith(k)), 3)
    return list(itertools.islice(read_trajectories(path), n))


def play(trajectory: dict[str, Any]) -> Iterator[tuple[BomberBatch, BomberBatch, np.ndarray, StepEvents]]:
    """(before, after, moves, events) of every recorded step, stepped by the kernel."""
    cap = recorded_blast_cap(trajectory)
    batch = load_state(trajectory["initial"])
    owners = None
    for step in trajectory["steps"]:
        moves = np.array([[int(a[0]) if isinstance(a, (list, tuple)) else int(a) for a in step["actions"]]])
        before = batch.copy()
        batch.step(moves, cap)
        events = step_events(before, batch, moves, cap, owners)
        owners = events.flame_owners
        yield before, batch.copy(), moves[0], events


def live_bombs(batch: BomberBatch) -> np.ndarray:
    return batch.bombs[0, : int(batch.meta[0, N_BOMBS])]


def new_flame_cells(batch: BomberBatch) -> set[tuple[int, int]]:
    flames = batch.flames[0, : int(batch.meta[0, N_FLAMES])]
    return {(int(r), int(c)) for r, c, life in flames if life == C.FLAME_LIFE}


def entered_cells(before: BomberBatch, moves: np.ndarray) -> set[tuple[int, int]]:
    """Cells a live agent tries to walk into (where it could kick a bomb)."""
    out = set()
    for k, move in enumerate(moves):
        if before.agents[0, k, ALIVE] and move in (C.UP, C.DOWN, C.LEFT, C.RIGHT):
            dr, dc = C.DELTAS[move]
            out.add((int(before.agents[0, k, ROW]) + dr, int(before.agents[0, k, COL]) + dc))
    return out


@needs_reference
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_kernel_death_is_reported_with_its_blast(path: Path) -> None:
    deaths = 0
    for trajectory in games(path):
        for before, after, _, events in play(trajectory):
            died = {k for k in range(C.NUM_AGENTS)
                    if before.agents[0, k, ALIVE] and not after.agents[0, k, ALIVE]}
            assert {d.agent for d in events.deaths} == died, f"seed {trajectory['seed']} step {events.step}"
            burnt = burnt_board(before)
            for d in events.deaths:
                deaths += 1
                cell = (d.row, d.col)
                assert cell == (int(after.agents[0, d.agent, ROW]), int(after.agents[0, d.agent, COL]))
                if d.cause == "blast":
                    reaching = {e.owner for e in events.explosions if cell in e.cells}
                    assert reaching and reaching <= set(d.killers)
                else:  # walked into flames still burning from an earlier step
                    assert cell not in events.fired and burnt[cell] == C.FLAMES
                # the games start without flames, so every death has a known bomb behind it
                assert d.killers and list(d.killers) == sorted(set(d.killers))
    assert deaths > 0, f"no agent dies in the games read from {path.name}"


@needs_reference
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_explosions_account_for_vanished_bombs_and_new_flames(path: Path) -> None:
    explosions = chained = 0
    for trajectory in games(path):
        for before, after, moves, events in play(trajectory):
            where = f"seed {trajectory['seed']} step {events.step}"
            explosions += len(events.explosions)
            chained += sum(e.chained for e in events.explosions)
            # the flames the kernel lays this step are exactly the reported blast cells
            assert new_flame_cells(after) == set(events.fired), where
            for e in events.explosions:
                assert set(e.cells) == blast_cells(before.board[0], e.row, e.col, e.strength)
            # wood that burns is wood a blast reached
            wood = before.board[0] == C.WOOD
            burnt_wood = {(int(r), int(c)) for r, c in zip(*np.nonzero(wood & (after.board[0] != C.WOOD)))}
            assert burnt_wood == {cell for cell in events.fired if wood[cell]}, where
            n_before, n_after = len(live_bombs(before)), len(live_bombs(after))
            assert n_before + len(events.laid) - len(events.explosions) == n_after, where
            # a bomb that stood still and could not be kicked, and is gone, exploded where it stood
            survivors = Counter((int(b[OWNER]), int(b[B_ROW]), int(b[B_COL]), int(b[B_BLAST]))
                                for b in live_bombs(after))
            kickable = entered_cells(before, moves)
            reported = Counter((e.owner, e.row, e.col, e.strength) for e in events.explosions)
            for b in live_bombs(before):
                key = (int(b[OWNER]), int(b[B_ROW]), int(b[B_COL]), int(b[B_BLAST]))
                if b[DIRECTION] != 0 or key[1:3] in kickable:
                    continue
                if survivors[key] == 0:
                    assert reported[key] > 0, f"{where}: bomb {key} vanished unreported"
                    if b[LIFE] > 1:
                        assert any(e.chained for e in events.explosions if
                                   (e.owner, e.row, e.col, e.strength) == key), where
                elif b[LIFE] == 1:
                    pytest.fail(f"{where}: bomb {key} at life 1 did not explode")
            for laid in events.laid:
                k = laid.owner
                assert moves[k] == C.LAY_BOMB and before.agents[0, k, ALIVE]
                assert (laid.row, laid.col) == (int(before.agents[0, k, ROW]), int(before.agents[0, k, COL]))
                assert laid.strength == before.agents[0, k, BLAST]
    assert explosions > 0, f"no bomb explodes in the games read from {path.name}"
    if path.name.startswith("ffa_random"):
        assert chained > 0, "random games have chain explosions"


@needs_reference
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_pickups_account_for_power_ups_and_agent_stats(path: Path) -> None:
    pickups = 0
    for trajectory in games(path):
        cap = recorded_blast_cap(trajectory)
        for before, after, _, events in play(trajectory):
            where = f"seed {trajectory['seed']} step {events.step}"
            pickups += len(events.pickups)
            taken = {p.agent: p for p in events.pickups}
            assert len(taken) == len(events.pickups), where
            for p in events.pickups:
                position = (int(after.agents[0, p.agent, ROW]), int(after.agents[0, p.agent, COL]))
                assert (p.row, p.col) == position, where
                shown, hidden = before.board[0, p.row, p.col], before.items[0, p.row, p.col]
                assert p.item == shown or (shown == C.FLAMES and p.item == hidden), where
                assert after.board[0, p.row, p.col] not in C.POWERUPS
            # a power-up in sight that an agent is standing on after the step was taken by it
            for k in range(C.NUM_AGENTS):
                cell = (int(after.agents[0, k, ROW]), int(after.agents[0, k, COL]))
                moved = cell != (int(before.agents[0, k, ROW]), int(before.agents[0, k, COL]))
                if before.agents[0, k, ALIVE] and moved and before.board[0][cell] in C.POWERUPS:
                    assert k in taken and taken[k].item == before.board[0][cell], where
            # laying, picking up and exploding account for every change of ammo, range and kick
            for k in range(C.NUM_AGENTS):
                b, a = before.agents[0, k], after.agents[0, k]
                item = taken[k].item if k in taken else None
                ammo = int(b[AMMO]) - sum(1 for bomb in events.laid if bomb.owner == k)
                if item == C.EXTRA_BOMB:
                    ammo = min(ammo + 1, C.MAX_AMMO)
                for e in events.explosions:
                    if e.owner == k:
                        ammo = min(ammo + 1, C.MAX_AMMO)
                assert a[AMMO] == ammo, f"{where}: agent {k} ammo"
                assert a[BLAST] == (min(b[BLAST] + 1, cap) if item == C.INCR_RANGE else b[BLAST]), where
                assert a[KICK] == (1 if item == C.KICK else b[KICK]), where
    if not path.name.startswith("ffa_kicky"):  # kickers start with kick and rarely walk to items
        assert pickups > 0, f"no power-up is picked up in the games read from {path.name}"


@needs_reference
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_a_games_events_add_up_to_its_recorded_final_state(path: Path) -> None:
    for trajectory in games(path):
        initial, final = trajectory["initial"], trajectory["steps"][-1]["state"]
        dead: list[int] = []
        laid = exploded = 0
        range_ups: Counter[int] = Counter()
        kicks: set[int] = set()
        for _, _, _, events in play(trajectory):
            dead += [d.agent for d in events.deaths]
            laid += len(events.laid)
            exploded += len(events.explosions)
            range_ups.update(p.agent for p in events.pickups if p.item == C.INCR_RANGE)
            kicks |= {p.agent for p in events.pickups if p.item == C.KICK}
        where = f"seed {trajectory['seed']}"
        assert len(dead) == len(set(dead)), f"{where}: an agent died twice"
        assert sorted(dead) == [a["agent_id"] for a in final["agents"] if not a["is_alive"]], where
        assert len(initial["bombs"]) + laid - exploded == len(final["bombs"]), where
        for start, end in zip(initial["agents"], final["agents"]):
            k = start["agent_id"]
            assert end["can_kick"] == (start["can_kick"] or k in kicks), where
            cap = recorded_blast_cap(trajectory)
            assert end["blast_strength"] == min(start["blast_strength"] + range_ups[k], cap), where


def test_blast_cells_follow_pommerman() -> None:
    board = np.zeros((11, 11), dtype=np.int8)
    board[5, 7] = C.WOOD
    board[3, 5] = C.RIGID
    # up: (4,5), then the rigid wall; down: own cell, (6,5), (7,5); left: (5,4), (5,3); right: (5,6),
    # then the wood at (5,7) burns and stops the blast
    assert blast_cells(board, 5, 5, 3) == {(4, 5), (5, 5), (6, 5), (7, 5), (5, 4), (5, 3), (5, 6), (5, 7)}
    assert blast_cells(board, 0, 0, 2) == {(0, 0), (1, 0), (0, 1)}  # the board's edge stops it too


def test_a_kill_by_a_bomb_and_by_its_lingering_flames_names_the_owner() -> None:
    """Agent 1 stands next to agent 0's bomb as it goes off; agent 2 walks into its flames after."""
    board = np.zeros((11, 11), dtype=np.int8)
    for k, (r, c) in enumerate(((5, 5), (5, 6), (7, 5), (0, 10))):
        board[r, c] = C.AGENT0 + k
    batch = BomberBatch.empty(1)
    batch.set_start(0, board, np.zeros_like(board))
    # agent 0 lays a bomb (strength 2) and walks two cells up, out of its reach; it goes off after
    # ten steps, on (4,5), (5,4..6), (6,5); a step later agent 2 walks up into the burning (6, 5)
    plan = [[C.LAY_BOMB, 0, 0, 0], [C.UP, 0, 0, 0], [C.UP, 0, 0, 0]] + [[0, 0, 0, 0]] * 7
    plan.append([0, 0, C.UP, 0])
    owners = None
    log = []
    for moves in np.array(plan)[:, None, :]:
        before = batch.copy()
        batch.step(moves, C.MAX_BLAST_STRENGTH)
        events = step_events(before, batch, moves, C.MAX_BLAST_STRENGTH, owners)
        owners = events.flame_owners
        log.append(events)
    assert log[0].laid == (BombLaid(0, 5, 5, 2),) and all(not e.laid for e in log[1:])
    boom = log[9]
    assert [e.explosions for e in log].index(boom.explosions) == 9 and boom.step == 10
    assert boom.explosions == (Explosion(0, 5, 5, 2, frozenset({(4, 5), (5, 4), (5, 5), (5, 6), (6, 5)}),
                                         chained=False),)
    assert boom.deaths == (Death(1, 5, 6, (0,), "blast"),)
    assert boom.flame_owners[(6, 5)] == frozenset({0})
    assert log[10].deaths == (Death(2, 6, 5, (0,), "flames"),) and not log[10].explosions
    assert batch.agents[0, 0, ALIVE] and batch.agents[0, 3, ALIVE]
