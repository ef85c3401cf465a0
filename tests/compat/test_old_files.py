"""Files written by palaestra 0.1.0, before the layout change, still load and give the same answers.

tests/fixtures/v0_1_0/README.md says how each was made. Every test works on a copy in tmp_path:
the fixtures are never written to.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from palaestra.cli.main import main

OLD = Path(__file__).resolve().parents[1] / "fixtures" / "v0_1_0"


def _copy(name: str, tmp_path: Path) -> Path:
    src = OLD / name
    dst = tmp_path / name
    if src.is_dir():
        shutil.copytree(src, dst)
    else:
        shutil.copy2(src, dst)
    return dst


def _run(*argv: str) -> None:
    assert main(list(argv)) == 0, argv


@pytest.mark.parametrize("name", ["bomber_replay.json.gz", "kelly_replay.json.gz"])
def test_old_replays_load_and_verify(name: str, tmp_path: Path) -> None:
    from palaestra.evaluation.replay import load_replay

    path = _copy(name, tmp_path)
    replay = load_replay(path, verify=True)  # re-simulates and checks the recorded outcome
    recorded = json.loads(gzip.decompress((OLD / name).read_bytes()))
    assert replay.env_id == recorded["env_id"]
    assert replay.seed == recorded["seed"]


def test_old_tournament_database_gives_the_same_tables(tmp_path: Path) -> None:
    db = _copy("tournament.sqlite", tmp_path)
    for name, table in (("demo", "tournament_demo_table.json"), ("k", "tournament_k_table.json")):
        out = tmp_path / f"{name}.json"
        _run("tournament", "--db", str(db), "leaderboard", "--name", name, "--json", str(out))
        assert json.loads(out.read_text()) == json.loads((OLD / table).read_text())


@pytest.mark.parametrize("seed", [[], ["--seed", "0"]], ids=["stored seed", "given seed"])
def test_an_old_tournament_resumes_with_its_32_bit_match_seeds(
        seed: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = _copy("tournament.sqlite", tmp_path)
    _run("tournament", "--db", str(db), "run", "--env", "kelly", "--name", "k", "--agent", "kelly",
         "--agent", "optimal", "--rounds", "1", *seed)
    out = capsys.readouterr().out
    assert "resumed k: 0 played now, 1 already recorded" in out, out
    assert "seed 0" in out


def test_old_tournament_database_still_serves_its_replays(tmp_path: Path) -> None:
    from palaestra.evaluation.replay import load_replay

    db = _copy("tournament.sqlite", tmp_path)
    match = json.loads((OLD / "tournament_demo_table.json").read_text())["matches"][0]["match_id"]
    out = tmp_path / "match.json.gz"
    _run("tournament", "--db", str(db), "replay", "--name", "demo", "--match", str(match), "--out", str(out))
    assert load_replay(out, verify=True).seed == load_replay(OLD / "bomber_replay.json.gz").seed


def test_old_league_state_gives_the_same_table(tmp_path: Path) -> None:
    run = _copy("league", tmp_path)
    expected = json.loads((run / "league_table.json").read_text())
    (run / "league_table.json").unlink()
    plots = tmp_path / "plots"
    _run("league", "table", "--out", str(run), "--plots", str(plots))
    assert json.loads((plots / "league_table.json").read_text()) == expected


def test_old_kelly_checkpoint_plays_as_it_did(tmp_path: Path) -> None:
    pytest.importorskip("stable_baselines3", reason="the Kelly checkpoint is an SB3 model ([sb3] extra)")
    from palaestra.agents.learned.checkpoints import load_kelly_checkpoint
    from palaestra.envs.kelly.env import KellyCoinflipEnv
    from palaestra.evaluation.kelly import evaluate_kelly

    ckpt = _copy("kelly-ckpt", tmp_path)
    recorded = json.loads((ckpt / "evaluation.json").read_text())
    agent = load_kelly_checkpoint(ckpt, env_id=recorded["env_id"])
    result = evaluate_kelly(KellyCoinflipEnv(), agent, recorded["env_id"],
                            episodes=recorded["episodes"], seed=recorded["seed"])
    assert result.mean_wealth == pytest.approx(recorded["mean_wealth"], abs=1e-9)
    assert result.cap_rate == recorded["cap_rate"]
    assert result.mean_rounds == pytest.approx(recorded["mean_rounds"], abs=1e-9)
