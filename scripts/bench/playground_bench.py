#!/usr/bin/env python
"""Benchmark the ORIGINAL Pommerman playground (MultiAgentLearning/playground) on this machine.

Prints ONE JSON object on stdout with:
  * ``ffa_random_env_step``: steps/s of ``pommerman.make('PommeFFACompetition-v0', [4 RandomAgent])``
    ``env.step`` fed uniformly random actions (pre-drawn, so the figure is the env alone: forward
    model + the env's own per-step observation building + done/reward/info), ``env.reset()`` on
    done (reset time included). This is the "single env with random actions" figure.
  * ``ffa_random_agents_act_step``: the same with the full ``env.act(obs)`` + ``env.step`` loop of
    4 RandomAgents (their ``action_space.sample()`` included).
  * ``ffa_simple_agents_act_step``: steps/s of the full ``env.act(obs)`` + ``env.step`` loop with
    4 SimpleAgents (their act time included), reset on done.
  * ``simple_vs_3_random``: FFA games of 1 SimpleAgent vs 3 RandomAgents, ``--games`` games per
    seat (seat 0 = agent 0 always; ``--seats`` picks the seats), wins/ties/losses of the
    SimpleAgent as reported by the env's ``info['result']`` / ``info['winners']``.

Usage::

    PYTHON scripts/bench/playground_bench.py --playground PATH [--seconds 10] [--games 100]
                                             [--seats 0,1,2,3] [--seed 0]

PATH is a checkout (or ``git archive`` extract) of the playground, i.e. the folder that holds the
``pommerman`` package. Nothing is installed from it: it is put first on ``sys.path``.

Setting up the interpreter it needs (Python 3.11; everything from PyPI)::

    # a work tree of the playground (here from the read-only mirror)
    mkdir -p /tmp/playground
    git -C /work/.mirror/MultiAgentLearning+playground/repo archive HEAD | tar -x -C /tmp/playground
    # a throwaway venv with the playground's old gym; pin pyglet, or gym pulls pyglet 2 which
    # the playground's graphics.py cannot import
    python3 -m venv /tmp/pgvenv
    /tmp/pgvenv/bin/pip install "gym==0.10.5" "pyglet==1.3.2" "jsonmerge==1.5.2" numpy \
        "setuptools<70" ruamel.yaml pillow requests docker websockets websocket-client \
        python-cli-ui python-rapidjson click
    # then
    /tmp/pgvenv/bin/python scripts/bench/playground_bench.py --playground /tmp/playground
    # or: make bench PLAYGROUND=/tmp/playground PYTHON=/tmp/pgvenv/bin/python

What the loader (``load_pommerman``) does to make the unmodified package run, all in this process
only, nothing written to the checkout:
  1. ``gym==0.10.5`` (the version the playground pins, ``gym~=0.10.5``) is used for real: it is
     pure Python and installs on 3.11. ``numpy`` 2.x works. ``setuptools`` must provide
     ``pkg_resources`` (gym 0.10.5's ``registration.load``), hence the pin above.
  2. Python 3.11 removed ``random.sample(<set>)``, which ``pommerman.utility.make_board`` calls
     (``random.sample(coordinates, 1)`` with ``coordinates`` a set). ``pommerman.utility.random``
     is replaced by a proxy of the global ``random`` module whose ``sample`` first turns a set into
     ``tuple(set)``, exactly what Python <= 3.10 did internally, so boards are drawn from the same
     global RNG with the same call sequence as on the Python versions the playground targets.
  3. Modules imported at package import time but used only by the docker/http agents, the network
     server/client, rendering and the CLI (docker, requests, websockets, websocket, ui, rapidjson,
     click, pyglet, PIL, ruamel.yaml) are imported for real when installed; any that is missing is
     replaced by an empty placeholder module and listed under ``stubbed_modules`` in the output.
     ``gym``, ``jsonmerge`` and ``numpy`` are never stubbed.
If the import still fails the script prints the reason to stderr and exits with status 2.

Repeatability: python ``random``, ``np.random`` and gym's space RNG (``gym.spaces.prng``, which
RandomAgent's ``action_space.sample()`` uses) are seeded; game ``i`` of seat ``s`` uses seed
``seed + 10000 * s + i``. Throughput figures are wall-clock and vary run to run.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import platform
import random
import subprocess
import sys
import time
import types

# Imported at `import pommerman` time, used only by docker/http agents, networking, rendering, CLI.
OPTIONAL_MODULES = (
    "docker",
    "requests",
    "websockets",
    "websocket",
    "ui",
    "rapidjson",
    "click",
    "pyglet",
    "PIL",
    "ruamel",
    "ruamel.yaml",
)


class _Py310Random(types.ModuleType):
    """The global ``random`` module, but ``sample`` accepts a set as Python <= 3.10 did."""

    def __init__(self) -> None:
        super().__init__("random")

    def __getattr__(self, name):
        return getattr(random, name)

    @staticmethod
    def sample(population, k, **kwargs):
        if isinstance(population, (set, frozenset)):
            population = tuple(population)
        return random.sample(population, k, **kwargs)


def _placeholder(name: str) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.__doc__ = "placeholder inserted by playground_bench.py (module not installed, unused here)"
    mod.__path__ = []  # lets `import a.b` resolve further placeholders
    if name == "PIL":
        mod.Image = _placeholder("PIL.Image")
    if name == "pyglet":
        # graphics.py evaluates `pyglet.canvas.xlib.NoSuchDisplayException` in an except clause.
        class NoSuchDisplayException(Exception):
            pass

        mod.canvas = types.SimpleNamespace(
            xlib=types.SimpleNamespace(NoSuchDisplayException=NoSuchDisplayException))
    return mod


def _stub_missing_optional() -> list[str]:
    stubbed = []
    for name in OPTIONAL_MODULES:
        if name in sys.modules:
            continue
        try:
            importlib.import_module(name)
        except ImportError:
            sys.modules[name] = _placeholder(name)
            if "." in name:
                parent, child = name.rsplit(".", 1)
                setattr(sys.modules[parent], child, sys.modules[name])
            stubbed.append(name)
    # `from PIL import Image` works on the placeholder; `from pyglet.gl import *` raises ImportError,
    # which graphics.py catches (rendering disabled).
    if "PIL" in stubbed:
        sys.modules["PIL.Image"] = sys.modules["PIL"].Image
    return stubbed


def load_pommerman(playground: str):
    """Import the playground's ``pommerman`` package from ``playground``; return (module, meta).

    Raises RuntimeError with a readable message when it cannot be imported.
    """
    playground = os.path.abspath(playground)
    if not os.path.isfile(os.path.join(playground, "pommerman", "__init__.py")):
        raise RuntimeError(f"{playground} has no pommerman/__init__.py (not a playground checkout)")
    for required in ("numpy", "gym", "jsonmerge"):
        try:
            importlib.import_module(required)
        except Exception as exc:  # noqa: BLE001
            raise RuntimeError(
                f"cannot import {required!r} ({exc!r}); install the playground's deps, e.g. "
                "pip install 'gym==0.10.5' 'pyglet==1.3.2' 'jsonmerge==1.5.2' numpy "
                "'setuptools<70' (see this script's docstring)") from exc
    import gym

    stubbed = _stub_missing_optional()
    sys.path.insert(0, playground)
    try:
        # graphics.py may print() a headless-pyglet notice: keep stdout for the JSON only.
        with contextlib.redirect_stdout(sys.stderr):
            import pommerman  # noqa: F401
            from pommerman import utility
    except Exception as exc:  # noqa: BLE001
        raise RuntimeError(f"import pommerman from {playground} failed: {exc!r}") from exc
    finally:
        sys.path.remove(playground)
    if not os.path.abspath(pommerman.__file__).startswith(playground):
        raise RuntimeError(f"imported pommerman from {pommerman.__file__}, not from {playground}")
    utility.random = _Py310Random()

    version = None
    vfile = os.path.join(playground, "VERSION")
    if os.path.isfile(vfile):
        with open(vfile) as f:
            version = f.read().strip()
    commit = None
    try:
        commit = subprocess.run(["git", "-C", playground, "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=10).stdout.strip() or None
    except Exception:  # noqa: BLE001
        pass
    meta = {
        "path": playground,
        "version": version,
        "git_commit": commit,
        "gym": getattr(gym, "__version__", None),
        "stubbed_modules": stubbed,
        "patches": ["pommerman.utility.random.sample: set -> tuple(set) (Python <= 3.10 behaviour)"],
    }
    # Smoke test: gym.make must give the bare Pomme env (old gym), with set_agents etc.
    try:
        env = pommerman.make("PommeFFACompetition-v0",
                             [pommerman.agents.RandomAgent() for _ in range(4)])
        env.reset()
        env.step([0, 0, 0, 0])
    except Exception as exc:  # noqa: BLE001
        raise RuntimeError(
            f"pommerman imported but make/reset/step failed ({exc!r}); the playground needs "
            f"gym==0.10.5 (found gym {meta['gym']})") from exc
    return pommerman, meta


def seed_all(seed: int) -> None:
    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    try:
        import gym.spaces

        gym.spaces.prng.seed(seed)  # RandomAgent -> action_space.sample() -> gym.spaces.np_random
    except AttributeError:
        pass


def bench_loop(pommerman, agent_cls, seconds: float, seed: int, use_agents: bool) -> dict:
    """Steps/s of FFA competition env; env.act(obs)+env.step when use_agents else pre-drawn actions."""
    import numpy as np

    seed_all(seed)
    env = pommerman.make("PommeFFACompetition-v0", [agent_cls() for _ in range(4)])
    rng = np.random.RandomState(seed + 1)
    table = rng.randint(0, 6, size=(1 << 16, 4)).tolist()
    obs = env.reset()
    steps = episodes = ep_steps_done = cur = 0
    check_every = 64 if not use_agents else 8
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        if use_agents:
            actions = env.act(obs)
        else:
            actions = table[steps & 0xFFFF]
        obs, _reward, done, _info = env.step(actions)
        steps += 1
        cur += 1
        if done:
            episodes += 1
            ep_steps_done += cur
            cur = 0
            obs = env.reset()
        if steps % check_every == 0 and time.perf_counter() >= deadline:
            break
    elapsed = time.perf_counter() - start
    return {
        "steps": steps,
        "seconds": round(elapsed, 3),
        "steps_per_s": round(steps / elapsed, 1),
        "episodes_completed": episodes,
        "mean_episode_len": round(ep_steps_done / episodes, 1) if episodes else None,
    }


def simple_vs_random(pommerman, games: int, seat: int, seed: int) -> dict:
    from pommerman import agents, constants

    wins = ties = losses = total_steps = 0
    t0 = time.perf_counter()
    for i in range(games):
        seed_all(seed + 10000 * seat + i)
        agent_list = [agents.RandomAgent() for _ in range(4)]
        agent_list[seat] = agents.SimpleAgent()
        env = pommerman.make("PommeFFACompetition-v0", agent_list)
        obs = env.reset()
        done = False
        while not done:
            obs, _reward, done, info = env.step(env.act(obs))
        total_steps += env._step_count
        if info["result"] == constants.Result.Tie:
            ties += 1
        elif info["result"] == constants.Result.Win and seat in info.get("winners", []):
            wins += 1
        else:
            losses += 1
    return {
        "games": games,
        "wins": wins,
        "ties": ties,
        "losses": losses,
        "win_rate": round(wins / games, 4) if games else None,
        "mean_game_len": round(total_steps / games, 1) if games else None,
        "seconds": round(time.perf_counter() - t0, 2),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--playground", required=True, help="checkout holding the pommerman package")
    ap.add_argument("--seconds", type=float, default=10.0, help="seconds per throughput figure")
    ap.add_argument("--games", type=int, default=100, help="games per seat for the win rate")
    ap.add_argument("--seats", default="0,1,2,3",
                    help="comma list of SimpleAgent seats for the win rate (0 is the headline)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    try:
        pommerman, meta = load_pommerman(args.playground)
    except RuntimeError as exc:
        print(f"playground_bench: {exc}", file=sys.stderr)
        return 2
    import numpy as np
    from pommerman import agents

    seats = [int(s) for s in args.seats.split(",") if s.strip() != ""]
    if not seats or any(s not in range(4) for s in seats):
        print("playground_bench: --seats must list seats 0..3", file=sys.stderr)
        return 2

    out = {
        "benchmark": "pommerman playground (original), PommeFFACompetition-v0",
        "playground": meta,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "seconds_per_figure": args.seconds,
        "seed": args.seed,
    }
    out["ffa_random_env_step"] = bench_loop(pommerman, agents.RandomAgent, args.seconds, args.seed,
                                            use_agents=False)
    out["ffa_random_agents_act_step"] = bench_loop(pommerman, agents.RandomAgent, args.seconds,
                                                   args.seed, use_agents=True)
    out["ffa_simple_agents_act_step"] = bench_loop(pommerman, agents.SimpleAgent, args.seconds,
                                                   args.seed, use_agents=True)
    by_seat = {}
    for seat in seats:
        by_seat[str(seat)] = simple_vs_random(pommerman, args.games, seat, args.seed)
    tot = {k: sum(r[k] for r in by_seat.values()) for k in ("games", "wins", "ties", "losses")}
    tot["win_rate"] = round(tot["wins"] / tot["games"], 4) if tot["games"] else None
    out["simple_vs_3_random"] = {
        "description": "FFA, 1 SimpleAgent vs 3 RandomAgents; counts are the SimpleAgent's",
        "seat0": by_seat.get("0"),
        "by_seat": by_seat,
        "all_seats": tot,
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
