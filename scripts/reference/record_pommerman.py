#!/usr/bin/env python
"""Record reference trajectories from the ORIGINAL Pommerman playground forward model.

Output: JSONL (gzip when --out ends in .gz), one game a line, the format of
shared/reference/pommerman/ (see its README.md)::

    {"seed": int, "game_type": "FFA"|"Team", "note": str,
     "initial": state, "steps": [{"actions": [a0, a1, a2, a3], "state": state}, ...]}

    state = {"step_count", "board" (11x11 item codes), "agents": [{agent_id, is_alive, position,
             ammo, blast_strength, can_kick}], "bombs": [{bomber_id, position, life,
             blast_strength, moving_direction (null or Action value)}], "flames": [{position, life}],
             "items": [[[row, col], item code], ...]  (hidden under wood, dict order)}

``initial`` is the state right after ``env.reset()`` (plus the --all-can-kick change, if any);
each step's ``state`` is read from the env after ``env.step(actions)``, so the env's real
arguments to ``ForwardModel.step`` apply: in the Team competition config the env passes
``max_blast_strength = agent_view_size = 4`` (FFA: 10). ``note`` says what was played and what,
if anything, was changed from the stock env. Bomb and flame lists keep the env's own order.

Usage (the interpreter and PATH as for scripts/bench/playground_bench.py, whose docstring gives
the setup commands; that file's loader is reused)::

    PYTHON scripts/reference/record_pommerman.py --playground PATH --game-type FFA \\
        --agents simple --games 50 --out /tmp/pommerman_extra/ffa_simple_50.jsonl.gz
    PYTHON scripts/reference/record_pommerman.py --playground PATH --game-type Team \\
        --agents simple --games 30 --out /tmp/pommerman_extra/team_simple_30.jsonl.gz
    PYTHON scripts/reference/record_pommerman.py --playground PATH --game-type FFA \\
        --agents random --all-can-kick --num-items 30 --games 200 \\
        --out /tmp/pommerman_extra/ffa_random_kick.jsonl.gz
    PYTHON scripts/reference/record_pommerman.py --stats FILE [FILE ...]   # stats only

Agents: ``random`` = the playground's RandomAgent (uniform over the 6 actions via gym's
``action_space.sample()``), ``simple`` = its SimpleAgent. Game ``i`` uses seed ``--seed + i``:
python ``random``, ``np.random`` and ``gym.spaces.prng`` are seeded with it before ``make``/
``reset``, so a file can be regenerated exactly.

A summary JSON (games, steps, kicks, moving-bomb states, chain explosions, deaths, results) is
printed on stdout; ``kicks`` and ``chained_bombs`` are counted exactly from the live Bomb objects
while recording. ``--stats`` recomputes what can be read from files alone (kicks inferred: a bomb
that is moving in a state and was not moving the same way one cell back in the previous one).
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import os
import sys
from collections import Counter

ENV_IDS = {"FFA": "PommeFFACompetition-v0", "Team": "PommeTeamCompetition-v0"}
DIRS = {1: (-1, 0), 2: (1, 0), 3: (0, -1), 4: (0, 1)}  # Action Up, Down, Left, Right


def _load_bench_module():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench",
                        "playground_bench.py")
    spec = importlib.util.spec_from_file_location("playground_bench", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _pos(p):
    return [int(p[0]), int(p[1])]


def snapshot(env) -> dict:
    """The env's full game state in the reference format (plain ints/bools)."""
    return {
        "step_count": int(env._step_count),
        "board": [[int(v) for v in row] for row in env._board.tolist()],
        "agents": [{
            "agent_id": int(a.agent_id),
            "is_alive": bool(a.is_alive),
            "position": _pos(a.position),
            "ammo": int(a.ammo),
            "blast_strength": int(a.blast_strength),
            "can_kick": bool(a.can_kick),
        } for a in env._agents],
        "bombs": [{
            "bomber_id": int(b.bomber.agent_id),
            "position": _pos(b.position),
            "life": int(b.life),
            "blast_strength": int(b.blast_strength),
            "moving_direction": None if b.moving_direction is None else int(
                getattr(b.moving_direction, "value", b.moving_direction)),
        } for b in env._bombs],
        "flames": [{"position": _pos(f.position), "life": int(f.life)} for f in env._flames],
        "items": [[_pos(k), int(v)] for k, v in env._items.items()],
    }


def record_game(pommerman, bench, game_type, agent_kind, seed, all_can_kick, num_items, note):
    from pommerman import agents, constants

    bench.seed_all(seed)
    cls = agents.SimpleAgent if agent_kind == "simple" else agents.RandomAgent
    env = pommerman.make(ENV_IDS[game_type], [cls() for _ in range(4)])
    if num_items is not None:
        env._num_items = num_items
    obs = env.reset()
    if all_can_kick:
        for a in env._agents:
            a.can_kick = True
        obs = env.get_observations()  # so the agents see can_kick too
    line = {"seed": seed, "game_type": game_type, "note": note, "initial": snapshot(env),
            "steps": []}
    kicks = chained = 0
    done = False
    info = {}
    while not done:
        actions = [int(getattr(a, "value", a)) for a in env.act(obs)]
        before = {id(b): (b.moving_direction, b.life) for b in env._bombs}
        obs, _reward, done, info = env.step(actions)
        after_ids = {id(b) for b in env._bombs}
        for b in env._bombs:
            prev = before.get(id(b))
            if prev is not None and b.moving_direction is not None and b.moving_direction != prev[0]:
                kicks += 1  # a kick sets moving_direction; moving bombs never change it otherwise
        for bid, (_md, life) in before.items():
            if bid not in after_ids and life > 1:
                chained += 1  # removed before its fuse ran out: set off by flames
        line["steps"].append({"actions": actions, "state": snapshot(env)})
    result = info.get("result")
    return line, {
        "kicks": kicks,
        "chained_bombs": chained,
        "result": getattr(result, "name", str(result)),
        "winners": [int(w) for w in info.get("winners", [])],
        "max_blast_strength_passed": int(env._agent_view_size or 10),
        "hit_max_steps": env._step_count >= env._max_steps,
        "constants_max_steps": constants.MAX_STEPS,
    }


