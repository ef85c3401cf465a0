"""Prove that a core-only install of palaestra works (``make check-core`` runs this).

Run it with the Python of a fresh venv into which ``pip install .`` put palaestra without any
extra. It checks that the extras really are absent, that the core commands run, and that a
command needing an extra stops with exit status 2 and the pip command to install it. Exits 1,
naming every failed check, if anything is wrong.

    python -m venv build/core-venv && build/core-venv/bin/pip install .
    build/core-venv/bin/python scripts/check_core.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

EXTRAS = ("torch", "ray", "stable_baselines3", "sb3_contrib", "pygame", "imageio_ffmpeg",
          "tensorboard")


@dataclass(frozen=True)
class Check:
    argv: tuple[str, ...]
    status: int
    expect: str
    """Text the command's output must contain."""


CHECKS = (
    Check(("envs",), 0, "palaestra/Bomber-v0"),
    Check(("solve", "kelly"), 0, "$246.606293"),
    Check(("evaluate", "kelly", "--agent", "kelly", "--agent", "optimal", "--episodes", "1000"), 0,
          "optimal"),
    Check(("bomber", "play", "--agent", "simple", "--games", "1"), 0, "player_3"),
    Check(("tournament", "--db", "t.sqlite", "run", "--env", "kelly", "--name", "core", "--agent",
           "kelly", "--agent", "optimal", "--workers", "1"), 0, "ran core: 1 played now"),
    Check(("tournament", "--db", "t.sqlite", "leaderboard", "--name", "core"), 0, "optimal"),
    Check(("league", "train", "--env", "kelly", "--out", "league"), 2,
          "error: palaestra league train needs the [rllib] extra (ray is not installed): "
          "pip install 'palaestra[rllib]'"),
    Check(("train", "kelly", "--out", "ppo"), 2, "pip install 'palaestra[sb3]'"),
    # the shipped league agent is in the wheel (its files are found) but needs torch to play
    Check(("bomber", "play", "--agent", "league", "--games", "1"), 2,
          "the built-in agent 'league' needs the [rllib] extra (torch is not installed)"),
    Check(("replay", "export", "r.json.gz", "--gif", "r.gif"), 2, "pip install 'palaestra[viewer]'"),
)


def main() -> int:
    failures: list[str] = []
    entry = Path(sys.executable).with_name("palaestra")
    env = {**os.environ, "COLUMNS": "200"}
    # everything runs in an empty directory, so that nothing in the checkout (src/, scripts/ray/)
    # can be imported in place of what the install holds
    with tempfile.TemporaryDirectory(prefix="palaestra-core-") as tmp:
        probe = ("import importlib.util, palaestra.envs, palaestra\n"
                 f"print([m for m in {EXTRAS!r} if importlib.util.find_spec(m)])\n"
                 "print(palaestra.__file__)\n")
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                              cwd=tmp)
        present, _, location = done.stdout.strip().partition("\n")
        if done.returncode != 0:
            failures.append(f"import palaestra.envs failed:\n{done.stderr}")
        elif present != "[]":
            failures.append(f"not a core-only install: {present} can be imported")
        elif "site-packages" not in location:
            failures.append(f"palaestra was imported from {location}, not from the install")
        else:
            print(f"ok    import palaestra.envs ({location}; none of the extras installed)")
        for check in CHECKS:
            start = time.perf_counter()
            done = subprocess.run([str(entry), *check.argv], capture_output=True, text=True,
                                  cwd=tmp, env=env)
            output = done.stdout + done.stderr
            command = "palaestra " + " ".join(check.argv)
            took = f"{time.perf_counter() - start:.1f} s"
            if done.returncode != check.status or check.expect not in output:
                failures.append(f"{command}: exit status {done.returncode} (expected {check.status}), "
                                f"output does not contain {check.expect!r}:\n{output}")
                print(f"FAIL  {command} ({took})")
            else:
                print(f"ok    {command} ({took})")
        for written in ("league", "ppo"):
            if (Path(tmp) / written).exists():
                failures.append(f"a command refused for a missing extra still created {written}/")
    for failure in failures:
        print(f"\n{failure}", file=sys.stderr)
    print("core install: " + ("FAILED" if failures else "all checks passed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
