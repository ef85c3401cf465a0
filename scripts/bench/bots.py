#!/usr/bin/env python
"""Scripted Bomber bots: the Python SimpleAgent port against the compiled bots, on the same states.

States come from --boards games played by the compiled simple bots themselves, snapshotted every
few steps after a warm-up, so they look like the middle of real games (bombs, flames, power-ups).
Both implementations then decide for every live seat of the same snapshots:

  python      ``SimpleBomberAgent.act`` on the env's dict observation of that seat (observations
              are built beforehand and not timed, which favours the Python port)
  compiled    ``CompiledBots("simple").act`` on the whole batch of --boards boards per call (its
              own reading of the board is timed)
  compiled/1  the same, one board per call (how a single env would use it)

Rates are agent-steps per second (one agent-step = one decision of one live seat) of this
process's CPU time (both sides run on one thread, so a busy machine skews neither). Each call of
the compiled bots also pays a fixed ~15 us to hand numba the generator, which the one-board figure
shows. The last line:
``compiled bots: simple N agent-steps/s, python M, ratio R``.

    python scripts/bench/bots.py [--quick] [--boards 256] [--snapshots 8] [--mode ffa]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from palaestra.agents.scripted.bomber import SimpleBomberAgent
from palaestra.agents.scripted.compiled import make_compiled_bots
from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber.config import BomberConfig
from palaestra.envs.bomber.core import ALIVE, STEP, BomberBatch
from palaestra.envs.bomber.env import AGENT_NAMES, BomberParallelEnv
from palaestra.envs.bomber.observe import outcome
from palaestra.envs.bomber.pommerman_io import state_to_json
from palaestra.envs.bomber.vector import BomberVectorEnv


def snapshots(config: BomberConfig, boards: int, count: int, every: int, seed: int) -> list[BomberBatch]:
    """``count`` copies of a batch of ``boards`` games played by compiled simple bots."""
    env = BomberVectorEnv(boards, config, seed=seed)
    env.reset()
    bots = make_compiled_bots("simple", boards, config)
    rng = np.random.default_rng(seed)
    everyone = np.ones((boards, C.NUM_AGENTS), bool)
    out: list = []
    for t in range(every * (count + 2)):
        moves = bots.act(env.batch, everyone, rng)
        acts = np.concatenate([moves[..., None], np.zeros((boards, C.NUM_AGENTS, 2), np.int64)], axis=2)
        step = env.step(acts if config.radio else moves, observe=False)
        for i in np.flatnonzero(step.dones):
            bots.reset(int(i))
        if t >= 2 * every and t % every == 0 and len(out) < count:
            out.append(env.batch.copy())
    return out


def observations(config: BomberConfig, batch: BomberBatch) -> list[list[tuple[int, dict]]]:
    """Per board, (seat, dict observation) of every live seat, as the env gives them."""
    env = BomberParallelEnv(mode=config.mode, partially_observable=config.partially_observable)
    out: list = []
    for i in range(batch.size):
        alive = batch.agents[i, :, ALIVE]
        if outcome(alive, int(batch.meta[i, STEP]), config.max_steps, config.team)[0]:
            out.append([])  # a decided game: nobody acts (the vector env restarts them, so rare)
            continue
        obs, _ = env.reset(options={"state": state_to_json(batch, i)})
        out.append([(k, obs[name]) for k, name in enumerate(AGENT_NAMES) if name in obs and alive[k]])
    return out


def time_python(per_board: list[list[list[tuple[int, dict]]]], seconds: float) -> tuple[float, int]:
    """(agent-steps/s, snapshots used): fresh agents per snapshot, until ``seconds`` have passed."""
    agents = [SimpleBomberAgent() for _ in range(C.NUM_AGENTS)]
    rng = np.random.default_rng(0)
    steps, used, elapsed = 0, 0, 0.0
    for snapshot in per_board:
        start = time.process_time()
        for seats in snapshot:
            for k, obs in seats:
                agents[k].reset(rng)  # a fresh memory, as the compiled side gets
                agents[k].act(obs)
                steps += 1
        elapsed += time.process_time() - start
        used += 1
        if elapsed > seconds:
            break
    return steps / elapsed, used


def time_compiled(config: BomberConfig, batches: list[BomberBatch], seconds: float, per_board: bool) -> float:
    """Agent-steps/s of the compiled simple bots over ``batches``, repeated for ``seconds``."""
    boards = batches[0].size
    n = 1 if per_board else boards
    bots = make_compiled_bots("simple", n, config)
    rng = np.random.default_rng(0)
    if per_board:
        batches = [BomberBatch(*(a[i : i + 1] for a in b.arrays())) for b in batches for i in range(boards)]
    masks = [np.ones((n, C.NUM_AGENTS), bool) for _ in batches]
    live = [int((b.agents[:, :, ALIVE] == 1).sum()) for b in batches]
    bots.act(batches[0], masks[0], rng)  # compile (or load the cache)
    steps, start = 0, time.process_time()
    while True:
        for batch, mask, count in zip(batches, masks, live):
            bots.reset_all()
            bots.act(batch, mask, rng)
            steps += count
        if time.process_time() - start > seconds:
            return steps / (time.process_time() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer states, about 1 s per figure")
    parser.add_argument("--boards", type=int, default=256)
    parser.add_argument("--snapshots", type=int, default=8)
    parser.add_argument("--mode", choices=C.MODES, default="ffa")
    parser.add_argument("--seconds", type=float, default=5.0, help="time per figure")
    args = parser.parse_args()
    snaps, seconds = (2, 1.0) if args.quick else (args.snapshots, args.seconds)
    config = BomberConfig(mode=args.mode)
    batches = snapshots(config, args.boards, snaps, every=15, seed=0)
    obs = [observations(config, b) for b in batches]
    python, used = time_python(obs, seconds)
    same = batches[:used]
    seats = sum(len(seats) for snapshot in obs[:used] for seats in snapshot)
    print(f"states: {used} snapshots x {args.boards} boards ({args.mode}), {seats} live seats")
    print(f"python SimpleBomberAgent: {python:,.0f} agent-steps/s")
    single = time_compiled(config, same, seconds, per_board=True)
    print(f"compiled, one board per call: {single:,.0f} agent-steps/s (ratio {single / python:.0f})")
    batched = time_compiled(config, same, seconds, per_board=False)
    print(f"compiled bots: simple {batched:,.0f} agent-steps/s, python {python:,.0f}, ratio {batched / python:.0f}")


if __name__ == "__main__":
    main()