def file_stats(path: str) -> dict:
    """What can be read back from a file alone."""
    op = gzip.open if path.endswith(".gz") else open
    games = steps = moving_states = moving_bomb_steps = kicks = deaths = 0
    lengths, types, max_bs, kick_games = [], Counter(), 0, 0
    with op(path, "rt") as f:
        for raw in f:
            g = json.loads(raw)
            games += 1
            types[g["game_type"]] += 1
            lengths.append(len(g["steps"]))
            steps += len(g["steps"])
            prev = g["initial"]
            gk = 0
            for s in g["steps"]:
                st = s["state"]
                mv = [b for b in st["bombs"] if b["moving_direction"] is not None]
                moving_bomb_steps += len(mv)
                moving_states += bool(mv)
                old = {(tuple(b["position"]), b["moving_direction"]) for b in prev["bombs"]}
                for b in mv:
                    dr, dc = DIRS[b["moving_direction"]]
                    back = (b["position"][0] - dr, b["position"][1] - dc)
                    if (back, b["moving_direction"]) not in old:
                        gk += 1
                for a0, a1 in zip(prev["agents"], st["agents"]):
                    deaths += a0["is_alive"] and not a1["is_alive"]
                    max_bs = max(max_bs, a1["blast_strength"])
                prev = st
            kicks += gk
            kick_games += gk > 0
    lengths.sort()
    return {
        "file": path,
        "games": games,
        "game_types": dict(types),
        "steps": steps,
        "game_len_min_median_max": [lengths[0], lengths[len(lengths) // 2], lengths[-1]]
        if lengths else None,
        "kicks_inferred": kicks,
        "games_with_kicks": kick_games,
        "states_with_moving_bomb": moving_states,
        "moving_bomb_steps": moving_bomb_steps,
        "deaths": deaths,
        "max_agent_blast_strength": max_bs,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--playground", help="checkout holding the pommerman package")
    ap.add_argument("--game-type", choices=sorted(ENV_IDS), default="FFA")
    ap.add_argument("--agents", choices=["random", "simple"], default="random")
    ap.add_argument("--games", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0, help="game i uses seed SEED + i")
    ap.add_argument("--out", help="output .jsonl or .jsonl.gz")
    ap.add_argument("--all-can-kick", action="store_true",
                    help="give every agent can_kick=True right after reset (recorded in initial)")
    ap.add_argument("--num-items", type=int, default=None,
                    help="items hidden under wood (stock 20; at most the 36 wood walls)")
    ap.add_argument("--note", default=None, help="extra text appended to each line's note")
    ap.add_argument("--stats", nargs="+", metavar="FILE", help="only print stats of these files")
    args = ap.parse_args(argv)

    if args.stats:
        print(json.dumps([file_stats(p) for p in args.stats]))
        return 0
    if not args.playground or not args.out:
        ap.error("--playground and --out are required when recording")

    bench = _load_bench_module()
    try:
        pommerman, meta = bench.load_pommerman(args.playground)
    except RuntimeError as exc:
        print(f"record_pommerman: {exc}", file=sys.stderr)
        return 2

    agent_name = {"simple": "SimpleAgent", "random": "RandomAgent"}[args.agents]
    mbs = "4 (= agent_view_size, as the env passes it)" if args.game_type == "Team" else "10"
    note = (f"original playground {ENV_IDS[args.game_type]}, 4 {agent_name}s, "
            f"ForwardModel.step max_blast_strength={mbs}")
    changes = []
    if args.all_can_kick:
        changes.append("all agents start with can_kick=True (set after reset)")
    if args.num_items is not None:
        changes.append(f"num_items={args.num_items} instead of 20")
    note += "; changed: " + ", ".join(changes) if changes else "; stock env, nothing changed"
    if args.note:
        note += "; " + args.note

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    op = gzip.open if args.out.endswith(".gz") else open
    totals = Counter()
    results = Counter()
    lengths = []
    with op(args.out, "wt") as f:
        for i in range(args.games):
            line, st = record_game(pommerman, bench, args.game_type, args.agents, args.seed + i,
                                   args.all_can_kick, args.num_items, note)
            f.write(json.dumps(line, separators=(",", ":")) + "\n")
            totals["kicks"] += st["kicks"]
            totals["chained_bombs"] += st["chained_bombs"]
            totals["games_with_kicks"] += st["kicks"] > 0
            totals["games_hit_max_steps"] += st["hit_max_steps"]
            results[st["result"] + (str(st["winners"]) if st["winners"] else "")] += 1
            lengths.append(len(line["steps"]))
    summary = {"out": args.out, "note": note, "playground": meta, **dict(totals),
               "results": dict(results)}
    summary.update({k: v for k, v in file_stats(args.out).items() if k != "file"})
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
