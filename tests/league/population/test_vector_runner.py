"""The league's vector EnvRunner: many Bomber boards per step inside RLlib's PPO.

The game side (LeagueBoards) is checked step by step against BomberLeagueEnv; the runner inside a
PPO algorithm (local runner) trains, records matches, repeats itself under a seed, cuts consistent
episodes and feeds a masked CNN module its mask.
"""

from __future__ import annotations

import numpy as np
import pytest

from palaestra.league.population.envs.bomber import BomberLeagueEnv, placement_ranks
from palaestra.league.population.vector_boards import LeagueBoards, bomber_config

ray = pytest.importorskip("ray")
torch = pytest.importorskip("torch")

MEMBERS = ["m0", "m1"]
BOTS = ["bot:simple", "bot:random", "bot:static"]
LINEUPS = {"m0": {"m1": 0.4, "bot:simple": 0.3, "bot:random": 0.3},
           "m1": {"m0": 0.4, "bot:simple": 0.3, "bot:static": 0.3}}


# -- the game side against BomberLeagueEnv ---------------------------------------------------
def _league_env_games(seed: int, lineups, bots, shaping, games: int, bomber=None):
    env = BomberLeagueEnv({"lineups": lineups, "bots": bots, "shaping": shaping, "seed": seed,
                           "bomber": bomber or {}})
    rng = np.random.default_rng(7)
    trace = []
    for _ in range(games):
        obs, _ = env.reset()
        trace.append(("reset", tuple(env._seats), {m: o.copy() for m, o in obs.items()}))
        while True:
            actions = {m: int(rng.integers(6)) for m in sorted(env.agents)}
            obs, rew, term, trunc, _ = env.step(actions)
            trace.append(("step", rew, {m: term[m] for m in rew}, {m: trunc[m] for m in rew},
                          {m: o.copy() for m, o in obs.items()}))
            if term["__all__"] or trunc["__all__"]:
                break
    return trace, env.pop_results()


def _boards_games(seed: int, lineups, bots, shaping, games: int, bomber=None):
    boards = LeagueBoards(1, bomber_config(bomber), seed * 1_000_003)
    boards.set_league(lineups, bots, shaping)
    rng = np.random.default_rng(7)
    trace = []
    for _ in range(games):
        boards.restart([0])
        obs = boards.observe()
        seats = boards.seats[0]
        trace.append(("reset", tuple(seats), {s: obs[0, k] for k, s in enumerate(seats) if boards.member[0, k]}))
        while True:
            moves = np.zeros((1, 4), np.int64)
            for s in sorted(s for k, s in enumerate(seats) if boards.active[0, k]):
                moves[0, seats.index(s)] = int(rng.integers(6))
            step = boards.step(moves)
            acted = [k for k in range(4) if step.acted[0, k]]
            trace.append(("step", {seats[k]: float(step.rewards[0, k]) for k in acted},
                          {seats[k]: bool(step.terminated[0, k]) for k in acted},
                          {seats[k]: bool(step.truncated[0, k]) for k in acted},
                          {seats[k]: step.observations[0, k] for k in acted}))
            if step.over[0]:
                break
    boards.finish_playouts()
    return trace, boards.pop_results()


