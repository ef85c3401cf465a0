"""The `palaestra` command line, as a user types it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from palaestra.cli.main import main


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


def test_bomber_play_tallies_games_and_is_reproducible(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = ["bomber", "play", "--agent", "simple", "--agent", "random", "--agent", "static",
            "--agent", "random", "--games", "3", "--seed", "5"]
    code, out = run(capsys, *argv, "--json", str(tmp_path / "a.json"), "--png",
                    str(tmp_path / "last.png"))
    assert code == 0, out
    assert "player_0" in out and (tmp_path / "last.png").stat().st_size > 0
    run(capsys, *argv, "--json", str(tmp_path / "b.json"))
    a = json.loads((tmp_path / "a.json").read_text())
    assert a == json.loads((tmp_path / "b.json").read_text())
    assert [g["seed"] for g in a] == [5, 6, 7]
    assert a[0]["agents"] == ["simple", "random", "static", "random"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["bomber", "play", "--agent", "nobody"], "nobody"),
        (["bomber", "play", "--agent", "simple", "--agent", "random"], "4 times"),
        (["bomber", "check", "no/such/file.jsonl"], "no such file"),
    ],
)
def test_bomber_bad_input_exits_2(capsys: pytest.CaptureFixture[str], argv: list[str],
                                  message: str) -> None:
    code, out = run(capsys, *argv)
    assert code == 2 and message in out


def test_bomber_check_reports_a_divergence(capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path) -> None:
    from palaestra.envs.bomber import parallel_env

    env = parallel_env()
    env.reset(seed=2)
    initial = env.get_state_json()
    steps = []
    for _ in range(5):
        actions = [1, 2, 0, 5]
        env.step(dict(zip(env.possible_agents, actions)))
        steps.append({"actions": actions, "state": env.get_state_json()})
    good = {"seed": 2, "game_type": "FFA", "initial": initial, "steps": steps}
    bad = json.loads(json.dumps(good))
    bad["steps"][3]["state"]["agents"][3]["ammo"] = 7
    (tmp_path / "good.jsonl").write_text(json.dumps(good) + "\n")
    (tmp_path / "bad.jsonl").write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    code, out = run(capsys, "bomber", "check", str(tmp_path / "good.jsonl"))
    assert code == 0 and "1 games, 5 steps, 0 diverged" in out
    code, out = run(capsys, "bomber", "check", str(tmp_path / "bad.jsonl"))
    assert code == 1 and "step 4" in out and "agent 3" in out and "1 diverged" in out


def test_tournament_commands_end_to_end(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                        trust_flags: list[str]) -> None:
    db = str(tmp_path / "t.sqlite")
    bot = tmp_path / "bot.py"
    bot.write_text("def agent(obs, config):\n    return 1\n")
    code, out = run(capsys, "tournament", "--db", db, "submit", str(bot), "--name", "up",
                    "--env", "bomber")
    assert code == 0 and "registered up" in out
    broken = tmp_path / "broken.py"
    broken.write_text("def agent(obs config):\n    return 1\n")
    code, out = run(capsys, "tournament", "--db", db, "submit", str(broken), "--name", "b",
                    "--env", "bomber")
    assert code == 2 and "SyntaxError" in out
    code, out = run(capsys, "tournament", "--db", db, "submit", str(bot), "--name", "simple",
                    "--env", "bomber")
    assert code == 2 and "cannot name a submission" in out
    argv = ["tournament", "--db", db, "run", "--env", "bomber", "--name", "cup", "--agent", "up",
            "--agent", "simple", "--agent", "random", "--agent", "static", "--workers", "1", *trust_flags]
    code, out = run(capsys, *argv)
    assert code == 0 and "ran cup: 4 played now" in out and "Leaderboard" in out
    code, out = run(capsys, *argv)
    assert code == 0 and "resumed cup: 0 played now, 4 already recorded" in out
    code, out = run(capsys, "tournament", "--db", db, "leaderboard", "--name", "cup",
                    "--plots", str(tmp_path / "plots"), "--json", str(tmp_path / "cup.json"))
    assert code == 0 and (tmp_path / "plots" / "win_matrix.png").stat().st_size > 0
    table = json.loads((tmp_path / "cup.json").read_text())
    assert {row["player"] for row in table["leaderboard"]} == {"up", "simple", "random", "static"}
    match = table["matches"][0]["match_id"]
    code, out = run(capsys, "tournament", "--db", db, "replay", "--name", "cup", "--match", match,
                    "--out", str(tmp_path / "m.json.gz"))
    assert code == 0 and (tmp_path / "m.json.gz").exists()
    code, out = run(capsys, "tournament", "--db", db, "leaderboard", "--name", "nope")
    assert code == 2 and "no tournament named 'nope'" in out


def _bomber_replay(tmp_path: Path) -> Path:
    from palaestra.envs import env_id
    from palaestra.evaluation.replay import make_replay, save_replay

    actions = [{f"player_{k}": (k + t) % 6 for k in range(4)} for t in range(6)]
    path = tmp_path / "r.json.gz"
    save_replay(make_replay(env_id("bomber"), {}, 3, ["a", "b", "c", "d"], actions), path)
    return path


def test_replay_export_and_view_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    replay = _bomber_replay(tmp_path)
    code, out = run(capsys, "replay", "export", str(replay), "--gif", str(tmp_path / "r.gif"))
    assert code == 0 and "7 frames written" in out
    with Image.open(tmp_path / "r.gif") as gif:
        assert gif.n_frames == 7
    code, out = run(capsys, "replay", "export", str(replay), "--mp4", str(tmp_path / "r.mp4"))
    assert code == 0 and b"ftyp" in (tmp_path / "r.mp4").read_bytes()[:64]
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something else"}')
    code, out = run(capsys, "replay", "export", str(bad), "--gif", str(tmp_path / "x.gif"))
    assert code == 2 and "not a palaestra replay" in out
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER"):
        monkeypatch.delenv(var, raising=False)
    code, out = run(capsys, "replay", "view", str(replay))
    assert code == 2 and "no display" in out and "replay export" in out


def test_play_needs_a_display(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER"):
        monkeypatch.delenv(var, raising=False)
    code, out = run(capsys, "play", "bomber", "--vs", "simple", "random", "static",
                    "--out", str(tmp_path / "h.json"))
    assert code == 2 and "no display" in out
    code, out = run(capsys, "play", "bomber", "--vs", "simple", "random", "nobody")
    assert code == 2


def test_no_help_text_shows_a_doubled_percent_sign() -> None:
    # argparse expands %% in an option's help but prints a parser's description as written
    import argparse

    from palaestra.cli.main import build_parser

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        text = parser.format_help()
        assert "%%" not in text, path
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{path} {name}")

    walk(build_parser(), "palaestra")
