"""Evaluation games of league members: a member's RLlib module against three scripted bots."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from palaestra.agents.learned.bomber import takes_mask
from palaestra.errors import ConfigError, RunStateError, UnknownNameError
from palaestra.league.population.envs.bomber import BOT_PREFIX, BomberLeagueEnv
from palaestra.league.population.layout import RunLayout


@dataclass(frozen=True)
class EvalGame:
    """One evaluation game: where each member sat and how it placed."""

    seats: tuple[str, ...]
    ranks: tuple[int, ...]
    seed: int

    def won(self, member: str) -> bool:
        """True when ``member`` is the only one placed first."""
        k = self.seats.index(member)
        return self.ranks[k] == 0 and self.ranks.count(0) == 1


def module_policy(module: Any, rng: np.random.Generator) -> Callable[[Any], int]:
    """Sample actions from an RLlib module's action distribution (as in training). The
    observation is the flat planes, or for a masked module the dict of planes and action mask
    (``BomberLeagueEnv``'s ``masked_members``)."""
    from palaestra.agents.learned.bomber import MASK_KEY, PLANES_KEY, module_logits, sample_action

    logits = module_logits(module)

    def act(obs: Any) -> int:
        if isinstance(obs, dict):
            out = logits(obs[PLANES_KEY][None], obs[MASK_KEY][None])
        else:
            out = logits(obs[None], None)
        return sample_action(np.asarray(out[0], dtype=np.float64), rng)

    return act


def play_eval_games(member: str, policy: Callable[[Any], int], games: int, seed: int,
                    bot: str = "simple", masked: bool = False) -> list[EvalGame]:
    """``games`` FFA games of ``member`` against three ``bot``\\ s, seats drawn at random.

    The game stops when ``member`` dies (the bots' play-out could not change its result), so a win
    is a game the member ends alone on top.
    """
    bot_id = BOT_PREFIX + bot
    env = BomberLeagueEnv({"lineups": {member: {bot_id: 1.0}}, "bots": [bot_id], "play_out": False,
                           "masked_members": [member] if masked else []})
    out = []
    for g in range(games):
        obs, _ = env.reset(seed=int(np.random.default_rng([seed, g]).integers(2**31)))
        while True:
            obs, _, term, trunc, _ = env.step({m: policy(o) for m, o in obs.items()
                                               if m in env.agents})
            if term["__all__"] or trunc["__all__"]:
                break
        result = env.pop_results()[0]
        out.append(EvalGame(tuple(result["seats"]), tuple(result["ranks"]), result["seed"]))
    return out


def load_member_module(run_dir: Any, member: str) -> Any:
    """The RLlib module of ``member`` from the last checkpoint of the league in ``run_dir``."""
    from palaestra.agents.learned.checkpoints import load_rllib_module
    from palaestra.league.population.state import LeagueState

    state = LeagueState.load(RunLayout(run_dir).state)
    if member not in state.members or state.members[member].kind == "bot":
        known = [m for m in state.members if state.members[m].kind != "bot"]
        raise UnknownNameError(f"{member!r} is not a trained member of this league; known: {known}")
    if not state.checkpoint:
        raise RunStateError(f"{run_dir}: the league has no checkpoint yet")
    return load_rllib_module(member_module_dir(run_dir, state, member))


def member_module_dir(run_dir: Any, state: Any, member: str) -> Any:
    """Where ``member``'s module is stored: the last checkpoint, or the archive once retired."""
    layout = RunLayout(run_dir)
    for path in (layout.checkpoint_module(state.checkpoint, member), layout.archived_module(member)):
        if path.is_dir():
            return path
    raise RunStateError(f"{run_dir}: neither the last checkpoint nor the archive holds {member!r}")


def evaluate_checkpoint(run_dir: Any, members: list[str] | None, games: int,
                        seed: int) -> list[dict[str, Any]]:
    """Win counts of members (default: every learner) against three SimpleAgents."""
    from palaestra.league.population.state import LeagueState

    if games < 1:
        raise ConfigError(f"games must be positive, got {games}")
    state = LeagueState.load(RunLayout(run_dir).state)
    rows = []
    for k, member in enumerate(members or state.learners()):
        module = load_member_module(run_dir, member)
        rng = np.random.default_rng([seed, k])
        played = play_eval_games(member, module_policy(module, rng), games, seed,
                                 masked=takes_mask(module))
        wins = sum(g.won(member) for g in played)
        ties = sum(g.ranks[g.seats.index(member)] == 0 and not g.won(member) for g in played)
        rows.append({"member": member, "games": games, "wins": wins, "ties": ties,
                     "win_rate": wins / games, "iteration": state.iteration})
    return rows


def evaluate_baseline(bot: str, games: int, seed: int) -> dict[str, Any]:
    """The same measure for a scripted agent in the member's seat (e.g. ``simple``: how often a
    SimpleAgent beats three others), in full games with a random seat. The member's games stop
    when it dies, which cannot change whether it wins, so the two win rates compare directly."""
    from palaestra.agents.scripted.bomber import make_scripted_bomber_agent
    from palaestra.envs.bomber.config import BomberConfig
    from palaestra.evaluation.bomber import play_bomber_game

    if games < 1:
        raise ConfigError(f"games must be positive, got {games}")
    wins = draws = 0
    for g in range(games):
        game_seed = int(np.random.default_rng([seed, g]).integers(2**31))
        seat = int(np.random.default_rng([seed, g, 1]).integers(4))
        agents = [make_scripted_bomber_agent("simple") for _ in range(4)]
        agents[seat] = make_scripted_bomber_agent(bot)
        result = play_bomber_game(agents, BomberConfig(), game_seed)
        wins += result.winners == [seat]
        draws += result.result == "tie"
    return {"member": f"baseline:{bot}", "games": games, "wins": wins, "draws": draws,
            "win_rate": wins / games}


def export_member(run_dir: Any, member: str, to: Any, force: bool = False) -> Any:
    """Write ``member``'s module as a palaestra Bomber checkpoint directory ``to``, which
    ``bomber play --agent``, ``tournament submit`` and the sandbox load."""
    import shutil
    from pathlib import Path

    import palaestra
    from palaestra.agents.learned.bomber import TORCHSCRIPT_FILE, script_module, takes_mask
    from palaestra.agents.learned.checkpoints import RLLIB_MODULE, CheckpointMeta
    from palaestra.envs import env_id
    from palaestra.league.population.config import LeagueConfig
    from palaestra.league.population.state import LeagueState

    run, out = Path(run_dir), Path(to)
    layout = RunLayout(run)
    state = LeagueState.load(layout.state)
    config = LeagueConfig.load(layout.config)
    if config.solo:
        raise ConfigError(f"{run} is a {config.env} league; only Bomber members can be exported")
    module = load_member_module(run, member)  # checks the member and that its module loads
    if out.exists():
        if not force:
            raise FileExistsError(f"{out} already exists; pass --force to replace it")
        shutil.rmtree(out)
    shutil.copytree(member_module_dir(run, state, member), out / RLLIB_MODULE)
    script_module(module, out / TORCHSCRIPT_FILE)
    table = state.rating_table() if state.matches else None
    player = table.players.get(member) if table else None
    results = {"member": member, "iteration": state.iteration, "league": str(run.resolve())}
    if player is not None:
        results.update(ordinal=player.ordinal, elo=player.elo, games=player.games)
    CheckpointMeta(env_id=env_id("bomber"), backend="rllib", algo="ppo",
                   features={"observation": "planes", "max_steps": 800,
                             "action_mask": takes_mask(module)},
                   package_version=palaestra.__version__,
                   train_config=config.to_json(), results=results).write(out)
    return out