def _same_trace(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x[0] == y[0]
        if x[0] == "reset":
            assert x[1] == y[1]
            assert set(x[2]) == set(y[2])
            for m in x[2]:
                np.testing.assert_array_equal(x[2][m], y[2][m])
        else:
            assert x[1] == pytest.approx(y[1])
            assert x[2] == y[2] and x[3] == y[3]
            for m in x[4]:
                np.testing.assert_array_equal(x[4][m], y[4][m])


@pytest.mark.parametrize("bomber", [{}, {"max_steps": 25}])
def test_boards_play_exactly_as_the_league_env(bomber):
    # static bots are the same compiled and in Python, so the games must match step by step:
    # lineups, boards, observations, rewards with shaping, terminations, truncations, records
    lineups = {"m0": {"m1": 0.5, "bot:static": 0.5}, "m1": {"m0": 0.5, "m2": 0.3, "bot:static": 0.2},
               "m2": {"m1": 1.0}}
    shaping = {"m0": {"shape_pickup": 0.1, "shape_enemy_death": 0.25}, "m1": {"shape_pickup": 0.05}}
    a, rec_a = _league_env_games(3, lineups, ["bot:static"], shaping, 12, bomber)
    b, rec_b = _boards_games(3, lineups, ["bot:static"], shaping, 12, bomber)
    _same_trace(a, b)
    assert sorted(rec_a, key=lambda r: r["seed"]) == sorted(rec_b, key=lambda r: r["seed"])
    if bomber:  # games of 25 steps time out: a termination at -1 (the step is in the planes)
        timed_out = [last for last, n in _last_steps(b) if n == bomber["max_steps"]]
        assert timed_out
        for last in timed_out:
            assert all(last[2].values()) and not any(last[3].values())
            assert all(r == pytest.approx(-1.0) for r in last[1].values())


def _last_steps(trace):
    """(last step, steps) of each game in a trace."""
    out, n = [], 0
    for k, t in enumerate(trace):
        n = 0 if t[0] == "reset" else n + 1
        if t[0] == "step" and (k + 1 == len(trace) or trace[k + 1][0] == "reset"):
            out.append((t, n))
    return out


def test_boards_refuse_bots_they_cannot_play_and_other_modes():
    from palaestra.errors import ConfigError, UnknownNameError

    boards = LeagueBoards(2, bomber_config({}), 0)
    with pytest.raises(UnknownNameError):
        boards.set_league({"m0": {"bot:nope": 1.0}}, ["bot:nope"], {})
    with pytest.raises(ConfigError, match="league boards play Bomber modes ffa, team, team_radio, got 'radio'"):
        bomber_config({"mode": "radio"})
    with pytest.raises(RuntimeError):
        boards.restart([0])


def test_boards_mask_the_member_seats_behind_their_filter():
    from palaestra.envs.bomber.filters import filter_mask
    from palaestra.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown action filter 'nope'"):
        LeagueBoards(1, bomber_config({}), 0, action_filter="nope")
    boards = LeagueBoards(4, bomber_config({"max_steps": 120}), 5, action_filter="cautious")
    boards.set_league({"m0": {"bot:cautious-random": 0.5, "bot:simple": 0.5}},
                      ["bot:cautious-random", "bot:simple"], {})
    boards.restart(np.arange(4))
    rng = np.random.default_rng(1)
    differs = 0
    for _ in range(300):
        mask = boards.action_mask()
        active = boards.active.copy()
        assert np.array_equal(mask[active], filter_mask(boards.batch, "cautious")[active])
        assert mask[~active].all()
        differs += int((mask[active] != filter_mask(boards.batch, "sure-death")[active]).any())
        moves = np.zeros((4, 4), np.int64)
        for i, k in zip(*np.nonzero(active)):
            moves[i, k] = rng.choice(np.flatnonzero(mask[i, k]))
        step = boards.step(moves)
        ended = np.flatnonzero(step.over)
        if len(ended):
            boards.restart(ended)
    assert differs > 0
    boards.finish_playouts()
    assert any("bot:cautious-random" in r["seats"] for r in boards.pop_results())


@pytest.mark.parametrize("opponent", ["bot:simple", "m1"])
def test_team_boards_pay_both_seats_the_teams_result_at_the_end(opponent):
    """2v2: a learner takes both seats of a side; a seat that dies hangs until the game's end,
    then both seats of each member team are paid the same +1/-1 and the record is by team."""
    boards = LeagueBoards(1, bomber_config({"mode": "team", "max_steps": 200}), 3)
    boards.set_league({"m0": {opponent: 1.0}}, ["bot:simple"], {})
    rng = np.random.default_rng(0)
    hung = 0
    for _ in range(12):
        boards.restart([0])
        seats = boards.seats[0]
        side = seats.index("m0")
        assert seats == ["m0" if k % 2 == side else opponent for k in range(4)]
        members = [k for k in range(4) if seats[k] in ("m0", "m1")]
        assert list(np.flatnonzero(boards.member[0])) == members
        paid = {}
        while True:
            step = boards.step(np.where(boards.active, rng.integers(6, size=(1, 4)), 0))
            for k in np.flatnonzero(step.hanging[0]):
                assert step.acted[0, k] and not step.terminated[0, k] and step.rewards[0, k] == 0
                hung += 1
            for k in np.flatnonzero(step.terminated[0]):
                paid[int(k)] = float(step.rewards[0, k])
            if step.over[0]:
                break
            assert not paid  # nobody is paid before the game's end
        (record,) = boards.pop_results()
        assert record["seats"] == seats[:2] and sorted(record["ranks"]) in ([0, 0], [0, 1])
        assert sorted(paid) == members  # every member seat paid once, the hanging ones too
        for k in members:
            won = record["ranks"][k % 2] == 0 and record["ranks"][1 - k % 2] == 1
            assert paid[k] == paid[(k + 2) % 4] == (1.0 if won else -1.0)
    assert hung  # some seat died while its mate played on


# -- the runner inside PPO -------------------------------------------------------------------
def _algo(spec=None, seed=0, num_boards=8, batch=400, lineups=None, shaping=None, play_out=True, mode="ffa",
          reward_model=None):
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.tune.registry import register_env

    from palaestra.league.population.algorithm import ENV_NAME, make_league_env
    from palaestra.league.population.envs.bomber import ACT_SPACE, OBS_SPACE
    from palaestra.league.population.vector_runner import BomberVectorEnvRunner
    from palaestra.league.rllib.modules import identity_mapping, module_spec

    register_env(ENV_NAME, make_league_env)
    spec = spec or module_spec(OBS_SPACE, ACT_SPACE, [32])
    env_config = {"lineups": lineups or LINEUPS, "bots": BOTS, "shaping": shaping or {}, "seed": seed,
                  "agent_ids": MEMBERS, "num_boards": num_boards, "play_out": play_out, "env": "bomber",
                  "mode": mode, "reward_model": reward_model}
    ppo = (PPOConfig()
           .environment(ENV_NAME, env_config=env_config, disable_env_checking=True)
           .env_runners(num_env_runners=0, num_envs_per_env_runner=1, env_runner_cls=BomberVectorEnvRunner,
                        rollout_fragment_length="auto")
           .multi_agent(policies=set(MEMBERS), policy_mapping_fn=identity_mapping, policies_to_train=MEMBERS)
           .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs={m: spec for m in MEMBERS}))
           .training(train_batch_size_per_learner=batch, minibatch_size=batch // 2, num_epochs=1, lr=1e-3)
           .debugging(seed=seed, log_level="ERROR"))
    return ppo.build_algo()


