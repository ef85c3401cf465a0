"""Preference learning pieces: segments, the label store, the oracle, the reward ensemble."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from palaestra.league.prefs.labels import LabelStore, LabelStoreError, SyntheticOracle
from palaestra.league.prefs.reward_model import RewardEnsemble, RewardModelConfig
from palaestra.league.prefs.reward_wrapper import LearnedRewardWrapper
from palaestra.league.prefs.segments import Segment, SegmentError, collect_segments
from palaestra.league.training.config import TrainConfig


def seg(obs: np.ndarray, act: np.ndarray, rew: np.ndarray, **kw: object) -> Segment:
    return Segment("toy", obs, act, rew, **kw)  # type: ignore[arg-type]


def toy_segments(rng: np.random.Generator, n: int, length: int = 5) -> list[Segment]:
    """Obs in [-1, 1]^2, action in [-1, 1]; the true reward is obs[0] * action (act in the
    direction of the first feature)."""
    out = []
    for _ in range(n):
        obs = rng.uniform(-1, 1, (length, 2))
        act = rng.uniform(-1, 1, (length, 1))
        out.append(seg(obs, act, obs[:, 0] * act[:, 0]))
    return out


def test_segment_checks_and_round_trip() -> None:
    s = seg(np.zeros((3, 2)), np.arange(3), np.ones(3), seed=5, start=2, agent="a",
            absorbing=np.array([False, False, True]))
    assert s.actions.shape == (3, 1) and s.true_return == 3.0
    back = Segment.from_bytes(s.to_bytes())
    assert back.env == "toy" and back.seed == 5 and back.start == 2 and back.agent == "a"
    assert np.array_equal(back.absorbing, s.absorbing) and np.array_equal(back.obs, s.obs)
    with pytest.raises(SegmentError, match="rewards"):
        seg(np.zeros((3, 2)), np.zeros(3), np.ones(2))
    with pytest.raises(SegmentError, match="non-finite"):
        seg(np.full((3, 2), np.nan), np.zeros(3), np.ones(3))
    with pytest.raises(SegmentError, match="not a stored segment"):
        Segment.from_bytes(b"garbage")


def test_collect_segments_pads_past_the_end_with_absorbing_steps() -> None:
    env = TrainConfig(reward="increment").make_env()
    rng = np.random.default_rng(0)
    reckless = lambda obs: np.array([10.0], dtype=np.float32)  # noqa: E731  (bets everything)
    segs, steps = collect_segments(env, "kelly", reckless, 20, 25, rng)
    assert len(segs) == 20 and steps > 0
    ended = [s for s in segs if s.absorbing.any()]
    assert ended, "all-in bets end most games within a few rounds"
    for s in ended:
        k = int(np.argmax(s.absorbing))
        assert s.absorbing[k:].all() and (s.obs[k:] == 0).all() and (s.rewards[k:] == 0).all()
    again, _ = collect_segments(env, "kelly", reckless, 20, 25, np.random.default_rng(0))
    assert all(np.array_equal(a.obs, b.obs) for a, b in zip(segs, again))


def test_label_store_keeps_labels_and_refuses_bad_ones(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    a, b, c = toy_segments(rng, 3)
    with LabelStore(tmp_path / "labels.sqlite") as store:
        ia, ib, ic = (store.add_segment(s, "test") for s in (a, b, c))
        store.add_label(ia, ib, 1.0, "human:me")
        store.add_label(ib, ic, 0.5, "synthetic")
        with pytest.raises(LabelStoreError, match="0 \\(right better\\)"):
            store.add_label(ia, ic, 0.7, "x")
        with pytest.raises(LabelStoreError, match="no segment 99"):
            store.add_label(ia, 99, 1.0, "x")
        with pytest.raises(LabelStoreError, match="two different"):
            store.add_label(ia, ia, 1.0, "x")
        other = store.add_segment(Segment("kelly", a.obs, a.actions, a.rewards), "test")
        with pytest.raises(LabelStoreError, match="cannot compare"):
            store.add_label(ia, other, 1.0, "x")
    with LabelStore(tmp_path / "labels.sqlite") as store:  # reopened: everything is there
        comps = store.comparisons("toy")
        assert [(x.label, x.labeller) for x in comps] == [(1.0, "human:me"), (0.5, "synthetic")]
        assert np.array_equal(comps[0].left.obs, a.obs) and comps[1].left is comps[0].right
        assert store.count("toy") == 2 and store.count("toy", labeller="human") == 1
    (tmp_path / "bad.sqlite").write_bytes(b"not a database at all, just some text" * 10)
    with pytest.raises(LabelStoreError, match="not a label database"):
        LabelStore(tmp_path / "bad.sqlite")


def test_store_rejects_a_newer_schema(tmp_path: Path) -> None:
    LabelStore(tmp_path / "l.sqlite").close()
    with sqlite3.connect(tmp_path / "l.sqlite") as db:
        db.execute("UPDATE meta SET value='9' WHERE key='schema'")
    with pytest.raises(LabelStoreError, match="schema 9"):
        LabelStore(tmp_path / "l.sqlite")


def test_oracle_prefers_the_larger_true_return_with_noise_and_ties() -> None:
    rng = np.random.default_rng(0)
    hi = seg(np.zeros((2, 1)), np.zeros(2), np.array([1.0, 1.0]))
    lo = seg(np.zeros((2, 1)), np.zeros(2), np.array([1.0, 0.0]))
    assert SyntheticOracle().label(hi, lo, rng) == 1.0
    assert SyntheticOracle().label(lo, hi, rng) == 0.0
    assert SyntheticOracle(tie_margin=1.5).label(hi, lo, rng) == 0.5
    noisy = [SyntheticOracle(noise=1.0).label(hi, lo, rng) for _ in range(400)]
    assert 0.4 < np.mean(noisy) < 0.6  # pure coin flips
    with pytest.raises(ValueError, match="noise"):
        SyntheticOracle(noise=1.5)


def test_reward_ensemble_learns_the_preferred_direction(tmp_path: Path) -> None:
    """From 300 oracle labels the ensemble ranks unseen pairs like the true reward does."""
    rng = np.random.default_rng(0)
    train = toy_segments(rng, 600)
    oracle = SyntheticOracle()
    comps = [(train[2 * k], train[2 * k + 1], oracle.label(train[2 * k], train[2 * k + 1], rng))
             for k in range(300)]
    model = RewardEnsemble(2, 1, RewardModelConfig(ensemble=3, hidden=(32,), epochs=30))
    stats = model.fit(comps, rng)
    assert stats.labels == 300 and stats.accuracy > 0.85
    test = toy_segments(np.random.default_rng(1), 400)
    pairs = [(test[2 * k], test[2 * k + 1]) for k in range(200)]
    p = model.preference_probs(pairs).mean(0)
    truth = np.array([a.true_return > b.true_return for a, b in pairs])
    assert ((p > 0.5) == truth).mean() > 0.85
    # the paid reward follows obs[0] * action on single steps
    obs = np.array([[0.9, 0.0], [0.9, 0.0]])
    assert model.reward(obs, np.array([[0.9], [-0.9]])).tolist()[0] > \
        model.reward(obs, np.array([[0.9], [-0.9]])).tolist()[1]
    dis = model.disagreement(pairs)
    assert dis.shape == (200,) and (dis >= 0).all() and dis.max() > 0
    model.save(tmp_path / "rm")
    back = RewardEnsemble.load(tmp_path / "rm")
    assert np.allclose(back.reward(obs, np.array([[0.3], [0.1]])),
                       model.reward(obs, np.array([[0.3], [0.1]])))
    with pytest.raises(ValueError, match="no labelled comparisons"):
        model.fit([], rng)
    with pytest.raises(ValueError, match="no reward model"):
        RewardEnsemble.load(tmp_path / "nowhere")


def test_absorbing_step_is_paid_zero() -> None:
    """The paid reward is measured from the learned value of the absorbing step."""
    rng = np.random.default_rng(0)
    train = toy_segments(rng, 200)
    comps = [(train[2 * k], train[2 * k + 1], 1.0) for k in range(100)]
    model = RewardEnsemble(2, 1, RewardModelConfig(ensemble=2, hidden=(8,), epochs=5))
    model.fit(comps, rng)
    absorbing = np.zeros((1, 4), dtype=np.float32)
    absorbing[0, -1] = 1.0
    assert model._raw(absorbing).mean() == pytest.approx(model.offset)


def test_learned_reward_wrapper_and_train_config(tmp_path: Path) -> None:
    env = TrainConfig(reward="increment").make_env()
    segs, _ = collect_segments(env, "kelly", lambda o: env.action_space.sample(), 40, 10,
                               np.random.default_rng(0))
    oracle = SyntheticOracle()
    rng = np.random.default_rng(0)
    model = RewardEnsemble(env.observation_space.shape[0], 1,
                           RewardModelConfig(ensemble=2, hidden=(8,), epochs=3))
    with pytest.raises(RuntimeError, match="not been fitted"):
        w = LearnedRewardWrapper(env, model)
        w.reset(seed=0)
        w.step(env.action_space.sample())
    model.fit([(segs[2 * k], segs[2 * k + 1], oracle.label(segs[2 * k], segs[2 * k + 1], rng))
               for k in range(20)], rng)
    model.save(tmp_path / "rm")
    wrapped = TrainConfig(reward_model=str(tmp_path / "rm")).make_env()
    obs, _ = wrapped.reset(seed=1)
    action = np.array([0.5], dtype=np.float32)
    _, r, _, _, info = wrapped.step(action)
    assert "true_reward" in info
    assert r == pytest.approx(float(model.reward(obs[None], action[None])[0]), rel=1e-5)
    with pytest.raises(ValueError, match="no reward model"):
        TrainConfig(reward_model=str(tmp_path / "nowhere"))
