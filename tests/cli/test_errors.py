"""How the command line reports errors: a user's mistake is one `error: ...` line and exit status
2; a bug keeps its traceback; `--debug` shows the traceback of everything."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from palaestra.cli import envs
from palaestra.cli.main import COMMANDS, build_parser, main
from palaestra.errors import MissingExtraError, UnknownNameError


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


def test_an_unknown_env_is_one_error_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "evaluate", "chess", "--agent", "optimal")
    assert code == 2
    assert out.startswith("error: unknown environment 'chess'; known: kelly")
    assert "Traceback" not in out


def test_a_missing_file_is_an_error_not_a_traceback(capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    code, out = run(capsys, "tournament", "--db", str(tmp_path / "t.sqlite"), "submit",
                    str(tmp_path / "nothing.py"), "--name", "x", "--env", "bomber")
    assert code == 2 and out.startswith("error: ") and "nothing.py" in out


def test_a_bug_propagates_with_its_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(args: object, console: object) -> int:
        return 1 // 0

    monkeypatch.setattr(envs, "_cmd_envs", broken)
    with pytest.raises(ZeroDivisionError):
        main(["envs"])


def test_a_plain_value_error_is_a_bug_too(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(args: object, console: object) -> int:
        raise ValueError("an internal invariant")

    monkeypatch.setattr(envs, "_cmd_envs", broken)
    with pytest.raises(ValueError, match="an internal invariant"):
        main(["envs"])


def test_a_bug_prints_its_traceback_from_the_entry_point() -> None:
    program = ("import palaestra.cli.envs as e, sys\n"
               "e._cmd_envs = lambda args, console: 1 // 0\n"
               "from palaestra.cli.main import main\n"
               "sys.exit(main(['envs']))\n")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert done.returncode == 1
    assert "Traceback" in done.stderr and "ZeroDivisionError" in done.stderr
    assert "error:" not in done.stdout


def test_debug_reraises_a_user_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UnknownNameError, match="unknown environment 'chess'"):
        main(["--debug", "evaluate", "chess", "--agent", "optimal"])
    assert "error:" not in capsys.readouterr().out


def test_debug_is_documented_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "--debug" in capsys.readouterr().out


def test_ctrl_c_exits_130(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(args: object, console: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(envs, "_cmd_envs", interrupted)
    code, out = run(capsys, "envs")
    assert code == 130 and "interrupted" in out


def test_the_missing_extra_message_keeps_its_brackets(capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def needs_ray(args: object, console: object) -> int:
        raise MissingExtraError("rllib", "palaestra league train", "ray")

    monkeypatch.setattr(envs, "_cmd_envs", needs_ray)
    code, out = run(capsys, "envs")
    assert code == 2
    assert " ".join(out.split()) == ("error: palaestra league train needs the [rllib] extra (ray is not "
                                     "installed): pip install 'palaestra[rllib]'")


@pytest.mark.parametrize(
    "argv, missing, extra",
    [
        (["league", "train", "--env", "kelly", "--out", "{tmp}"], "ray", "rllib"),
        (["es", "train", "--env", "kelly", "--out", "{tmp}"], "ray", "rllib"),
        (["train", "kelly", "--out", "{tmp}"], "stable_baselines3", "sb3"),
        (["train", "kelly", "--backend", "rllib", "--out", "{tmp}"], "ray", "rllib"),
        (["prefs", "train", "--env", "kelly", "--out", "{tmp}"], "stable_baselines3", "sb3"),
        (["replay", "export", "{tmp}/r.json.gz", "--gif", "{tmp}/r.gif"], "pygame", "viewer"),
        (["play", "bomber", "--vs", "simple", "simple", "simple"], "pygame", "viewer"),
        (["bomber", "play", "--agent", "simple", "--png", "{tmp}/x.png"], "pygame", "viewer"),
    ],
)
def test_a_command_without_its_extra_says_what_to_install(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    argv: list[str], missing: str, extra: str,
) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None):  # type: ignore[no-untyped-def]
        return None if name.split(".")[0] == missing else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    out_dir = tmp_path / "out"
    code, out = run(capsys, *(a.replace("{tmp}", str(out_dir)) for a in argv))
    out = " ".join(out.split())  # the console wraps long lines
    assert code == 2
    assert f"needs the [{extra}] extra ({missing} is not installed)" in out
    assert f"pip install 'palaestra[{extra}]'" in out
    assert not out_dir.exists()  # refused before anything was written


def test_only_the_command_run_is_built_and_the_help_is_the_same() -> None:
    assert build_parser([]).format_help() == build_parser().format_help()
    names = [c.name for c in COMMANDS]
    assert names == ["envs", "solve", "evaluate", "train", "bomber", "tournament", "replay", "play",
                     "league", "es", "prefs"]


@pytest.mark.parametrize("command", [c.name for c in COMMANDS])
def test_every_command_builds_its_help(capsys: pytest.CaptureFixture[str], command: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("usage: palaestra " + command)
