"""The imitation warm start of a Bomber league: learners first copy a scripted teacher, then PPO.

PPO behind the action filter starts from a near-uniform choice among the allowed moves, and one
+-1 per game of a few hundred steps moved it little within an hour on 2 cores (docs/league.md).
A warm start gives it a better place to start from, as the Pommerman competitions' strongest
learners did (imitation, then RL). Before the first iteration of a new league:

1. :func:`collect_demonstrations` plays games on a batch of boards with the compiled bots: one
   seat per board is the teacher (``cautious-simple`` by default: a SimpleAgent behind the
   ``cautious`` filter), the other three are the opponents (SimpleAgents), the teacher's seat
   rotating game by game. In a team league the teacher plays both seats of one side, the sides
   rotating. Each of the teacher's steps gives a sample: its planes, the league's
   action mask, the teacher's move and the discounted game result (+1 for a win, else -1, paid at
   the teacher's last step, as the league pays it).
2. :func:`fit_module` trains each learner's module on them: cross-entropy of the masked logits
   against the teacher's move, plus ``value_coeff`` times the squared error of the value against
   the discounted result (so PPO's first advantages are not pure noise).
3. :func:`warm_start` does both for every learner of an RLlib algorithm and hands the weights to
   the learners and the env runners.

All draws come from one generator seeded by the league's seed. FFA and team games (in team_radio the
teacher says nothing; only the move logits are fitted).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from palaestra.agents.scripted.compiled import COMPILED_BOTS, CompiledBots
from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber.board import make_board, make_items
from palaestra.envs.bomber.config import BomberConfig
from palaestra.envs.bomber.core import ALIVE, STEP, BomberBatch
from palaestra.envs.bomber.filter_names import FilterName, check_filter
from palaestra.envs.bomber.filters import filter_mask
from palaestra.envs.bomber.observe import planes
from palaestra.errors import ConfigError
from palaestra.league.population.imitation_config import ImitationConfig
from palaestra.league.population.vector_playout import bot_moves

ProgressFn = Callable[[str, int, int], None]
"""``(phase, done, total)``: called as demonstrations are collected and epochs are fitted."""


@dataclass
class Demonstrations:
    """The teacher's steps: what the learner sees, may do, should do, and what followed."""

    planes: np.ndarray
    """(n, planes) float16 flat planes of the teacher's seat."""
    mask: np.ndarray
    """(n, 6) bool: the league's action mask in that state."""
    action: np.ndarray
    """(n,) int64 the teacher's move."""
    value: np.ndarray
    """(n,) float32 the discounted result of the game from that step."""
    games: int
    wins: int

    def __len__(self) -> int:
        return len(self.action)


def _teacher_seats(team: bool, game: int) -> tuple[int, ...]:
    """The seats the teacher plays in the ``game``-th game: one seat rotating over the four (FFA),
    or one side rotating over the two (team: seats 0 and 2, or 1 and 3)."""
    if team:
        side = game % 2
        return (side, side + 2)
    return (game % C.NUM_AGENTS,)


def _game_over(alive: np.ndarray, seats: tuple[int, ...], team: bool, step: int,
               max_steps: int) -> tuple[bool, bool]:
    """``(over, won)`` for the teacher on one board, from the (4,) alive flags after a step.

    FFA: over when the teacher dies, one agent is left or time is up; won when it is the last one.
    Team: over when a side is out or time is up; won when the other side is out and its is not.
    """
    mine = bool(alive[list(seats)].any())
    if team:
        others = bool(alive[[k for k in range(C.NUM_AGENTS) if k not in seats]].any())
        return (not mine or not others or step >= max_steps), mine and not others
    over = not mine or alive.sum() <= 1 or step >= max_steps
    return over, mine and alive.sum() == 1


