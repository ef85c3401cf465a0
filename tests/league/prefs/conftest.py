"""Short Bomber games for the preference tests: replays played here, and a tournament store of
them, so that no tournament has to run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from palaestra.envs.bomber.env import BomberParallelEnv
from palaestra.evaluation.store import TournamentStore

BomberReplay = Callable[..., dict[str, Any]]
AGENTS = ["walker", "static", "simple", "random"]


def play_bomber(seed: int, mode: str = "ffa", max_steps: int = 40) -> dict[str, Any]:
    """A replay (a dict as the tournament store keeps it) of a short game: seat 0 lays a bomb at
    once and stands on it (it dies when the bomb goes off), the others walk at random and lay no
    bombs (they live to the end, mostly)."""
    config = {"mode": mode, "max_steps": max_steps}
    env = BomberParallelEnv(**config)
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    actions = []
    while env.agents:
        step = {a: int(rng.choice(5, p=[0.4, 0.15, 0.15, 0.15, 0.15])) for a in env.agents}
        if "player_0" in step:
            step["player_0"] = 5 if not actions else 0
        actions.append(step)
        env.step(step)
    return {"format": "palaestra-replay", "version": 1, "env_id": "palaestra/Bomber-v0",
            "env_config": config, "seed": seed, "agents": list(AGENTS), "actions": actions}


@pytest.fixture(scope="session")
def bomber_replay() -> BomberReplay:
    return play_bomber


def _record(store: TournamentStore, name: str, games: list[tuple[dict[str, Any], dict[str, Any]]]
            ) -> None:
    store.open_tournament(name, {"env": "bomber", "name": name})
    ids = [f"{name}-{k}" for k in range(len(games))]
    store.schedule(name, [{"match_id": i, "round": 0, "ordinal": k, "seats": AGENTS, "seed": k}
                          for k, i in enumerate(ids)])
    for match_id, (result, replay) in zip(ids, games):
        store.record(match_id, result, replay)


@pytest.fixture(scope="session")
def bomber_tournament(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tournament database: ``ffa`` (two FFA matches and one with a fault), ``teams`` (one
    team match) and ``kelly`` (one Kelly match)."""
    db = tmp_path_factory.mktemp("tournament") / "t.sqlite"
    ffa = {"teams": [[0], [1], [2], [3]], "ranks": [3, 0, 1, 2], "scores": [-1, 1, -1, -1],
           "faults": {}}
    with TournamentStore(db) as store:
        _record(store, "ffa", [(ffa, play_bomber(1)), (ffa, play_bomber(2)),
                               ({**ffa, "faults": {"3": "timeout"}}, play_bomber(3))])
        team = {"teams": [[0, 2], [1, 3]], "ranks": [1, 0], "scores": [-1, 1], "faults": {}}
        _record(store, "teams", [(team, play_bomber(4, mode="team"))])
        kelly = {"teams": [[0], [1]], "ranks": [0, 1], "scores": [30.0, 20.0], "faults": {}}
        _record(store, "kelly", [(kelly, {"games": [{"env_id": "palaestra/KellyCoinflip-v0",
                                                     "seed": 1, "actions": [100]}] * 2})])
    return db