def _check_record(r):
    assert set(r) == {"seats", "ranks", "seed"}
    assert len(r["seats"]) == 4 and len(r["ranks"]) == 4
    assert min(r["ranks"]) == 0 and sorted(set(r["ranks"])) == list(range(len(set(r["ranks"]))))
    assert isinstance(r["seed"], int)
    members = [s for s in r["seats"] if not s.startswith("bot:")]
    assert members and len(set(members)) == len(members)
    learner = next(m for m in members if m in LINEUPS)
    allowed = {learner, *LINEUPS[learner], *BOTS}
    assert set(r["seats"]) <= allowed | set(MEMBERS)


def test_ppo_trains_with_the_vector_runner(ray_session):
    from palaestra.league.rllib.weights import module_weights

    algo = _algo()
    try:
        before = {m: {k: v.copy() for k, v in module_weights(algo, m).items()} for m in MEMBERS}
        for _ in range(2):
            result = algo.train()
        assert result["env_runners"]["num_env_steps_sampled"] >= 400
        for m in MEMBERS:
            after = module_weights(algo, m)
            assert any(not np.array_equal(before[m][k], after[k]) for k in after), m
        records = algo.env_runner.pop_results()
        assert records
        for r in records:
            _check_record(r)
        assert algo.env_runner.pop_results() == []
    finally:
        algo.stop()


