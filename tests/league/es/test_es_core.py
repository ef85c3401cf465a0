"""Tests of the pure-numpy evolution-strategy core (noise, shaping, optimisers, ES algorithms)."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from palaestra.league.es import (
    SGD,
    Adam,
    CandidateResult,
    CanonicalES,
    CanonicalESConfig,
    EvalResult,
    FlatMLPPolicy,
    OpenAIES,
    OpenAIESConfig,
    Perturbation,
    RunningStat,
    SharedNoiseTable,
    canonical_weights,
    centered_ranks,
)

NOISE_SIZE = 100_000
DIM = 20
TARGET = np.random.default_rng(123).standard_normal(DIM)


@pytest.fixture(scope="module")
def noise() -> SharedNoiseTable:
    return SharedNoiseTable(seed=0, size=NOISE_SIZE)


def toy_fitness(theta: np.ndarray) -> float:
    return -float(np.sum((theta - TARGET) ** 2))


def openai_config(**overrides) -> OpenAIESConfig:
    kwargs = dict(population_pairs=16, sigma=0.1, lr=0.1, l2_coeff=0.0, noise_size=NOISE_SIZE,
                  seed=0, obs_norm=False)
    return OpenAIESConfig(**{**kwargs, **overrides})


def run_openai(es: OpenAIES, rng: np.random.Generator, generations: int, drop: float = 0.0,
               obs_dim: int | None = None) -> list:
    stats = []
    for _ in range(generations):
        ps = es.ask(rng)
        results = []
        for pos, neg in zip(ps[::2], ps[1::2]):
            assert pos.index == neg.index and (pos.sign, neg.sign) == (1, -1)
            if drop and rng.random() < drop:
                continue  # this pair's worker was lost
            obs_stat = None
            if obs_dim is not None:
                obs_stat = RunningStat(obs_dim)
                obs_stat.push_batch(np.random.default_rng(pos.index).normal(2.0, 3.0, (4, obs_dim)))
            results.append(EvalResult(pos.index, toy_fitness(es.params_for(pos)),
                                      toy_fitness(es.params_for(neg)), 10, obs_stat))
        if not results:  # keep at least one pair
            p = ps[0]
            results = [EvalResult(p.index, toy_fitness(es.params_for(p)),
                                  toy_fitness(es.params_for(ps[1])), 10)]
        stats.append(es.tell(results))
    return stats


def run_canonical(es: CanonicalES, rng: np.random.Generator, generations: int) -> list:
    stats = []
    for _ in range(generations):
        ps = es.ask(rng)
        stats.append(es.tell([CandidateResult(p.index, toy_fitness(es.params_for(p)), 5)
                              for p in ps]))
    return stats


# ---------------------------------------------------------------- noise table

def test_noise_is_deterministic_per_seed(noise: SharedNoiseTable) -> None:
    again = SharedNoiseTable(seed=0, size=NOISE_SIZE)
    other = SharedNoiseTable(seed=1, size=NOISE_SIZE)
    assert np.array_equal(noise.get(0, NOISE_SIZE), again.get(0, NOISE_SIZE))
    assert noise.fingerprint == again.fingerprint != other.fingerprint
    assert noise.get(0, 5).dtype == np.float32 and noise.nbytes == 4 * NOISE_SIZE
    table = noise.get(0, NOISE_SIZE)
    assert abs(table.mean()) < 0.02 and abs(table.std() - 1.0) < 0.02


def test_noise_get_is_a_read_only_view(noise: SharedNoiseTable) -> None:
    a, b = noise.get(10, 20), noise.get(15, 20)
    assert np.shares_memory(a, b) and np.array_equal(a[5:], b[:15])
    with pytest.raises(ValueError):
        a[0] = 1.0


@pytest.mark.parametrize("index, dim", [(-1, 5), (NOISE_SIZE - 4, 5), (0, 0), (0, NOISE_SIZE + 1),
                                        (1.5, 3)])
def test_noise_bounds(noise: SharedNoiseTable, index, dim) -> None:
    with pytest.raises(ValueError):
        noise.get(index, dim)


def test_noise_sample_index_and_pickle() -> None:
    table = SharedNoiseTable(seed=3, size=50)
    rng = np.random.default_rng(0)
    draws = {table.sample_index(rng, 10) for _ in range(2000)}
    assert draws == set(range(41))  # every valid offset, none past the end
    for i in draws:
        assert table.get(i, 10).shape == (10,)
    blob = pickle.dumps(table)
    assert len(blob) < 200  # only (seed, size) travel
    assert pickle.loads(blob).fingerprint == table.fingerprint
    with pytest.raises(ValueError):
        SharedNoiseTable(seed=-1, size=10)


# ---------------------------------------------------------------- shaping

def test_centered_ranks_known_values_with_ties() -> None:
    out = centered_ranks(np.array([10.0, 20.0, 20.0, 5.0]))
    assert np.allclose(out, [-1 / 6, 1 / 3, 1 / 3, -0.5])
    assert np.allclose(centered_ranks(np.array([3.0, 1.0, 2.0])), [0.5, -0.5, 0.0])
    grid = centered_ranks(np.array([[1.0, 4.0], [3.0, 2.0]]))
    assert grid.shape == (2, 2) and np.allclose(grid, [[-0.5, 0.5], [1 / 6, -1 / 6]])
    assert np.allclose(centered_ranks(np.array([7.0, 7.0, 7.0])), 0.0)
    assert centered_ranks(np.array([2.5])).tolist() == [0.0]
    x = np.random.default_rng(0).integers(0, 5, 40).astype(float)
    assert abs(centered_ranks(x).sum()) < 1e-12
    for bad in (np.array([]), np.array([1.0, np.nan])):
        with pytest.raises(ValueError):
            centered_ranks(bad)


def test_canonical_weights() -> None:
    assert canonical_weights(1).tolist() == [1.0]
    raw = np.log(2.5) - np.log([1.0, 2.0])
    assert np.allclose(canonical_weights(2), raw / raw.sum())
    w = canonical_weights(10)
    assert np.isclose(w.sum(), 1.0) and np.all(w > 0) and np.all(np.diff(w) < 0)
    with pytest.raises(ValueError):
        canonical_weights(0)


# ---------------------------------------------------------------- observation statistics

def test_running_stat_merge_equals_single_pass() -> None:
    data = np.random.default_rng(0).normal(3.0, 2.0, size=(1000, 3))
    whole = RunningStat(3)
    whole.push_batch(data)
    merged = RunningStat(3)
    for chunk in np.split(data, [1, 7, 300, 301, 640]):
        worker = RunningStat(3)
        worker.push_batch(chunk)
        merged.merge(worker)
    merged.merge(RunningStat(3))  # an idle worker changes nothing
    for stat in (whole, merged):
        assert stat.count == 1000
        assert np.allclose(stat.mean, data.mean(axis=0), rtol=1e-12)
        assert np.allclose(stat.var, data.var(axis=0), rtol=1e-10)
    one_by_one = RunningStat(3)
    for row in data[:50]:
        one_by_one.push(row)
    assert np.allclose(one_by_one.var, data[:50].var(axis=0), rtol=1e-10)
    with pytest.raises(ValueError):
        merged.merge(RunningStat(4))


def test_running_stat_floor_clip_and_state() -> None:
    stat = RunningStat(2, std_floor=0.1, clip=5.0)
    assert np.array_equal(stat.std, [1.0, 1.0])  # no data yet
    stat.push_batch(np.array([[1.0, 0.0], [1.0, 10.0]]))
    assert np.allclose(stat.std, [0.1, 5.0])
    assert np.allclose(stat.normalise(np.array([2.0, 10.0])), [5.0, 1.0])  # 10 clipped to 5
    assert stat.normalise(np.zeros((7, 2))).shape == (7, 2)
    restored = RunningStat.from_state_dict(pickle.loads(pickle.dumps(stat.state_dict())))
    assert restored.count == stat.count and np.array_equal(restored.mean, stat.mean)
    assert np.array_equal(restored.m2, stat.m2) and restored.std_floor == 0.1
    with pytest.raises(ValueError):
        stat.push_batch(np.zeros((3, 3)))
    with pytest.raises(ValueError):
        stat.push_batch(np.array([[np.inf, 0.0]]))


# ---------------------------------------------------------------- optimisers

@pytest.mark.parametrize("make", [lambda: Adam(5, 0.05), lambda: SGD(5, 0.1, momentum=0.8)])
def test_optimizer_state_round_trip(make) -> None:
    rng = np.random.default_rng(0)
    theta = rng.standard_normal(5)
    opt = make()
    for _ in range(3):
        theta = opt.step(theta, 2 * theta)
    state = pickle.loads(pickle.dumps(opt.state_dict()))
    clone = make()
    clone.load_state_dict(state)
    a, b = theta.copy(), theta.copy()
    for _ in range(5):
        g = rng.standard_normal(5)
        a, b = opt.step(a, g), clone.step(b, g)
    assert np.array_equal(a, b) and clone.t == opt.t == 8
    for _ in range(200):
        a = opt.step(a, 2 * a)
    assert np.linalg.norm(a) < 0.5 * np.linalg.norm(b)  # descends ||x||^2
    assert opt.step(a.astype(np.float32), a).dtype == np.float32
    with pytest.raises(ValueError):
        make().step(np.zeros(4), np.zeros(4))


def test_optimizer_state_mismatch() -> None:
    with pytest.raises(ValueError):
        Adam(5, 0.1).load_state_dict(SGD(5, 0.1).state_dict())
    with pytest.raises(ValueError):
        Adam(5, 0.1).load_state_dict(Adam(6, 0.1).state_dict())
    with pytest.raises(ValueError):
        SGD(5, 0.1, momentum=1.0)


# ---------------------------------------------------------------- policy

def test_policy_flat_round_trip_and_init() -> None:
    policy = FlatMLPPolicy(4, "discrete", 3, hidden=(32, 32))
    assert policy.num_params == 4 * 32 + 32 + 32 * 32 + 32 + 32 * 3 + 3
    flat = policy.init(np.random.default_rng(0))
    assert np.array_equal(flat, FlatMLPPolicy(4, "discrete", 3).init(np.random.default_rng(0)))
    out_w = flat[-(32 * 3 + 3):-3].reshape(32, 3)
    assert np.allclose(np.linalg.norm(out_w, axis=0), 0.01)  # normc, small output layer
    new = np.random.default_rng(1).standard_normal(policy.num_params)
    policy.set_flat(new)
    assert np.array_equal(policy.get_flat(), new)
    got = policy.get_flat()
    got[:] = 0.0  # a copy: the policy is unchanged
    assert np.array_equal(policy.get_flat(), new)
    for bad in (np.zeros(policy.num_params - 1), np.full(policy.num_params, np.nan)):
        with pytest.raises(ValueError):
            policy.set_flat(bad)
    with pytest.raises(ValueError):
        FlatMLPPolicy(4, "box", 3)


def test_policy_act_shapes() -> None:
    rng = np.random.default_rng(0)
    obs = rng.standard_normal((5, 4))
    disc = FlatMLPPolicy(4, "discrete", 3, hidden=(8,))
    disc.set_flat(rng.standard_normal(disc.num_params))
    single = disc.act(obs[0])
    batch = disc.act(obs)
    assert isinstance(single, int) and 0 <= single < 3
    assert batch.shape == (5,) and batch.dtype == np.int64
    assert batch.tolist() == [disc.act(o) for o in obs]
    cont = FlatMLPPolicy(4, "continuous", 2, hidden=(8, 8))
    cont.set_flat(3.0 * rng.standard_normal(cont.num_params))
    assert cont.act(obs[0]).shape == (2,) and cont.act(obs).shape == (5, 2)
    assert np.all(np.abs(cont.act(obs)) <= 1.0)
    stat = RunningStat(4)
    stat.push_batch(rng.normal(5.0, 2.0, (50, 4)))
    assert np.allclose(cont.act(obs, stat), cont.act(stat.normalise(obs)))
    raw = FlatMLPPolicy(4, "continuous", 2, hidden=(8, 8), squash=False)
    raw.set_flat(cont.get_flat())
    assert np.allclose(np.tanh(raw.act(obs)), cont.act(obs))
    with pytest.raises(ValueError):
        disc.act(np.zeros(5))


# ---------------------------------------------------------------- OpenAI-ES

@pytest.mark.parametrize("optimizer, lr", [("adam", 0.1), ("sgd", 0.2)])
def test_openai_es_solves_toy_problem(noise, optimizer, lr) -> None:
    es = OpenAIES(openai_config(optimizer=optimizer, lr=lr), np.zeros(DIM), noise=noise)
    start = toy_fitness(es.theta)
    stats = run_openai(es, np.random.default_rng(1), 100)
    assert toy_fitness(es.theta) > 0.05 * start  # at least 95% of the gap closed
    assert stats[-1].generation == 100 and stats[-1].num_used == 16
    assert stats[-1].total_steps == 100 * 16 * 10 and stats[-1].grad_norm > 0


def test_openai_es_is_deterministic(noise) -> None:
    thetas = []
    for seed in (1, 1, 2):
        es = OpenAIES(openai_config(l2_coeff=0.005), np.zeros(DIM), noise=noise)
        run_openai(es, np.random.default_rng(seed), 20)
        thetas.append(es.theta)
    assert np.array_equal(thetas[0], thetas[1]) and not np.array_equal(thetas[0], thetas[2])


def test_openai_es_survives_lost_pairs(noise) -> None:
    es = OpenAIES(openai_config(), np.zeros(DIM), noise=noise)
    stats = run_openai(es, np.random.default_rng(1), 100, drop=0.3)
    assert toy_fitness(es.theta) > 0.05 * toy_fitness(np.zeros(DIM))
    assert any(s.num_missing > 0 for s in stats)
    assert all(s.num_used + s.num_missing == 16 for s in stats)


def test_openai_es_tell_ignores_result_order(noise) -> None:
    thetas = []
    for reverse in (False, True):
        es = OpenAIES(openai_config(), np.zeros(DIM), noise=noise)
        ps = es.ask(np.random.default_rng(5))
        results = [EvalResult(p.index, toy_fitness(es.params_for(p)),
                              toy_fitness(es.params_for(Perturbation(p.index, -1))))
                   for p in ps[::2]]
        es.tell(results[::-1] if reverse else results)
        thetas.append(es.theta)
    assert np.array_equal(*thetas)


def test_openai_es_ask_and_refusals(noise) -> None:
    es = OpenAIES(openai_config(), np.ones(DIM), noise=noise)
    with pytest.raises(ValueError, match="without a preceding ask"):
        es.tell([EvalResult(0, 1.0, 0.0)])
    ps = es.ask(np.random.default_rng(0))
    assert len(ps) == 32 and len({p.index for p in ps}) == 16
    assert np.allclose(es.params_for(ps[0]) + es.params_for(ps[1]), 2 * es.theta)
    with pytest.raises(ValueError, match="no results"):
        es.tell([])
    unknown = next(i for i in range(NOISE_SIZE) if i not in {p.index for p in ps})
    with pytest.raises(ValueError, match="not asked"):
        es.tell([EvalResult(unknown, 1.0, 0.0)])
    with pytest.raises(ValueError, match="two results"):
        es.tell([EvalResult(ps[0].index, 1.0, 0.0), EvalResult(ps[0].index, 1.0, 0.0)])
    assert es.generation == 0 and np.array_equal(es.theta, np.ones(DIM))  # refusals change nothing
    es.tell([EvalResult(ps[0].index, 1.0, 0.0)])
    assert es.generation == 1


@pytest.mark.parametrize("bad", [dict(population_pairs=0), dict(sigma=0.0), dict(lr=-1.0),
                                 dict(optimizer="rmsprop"), dict(momentum=1.0),
                                 dict(l2_coeff=-0.1), dict(population_pairs=2.5)])
def test_openai_config_validation(bad) -> None:
    with pytest.raises(ValueError):
        openai_config(**bad)


def test_es_constructor_checks(noise) -> None:
    with pytest.raises(ValueError, match="does not match"):
        OpenAIES(openai_config(seed=1), np.zeros(DIM), noise=noise)
    with pytest.raises(ValueError, match="obs_dim"):
        OpenAIES(openai_config(obs_norm=True), np.zeros(DIM), noise=noise)
    with pytest.raises(ValueError):
        OpenAIES(openai_config(), np.zeros((2, 3)), noise=noise)


# ---------------------------------------------------------------- canonical ES

def test_canonical_es_solves_toy_problem(noise) -> None:
    cfg = CanonicalESConfig(lam=20, mu=10, sigma=0.1, noise_size=NOISE_SIZE, seed=0)
    es = CanonicalES(cfg, np.zeros(DIM), noise=noise)
    ps = es.ask(np.random.default_rng(0))
    assert len(ps) == 20 and {p.sign for p in ps} == {1} and len({p.index for p in ps}) == 20
    es.tell([CandidateResult(p.index, toy_fitness(es.params_for(p))) for p in ps[:3]])  # lost 17
    stats = run_canonical(es, np.random.default_rng(1), 150)
    assert toy_fitness(es.theta) > 0.05 * toy_fitness(np.zeros(DIM))
    assert stats[-1].num_used == 20 and stats[-1].generation == 151
    with pytest.raises(ValueError):
        CanonicalESConfig(lam=4, mu=5)


def test_canonical_es_recombines_the_best(noise) -> None:
    cfg = CanonicalESConfig(lam=3, mu=2, sigma=0.5, noise_size=NOISE_SIZE, seed=0)
    es = CanonicalES(cfg, np.zeros(4), noise=noise)
    ps = es.ask(np.random.default_rng(0))
    es.tell([CandidateResult(p.index, f) for p, f in zip(ps, [1.0, 3.0, 2.0])])
    w = canonical_weights(2)
    expected = 0.5 * (w[0] * noise.get(ps[1].index, 4) + w[1] * noise.get(ps[2].index, 4))
    assert np.allclose(es.theta, expected)


# ---------------------------------------------------------------- checkpoint / resume

def test_openai_es_checkpoint_resume_is_exact(noise) -> None:
    cfg = openai_config(obs_norm=True, l2_coeff=0.005)
    full = OpenAIES(cfg, np.zeros(DIM), obs_dim=3, noise=noise)
    run_openai(full, np.random.default_rng(7), 30, drop=0.2, obs_dim=3)

    first = OpenAIES(cfg, np.zeros(DIM), obs_dim=3, noise=noise)
    rng = np.random.default_rng(7)
    run_openai(first, rng, 15, drop=0.2, obs_dim=3)
    saved = pickle.loads(pickle.dumps((first.state_dict(), rng.bit_generator.state)))
    run_openai(first, rng, 3, obs_dim=3)  # the live run goes on; the checkpoint must not move

    resumed = OpenAIES(cfg, np.ones(DIM), obs_dim=3, noise=noise)
    resumed.load_state_dict(saved[0])
    rng2 = np.random.default_rng(0)
    rng2.bit_generator.state = saved[1]
    stats = run_openai(resumed, rng2, 15, drop=0.2, obs_dim=3)
    assert np.array_equal(resumed.theta, full.theta) and stats[-1].generation == 30
    assert resumed.total_steps == full.total_steps
    assert np.array_equal(resumed.optimizer.m, full.optimizer.m)
    assert resumed.obs_stat.count == full.obs_stat.count > 0
    assert np.array_equal(resumed.obs_stat.mean, full.obs_stat.mean)


def test_canonical_es_checkpoint_resume_is_exact(noise) -> None:
    cfg = CanonicalESConfig(lam=10, mu=5, sigma=0.1, noise_size=NOISE_SIZE, seed=0)
    full = CanonicalES(cfg, np.zeros(DIM), noise=noise)
    run_canonical(full, np.random.default_rng(3), 20)
    part = CanonicalES(cfg, np.zeros(DIM), noise=noise)
    rng = np.random.default_rng(3)
    run_canonical(part, rng, 8)
    ps = part.ask(rng)  # checkpoint taken between ask and tell
    state = copy.deepcopy(part.state_dict())
    resumed = CanonicalES(cfg, np.zeros(DIM), noise=noise)
    resumed.load_state_dict(state)
    resumed.tell([CandidateResult(p.index, toy_fitness(resumed.params_for(p)), 5) for p in ps])
    run_canonical(resumed, rng, 11)
    assert np.array_equal(resumed.theta, full.theta) and resumed.generation == 20
    with pytest.raises(ValueError, match="openai_es"):
        resumed.load_state_dict(OpenAIES(openai_config(), np.zeros(DIM), noise=noise).state_dict())
