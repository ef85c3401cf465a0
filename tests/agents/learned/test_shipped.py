"""The shipped `league` agent: small, loads with torch alone, plays wherever a built-in plays."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

from palaestra.agents.learned.shipped import SHIPPED_BOMBER_AGENTS, shipped_checkpoint  # noqa: E402
from palaestra.agents.registry import bomber_builtins, resolve_bomber_agent  # noqa: E402
from palaestra.cli.main import main  # noqa: E402
from palaestra.errors import UnknownNameError  # noqa: E402


def test_league_ships_as_a_small_torchscript_checkpoint_trained_on_bomber() -> None:
    assert "league" in bomber_builtins() and "league" in SHIPPED_BOMBER_AGENTS
    path = shipped_checkpoint("league")
    assert sorted(p.name for p in path.iterdir()) == ["palaestra.json", "policy.pt"]
    assert sum(p.stat().st_size for p in path.iterdir()) < 5 * 2**20  # a few MB at most
    meta = json.loads((path / "palaestra.json").read_text())
    assert meta["env_id"] == "palaestra/Bomber-v0" and meta["features"]["action_mask"] is True
    # how it was trained and how it played are on record (docs/league.md quotes them)
    results = meta["results"]
    assert results["train_command"].startswith("palaestra league train --env bomber")
    assert results["train_seed"] == meta["train_config"]["seed"]
    tally = results["eval"]
    assert tally["opponent"] == "simple" and tally["games"] >= 1000
    assert tally["wins"] + tally["ties"] + tally["losses"] == tally["games"]
    with pytest.raises(UnknownNameError, match="shipped: league"):
        shipped_checkpoint("nobody")


def test_it_loads_with_torch_alone_without_ray() -> None:
    code = ("import sys; from palaestra.agents.registry import make_bomber_builtin; "
            "a = make_bomber_builtin('league'); print(a.name, a.masked, 'ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["league", "True", "False"]


@pytest.mark.parametrize("mode", ["ffa", "team", "team_radio"])
def test_bomber_play_seats_it_in_every_mode(mode: str, tmp_path: Path) -> None:
    out = tmp_path / "games.json"
    argv = ["bomber", "play", "--agent", "league", "--agent", "simple", "--agent", "league",
            "--agent", "simple", "--mode", mode, "--games", "1", "--json", str(out)]
    assert main(argv) == 0
    game = json.loads(out.read_text())[0]
    assert game["agents"] == ["league", "simple", "league", "simple"] and game["steps"] > 0


def test_the_same_seed_plays_the_same_game() -> None:
    from palaestra.envs.bomber.config import BomberConfig
    from palaestra.evaluation.bomber import play_bomber_game

    def game() -> tuple[int, list[int]]:
        agents = [resolve_bomber_agent(n) for n in ("league", "simple", "simple", "simple")]
        r = play_bomber_game(agents, BomberConfig(), seed=4)
        return r.steps, r.winners

    assert game() == game()


def test_it_passes_the_sandbox_probe_within_the_memory_limit() -> None:
    # as a checkpoint submission, the same files play one probe game in the sandbox, under the
    # default limits (jailed where bubblewrap works, in a limited process otherwise)
    from palaestra.agents.sandbox.submission import validate_submission

    info = validate_submission(f"checkpoint:{shipped_checkpoint('league')}", "bomber", name="lg")
    assert info.name == "lg"


def test_tournaments_and_human_play_take_it_by_name(tmp_path: Path, trust_flags: list[str]) -> None:
    db = str(tmp_path / "t.sqlite")
    argv = ["tournament", "--db", db, "run", "--env", "bomber", "--name", "cup", "--agent", "league",
            "--agent", "simple", "--agent", "random", "--agent", "static", "--rounds", "1",
            "--workers", "1", "--seed", "3", *trust_flags]
    assert main(argv) == 0
    assert main(["tournament", "--db", db, "leaderboard", "--name", "cup", "--json",
                 str(tmp_path / "cup.json")]) == 0
    table = json.loads((tmp_path / "cup.json").read_text())
    assert "league" in {row["player"] for row in table["leaderboard"]}



def test_a_human_can_play_against_it(tmp_path: Path) -> None:
    pygame = pytest.importorskip("pygame")
    from palaestra.evaluation.replay import load_replay
    from palaestra.viewer.human import HumanGameConfig, play_human_game

    config = HumanGameConfig(("league", "simple", "league"), turn_based=True, seed=2,
                             out=tmp_path / "h.json.gz")
    frames = [[pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SPACE)] for _ in range(5)]
    result = play_human_game(config, events=frames)
    replay = load_replay(result.replay_path)  # re-simulated and verified on load
    assert replay.agents == ["human", "league", "simple", "league"] and result.steps == 5


def test_the_team_learner_ships_and_beats_two_simple_agents_in_team_games() -> None:
    """league-team: one module for both seats of a side; against a SimpleAgent pair (sides
    rotated) it wins most team games (90 of 100 at seed 0 when shipped; 903 of 1,000 at 2026)."""
    from palaestra.evaluation.versus import play_versus

    assert "league-team" in bomber_builtins() and "league-team" in SHIPPED_BOMBER_AGENTS
    meta = json.loads((shipped_checkpoint("league-team") / "palaestra.json").read_text())
    assert meta["results"]["eval"]["games"] == 1000 and meta["train_config"]["mode"] == "team"
    tally = play_versus("league-team", "simple", games=20, seed=0, mode="team")
    assert tally.wins >= 12, tally
