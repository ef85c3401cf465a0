"""Training counting policies: determinism, saving, plotting; the slow test checks extrapolation."""

import json

import numpy as np
import pytest
import torch

from palaestra.agents.learned.nalu import CountingPolicyAgent
from palaestra.envs.counting import GridCountingEnv
from palaestra.league.training.counting import (
    CountingTrainConfig,
    candidate_seed,
    evaluate_counting_policy,
    load_counting_policy,
    save_counting_run,
    train_counting,
)
from palaestra.league.training.counting_compare import (
    load_results,
    plot_extrapolation,
    run_comparison,
)

TINY = dict(updates=6, batch_episodes=16, eval_t_min=5, eval_t_max=8, eval_episodes=20,
            log_every=3)


def test_same_seed_same_weights_and_results():
    a = train_counting(CountingTrainConfig(kind="nac", seed=3, **TINY))
    b = train_counting(CountingTrainConfig(kind="nac", seed=3, **TINY))
    c = train_counting(CountingTrainConfig(kind="nac", seed=4, **TINY))
    assert a.success_by_t == b.success_by_t and a.curve == b.curve
    for pa, pb in zip(a.policy.parameters(), b.policy.parameters()):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)
    assert any(not torch.equal(pa, pc) for pa, pc in zip(a.policy.parameters(),
                                                         c.policy.parameters()))
    assert sorted(a.success_by_t) == [5, 6, 7, 8]
    assert [p["update"] for p in a.curve] == [3, 6]
    for t, fractions in a.outcomes_by_t.items():
        assert sum(fractions.values()) == pytest.approx(1.0)
        assert fractions.get("on_time", 0.0) == pytest.approx(a.success_by_t[t])


def test_training_changes_the_policy_and_uses_the_training_range():
    result = train_counting(CountingTrainConfig(kind="lstm", seed=0, **TINY))
    assert result.train_seconds > 0 and result.policy is not None
    assert 0.0 <= result.train_range_success <= 1.0


def test_save_and_load_round_trip(tmp_path):
    result = train_counting(CountingTrainConfig(kind="nac", seed=1, **TINY))
    out = save_counting_run(result, tmp_path / "run")
    saved = json.loads((out / "result.json").read_text())
    assert saved["kind"] == "nac" and saved["success_by_T"]["5"] == result.success_by_t[5]
    policy = load_counting_policy(out)
    again, _ = evaluate_counting_policy(policy, range(5, 9), 20,
                                        seed=1 + 1_000_003, greedy=True)
    assert again == result.success_by_t
    # the loaded policy plays as an agent too
    agent = CountingPolicyAgent(policy)
    env = GridCountingEnv()
    obs, _ = env.reset(seed=0)
    agent.reset(np.random.default_rng(0))
    assert env.action_space.contains(agent.act(obs))


def test_load_refuses_what_is_not_a_policy(tmp_path):
    with pytest.raises(ValueError, match="missing policy.pt"):
        load_counting_policy(tmp_path)
    (tmp_path / "policy.pt").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="not a readable counting policy"):
        load_counting_policy(tmp_path)


def test_comparison_and_plot(tmp_path):
    results = run_comparison(["lstm", "nac"], [0, 1], CountingTrainConfig(**TINY))
    assert [(r.config.kind, r.config.seed) for r in results] == [
        ("lstm", 0), ("lstm", 1), ("nac", 0), ("nac", 1)]
    in_two = run_comparison(["lstm", "nac"], [0, 1], CountingTrainConfig(**TINY), workers=2)
    assert [r.success_by_t for r in in_two] == [r.success_by_t for r in results]
    png = plot_extrapolation(results, tmp_path / "x.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="no results"):
        plot_extrapolation([], tmp_path / "y.png")


def test_nau_training_keeps_its_weights_in_range_and_follows_its_schedule():
    config = CountingTrainConfig(kind="nau", seed=2, **TINY)
    assert config.gain_value == 1.0 and config.decays_lr
    assert CountingTrainConfig(kind="nac").gain_value == 20.0
    assert not CountingTrainConfig(kind="nac").decays_lr
    assert config.regularizer_schedule().weight(1.0) == config.regularizer
    a, b = train_counting(config), train_counting(config)
    assert a.success_by_t == b.success_by_t
    for unit in (a.policy.core, a.policy.head):
        assert float(unit.weight.abs().max()) <= 1.0
    for pa, pb in zip(a.policy.parameters(), b.policy.parameters()):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)
    # without the regulariser the run differs (it is on in the last updates of six)
    free = train_counting(CountingTrainConfig(kind="nau", seed=2, regularizer=0.0, **TINY))
    assert any(not torch.equal(pa, pf) for pa, pf in zip(a.policy.parameters(),
                                                         free.policy.parameters()))