def test_ppo_trains_a_team_league_with_one_module_per_team(ray_session):
    from palaestra.league.rllib.weights import module_weights

    lineups = {"m0": {"m1": 0.5, "bot:simple": 0.5}, "m1": {"m0": 0.5, "bot:random": 0.5}}
    algo = _algo(num_boards=6, batch=600, lineups=lineups, mode="team")
    try:
        eps = algo.env_runner.sample(num_timesteps=900)
        agents = {a for e in eps for a in e.agent_episodes}
        assert agents <= {f"{m}/{k}" for m in MEMBERS for k in range(4)} and len(agents) >= 2
        done = [e for e in eps if e.is_done]
        assert done
        for e in done:  # both seats of a member team end with the same team result
            finals = {}
            for aid, sa in e.agent_episodes.items():
                assert sa.is_terminated and len(sa.get_actions()) == len(sa) >= 1
                finals.setdefault(aid.split("/")[0], set()).add(float(sa.get_rewards()[-1]))
            assert all(len(v) == 1 and v <= {1.0, -1.0} for v in finals.values()), finals
        records = algo.env_runner.pop_results()
        assert records and all(len(r["seats"]) == 2 and len(r["ranks"]) == 2 for r in records)
        before = {m: {k: v.copy() for k, v in module_weights(algo, m).items()} for m in MEMBERS}
        result = algo.train()
        assert result["env_runners"]["num_env_steps_sampled"] >= 600
        for m in MEMBERS:
            after = module_weights(algo, m)
            assert any(not np.array_equal(before[m][k], after[k]) for k in after), m
    finally:
        algo.stop()


def test_same_seed_same_records_and_actions(ray_session):
    def run(seed):
        algo = _algo(seed=seed)
        try:
            eps = algo.env_runner.sample(num_timesteps=300)
            actions = [a for e in eps for sa in e.agent_episodes.values() for a in sa.get_actions().tolist()]
            return algo.env_runner.pop_results(), actions
        finally:
            algo.stop()

    a, b, c = run(5), run(5), run(6)
    assert a == b
    assert a != c


def test_episodes_are_consistent_and_end_at_deaths(ray_session):
    algo = _algo(num_boards=6, play_out=False)
    try:
        runner = algo.env_runner
        done = []
        for _ in range(6):
            eps = runner.sample(num_timesteps=250)
            for e in eps:
                total_env = e.env_steps()
                for aid, sa in e.agent_episodes.items():
                    assert aid in MEMBERS and e.module_for(aid) == aid
                    assert len(sa.get_rewards()) == len(sa.get_actions()) == len(sa) <= total_env
                    assert len(sa.get_observations()) == len(sa) + 1
                    lp = sa.get_extra_model_outputs("action_logp")
                    assert len(lp) == len(sa) and np.all(lp <= 0)
            assert sum(e.env_steps() for e in eps) >= 250
            done += [e for e in eps if e.is_done]
        assert len(done) >= 5
        records = runner.pop_results()
        assert len(records) >= len(done)  # finished episodes are recorded games
        for e in done:
            for sa in e.agent_episodes.values():
                assert sa.is_done
                rewards = sa.get_rewards()
                # no shaping: the return is the outcome (Bomber's +1 or -1), paid at the last step
                assert float(np.sum(rewards)) in (-1.0, 1.0)
                assert np.all(rewards[:-1] == 0)
                if sa.is_terminated and rewards[-1] == -1:
                    assert not sa.get_observations(-1).any()  # died: its last view is all zeros
    finally:
        algo.stop()


def test_shaping_adds_to_the_outcome(ray_session):
    shaping = {m: {"shape_pickup": 0.5, "shape_enemy_death": 0.125} for m in MEMBERS}
    algo = _algo(num_boards=6, shaping=shaping)
    try:
        seen_shaped = False
        for _ in range(4):
            for e in algo.env_runner.sample(num_timesteps=300):
                if not e.is_done:
                    continue
                for sa in e.agent_episodes.values():
                    extra = float(np.sum(sa.get_rewards()))
                    extra -= 1.0 if extra > 0.5 and sa.is_terminated else -1.0
                    units = extra / 0.125
                    assert units >= -1e-6 and abs(units - round(units)) < 1e-4
                    seen_shaped |= units > 0.5
        assert seen_shaped
    finally:
        algo.stop()


