"""The preference loop end to end, labels from tournament replays, training on a reward model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from palaestra.cli.main import main
from palaestra.league.prefs.labels import LabelStore
from palaestra.league.prefs.replay_labels import kelly_replay_segment, labels_from_tournament
from palaestra.league.prefs.run import PrefsConfig, PrefsRun


@pytest.fixture(scope="module")
def kelly_tournament(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("t") / "t.sqlite"
    assert main(["tournament", "--db", str(db), "run", "--env", "kelly", "--name", "cup",
                 "--agent", "kelly", "--agent", "random", "--agent", "fraction:0.1",
                 "--rounds", "2"]) == 0
    return db


def test_replays_become_labels_ranked_by_the_match(kelly_tournament: Path, tmp_path: Path) -> None:
    from palaestra.evaluation.store import TournamentStore

    with LabelStore(tmp_path / "l.sqlite") as store:
        got = labels_from_tournament(kelly_tournament, "cup", store)
        comps = store.comparisons("kelly")
    assert got.matches > 0 and got.labels == len(comps) > 0
    with TournamentStore(kelly_tournament) as t:
        row = t.matches("cup", status="done")[0]
        games = t.replay(row["match_id"])["games"]
    segs = [kelly_replay_segment(g) for g in games]
    # the re-simulated increments add up to each agent's final wealth ($25 at the start)
    for seg, final in zip(segs, row["result"]["scores"]):
        assert 25.0 + seg.true_return * 250.0 == pytest.approx(final, abs=1e-6)
    ranks = row["result"]["ranks"]
    first = comps[0]
    assert first.label == (0.5 if ranks[0] == ranks[1] else 1.0 if ranks[0] < ranks[1] else 0.0)
    assert first.left.length == first.right.length  # the shorter game is padded
    with pytest.raises(ValueError, match="no finished match"):
        with LabelStore(tmp_path / "l2.sqlite") as store:
            labels_from_tournament(kelly_tournament, "nope", store)
    assert main(["prefs", "import-replays", "--db", str(kelly_tournament), "--name", "cup",
                 "--labels-db", str(tmp_path / "cli.sqlite")]) == 0
    assert main(["prefs", "import-replays", "--db", str(tmp_path / "none.sqlite"), "--name",
                 "cup", "--labels-db", str(tmp_path / "cli.sqlite")]) == 2


def test_prefs_train_cli_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "prefs"
    args = ["prefs", "train", "--env", "kelly", "--labels", "synthetic", "--budget", "24",
            "--rounds", "2", "--timesteps", "2", "--segment-length", "10", "--eval-episodes",
            "50", "--out", str(out)]
    assert main(args) == 0
    summary = json.loads((out / "prefs_results.json").read_text())
    assert summary["labels"] == 24
    assert [h["labels"] for h in summary["history"]] == [6, 15, 24]
    assert summary["history"][0]["ppo_steps"] == 0 and summary["ppo_steps"] > 0
    assert (out / "reward_model" / "reward_model.pt").is_file()
    assert main(args) == 2  # exists
    # the policy is a palaestra checkpoint; the reward model trains a new policy
    assert main(["evaluate", "kelly", "--agent", str(out), "--episodes", "20"]) == 0
    assert main(["train", "kelly", "--timesteps", "256", "--n-envs", "1", "--eval-episodes",
                 "10", "--no-tensorboard", "--reward-model", str(out / "reward_model"),
                 "--out", str(tmp_path / "ppo")]) == 0
    assert main(["train", "kelly", "--reward-model", str(tmp_path / "nowhere"),
                 "--out", str(tmp_path / "ppo2")]) == 2


def test_human_labels_stop_the_loop_when_the_labeller_quits(tmp_path: Path) -> None:
    calls = []

    def labeller(pairs: list) -> list:  # type: ignore[type-arg]
        calls.append(len(pairs))
        if len(calls) == 1:
            return [1.0 if a.true_return >= b.true_return else 0.0 for a, b in pairs]
        return [None, 0.5]  # skipped one, tied one, then quit

    config = PrefsConfig(env="kelly", labels="human", budget=30, rounds=3, timesteps=3,
                         segment_length=10, eval_episodes=20)
    summary = PrefsRun(config, tmp_path / "h", labeller=labeller).train()
    assert calls == [8, 8]
    assert summary["labels"] == 9 and len(summary["history"]) == 2
    with pytest.raises(ValueError, match="need a labeller"):
        PrefsRun(config, tmp_path / "h2")


def test_config_is_checked() -> None:
    with pytest.raises(ValueError, match="prefs trains on"):
        PrefsConfig(env="bomber")
    with pytest.raises(ValueError, match="less than one label per round"):
        PrefsConfig(budget=3, rounds=5)
    assert sum(PrefsConfig(budget=1000, rounds=10).schedule()) == 1000
    assert PrefsConfig(budget=1000, rounds=10).schedule()[:2] == [250, 75]
    np.testing.assert_array_equal(PrefsConfig(budget=13, rounds=4, initial_fraction=0.3)
                                  .schedule(), [4, 3, 2, 2, 2])


def test_bomber_replays_become_labels_and_a_reward_model(tmp_path: Path, trust_flags: list[str]) -> None:
    """tournament -> import-replays -> fit -> a reward model the Bomber league env pays."""
    from palaestra.evaluation.store import TournamentStore
    from palaestra.league.population.envs.bomber import BomberLeagueEnv
    from palaestra.league.prefs.replay_labels import bomber_replay_segments

    db = tmp_path / "t.sqlite"
    walker = Path(__file__).resolve().parents[3] / "examples" / "bots" / "walker.py"
    assert main(["tournament", "--db", str(db), "submit", str(walker), "--name", "walker",
                 "--env", "bomber"]) == 0
    assert main(["tournament", "--db", str(db), "run", "--env", "bomber", "--name", "ffa",
                 "--agent", "random", "--agent", "static", "--agent", "simple",
                 "--agent", "walker", "--rounds", "1", *trust_flags]) == 0
    labels = tmp_path / "labels.sqlite"
    assert main(["prefs", "import-replays", "--db", str(db), "--name", "ffa",
                 "--labels-db", str(labels)]) == 0
    with TournamentStore(db) as t:
        row = t.matches("ffa", status="done")[0]
        replay = t.replay(row["match_id"])
    segs = bomber_replay_segments(replay, length=8)
    assert [s.length for s in segs] == [8] * 4 and all(s.obs.shape[1] == 2662 for s in segs)
    with LabelStore(labels) as store:
        comps = store.comparisons("bomber")
        n_matches = len(TournamentStore(db).matches("ffa", status="done"))
    assert len(comps) == 6 * n_matches  # every pair of the four FFA seats
    out = tmp_path / "rm"
    assert main(["prefs", "fit", "--labels-db", str(labels), "--env", "bomber", "--out",
                 str(out), "--ensemble", "2", "--epochs", "3"]) == 0
    assert main(["prefs", "fit", "--labels-db", str(labels), "--env", "bomber", "--out",
                 str(out)]) == 2  # exists
    assert main(["prefs", "fit", "--labels-db", str(labels), "--env", "kelly", "--out",
                 str(tmp_path / "rm2")]) == 2  # no kelly labels there
    env = BomberLeagueEnv({"lineups": {"m0": {"bot:static": 1.0}}, "bots": ["bot:static"],
                           "reward_model": str(out)})
    env.reset(seed=0)
    _, rewards, *_ = env.step({"m0": 0})
    assert np.isfinite(rewards["m0"])