def collect_demonstrations(config: ImitationConfig, bomber: BomberConfig, action_filter: FilterName,
                           gamma: float, rng: np.random.Generator,
                           progress: ProgressFn | None = None) -> Demonstrations:
    """Play teacher-vs-opponents games until ``config.samples`` teacher steps are in.

    In FFA the teacher holds one seat against three opponents; in a team game (``bomber.team``)
    it holds both seats of one side against a side of two opponents, and each of its seats gives
    a sample per step while it lives. Every sample's value is the game's result (+1 a win, else
    -1) discounted from that step to the seat's last step, where the league pays it.

    Raises:
        ConfigError: without a teacher.
    """
    if config.teacher is None:
        raise ConfigError("no imitation teacher is set")
    check_filter(action_filter)
    n, team = config.num_boards, bool(bomber.team)
    batch = BomberBatch.empty(n)
    bots = {k: CompiledBots(k, n, bomber) for k in COMPILED_BOTS}
    messages = np.zeros((n, C.NUM_AGENTS, C.RADIO_NUM_WORDS), np.int64)
    seats: list[tuple[int, ...]] = [()] * n
    games_started = 0
    open_games: list[dict[int, list[int]]] = [{} for _ in range(n)]
    obs_rows: list[np.ndarray] = []
    mask_rows: list[np.ndarray] = []
    actions: list[int] = []
    values: list[float] = []
    games = wins = finished = 0

    def restart(i: int) -> None:
        nonlocal games_started
        seed = int(rng.integers(2**31))
        game_rng = np.random.default_rng(seed)
        board = make_board(game_rng, num_rigid=bomber.num_rigid, num_wood=bomber.num_wood)
        batch.set_start(i, board, make_items(game_rng, board, bomber.num_items))
        for b in bots.values():
            b.reset(i)
        seats[i] = _teacher_seats(team, games_started)
        games_started += 1
        open_games[i] = {k: [] for k in seats[i]}

    for i in range(n):
        restart(i)
    moves = np.zeros((n, C.NUM_AGENTS), np.int64)
    while finished < config.samples:
        demo = np.zeros((n, C.NUM_AGENTS), bool)
        for i in range(n):
            demo[i, list(seats[i])] = True
        alive = batch.agents[:, :, ALIVE].astype(bool)
        obs = planes(batch.board, batch.agents, batch.bombs, batch.flames, batch.meta, messages,
                     bomber.view, bomber.team, bomber.max_steps).reshape(n, C.NUM_AGENTS, -1)
        mask = filter_mask(batch, action_filter, demo)
        kinds = {config.opponent: ~demo} if config.opponent != config.teacher else {}
        kinds[config.teacher] = demo | kinds.get(config.teacher, np.zeros_like(demo))
        moves[:] = C.STOP
        bot_moves(batch, kinds, bots, rng, moves)
        for i in range(n):
            for k in seats[i]:
                if not alive[i, k]:
                    continue
                open_games[i][k].append(len(actions))
                obs_rows.append(obs[i, k].astype(np.float16))
                mask_rows.append(mask[i, k].copy())
                actions.append(int(moves[i, k]))
                values.append(0.0)
        batch.step(moves, bomber.blast_cap)
        alive = batch.agents[:, :, ALIVE].astype(bool)
        for i in range(n):
            over, won = _game_over(alive[i], seats[i], team, int(batch.meta[i, STEP]), bomber.max_steps)
            if not over:
                continue
            result = 1.0 if won else -1.0
            for steps in open_games[i].values():
                for t, index in enumerate(steps):
                    values[index] = result * gamma ** (len(steps) - 1 - t)
                finished += len(steps)
            games += 1
            wins += won
            restart(i)
        if progress is not None:
            progress("collect", min(finished, config.samples), config.samples)
    unfinished = {index for game in open_games for steps in game.values() for index in steps}
    keep = np.array([j for j in range(len(actions)) if j not in unfinished], np.int64)
    return Demonstrations(np.stack(obs_rows)[keep], np.stack(mask_rows)[keep],
                          np.asarray(actions, np.int64)[keep], np.asarray(values, np.float32)[keep],
                          games, wins)


