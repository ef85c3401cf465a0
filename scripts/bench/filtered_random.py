#!/usr/bin/env python
"""The ``filtered-random`` baseline against three SimpleAgents, and the action filter's speed.

Figures (printed, not asserted):

  vs 3 SimpleAgents   wins / ties / losses of one filtered-random agent over --games FFA games,
                      its seat rotated game by game, and the same for the plain random agent
                      (BorealisAI's pommerman-baseline reports 34-45% wins for random moves behind a
                      sure-death filter in this setting)
  mask speed          seconds per (board, seat) mask of ``action_mask`` over --boards boards in
                      mid-game states (all boards and seats in one compiled call)

    python scripts/bench/filtered_random.py [--games 200] [--boards 256] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber.action_filter import action_mask
from palaestra.envs.bomber.board import make_board, make_items
from palaestra.envs.bomber.core import BomberBatch
from palaestra.evaluation.versus import play_versus


def versus_simple(name: str, games: int, seed: int) -> tuple[int, int, int, float]:
    """(wins, ties, losses, seconds) of built-in ``name`` in one seat (rotated) against 3
    SimpleAgents (:func:`palaestra.evaluation.versus.play_versus`)."""
    start = time.perf_counter()
    t = play_versus(name, "simple", games, seed)
    return t.wins, t.ties, t.losses, time.perf_counter() - start


def mask_speed(boards: int, seed: int, repeats: int = 5) -> tuple[float, float]:
    """(seconds per (board, seat) mask, mean bombs per board) on mid-game states."""
    rng = np.random.default_rng(seed)
    batch = BomberBatch.empty(boards)
    for i in range(boards):
        board = make_board(rng)
        batch.set_start(i, board, make_items(rng, board, C.NUM_ITEMS))
    for _ in range(40):  # filtered random play lays bombs without killing everyone
        mask = action_mask(batch)
        batch.step((rng.random(mask.shape) * mask).argmax(axis=-1))
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        action_mask(batch)
        best = min(best, time.perf_counter() - t)
    return best / (boards * C.NUM_AGENTS), float(batch.meta[:, 1].mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--games", type=int, default=200)
    parser.add_argument("--boards", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    per_mask, bombs = mask_speed(args.boards, args.seed)
    print(f"mask speed: {per_mask * 1e6:.1f} us per (board, seat) over {args.boards} boards "
          f"({bombs:.1f} bombs per board on average)")
    print(f"{'agent':<16} {'games':>5} {'wins':>5} {'ties':>5} {'losses':>6} {'win %':>6} {'s/game':>7}")
    for name in ("filtered-random", "random"):
        w, t, lo, secs = versus_simple(name, args.games, args.seed)
        print(f"{name:<16} {args.games:>5} {w:>5} {t:>5} {lo:>6} {100 * w / args.games:>6.1f} "
              f"{secs / args.games:>7.2f}")


if __name__ == "__main__":
    main()
