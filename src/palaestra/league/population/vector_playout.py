"""Bots-only endgames of league boards, played in a batch of their own alongside the league's boards.

Once no league member of a board is alive, its bots still standing play the game to its end
(:class:`~palaestra.league.population.vector_boards.LeagueBoards` with ``play_out``). Playing each
such game out at once would cost a Python loop of up to ``max_steps`` batch calls per game; instead
:class:`PlayoutPool` takes the board's state and its bots' memory into a slot of its own batch and
advances every slot by one step each time the league's boards step (:meth:`PlayoutPool.step`), so
the league's board restarts at once with a new lineup and the endgames cost one batch call per step
together. A finished endgame yields its match record. When every slot is taken, the pool plays its
games until one slot frees.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from palaestra.agents.scripted.compiled import COMPILED_BOTS, CompiledBots
from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber.config import BomberConfig
from palaestra.envs.bomber.core import ALIVE, STEP, BomberBatch
from palaestra.envs.bomber.filter_names import FilterName
from palaestra.envs.bomber.filters import filter_mask
from palaestra.envs.bomber.vector import outcome_batch
from palaestra.league.population.envs.bomber import placement_ranks

FILTERED_BOTS: dict[str, FilterName] = {"filtered-random": "sure-death", "cautious-random": "cautious"}
"""The bots played from an action filter (uniform among its allowed actions), and their filters."""
GUARDED_BOTS: dict[str, tuple[str, FilterName]] = {"cautious-simple": ("simple", "cautious")}
"""The bots that play a compiled bot's move when a filter allows it, else a uniform allowed one
(``cautious-simple``: :class:`palaestra.agents.scripted.bomber.CautiousSimpleBomberAgent`):
name -> (compiled bot, filter)."""


def copy_memory(src: CompiledBots, src_i: int, dst: CompiledBots, dst_i: int) -> None:
    """The bot memory of board ``src_i`` of ``src`` into board ``dst_i`` of ``dst``.

    CompiledBots has no public setter for its memory; its three arrays are copied as they are.
    """
    dst._recent[dst_i] = src._recent[src_i]
    dst._recent_len[dst_i] = src._recent_len[src_i]
    dst._prev_dir[dst_i] = src._prev_dir[src_i]


def bot_moves(batch: BomberBatch, kind_mask: dict[str, np.ndarray], bots: dict[str, CompiledBots],
              rng: np.random.Generator, moves: np.ndarray) -> None:
    """Write into ``moves`` (N, 4) the moves of the live bots of each kind's seats (N, 4 masks)."""
    alive = batch.agents[:, :, ALIVE].astype(bool)
    for kind, mask in kind_mask.items():
        seats = mask & alive
        if not seats.any():
            continue
        if kind in FILTERED_BOTS:
            allowed = filter_mask(batch, FILTERED_BOTS[kind], seats)
            for i, k in zip(*np.nonzero(seats)):
                options = np.flatnonzero(allowed[i, k])
                moves[i, k] = options[int(rng.integers(len(options)))]
        elif kind in GUARDED_BOTS:
            base, name = GUARDED_BOTS[kind]
            out = bots[base].act(batch, seats, rng)
            allowed = filter_mask(batch, name, seats)
            for i, k in zip(*np.nonzero(seats)):
                move = int(out[i, k])
                if not allowed[i, k, move]:
                    options = np.flatnonzero(allowed[i, k])
                    move = int(options[int(rng.integers(len(options)))])
                moves[i, k] = move
        else:
            out = bots[kind].act(batch, seats, rng)
            moves[seats] = out[seats]


class PlayoutPool:
    """``capacity`` slots of bots-only endgames (see the module docstring).

    Args:
        capacity: endgames played at the same time.
        config: the game (FFA).
        kinds: the bot names the boards seat (the keys of their seat masks).
        rng: the bots' draws.
    """

    def __init__(self, capacity: int, config: BomberConfig, kinds: tuple[str, ...],
                 rng: np.random.Generator) -> None:
        self.capacity = capacity
        self.config = config
        self.batch = BomberBatch.empty(capacity)
        self._rng = rng
        self._bots = {k: CompiledBots(k, capacity, config) for k in COMPILED_BOTS}
        self._kind_mask = {k: np.zeros((capacity, C.NUM_AGENTS), bool) for k in kinds}
        self._death = np.full((capacity, C.NUM_AGENTS), -1, np.int64)
        self._busy = np.zeros(capacity, bool)
        self._seats: list[list[str]] = [[] for _ in range(capacity)]
        self._seeds = np.zeros(capacity, np.int64)
        self._moves = np.zeros((capacity, C.NUM_AGENTS), np.int64)

    @property
    def busy(self) -> int:
        """Endgames under way."""
        return int(self._busy.sum())

    def add(self, batch: BomberBatch, i: int, kind_mask: dict[str, np.ndarray], bots: dict[str, CompiledBots],
            death: np.ndarray, seats: list[str], seed: int) -> list[dict[str, Any]]:
        """Take over board ``i`` of ``batch`` (its bots, their memory, death steps, seats, seed).

        Returns the records of the endgames that had to finish first to free a slot (usually none).
        """
        records: list[dict[str, Any]] = []
        while self._busy.all():
            records.extend(self.step())
        j = int(np.flatnonzero(~self._busy)[0])
        for dst, src in zip(self.batch.arrays(), batch.arrays(), strict=True):
            dst[j] = src[i]
        for kind, mask in kind_mask.items():
            self._kind_mask[kind][j] = mask[i]
        for kind in COMPILED_BOTS:
            copy_memory(bots[kind], i, self._bots[kind], j)
        self._death[j] = death[i]
        self._seats[j], self._seeds[j] = list(seats), seed
        self._busy[j] = True
        return records

    def step(self) -> list[dict[str, Any]]:
        """One step of every endgame under way; the records of those that ended."""
        if not self._busy.any():
            return []
        b, busy = self.batch, self._busy
        self._moves[:] = C.STOP
        bot_moves(b, {k: m & busy[:, None] for k, m in self._kind_mask.items()}, self._bots, self._rng,
                  self._moves)
        alive_before = b.agents[:, :, ALIVE].astype(bool)
        b.step(self._moves, self.config.blast_cap)
        alive = b.agents[:, :, ALIVE].astype(bool)
        steps = b.meta[:, STEP]
        died = alive_before & ~alive & busy[:, None]
        self._death[died] = np.broadcast_to(steps[:, None], died.shape)[died]
        done, _ = outcome_batch(alive, steps, self.config.max_steps, False)
        records = []
        for j in (int(v) for v in np.flatnonzero(done & busy)):
            won = [int(s) for s in np.flatnonzero(alive[j])] if alive[j].sum() == 1 else []
            death = [None if d < 0 else int(d) for d in self._death[j]]
            records.append({"seats": self._seats[j], "ranks": placement_ranks(death, won),
                            "seed": int(self._seeds[j])})
            self._busy[j] = False
        return records

    def finish(self) -> list[dict[str, Any]]:
        """Play every endgame under way to its end; their records."""
        records: list[dict[str, Any]] = []
        while self._busy.any():
            records.extend(self.step())
        return records
