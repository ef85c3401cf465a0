"""Replays of single-agent league members (Kelly, counting): one episode of a member's module.

A member of a single-agent league plays the env it trained on (``make_solo_env``: the same
features), choosing the most likely action of its module (the mean bet share for Kelly), with the
recurrent state (the LSTM's, or the NAU core's accumulator) carried from step to step for
counting. The episode is the evaluation game ``game`` of seed ``seed`` (reset seed
``game_seed(seed, game)``, as ``bomber versus`` numbers its games), so a replay of the same
member, game and seed is the same file. What the inner env was given at each step (Kelly's bet in
cents, counting's move) is recorded, and the replay is re-simulated and verified by
:func:`palaestra.evaluation.replay.make_replay`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from palaestra.evaluation.versus import game_seed
from palaestra.league.population.envs.solo import make_solo_env


class _Recorder(gym.Wrapper):
    """Keeps every action the wrapped (inner) env is stepped with."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.actions: list[Any] = []

    def step(self, action: Any) -> Any:
        self.actions.append(np.asarray(action).item() if np.ndim(action) == 0 else np.asarray(action).tolist())
        return self.env.step(action)


def _greedy_action(module: Any, obs: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
    """The module's deterministic action for one observation, and its next recurrent state."""
    import torch
    from ray.rllib.core.columns import Columns

    recurrent = state is not None
    x = torch.as_tensor(np.asarray(obs, np.float32))[None]
    batch: dict[str, Any] = {Columns.OBS: x[:, None] if recurrent else x}
    if recurrent:
        batch[Columns.STATE_IN] = _first(state, index=False)
    with torch.no_grad():
        out = module.forward_inference(batch)
    inputs = out[Columns.ACTION_DIST_INPUTS]
    if recurrent:
        inputs = inputs[:, 0]
        state = _first(out[Columns.STATE_OUT], index=True)
    dist = module.get_inference_action_dist_cls().from_logits(inputs).to_deterministic()
    return dist.sample()[0].numpy(), state


def _tensors(state: Any) -> Any:
    """A module's (possibly nested) initial state as torch tensors."""
    import torch

    if isinstance(state, dict):
        return {k: _tensors(v) for k, v in state.items()}
    return torch.as_tensor(state)


def _first(state: Any, index: bool) -> Any:
    """Each tensor of a nested state with a batch axis added (``index`` False) or taken off."""
    if isinstance(state, dict):
        return {k: _first(v, index) for k, v in state.items()}
    return state[0] if index else state[None]


def record_solo_game(module: Any, run_dir: Any, env: str, member: str, game: int, seed: int) -> Any:
    """The replay of evaluation episode ``game`` (seed ``seed``) of ``member`` (its RLlib
    ``module``) of the single-agent league in ``run_dir``, whose env is ``env`` (``kelly`` or
    ``counting``)."""
    from palaestra.evaluation.replay import make_replay

    module.eval()
    outer = make_solo_env(env)
    recorder = _Recorder(outer.env)  # type: ignore[attr-defined]
    outer.env = recorder  # type: ignore[attr-defined]  # the features wrapper steps the recorder
    reset_seed = game_seed(seed, game)
    obs, _ = outer.reset(seed=reset_seed)
    initial = module.get_initial_state() if hasattr(module, "get_initial_state") else {}
    state = _tensors(initial) if initial else None
    done = False
    while not done:
        action, state = _greedy_action(module, obs, state)
        obs, _, terminated, truncated, _ = outer.step(action)
        done = terminated or truncated
    meta = {"league": str(Path(run_dir).resolve()), "member": member, "game": game, "seed": seed,
            "policy": "greedy"}
    return make_replay(env, {}, reset_seed, [member], recorder.actions, meta=meta)
