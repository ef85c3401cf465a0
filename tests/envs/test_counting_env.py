"""GridCounting-v0: the reward comes only for first reaching the target exactly at step T."""

import gymnasium as gym
import numpy as np
import pytest

import palaestra.envs  # noqa: F401  (registers the envs)
from palaestra.agents.scripted.counting import (
    CountingAgent,
    make_scripted_counting_agent,
    play_counting_episode,
)
from palaestra.envs.counting import GridCountingConfig, GridCountingEnv, manhattan
from palaestra.envs.counting.env import DOWN, LEFT, RIGHT, STAY, UP


def _play(env, actions, **options):
    obs, info = env.reset(seed=0, options=options or None)
    total, outcomes = 0.0, []
    for a in actions:
        obs, r, term, trunc, info = env.step(np.int64(a))
        total += r
        if term or trunc:
            outcomes.append(info["outcome"])
            break
    return total, info


def test_registered_and_made_through_gymnasium():
    env = gym.make("palaestra/GridCounting-v0")
    obs, _ = env.reset(seed=3)
    assert set(obs) == {"agent", "target", "T"}
    assert 5 <= int(obs["T"]) <= 12


def test_observation_holds_T_but_not_the_elapsed_steps():
    env = GridCountingEnv()
    obs0, _ = env.reset(seed=1, options={"T": 9, "agent": (0, 0), "target": (0, 2)})
    obs1, *_ = env.step(np.int64(STAY))
    obs2, *_ = env.step(np.int64(STAY))
    # Staying changes nothing the agent can see: the steps taken are not in the observation.
    for a, b in ((obs0, obs1), (obs1, obs2)):
        assert a.keys() == b.keys()
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])
    assert int(obs0["T"]) == 9
    assert env.steps == 2


def test_reward_exactly_at_step_T():
    env = GridCountingEnv()
    start = {"T": 5, "agent": (0, 0), "target": (0, 2)}
    # three waits then two moves right: arrive at step 5
    total, info = _play(env, [STAY, STAY, STAY, RIGHT, RIGHT], **start)
    assert total == 1.0 and info["outcome"] == "on_time" and info["is_success"]
    total, info = _play(env, [RIGHT, RIGHT], **start)
    assert total == 0.0 and info["outcome"] == "early" and not info["is_success"]
    total, info = _play(env, [STAY] * 4 + [RIGHT, RIGHT], **start)
    assert total == 0.0 and info["outcome"] == "late"
    total, info = _play(env, [STAY] * 20, **start)
    assert total == 0.0 and info["outcome"] == "timeout" and info["steps"] == 5 + 5


def test_reward_is_zero_on_every_other_step_and_episode_ends_on_arrival():
    env = GridCountingEnv()
    env.reset(seed=0, options={"T": 6, "agent": (2, 2), "target": (2, 3)})
    rewards = []
    for a in [UP, DOWN, LEFT, RIGHT, STAY]:
        _, r, term, trunc, _ = env.step(np.int64(a))
        rewards.append(r)
        assert not term and not trunc
    _, r, term, trunc, info = env.step(np.int64(RIGHT))
    assert rewards == [0.0] * 5 and r == 1.0 and term and not trunc
    with pytest.raises(RuntimeError, match="episode is over"):
        env.step(np.int64(STAY))


def test_moves_into_the_border_stay_in_place():
    env = GridCountingEnv()
    env.reset(seed=0, options={"T": 9, "agent": (0, 0), "target": (4, 4)})
    obs, *_ = env.step(np.int64(UP))
    np.testing.assert_array_equal(obs["agent"], [0, 0])
    obs, *_ = env.step(np.int64(LEFT))
    np.testing.assert_array_equal(obs["agent"], [0, 0])


def test_random_starts_are_always_winnable_and_cover_the_training_range():
    env = GridCountingEnv()
    ts = []
    for seed in range(400):
        obs, info = env.reset(seed=seed)
        d = int(manhattan(obs["agent"], obs["target"]))
        assert 1 <= d <= int(obs["T"]) and d == info["distance"]
        ts.append(int(obs["T"]))
    assert set(ts) == set(range(5, 13))


@pytest.mark.parametrize("t", [5, 12, 19, 25])
def test_counter_agent_always_on_time(t):
    env = GridCountingEnv()
    agent = CountingAgent()
    infos = [play_counting_episode(env, agent, seed, {"T": t}) for seed in range(100)]
    assert all(info["is_success"] for info in infos)


def test_off_by_one_counter_arrives_early():
    env = GridCountingEnv()
    agent = make_scripted_counting_agent("off-by-one")
    info = play_counting_episode(env, agent, 0, {"T": 8, "agent": (0, 0), "target": (1, 1)})
    assert info["outcome"] == "early" and info["steps"] == 7


def test_same_seed_same_episode_and_options_override():
    a, b = GridCountingEnv(), GridCountingEnv()
    for seed in range(20):
        oa, _ = a.reset(seed=seed)
        ob, _ = b.reset(seed=seed)
        assert repr(oa) == repr(ob)
    obs, _ = a.reset(seed=5, options={"T": 19})
    assert int(obs["T"]) == 19


@pytest.mark.parametrize(
    "options, message",
    [
        ({"T": 0}, "options\\['T'\\] must be an integer in 1..30"),
        ({"T": 31}, "options\\['T'\\] must be an integer in 1..30"),
        ({"T": 2.5}, "options\\['T'\\]"),
        ({"agent": (5, 0)}, "options\\['agent'\\] must be a \\(row, column\\) inside the grid"),
        ({"T": 3, "agent": (0, 0), "target": (4, 4)}, "1..T=3 apart"),
        ({"T": 3, "agent": (1, 1), "target": (1, 1)}, "1..T=3 apart"),
        ({"steps": 3}, "unknown reset options \\['steps'\\]"),
    ],
)
def test_bad_reset_options_are_refused_by_name(options, message):
    with pytest.raises(ValueError, match=message):
        GridCountingEnv().reset(seed=0, options=options)


def test_bad_actions_config_and_order_of_calls():
    env = GridCountingEnv()
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.int64(0))
    env.reset(seed=0)
    with pytest.raises(ValueError, match="invalid action 7"):
        env.step(7)
    with pytest.raises(ValueError, match="t_min <= t_max"):
        GridCountingConfig(t_min=9, t_max=5)
    with pytest.raises(ValueError, match="render_mode"):
        GridCountingEnv(render_mode="human")
    with pytest.raises(TypeError, match="either config or keyword"):
        GridCountingEnv(GridCountingConfig(), size=6)


def test_rgb_array_and_ansi_rendering():
    env = GridCountingEnv(render_mode="rgb_array")
    env.reset(seed=0, options={"T": 9, "agent": (0, 0), "target": (4, 4)})
    frame = env.render()
    assert frame.shape == (48 + 5 * 64, 5 * 64, 3) and frame.dtype == np.uint8
    # target cell is drawn red, agent cell blue
    target_px = frame[48 + 4 * 64 + 32, 4 * 64 + 32]
    agent_px = frame[48 + 32, 32]
    assert target_px[0] > 180 and target_px[2] < 90
    assert agent_px[2] > 180 and agent_px[0] < 90
    text = GridCountingEnv(render_mode="ansi")
    text.reset(seed=0, options={"T": 9, "agent": (0, 0), "target": (4, 4)})
    out = text.render()
    assert out.splitlines()[0] == "T=9 step 0"
    assert out.splitlines()[1].startswith("A") and out.splitlines()[5].endswith("X")