def test_restarts_keep_the_candidate_best_on_the_held_out_T():
    one = train_counting(CountingTrainConfig(kind="nau", seed=5, **TINY))
    config = CountingTrainConfig(kind="nau", seed=5, restarts=3, select_t_min=6, select_t_max=7,
                                 select_episodes=20, **TINY)
    picked = train_counting(config)
    seeds = [c["seed"] for c in picked.selection]
    assert seeds[0] == 5 == candidate_seed(5, 0) and len(set(seeds)) == 3
    assert seeds == [candidate_seed(5, i) for i in range(3)]
    scores = [c["held_out_success"] for c in picked.selection]
    chosen = [i for i, c in enumerate(picked.selection) if c.get("chosen")]
    assert len(chosen) == 1 and scores[chosen[0]] == max(scores)
    # among equal held-out success, the weights nearest to -1, 0 and 1; then the earliest
    residuals = [round(c["residual"], 4) for c in picked.selection]
    best = [i for i, s in enumerate(scores) if s == max(scores)]
    tied = [i for i in best if residuals[i] == min(residuals[j] for j in best)]
    assert chosen[0] == tied[0]
    assert picked.selection[chosen[0]]["residual"] == float(
        picked.policy.sparsity_penalty().detach())
    assert all(sorted(c["held_out_by_T"]) == ["6", "7"] for c in picked.selection)
    # the kept policy is the chosen candidate's own run, evaluated on the same unseen episodes
    alone = train_counting(CountingTrainConfig(kind="nau", seed=seeds[chosen[0]], **TINY))
    for pa, pb in zip(picked.policy.parameters(), alone.policy.parameters()):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)
    assert one.selection == [] and picked.to_dict()["selection"] == picked.selection
    assert picked.config.seed == 5 and picked.to_dict()["config"]["restarts"] == 3
    results = run_comparison(["nac", "nau"], [5], CountingTrainConfig(**TINY), restarts={"nau": 2})
    assert [r.config.restarts for r in results] == [1, 2]


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"kind": "gru"}, "kind must be one of"),
        ({"updates": 0}, "updates must be a positive integer"),
        ({"t_min": 9, "t_max": 5}, "t_min <= t_max"),
        ({"learning_rate": -1.0}, "must be positive"),
        ({"gain": 0.0}, "gain must be positive"),
        ({"regularizer": -1.0}, "regulariser strength"),
        ({"regularizer_start": 0.8, "regularizer_end": 0.5}, "regulariser schedule"),
        ({"restarts": 0}, "restarts must be a positive integer"),
        ({"select_t_min": 14, "select_t_max": 13}, "select_t_min <= select_t_max"),
    ],
)
def test_bad_config_is_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        CountingTrainConfig(**overrides)


@pytest.mark.slow
def test_nac_policy_extrapolates_beyond_the_training_range():
    """Trained on T in 5..12, the NAC policy stays on time far beyond 12; the LSTM does not."""
    nac = train_counting(CountingTrainConfig(kind="nac", seed=0, eval_episodes=200))
    lstm = train_counting(CountingTrainConfig(kind="lstm", seed=0, eval_episodes=200))
    assert nac.train_range_success >= 0.85
    assert nac.success_by_t[19] >= 0.5
    assert nac.success_by_t[19] > lstm.success_by_t[19] + 0.3


@pytest.mark.slow
def test_nau_policy_counts_exactly_far_beyond_the_training_range():
    """Trained on T in 5..12 (seed 0, one run, no selection), the NAU policy's weights settle on
    -1, 0 and 1 and it stays on time at T=19 and beyond."""
    nau = train_counting(CountingTrainConfig(kind="nau", seed=0, eval_episodes=200))
    assert nau.train_range_success >= 0.95
    assert nau.success_by_t[19] >= 0.9
    assert float(nau.policy.sparsity_penalty().detach()) < 0.02


def _script():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[3] / "scripts" / "counting_extrapolation.py"
    spec = importlib.util.spec_from_file_location("counting_extrapolation", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_runs_trained_apart_merge_into_one_table(tmp_path, capsys):
    script = _script()
    small = ["--updates", "4", "--batch-episodes", "8", "--eval-t-max", "8",
             "--eval-episodes", "10", "--seeds", "0"]
    assert script.main(["--kinds", "lstm", *small, "--out", str(tmp_path / "a")]) == 0
    assert script.main(["--kinds", "nac", *small, "--out", str(tmp_path / "b")]) == 0
    alone = load_results(tmp_path / "b" / "results.json")
    assert [(r.config.kind, r.config.seed) for r in alone] == [("nac", 0)]
    assert sorted(alone[0].success_by_t) == [5, 6, 7, 8]

    out = tmp_path / "ab"
    assert script.main(["--merge", str(tmp_path / "a"), str(tmp_path / "b"),
                        "--out", str(out)]) == 0
    merged = json.loads((out / "results.json").read_text())
    assert [(r["kind"], r["config"]["seed"]) for r in merged["runs"]] == [("lstm", 0), ("nac", 0)]
    assert merged["runs"][1]["success_by_T"] == json.loads(
        (tmp_path / "b" / "results.json").read_text())["runs"][0]["success_by_T"]
    assert (out / "extrapolation.png").read_bytes()[:4] == b"\x89PNG"

    # the same run twice, runs trained differently, a folder without results: refused
    capsys.readouterr()
    assert script.main(["--merge", str(tmp_path / "a"), str(tmp_path / "a"),
                        "--out", str(tmp_path / "x")]) == 2
    assert "runs given twice" in capsys.readouterr().out
    assert script.main(["--kinds", "nau", *small[:-2], "--seeds", "1", "--updates", "5",
                        "--out", str(tmp_path / "c")]) == 0
    capsys.readouterr()
    assert script.main(["--merge", str(tmp_path / "a"), str(tmp_path / "c"),
                        "--out", str(tmp_path / "x")]) == 2
    assert "['updates']" in capsys.readouterr().out
    assert script.main(["--merge", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")]) == 2
    assert "no such file" in capsys.readouterr().out
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "results.json").write_text('{"runs": [{"kind": "nau"}]}')
    assert script.main(["--merge", str(tmp_path / "bad"), "--out", str(tmp_path / "x")]) == 2
    assert "not a counting results file" in capsys.readouterr().out