def fit_module(module: Any, demos: Demonstrations, config: ImitationConfig, rng: np.random.Generator,
               progress: ProgressFn | None = None) -> dict[str, float]:
    """Fit ``module`` (a Bomber CNN or MLP RLModule, masked or not) to ``demos`` in place.

    Samples whose teacher move the module's mask forbids are left out (counted in the result).

    Returns:
        ``accuracy`` (the masked policy's most likely move equals the teacher's, over the last
        epoch), ``cross_entropy``, ``value_mse``, ``samples``, ``dropped``, ``seconds``.
    """
    import gymnasium as gym
    import torch
    from ray.rllib.core.columns import Columns

    from palaestra.agents.learned.bomber import MASK_KEY, PLANES_KEY

    start = time.perf_counter()
    masked = isinstance(module.observation_space, gym.spaces.Dict)
    allowed = demos.mask[np.arange(len(demos)), demos.action]
    index = np.flatnonzero(allowed) if masked else np.arange(len(demos))
    if not len(index):
        raise ConfigError("no demonstration is allowed by the module's action mask")
    params = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=config.lr)
    module.train()
    stats: dict[str, float] = {}
    for epoch in range(config.epochs):
        order = index[rng.permutation(len(index))]
        hits = ce_sum = mse_sum = 0.0
        for lo in range(0, len(order), config.minibatch_size):
            part = order[lo:lo + config.minibatch_size]
            x = torch.from_numpy(demos.planes[part].astype(np.float32))
            obs: Any = {PLANES_KEY: x, MASK_KEY: torch.from_numpy(demos.mask[part].astype(np.float32))} if masked else x
            batch = {Columns.OBS: obs}
            out = module.forward_train(batch)
            logits = out[Columns.ACTION_DIST_INPUTS][..., :C.NUM_ACTIONS]
            target = torch.from_numpy(demos.action[part])
            ce = torch.nn.functional.cross_entropy(logits, target)
            value = module.compute_values(batch, embeddings=out.get(Columns.EMBEDDINGS))
            mse = torch.mean((value - torch.from_numpy(demos.value[part])) ** 2)
            loss = ce + config.value_coeff * mse
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            hits += float((logits.argmax(-1) == target).sum())
            ce_sum += float(ce.detach()) * len(part)
            mse_sum += float(mse.detach()) * len(part)
        stats = {"accuracy": hits / len(order), "cross_entropy": ce_sum / len(order),
                 "value_mse": mse_sum / len(order)}
        if progress is not None:
            progress("fit", epoch + 1, config.epochs)
    module.eval()
    return {**stats, "samples": float(len(index)), "dropped": float(len(demos) - len(index)),
            "seconds": time.perf_counter() - start}


def warm_start(algo: Any, spec: Any, learners: list[str], config: ImitationConfig, bomber: BomberConfig,
               action_filter: FilterName, gamma: float, seed: int,
               progress: ProgressFn | None = None) -> dict[str, Any]:
    """Collect the teacher's demonstrations once, fit every learner's module to them, and hand the
    weights to the learners and the env runners of ``algo``.

    Args:
        spec: the members' RLModule spec (a fresh module of it is fitted, starting from the
            learner's current weights).

    Returns:
        ``games``, ``teacher_win_rate``, ``collect_seconds`` and, per learner, :func:`fit_module`'s stats.
    """
    from palaestra.league.rllib.weights import module_weights, sync_weights

    rng = np.random.default_rng([seed, 0x1A1])
    start = time.perf_counter()
    demos = collect_demonstrations(config, bomber, action_filter, gamma, rng, progress)
    out: dict[str, Any] = {"games": demos.games, "teacher_win_rate": demos.wins / max(demos.games, 1),
                           "collect_seconds": time.perf_counter() - start, "fit": {}}
    for learner in learners:
        module = spec.build()
        module.set_state(module_weights(algo, learner))
        out["fit"][learner] = fit_module(module, demos, config, rng, progress)
        algo.learner_group.set_weights({learner: module.get_state()})
    sync_weights(algo)
    return out
