"""The core commands work without the optional extras (torch, Ray, Stable-Baselines3, pygame):
each runs in a fresh interpreter in which those packages cannot be imported, as in a plain
`pip install palaestra`. `make check-core` does the same in a real core-only venv."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXTRAS = ("torch", "ray", "stable_baselines3", "sb3_contrib", "pygame", "tensorboard",
          "imageio_ffmpeg")

PROGRAM = f"""
import sys

class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {EXTRAS!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
from palaestra.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def palaestra(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-c", PROGRAM, *argv], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["envs"], "palaestra/Bomber-v0"),
        (["--help"], "examples:"),
        (["solve", "kelly"], "$246.606293"),
        (["evaluate", "kelly", "--agent", "kelly", "--agent", "optimal", "--episodes", "200"],
         "optimal"),
        (["bomber", "play", "--agent", "simple", "--agent", "random", "--games", "1"], "4 times"),
        (["bomber", "play", "--agent", "simple", "--games", "1"], "player_3"),
        (["prefs", "train", "--help"], "--budget"),
        (["league", "train", "--help"], "--population"),
    ],
)
def test_a_core_command_runs_without_the_extras(tmp_path: Path, argv: list[str],
                                                expected: str) -> None:
    done = palaestra(*argv, cwd=tmp_path)
    assert done.returncode == (2 if expected == "4 times" else 0), done.stdout + done.stderr
    assert expected in done.stdout
    assert "Traceback" not in done.stderr


def test_tournaments_of_scripted_agents_run_without_the_extras(tmp_path: Path, trust_flags: list[str]) -> None:
    db = str(tmp_path / "t.sqlite")
    (tmp_path / "bot.py").write_text("def agent(obs, config):\n    return 1\n")
    done = palaestra("tournament", "--db", db, "submit", "bot.py", "--name", "up", "--env",
                     "bomber", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    done = palaestra("tournament", "--db", db, "run", "--env", "bomber", "--name", "b", "--agent",
                     "up", "--agent", "simple", "--agent", "random", "--agent", "static",
                     "--workers", "1", *trust_flags, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ran b: 4 played now" in done.stdout
    done = palaestra("tournament", "--db", db, "run", "--env", "kelly", "--name", "k", "--agent",
                     "kelly", "--agent", "optimal", "--agent", "capped-kelly", "--workers", "1",
                     cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ran k: 3 played now" in done.stdout
    done = palaestra("tournament", "--db", db, "leaderboard", "--name", "k", cwd=tmp_path)
    assert done.returncode == 0 and "capped-kelly" in done.stdout


@pytest.mark.parametrize(
    "argv, extra",
    [
        (["league", "train", "--env", "kelly", "--out", "run"], "rllib"),
        (["es", "train", "--env", "kelly", "--out", "run"], "rllib"),
        (["train", "kelly", "--out", "run"], "sb3"),
        (["replay", "export", "r.json.gz", "--gif", "r.gif"], "viewer"),
        (["prefs", "train", "--env", "kelly", "--out", "run"], "sb3"),
        (["prefs", "fit", "--env", "kelly", "--labels-db", "l.sqlite", "--out", "run"], "sb3"),
    ],
)
def test_a_command_needing_an_extra_stops_with_the_pip_command(
    tmp_path: Path, argv: list[str], extra: str
) -> None:
    done = palaestra(*argv, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout.startswith("error: ")
    assert f"needs the [{extra}] extra" in done.stdout
    assert f"pip install 'palaestra[{extra}]'" in done.stdout
    assert not (tmp_path / "run").exists()
