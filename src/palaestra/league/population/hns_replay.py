"""Replays of hide-and-seek league members: one game of a member against the other side.

The member plays every seat of its team (as in training) against ``opponent``, a member of the
other side (by default that side's best-rated learner). Every agent takes its module's most
likely action, so a replay of the same members, game and seed is the same file. The game is the
variant the league trained on, reset with ``game_seed(seed, game)`` as ``bomber versus`` numbers
its games, and the replay is re-simulated and verified by
:func:`palaestra.evaluation.replay.make_replay`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from palaestra.errors import UnknownNameError
from palaestra.evaluation.versus import game_seed
from palaestra.league.population.sides import side_of


def default_opponent(state: Any, member: str) -> str:
    """The best-rated learner on the other side of ``member`` (the first one before any game)."""
    side = side_of(member)
    others = [m for m in state.learners() if side_of(m) != side]
    if not state.matches:
        return others[0]
    players = state.rating_table().players
    return max(others, key=lambda m: (players[m].ordinal if m in players else float("-inf"), m))


def greedy_actions(module: Any, observations: list[dict[str, np.ndarray]]) -> list[list[int]]:
    """The module's most likely ``[move, face, interact]`` for each observation (one batch)."""
    import torch
    from ray.rllib.core.columns import Columns

    batch = {Columns.OBS: {k: torch.as_tensor(np.stack([o[k] for o in observations]).astype(np.float32))
                           for k in observations[0]}}
    with torch.no_grad():
        out = module.forward_inference(batch)
    dist = module.get_inference_action_dist_cls().from_logits(out[Columns.ACTION_DIST_INPUTS])
    return [[int(v) for v in row] for row in dist.to_deterministic().sample().numpy()]


def record_hns_game(run_dir: Any, member: str, game: int, seed: int, opponent: str | None,
                    load_module: Callable[[str], Any]) -> Any:
    """The replay of game ``game`` (seed ``seed``) of ``member`` of the hide-and-seek league in
    ``run_dir`` against ``opponent`` (None: :func:`default_opponent`); ``load_module`` gives a
    member's RLlib module (``league/population/eval.py`` passes its loader)."""
    from palaestra.envs.hide_and_seek.config import variant_config
    from palaestra.envs.hide_and_seek.env import HideAndSeekParallelEnv
    from palaestra.evaluation.replay import make_replay
    from palaestra.league.population.config import LeagueConfig
    from palaestra.league.population.layout import RunLayout
    from palaestra.league.population.state import LeagueState

    layout = RunLayout(run_dir)
    config, state = LeagueConfig.load(layout.config), LeagueState.load(layout.state)
    if member not in state.members:
        raise UnknownNameError(f"no member {member!r} in {run_dir}; members: {', '.join(state.members)}")
    rival = opponent if opponent is not None else default_opponent(state, member)
    if rival not in state.members or side_of(rival) == side_of(member):
        raise UnknownNameError(f"the opponent of {member!r} must be a member of the other side of "
                               f"{run_dir}, got {rival!r}")
    hider, seeker = (member, rival) if side_of(member) == "hider" else (rival, member)
    modules = {m: load_module(m) for m in (hider, seeker)}
    for module in modules.values():
        module.eval()
    game_config = variant_config(config.variant)
    env = HideAndSeekParallelEnv(**game_config.__dict__)
    reset_seed = game_seed(seed, game)
    obs, _ = env.reset(seed=reset_seed)
    team = {name: hider if name.startswith("hider") else seeker for name in env.possible_agents}
    actions: list[dict[str, list[int]]] = []
    while env.agents:
        step: dict[str, list[int]] = {}
        for m, module in modules.items():
            names = [n for n in env.agents if team[n] == m]
            step.update(zip(names, greedy_actions(module, [obs[n] for n in names]), strict=True))
        actions.append(step)
        obs, *_ = env.step({n: np.asarray(a) for n, a in step.items()})
    names = [team[n] for n in env.possible_agents]
    meta = {"league": str(Path(run_dir).resolve()), "member": member, "opponent": rival,
            "game": game, "seed": seed, "policy": "greedy", "variant": config.variant}
    return make_replay("hide-and-seek", dict(game_config.__dict__), reset_seed, names, actions,
                       meta=meta)