def test_a_reward_model_pays_every_member_step(ray_session, tmp_path):
    """With a reward model the runner pays each step the model's reward of the planes acted on and
    the move (no shaping here), and the records keep the true outcomes."""
    from palaestra.league.population.envs.bomber import OBS_SPACE
    from palaestra.league.prefs.reward_model import RewardEnsemble, RewardModelConfig
    from palaestra.league.prefs.segments import Segment

    rng = np.random.default_rng(0)
    dim = OBS_SPACE.shape[0]
    segs = [Segment("bomber", rng.random((4, dim)) < 0.05, rng.integers(6, size=4), np.zeros(4))
            for _ in range(8)]
    model = RewardEnsemble(dim, 1, RewardModelConfig(ensemble=2, hidden=(8,), epochs=2))
    model.fit([(segs[2 * k], segs[2 * k + 1], float(k % 2)) for k in range(4)], rng)
    path = model.save(tmp_path / "reward_model")
    algo = _algo(num_boards=4, reward_model=str(path))
    try:
        checked = 0
        for e in algo.env_runner.sample(num_timesteps=200):
            for aid, sa in e.agent_episodes.items():
                obs = np.asarray(sa.get_observations())[:len(sa)]
                paid = model.reward(obs, np.asarray(sa.get_actions()).reshape(-1, 1))
                assert np.allclose(sa.get_rewards(), paid, atol=1e-5), aid
                checked += len(sa)
        assert checked >= 200
        for r in algo.env_runner.pop_results():
            _check_record(r)
    finally:
        algo.stop()
    with pytest.raises(ValueError, match="pays FFA leagues only"):
        _algo(num_boards=2, mode="team", lineups={"m0": {"bot:simple": 1.0}, "m1": {"bot:simple": 1.0}},
              reward_model=str(path))


def test_masked_cnn_gets_the_mask_and_never_takes_a_masked_action(ray_session):
    from palaestra.league.rllib.cnn import MASK_KEY, PLANES_KEY, CnnConfig, cnn_module_spec

    spec = cnn_module_spec(CnnConfig(channels=(8,), kernels=(3,), hidden=16))
    algo = _algo(spec=spec, num_boards=6, batch=300)
    try:
        eps = algo.env_runner.sample(num_timesteps=300)
        checked = masked = 0
        for e in eps:
            for sa in e.agent_episodes.values():
                obs = sa.get_observations()
                assert set(obs) == {PLANES_KEY, MASK_KEY}
                mask = obs[MASK_KEY][:-1]
                actions = sa.get_actions()
                assert np.all(mask[np.arange(len(actions)), actions] == 1.0)
                checked += len(actions)
                masked += int((mask == 0).any(axis=1).sum())
        assert checked > 300 and masked > 0
        algo.train()  # PPO's learner takes the Dict observations too
    finally:
        algo.stop()


def test_a_snapshot_added_later_is_seated_and_played_by_its_module(ray_session):
    from palaestra.league.rllib.modules import identity_mapping
    from palaestra.league.rllib.weights import module_weights, sync_weights

    algo = _algo(num_boards=6)
    try:
        spec = algo.config.rl_module_spec.rl_module_specs["m0"]
        algo.add_module(module_id="m0@1", module_spec=spec, new_agent_to_module_mapping_fn=identity_mapping,
                        new_should_module_be_updated=MEMBERS)
        algo.learner_group.set_weights({"m0@1": module_weights(algo, "m0")})
        sync_weights(algo)
        lineups = {"m0": {"m0@1": 1.0, "bot:simple": 0.01}, "m1": {"m0@1": 1.0, "bot:random": 0.01}}
        algo.env_runner.set_league(lineups, BOTS, {})
        algo.env_runner.sample(num_timesteps=200, force_reset=True)
        eps = algo.env_runner.sample(num_timesteps=300)
        assert any("m0@1" in e.agent_episodes for e in eps)
        assert all(sa.module_id == aid for e in eps for aid, sa in e.agent_episodes.items())
        records = algo.env_runner.pop_results()
        assert records and all("m0@1" in r["seats"] for r in records)
        algo.train()  # the snapshot's samples are left out of the update, the learners' kept
    finally:
        algo.stop()


def test_episodes_mode_inference_and_random_actions(ray_session):
    algo = _algo(num_boards=4)
    try:
        runner = algo.env_runner
        eps = runner.sample(num_episodes=3)
        assert len(eps) >= 3 and all(e.is_done for e in eps)
        # chunks mixing random and policy steps stay whole (RLlib validates them when cut)
        for kwargs in ({"random_actions": True}, {"explore": False}, {}):
            eps = runner.sample(num_timesteps=120, **kwargs)
            assert sum(e.env_steps() for e in eps) >= 120
        metrics = runner.get_metrics()
        assert metrics["num_env_steps_sampled"] > 0 and metrics["episode_len_mean"] > 0
    finally:
        algo.stop()


def test_placement_ranks_are_the_league_envs():
    assert placement_ranks([10, 5, None, 10], [2]) == [1, 2, 0, 1]
