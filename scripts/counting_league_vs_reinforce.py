"""Compare a counting league member (`league train --env counting --core nau`) with the REINFORCE
trainer given as many episodes.

Reads how many training episodes the member played (the league's per-iteration returns, kept in
its state), trains the REINFORCE NAU policy (``palaestra.league.training.counting``) for as many
episodes (whole updates of ``--batch-episodes``, rounded up) with the same seed, and evaluates both
greedily on the same unseen episodes for every T of ``--eval-t-min..--eval-t-max``. Writes
``comparison.json`` under ``--out`` and prints the table.

Example (the league first, then the comparison)::

    palaestra league train --env counting --core nau --population 1 --iterations 60 \\
        --steps-per-iteration 4000 --minibatch-size 500 --num-env-runners 0 --seed 0 \\
        --out runs/counting-nau
    .venv/bin/python scripts/counting_league_vs_reinforce.py --league runs/counting-nau \\
        --member m0 --out runs/counting-nau/vs-reinforce
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

from palaestra.errors import PalaestraError
from palaestra.league.training.counting import (
    EVAL_SEED_OFFSET,
    CountingTrainConfig,
    evaluate_counting_policy,
    train_counting,
)

REPORT_TS = (5, 8, 12, 13, 14, 16, 19, 22, 25, 30)


def member_episodes(league: Path, member: str) -> int:
    """Training episodes ``member`` played in the league in ``league`` (from its state)."""
    from palaestra.league.population.layout import RunLayout
    from palaestra.league.population.state import LeagueState

    state = LeagueState.load(RunLayout(league).state)
    rows = state.extra.get("returns", {}).get(member)
    if not rows:
        raise PalaestraError(f"{league}: no training episodes recorded for {member!r} (is this a "
                             "counting league that has trained?)")
    return int(sum(r[2] for r in rows))


def member_policy(league: Path, member: str) -> object:
    """The member's CountingPolicy, from the league's last checkpoint (NAU core only)."""
    from palaestra.league.population.eval import load_member_module

    module = load_member_module(league, member)
    policy = getattr(module, "policy", None)
    if policy is None:
        raise PalaestraError(f"{league}: {member!r} is not an NAU counting module (train the league "
                             "with --core nau)")
    return policy


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--league", type=Path, required=True, help="the counting league's run directory")
    p.add_argument("--member", default="m0", help="the league member to compare (default m0)")
    p.add_argument("--seed", type=int, default=0, help="seed of the REINFORCE run (default 0)")
    p.add_argument("--batch-episodes", type=int, default=CountingTrainConfig.batch_episodes,
                   help="REINFORCE episodes per update")
    p.add_argument("--eval-t-min", type=int, default=5)
    p.add_argument("--eval-t-max", type=int, default=30)
    p.add_argument("--eval-episodes", type=int, default=500, help="evaluation episodes per T")
    p.add_argument("--out", type=Path, required=True, help="where comparison.json goes")
    args = p.parse_args(argv)
    console = Console()
    try:
        episodes = member_episodes(args.league, args.member)
        league_policy = member_policy(args.league, args.member)
        updates = max(1, math.ceil(episodes / args.batch_episodes))
        config = CountingTrainConfig(kind="nau", seed=args.seed, updates=updates,
                                     batch_episodes=args.batch_episodes,
                                     eval_t_min=args.eval_t_min, eval_t_max=args.eval_t_max,
                                     eval_episodes=args.eval_episodes)
    except (PalaestraError, ValueError) as exc:
        console.print(f"[red]error:[/] {exc}", soft_wrap=True)
        return 2
    console.print(f"{args.member} played {episodes:,} training episodes; REINFORCE gets {updates} "
                  f"updates of {args.batch_episodes} ({updates * args.batch_episodes:,} episodes)")
    reinforce = train_counting(config)
    ts = range(args.eval_t_min, args.eval_t_max + 1)
    league_success, league_outcomes = evaluate_counting_policy(
        league_policy, ts, args.eval_episodes, seed=args.seed + EVAL_SEED_OFFSET, greedy=True,  # type: ignore[arg-type]
        env_config=config.env_config(config.t_min, config.t_max))
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / "comparison.json"
    out.write_text(json.dumps({
        "league": str(args.league), "member": args.member, "league_episodes": episodes,
        "reinforce_config": asdict(config),
        "league_success_by_T": {str(t): s for t, s in league_success.items()},
        "league_outcomes_by_T": {str(t): o for t, o in league_outcomes.items()},
        "reinforce_success_by_T": {str(t): s for t, s in reinforce.success_by_t.items()},
    }, indent=2) + "\n")
    table = Table(title=f"greedy success by T ({args.eval_episodes} episodes each; trained on T "
                        f"{config.t_min}..{config.t_max}, about {episodes:,} episodes each)")
    table.add_column("trainer")
    shown = [t for t in REPORT_TS if t in league_success]
    for t in shown:
        table.add_column(f"T={t}", justify="right")
    table.add_row(f"league {args.member} (PPO)", *(f"{league_success[t]:.2f}" for t in shown))
    table.add_row(f"REINFORCE seed {args.seed}",
                  *(f"{reinforce.success_by_t[t]:.2f}" for t in shown))
    console.print(table)
    console.print(f"wrote {out}", soft_wrap=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
