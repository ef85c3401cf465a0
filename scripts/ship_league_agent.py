#!/usr/bin/env python
"""Ship a league member as a built-in agent: write src/palaestra/agents/learned/shipped/NAME/.

It exports the member (``palaestra league export``), keeps only the TorchScript policy and the
metadata (no RLlib module: the built-in loads with torch alone and stays a few MB), and records in
``palaestra.json`` how it was trained (the league's config and the command) and how it played
(the ``palaestra league eval --json`` or ``palaestra bomber versus --json`` rows given).

    python scripts/ship_league_agent.py --out runs/league-ffa --member m0 \\
        --command "palaestra league train ..." --eval runs/league-ffa/eval.json
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from palaestra.agents.learned.bomber import TORCHSCRIPT_FILE
from palaestra.agents.learned.checkpoints import CheckpointMeta
from palaestra.agents.learned.shipped import SHIPPED_BOMBER_AGENTS, SHIPPED_DIR
from palaestra.league.population.eval import export_member


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="the league's run directory")
    parser.add_argument("--member", required=True)
    parser.add_argument("--name", default="league", choices=sorted(SHIPPED_BOMBER_AGENTS))
    parser.add_argument("--command", required=True, help="the exact command that trained the league")
    parser.add_argument("--eval", type=Path, required=True,
                        help="JSON rows of `league eval --json` (the member's row is kept)")
    args = parser.parse_args()
    rows = json.loads(args.eval.read_text())
    row = next((r for r in rows if r["agent"] == args.member), None)
    if row is None:
        raise SystemExit(f"{args.eval} has no row for {args.member}")
    target = SHIPPED_DIR / args.name
    with tempfile.TemporaryDirectory() as tmp:
        exported = export_member(args.out, args.member, Path(tmp) / "member")
        meta = CheckpointMeta.read(exported)
        results = {"member": args.member, "iteration": meta.results.get("iteration"),
                   "train_command": args.command, "train_seed": meta.train_config.get("seed"),
                   "eval": {k: row[k] for k in ("opponent", "games", "wins", "ties", "losses", "seed")}}
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        shutil.copy(exported / TORCHSCRIPT_FILE, target / TORCHSCRIPT_FILE)
        CheckpointMeta(env_id=meta.env_id, backend=meta.backend, algo=meta.algo, features=meta.features,
                       package_version=meta.package_version, train_config=meta.train_config,
                       results=results).write(target)
    size = sum(p.stat().st_size for p in target.iterdir())
    print(f"shipped {args.member} of {args.out} as {args.name!r} in {target} ({size / 2**20:.2f} MB)")


if __name__ == "__main__":
    main()
