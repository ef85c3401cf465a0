"""The `palaestra` command line, as a user types it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from palaestra.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


def test_entry_point_help_lists_the_subcommands() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "palaestra", "--help"], capture_output=True, text=True, check=True
    )
    for command in ("envs", "solve", "evaluate", "train"):
        assert command in done.stdout
    assert "examples:" in done.stdout


@pytest.mark.parametrize("command", ["envs", "solve", "evaluate", "train"])
def test_every_subcommand_has_help(capsys: pytest.CaptureFixture[str], command: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert "usage: palaestra " + command in capsys.readouterr().out


def test_envs_lists_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    from palaestra.envs import ENVS

    code, out = run(capsys, "envs")
    assert code == 0
    for spec in ENVS:
        assert spec.env_id in out


def test_solve_prints_the_exact_value(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "solve", "kelly")
    assert code == 0
    assert "$246.606293" in out


def test_evaluate_scripted_agents_writes_json(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "eval.json"
    code, out = run(capsys, "evaluate", "kelly", "--agent", "optimal", "--agent", "kelly",
                    "--episodes", "500", "--json", str(target))
    assert code == 0, out
    rows = json.loads(target.read_text())
    assert [r["agent"] for r in rows] == ["optimal", "kelly"]
    assert rows[0]["optimum"] == pytest.approx(246.606293, abs=1e-6)
    assert rows[0]["mean_wealth"] > rows[1]["mean_wealth"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["evaluate", "kelly", "--agent", "nobody"], "nobody"),
        (["evaluate", "chess", "--agent", "optimal"], "chess"),
        (["evaluate", "kelly", "--agent", "./no/such/dir"], "does not exist"),
        (["evaluate", "kelly", "--agent", "optimal", "--episodes", "0"], "episodes"),
        (["train", "kelly", "--timesteps", "0", "--out", "unused"], "timesteps"),
    ],
)
def test_bad_input_exits_2_naming_the_problem(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out = run(capsys, *argv)
    assert code == 2
    assert "error:" in out and message in out


def test_train_then_evaluate_the_checkpoint(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_dir = tmp_path / "run"
    train = ["train", "kelly", "--timesteps", "256", "--n-envs", "1", "--out", str(out_dir),
             "--eval-episodes", "100", "--no-tensorboard"]
    code, out = run(capsys, *train)
    assert code == 0, out
    assert "checkpoint saved" in out
    code, out = run(capsys, "evaluate", "kelly", "--agent", str(out_dir), "--episodes", "100",
                    "--json", str(tmp_path / "e.json"))
    assert code == 0, out
    assert json.loads((tmp_path / "e.json").read_text())[0]["agent"] == "ppo-sb3:run"
    # a second run into the same directory is refused and the first one is kept
    code, out = run(capsys, *train)
    assert code == 2 and "--force" in out
    assert (out_dir / "model.zip").is_file()
    code, out = run(capsys, "evaluate", "kelly-generalized", "--agent", str(out_dir),
                    "--episodes", "10")
    assert code == 2 and "trained on palaestra/KellyCoinflip-v0" in out
