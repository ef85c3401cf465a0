#!/usr/bin/env python
"""Sandbox benchmark: what the jail (bubblewrap namespaces, private copy, cgroups) costs a match.

Measured in one run, the plain sandbox (a subprocess under rlimits, as before isolation) and the
jailed one side by side, alternating:

  start-up      launch + ``init`` handshake + close of examples/bots/walker.py (median, ms)
  per step      one ``act`` round trip with a Bomber observation (median over the steps, us)
  4-agent game  Bomber FFA games with four sandboxed walker.py agents (steps/s), and the
                ratio jailed/plain (the goal is >= 0.5)

    python scripts/bench/sandbox.py [--launches 10] [--steps 500] [--games 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from palaestra.agents.sandbox.host import SandboxLimits, launch
from palaestra.agents.sandbox.isolation import isolation_problem
from palaestra.envs.bomber import parallel_env
from palaestra.envs.bomber.config import BomberConfig
from palaestra.evaluation.bomber import play_bomber_game

WALKER = Path(__file__).resolve().parents[2] / "examples" / "bots" / "walker.py"
LIMITS = SandboxLimits(init_time_s=30.0, step_time_s=5.0)
MODES = {"plain": False, "jailed": True}


def startup_ms(isolate: bool) -> float:
    t = time.perf_counter()
    with launch(f"python:{WALKER}", "bomber", {}, 0, LIMITS, isolate=isolate):
        pass
    return (time.perf_counter() - t) * 1e3


def step_us(isolate: bool, steps: int) -> float:
    env = parallel_env()
    obs, _ = env.reset(seed=0)
    times = []
    with launch(f"python:{WALKER}", "bomber", {}, 0, LIMITS, isolate=isolate) as agent:
        agent.reset(np.random.default_rng(0))
        for _ in range(steps):
            t = time.perf_counter()
            agent.act(obs["player_0"])
            times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def game_steps_per_s(isolate: bool, games: int) -> float:
    agents = [launch(f"python:{WALKER}", "bomber", {}, k, LIMITS, isolate=isolate) for k in range(4)]
    try:
        steps, t = 0, time.perf_counter()
        for g in range(games):
            steps += play_bomber_game(agents, BomberConfig(), seed=g).steps
        return steps / (time.perf_counter() - t)
    finally:
        for a in agents:
            a.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--launches", type=int, default=10)
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--games", type=int, default=3)
    args = p.parse_args()
    problem = isolation_problem()
    if problem is not None:
        raise SystemExit(f"cannot measure the jail here: {problem}")
    startup: dict[str, list[float]] = {m: [] for m in MODES}
    for _ in range(args.launches):
        for mode, isolate in MODES.items():
            startup[mode].append(startup_ms(isolate))
    step = {mode: step_us(isolate, args.steps) for mode, isolate in MODES.items()}
    rate = {mode: game_steps_per_s(isolate, args.games) for mode, isolate in MODES.items()}
    print(f"{'figure':44s}{'plain':>12s}{'jailed':>12s}{'jailed/plain':>14s}")
    rows = [("start-up, launch to close (median ms)", {m: statistics.median(v) for m, v in startup.items()}),
            ("one act round trip, Bomber (median us)", step),
            (f"4 sandboxed walkers, {args.games} FFA games (steps/s)", rate)]
    for label, values in rows:
        print(f"{label:44s}{values['plain']:12.1f}{values['jailed']:12.1f}"
              f"{values['jailed'] / values['plain']:14.3f}")


if __name__ == "__main__":
    main()
