"""The JSON-lines protocol: message and observation coding, action rules, env names."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import palaestra.envs  # noqa: F401  (registers the envs)
from palaestra.agents.sandbox import protocol as P
from palaestra.agents.scripted.bomber import make_scripted_bomber_agent
from palaestra.envs import env_id, short_names
from palaestra.envs.bomber import parallel_env
from palaestra.errors import UnknownNameError


def _assert_same(a: Any, b: Any) -> None:
    assert type(a) is type(b)
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            _assert_same(a[key], b[key])
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b


@pytest.mark.parametrize(
    "env, config",
    [
        ("bomber", {}),
        ("bomber", {"mode": "team_radio", "partially_observable": True}),
        ("bomber", {"observation": "planes"}),
        ("kelly", {}),
        ("kelly-generalized", {}),
    ],
)
def test_observations_round_trip_with_exact_dtypes(env: str, config: dict[str, Any]) -> None:
    if env == "bomber":
        game = parallel_env(**config)
        game.reset(seed=3)
        dicts = parallel_env(mode=config.get("mode", "ffa"))  # the same game, dict observations
        seen, _ = dicts.reset(seed=3)
        players = {n: make_scripted_bomber_agent("simple") for n in game.agents}
        for k, player in enumerate(players.values()):
            player.reset(np.random.default_rng(k))
        for _ in range(15):  # some bombs and flames on the board
            moves = {n: players[n].act(seen[n]) for n in dicts.agents}
            if "mode" in config:
                moves = {n: [a, 1, 2] for n, a in moves.items()}
            obs, *_ = game.step(moves)
            seen, *_ = dicts.step(moves)
        obs = obs["player_0"]
        if isinstance(obs, dict):
            assert obs["bomb_life"].any()
    else:
        obs, _ = gym.make(P.env_ids()[env], **config).reset(seed=0)
    line = P.dumps(P.act_message(obs))
    message = P.loads(line)
    _assert_same(P.decode_observation(env, message["obs"]), obs)
    json.loads(line)  # plain JSON


def test_malformed_lines_are_protocol_errors() -> None:
    for line in (b"hello", b"[1, 2]", b'{"type": "dance"}', b'{"no": "type"}'):
        with pytest.raises(P.ProtocolError):
            P.loads(line)
    assert P.env_name("palaestra/Bomber-v0") == "bomber"
    with pytest.raises(UnknownNameError, match="unknown env 'chess'.*known: bomber, kelly"):
        P.env_name("chess")


def test_action_rules() -> None:
    ffa, radio = P.action_rule("bomber"), P.action_rule("bomber", {"mode": "team_radio"})
    assert ffa.check(np.int64(5)) == 5 and ffa.check([3]) == 3
    for bad in (6, -1, True, 2.0, "1", [1, 0, 0], None):
        with pytest.raises(P.InvalidAction):
            ffa.check(bad)
    assert radio.check([5, 7, 0]) == [5, 7, 0]
    assert radio.check(3) == [3, 0, 0]  # a bare move is silent, as in Pommerman
    for bad in (6, [1, 8, 0], [1, 0], [6, 0, 0]):
        with pytest.raises(P.InvalidAction):
            radio.check(bad)
    assert radio.default(2) == [2, 0, 0] and ffa.default(2) == 2
    kelly = P.action_rule("kelly")
    assert kelly.check(25000) == 25000 and kelly.max_bet == 25000
    for bad in (-1, 25001, 1.5, False):
        with pytest.raises(P.InvalidAction):
            kelly.check(bad)


def test_protocol_envs_are_the_registered_tournament_envs() -> None:
    assert sorted(P.OBSERVATION_FIELDS) == sorted(short_names("bomber", "kelly", "counting", "hide_and_seek"))
    assert P.env_ids() == {name: env_id(name) for name in P.OBSERVATION_FIELDS}
    for name, full_id in P.env_ids().items():
        assert P.env_name(name) == name and P.env_name(full_id) == name
    P.env_ids()["bomber"] = "changed"  # a copy: the protocol's table stays as it is
    assert P.env_ids()["bomber"] == env_id("bomber")


def test_a_worker_speaking_the_protocol_does_not_import_gymnasium() -> None:
    # Every sandboxed agent imports the protocol at start-up; the env registry (and with it
    # Gymnasium) is only loaded when a name has to become an env id.
    code = ("import sys; from palaestra.agents.sandbox import protocol as P; "
            "P.decode_observation('kelly', {'wealth': [25.0], 'rounds_left': 300}); "
            "P.env_name('kelly-generalized'); print('gymnasium' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
