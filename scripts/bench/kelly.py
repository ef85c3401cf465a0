#!/usr/bin/env python
"""Kelly coin-flip benchmark: exact DP solve time and env steps per second.

Prints, in one run on this machine:
  * the DP solve time for V($25, 300 rounds): cold (fresh interpreter, numba compile or cache load
    included) and warm (best of several solves once compiled), with the value it found;
  * env steps/s of the single Gymnasium env (random bets, reset at episode end);
  * game-steps/s of the batched lockstep engine (`KellyGames`, N games per call) with the same
    random bets, and its ratio to the single env.

    python scripts/bench/kelly.py [--seconds 3] [--batch 4096]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import gymnasium as gym
import numpy as np

import palaestra.envs  # noqa: F401  (registers the envs)
from palaestra.envs.kelly import solve_kelly
from palaestra.envs.kelly.core import KellyGames
from palaestra.envs.kelly.env import KellyCoinflipEnv

COLD = (
    "import time; t = time.perf_counter(); from palaestra.envs.kelly import solve_kelly; "
    "v = solve_kelly().value(2500, 300); print(time.perf_counter() - t, v)"
)


def dp_times(repeats: int) -> tuple[float, float, float]:
    done = subprocess.run([sys.executable, "-c", COLD], capture_output=True, text=True, check=True)
    cold, value = (float(x) for x in done.stdout.split())
    warm = []
    for _ in range(repeats):
        start = time.perf_counter()
        solve_kelly()
        warm.append(time.perf_counter() - start)
    return cold, min(warm), value


def single_env_steps(seconds: float, seed: int) -> float:
    env = gym.make("palaestra/KellyCoinflip-v0")
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(1000):
            wealth = int(round(float(obs["wealth"][0]) * 100))
            obs, _, term, trunc, _ = env.step(np.int64(rng.integers(0, wealth // 4 + 1)))
            if term or trunc:
                obs, _ = env.reset()
        steps += 1000
    return steps / (time.perf_counter() - start)


def batched_steps(seconds: float, batch: int, seed: int) -> float:
    env = gym.make("palaestra/KellyCoinflip-v0").unwrapped
    assert isinstance(env, KellyCoinflipEnv)
    rng = np.random.default_rng(seed)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        games = KellyGames([env.draw(rng) for _ in range(batch)], env.initial_cents)
        while not games.done.all():
            bets = rng.integers(0, games.wealth_cents // 4 + 1)
            steps += int((~games.done).sum())
            games.step(bets)
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per throughput test")
    parser.add_argument("--batch", type=int, default=4096, help="games per batched call")
    parser.add_argument("--repeats", type=int, default=5, help="warm DP solves (best is shown)")
    args = parser.parse_args()

    cold, warm, value = dp_times(args.repeats)
    print(f"DP solve V($25, 300 rounds) = ${value:.6f}")
    print(f"  {'cold (new process, numba compile/cache load included):':<56}{cold:8.3f} s")
    print(f"  {f'warm (compiled, best of {args.repeats}):':<56}{warm:8.3f} s")
    single = single_env_steps(args.seconds, seed=0)
    batched = batched_steps(args.seconds, args.batch, seed=0)
    print(f"single env (gym.make, random bets):   {single:12,.0f} steps/s")
    print(f"batched engine ({args.batch} games per call): {batched:12,.0f} game-steps/s "
          f"({batched / single:.1f}x the single env)")


if __name__ == "__main__":
    main()
