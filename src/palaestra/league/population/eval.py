"""Evaluation games of league members: a member's RLlib module against three scripted bots."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from palaestra.agents.learned.bomber import takes_mask
from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber.filter_names import LEGACY_FILTER
from palaestra.errors import ConfigError, RunStateError, UnknownNameError
from palaestra.evaluation.versus import VersusTally, game_seed
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
                    bot: str = "simple", masked: bool = False,
                    action_filter: str = LEGACY_FILTER) -> list[EvalGame]:
    """``games`` FFA games of ``member`` against three ``bot``\\ s, its seat rotated (game ``g`` in
    seat ``g % 4``, as :func:`palaestra.evaluation.versus.play_versus` seats it). A ``masked``
    member sees the mask of ``action_filter``.

    The game stops when ``member`` dies (the bots' play-out could not change its result), so a win
    is a game the member ends alone on top.
    """
    bot_id = BOT_PREFIX + bot
    env = BomberLeagueEnv({"lineups": {member: {bot_id: 1.0}}, "bots": [bot_id], "play_out": False,
                           "masked_members": [member] if masked else [], "action_filter": action_filter})
    out = []
    for g in range(games):
        obs, _ = env.reset(seed=game_seed(seed, g), options={"seat": g % C.NUM_AGENTS})
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


def evaluate_members(run_dir: Any, members: list[str] | None, baselines: list[str], games: int,
                     seed: int, opponent: str = "simple", workers: int = 1,
                     on_games: Callable[[int], None] | None = None) -> list[VersusTally]:
    """Members (default: every learner) and built-in baselines, each in one seat against three
    ``opponent`` s over the same ``games`` games (:func:`palaestra.evaluation.versus.play_versus`:
    seats rotated, ties apart from losses); in a team league (``mode="team"`` in its config), each
    in both seats of one side against two ``opponent`` s, sides rotated. A member plays its exported TorchScript policy,
    sampling as in training, exactly as ``bomber play --agent DIR`` would play it.

    Raises:
        ConfigError: ``games`` or ``workers`` below 1; UnknownNameError: an unknown member or
            baseline. Both before any game is played.
    """
    import tempfile
    from pathlib import Path

    from palaestra.evaluation.versus import play_versus
    from palaestra.league.population.config import LeagueConfig
    from palaestra.league.population.state import LeagueState

    if games < 1 or workers < 1:
        raise ConfigError(f"games and workers must be positive, got {games} and {workers}")
    _require_builtins([*baselines, opponent])
    layout = RunLayout(run_dir)
    mode = LeagueConfig.load(layout.config).mode
    rows = []
    with tempfile.TemporaryDirectory(prefix="palaestra-eval-") as tmp:
        for member in members or LeagueState.load(layout.state).learners():
            exported = export_member(run_dir, member, Path(tmp) / member.replace("@", "-"))
            tally = play_versus(str(exported), opponent, games, seed, workers, on_games, mode=mode)
            rows.append(replace(tally, agent=member))
    rows += [play_versus(b, opponent, games, seed, workers, on_games, mode=mode) for b in baselines]
    return rows


def _require_builtins(names: list[str]) -> None:
    """UnknownNameError naming every one of ``names`` that is not a built-in Bomber agent."""
    from palaestra.agents.registry import bomber_builtins

    unknown = [n for n in names if n not in bomber_builtins()]
    if unknown:
        raise UnknownNameError(f"unknown built-in agents {unknown}; known: {', '.join(bomber_builtins())}")


def export_member(run_dir: Any, member: str, to: Any, force: bool = False) -> Any:
    """Write ``member``'s module as a palaestra Bomber checkpoint directory ``to``, which
    ``bomber play --agent``, ``tournament submit`` and the sandbox load."""
    import shutil
    from pathlib import Path

    import palaestra
    from palaestra.agents.learned.bomber import TORCHSCRIPT_FILE, script_module
    from palaestra.agents.learned.checkpoints import RLLIB_MODULE, CheckpointMeta
    from palaestra.envs import env_id
    from palaestra.league.population.config import LeagueConfig
    from palaestra.league.population.state import LeagueState

    run, out = Path(run_dir), Path(to)
    layout = RunLayout(run)
    state = LeagueState.load(layout.state)
    config = LeagueConfig.load(layout.config)
    if not config.bomber:
        raise ConfigError(f"{run} is a {config.env} league; only Bomber members can be exported "
                          "and evaluated against SimpleAgents (`palaestra league table` rates the "
                          "members of any league)")
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
                             "action_mask": takes_mask(module), "action_filter": config.action_filter},
                   package_version=palaestra.__version__,
                   train_config=config.to_json(), results=results).write(out)
    return out


def record_member_game(run_dir: Any, member: str, game: int = 0, seed: int = 0,
                       opponent: str | None = None) -> Any:
    """A replay of evaluation game ``game`` of ``member``: the game ``league eval`` (and
    ``bomber versus``) plays with these ``seed`` and ``opponent`` (FFA: the member in seat
    ``game % 4``; a team league: on side ``game % 2``; ``opponent`` is a built-in, ``simple`` by
    default), re-simulated and verified on load. In a Kelly or counting league, the member's
    greedy episode ``game`` of ``seed`` (:mod:`palaestra.league.population.solo_replay`;
    ``opponent`` does not apply); in a hide-and-seek league, a greedy game against ``opponent``,
    a member of the other side (default: its best-rated learner;
    :mod:`palaestra.league.population.hns_replay`).

    Raises:
        ConfigError: ``game`` below 0; UnknownNameError: an unknown member or opponent.
    """
    import tempfile
    from pathlib import Path

    from palaestra.league.population.config import LeagueConfig

    config = LeagueConfig.load(RunLayout(run_dir).config)
    if game < 0:
        raise ConfigError(f"game must be >= 0, got {game}")
    if config.hide_and_seek:
        from palaestra.league.population.hns_replay import record_hns_game

        return record_hns_game(run_dir, member, game, seed, opponent,
                               lambda m: load_member_module(run_dir, m))
    if config.solo:
        from palaestra.league.population.solo_replay import record_solo_game

        return record_solo_game(load_member_module(run_dir, member), run_dir, config.env, member, game, seed)
    opponent = opponent or "simple"
    _require_builtins([opponent])
    meta = {"league": str(Path(run_dir).resolve()), "member": member, "game": game, "seed": seed,
            "opponent": opponent, "mode": config.mode}
    with tempfile.TemporaryDirectory(prefix="palaestra-replay-") as tmp:
        exported = export_member(run_dir, member, Path(tmp) / member.replace("@", "-"))
        return record_agent_game(str(exported), member, game, seed, opponent, config.mode, meta)


def record_agent_game(agent: str, name: str, game: int, seed: int, opponent: str = "simple",
                      mode: str = "ffa", meta: dict[str, Any] | None = None) -> Any:
    """A replay of game ``game`` of ``agent`` (an agent spec: a built-in name or a checkpoint
    directory, called ``name`` in the replay) against ``opponent`` s, as ``bomber versus`` plays
    it with this ``seed`` (FFA: ``agent`` in seat ``game % 4``; team: on side ``game % 2``)."""
    from palaestra.evaluation.replay import make_replay
    from palaestra.evaluation.versus import agent_seats, play_game

    actions: list[dict[str, Any]] = []
    result = play_game(agent, opponent, game, seed, mode, on_actions=lambda a: actions.append(dict(a)))
    mine = agent_seats(game, mode)
    names = [name if k in mine else opponent for k in range(C.NUM_AGENTS)]
    return make_replay("bomber", {"mode": mode}, result.env_seed, names, actions, meta=meta)
