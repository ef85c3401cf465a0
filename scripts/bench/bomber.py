#!/usr/bin/env python
"""Bomber benchmark: our figures and, given a playground checkout, the original's, side by side.

Figures (FFA, 4 agents, uniformly random actions unless said otherwise; resets included):

  single env, PettingZoo API     ``parallel_env().step`` with Pommerman dict observations: the
                                 like-for-like counterpart of the playground's ``env.step``
  single env, rules from Python  ``BomberBatch`` of one board: ``step`` + game-over check per
                                 call, no observations
  single env, compiled playout   ``random_playout``: one board played to the end inside numba
  4 SimpleAgents                 the PettingZoo env driven by four ``SimpleBomberAgent``s (their
                                 thinking included), like the playground's ``env.act + env.step``
  batched                        ``BomberVectorEnv`` of --batch boards with planes observations,
                                 in agent-steps/s (4 per board-step)
  SimpleAgent vs 3 random        win/tie/loss of one SimpleBomberAgent, each seat in turn

    python scripts/bench/bomber.py [--seconds 5] [--games 100]
        [--playground PATH --playground-python PYTHON]   # also run the original, print ratios

The playground needs its own interpreter (old gym); see scripts/bench/playground_bench.py.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from palaestra.agents.scripted.bomber import make_scripted_bomber_agent
from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber import parallel_env
from palaestra.envs.bomber.board import make_board, make_items
from palaestra.envs.bomber.core import ALIVE, STEP, BomberBatch
from palaestra.envs.bomber.playout import random_playout
from palaestra.envs.bomber.vector import BomberVectorEnv

ACTIONS = np.random.default_rng(12345).integers(0, C.NUM_ACTIONS, size=(1 << 16, 4))


def pettingzoo_single(seconds: float) -> float:
    env = parallel_env()
    env.reset(seed=0)
    table = ACTIONS.tolist()
    names = env.possible_agents
    steps, start = 0, time.perf_counter()
    while True:
        acts = table[steps & 0xFFFF]
        env.step({name: acts[k] for k, name in enumerate(names) if name in env.agents})
        steps += 1
        if not env.agents:
            env.reset()
        if steps % 256 == 0 and time.perf_counter() - start > seconds:
            return steps / (time.perf_counter() - start)


def rules_single(seconds: float) -> float:
    rng = np.random.default_rng(0)
    batch = BomberBatch.empty(1)

    def new_game() -> None:
        board = make_board(rng)
        batch.set_start(0, board, make_items(rng, board))

    new_game()
    rows = [ACTIONS[i : i + 1] for i in range(4096)]
    alive = batch.agents[0, :, ALIVE]
    steps, start = 0, time.perf_counter()
    while True:
        batch.step(rows[steps & 4095])
        steps += 1
        if alive.sum() <= 1 or batch.meta[0, STEP] >= C.MAX_STEPS:
            new_game()
        if steps % 256 == 0 and time.perf_counter() - start > seconds:
            return steps / (time.perf_counter() - start)


def compiled_playouts(seconds: float) -> float:
    rng = np.random.default_rng(0)
    batch = BomberBatch.empty(1)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        board = make_board(rng)
        batch.set_start(0, board, make_items(rng, board))
        steps += random_playout(batch, 0, seed=int(rng.integers(2**31)))
    return steps / (time.perf_counter() - start)


def simple_agents(seconds: float) -> float:
    env = parallel_env()
    agents = {name: make_scripted_bomber_agent("simple") for name in env.possible_agents}
    rng = np.random.default_rng(0)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        obs, _ = env.reset(seed=int(rng.integers(2**31)))
        for agent in agents.values():
            agent.reset(np.random.default_rng(int(rng.integers(2**31))))
        while env.agents and time.perf_counter() - start < seconds:
            obs, *_ = env.step({n: agents[n].act(obs[n]) for n in env.agents})
            steps += 1
    return steps / (time.perf_counter() - start)


def batched(seconds: float, n: int) -> float:
    vec = BomberVectorEnv(n, seed=0)
    vec.reset()
    rng = np.random.default_rng(0)
    vec.step(rng.integers(0, C.NUM_ACTIONS, (n, 4)))
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        vec.step(rng.integers(0, C.NUM_ACTIONS, (n, 4)))
        steps += n * C.NUM_AGENTS
    return steps / (time.perf_counter() - start)


def simple_vs_random(games: int, seed: int = 0) -> dict[str, float]:
    wins = ties = losses = 0
    rng = np.random.default_rng(seed)
    for seat in range(C.NUM_AGENTS):
        for _ in range(games):
            env = parallel_env()
            names = env.possible_agents
            agents = {n: make_scripted_bomber_agent("simple" if k == seat else "random")
                      for k, n in enumerate(names)}
            obs, _ = env.reset(seed=int(rng.integers(2**31)))
            for agent in agents.values():
                agent.reset(np.random.default_rng(int(rng.integers(2**31))))
            info: dict = {}
            while env.agents:
                obs, _, _, _, infos = env.step({n: agents[n].act(obs[n]) for n in env.agents})
                info = next(iter(infos.values()), info) if infos else info
            if info.get("result") == "win" and info.get("winners") == [names[seat]]:
                wins += 1
            elif info.get("result") == "tie":
                ties += 1
            else:
                losses += 1
    total = wins + ties + losses
    return {"games": total, "wins": wins, "ties": ties, "losses": losses, "win_rate": wins / total}


def playground(path: str, python: str, seconds: float, games: int) -> dict:
    script = Path(__file__).with_name("playground_bench.py")
    done = subprocess.run(
        [python, str(script), "--playground", path, "--seconds", str(seconds), "--games", str(games)],
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        sys.exit(f"the playground benchmark failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per throughput figure")
    parser.add_argument("--games", type=int, default=100, help="SimpleAgent-vs-random games per seat")
    parser.add_argument("--batch", type=int, default=256, help="boards of the batched figure")
    parser.add_argument("--playground", help="path of a Pommerman playground checkout")
    parser.add_argument("--playground-python", default=sys.executable,
                        help="interpreter that can import the playground (see playground_bench.py)")
    args = parser.parse_args()

    random_playout(_warm(), 0, seed=0)  # compile before timing
    ours = {
        "single env, PettingZoo API (steps/s)": pettingzoo_single(args.seconds),
        "single env, rules from Python (steps/s)": rules_single(args.seconds),
        "single env, compiled playout (steps/s)": compiled_playouts(args.seconds),
        "4 SimpleAgents, PettingZoo API (steps/s)": simple_agents(args.seconds),
        f"batched, {args.batch} boards (agent-steps/s)": batched(args.seconds, args.batch),
    }
    duel = simple_vs_random(args.games)
    theirs = playground(args.playground, args.playground_python, args.seconds, args.games) \
        if args.playground else None
    base = {
        "random": theirs["ffa_random_env_step"]["steps_per_s"] if theirs else None,
        "simple": theirs["ffa_simple_agents_act_step"]["steps_per_s"] if theirs else None,
    }
    print(f"{'figure':<44}{'palaestra':>14}{'playground':>14}{'ratio':>9}")
    for name, value in ours.items():
        ref = base["simple"] if "SimpleAgents" in name else base["random"]
        if "batched" in name and ref:
            ref *= C.NUM_AGENTS  # the playground's env.step is 4 agent-steps
        ref_text = f"{ref:14,.0f}{value / ref:8.1f}x" if ref else f"{'-':>14}{'-':>9}"
        print(f"{name:<44}{value:14,.0f}{ref_text}")
    print(f"\nSimpleAgent vs 3 random agents, FFA, {duel['games']} games (every seat in turn):")
    print(f"  palaestra   win rate {duel['win_rate']:.3f}  "
          f"(wins {duel['wins']}, ties {duel['ties']}, losses {duel['losses']})")
    if theirs:
        t = theirs["simple_vs_3_random"]["all_seats"]
        print(f"  playground  win rate {t['win_rate']:.3f}  "
              f"(wins {t['wins']}, ties {t['ties']}, losses {t['losses']})")
    else:
        print("  playground  not measured (pass --playground PATH --playground-python PYTHON)")


def _warm() -> BomberBatch:
    batch = BomberBatch.empty(1)
    board = make_board(np.random.default_rng(0))
    batch.set_start(0, board, make_items(np.random.default_rng(0), board))
    return batch


if __name__ == "__main__":
    main()
