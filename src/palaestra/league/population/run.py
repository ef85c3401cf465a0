"""``palaestra league train``: the league loop around RLlib, with checkpoints and resume.

Every iteration: install the matchmaking table (PFSP over learners, snapshots and bots) in the
env runners, run one RLlib training iteration, record the finished games as rated matches; on
schedule, play evaluation games against SimpleAgents, take frozen snapshots, run a PBT round.
Then write the RLlib checkpoint (a new directory) and, last, replace ``league.json`` atomically:
a ``kill -9`` at any moment leaves the previous state and the checkpoint it names intact, and
``--resume`` continues from there. Everything a user looks at is written on the way: TensorBoard
scalars under ``tb/``, ``plots/`` (league table, rating curves, win matrix) and ``events.jsonl``.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from palaestra.agents.learned.bomber import takes_mask
from palaestra.errors import RunStateError
from palaestra.league.population import algorithm
from palaestra.league.population.config import LeagueConfig
from palaestra.league.population.curriculum import curriculum_lineup, stage_name, stage_of
from palaestra.league.population.envs.bomber import BOT_PREFIX
from palaestra.league.population.eval import module_policy, play_eval_games
from palaestra.league.population.layout import CONFIG_FILE, STATE_FILE, RunLayout
from palaestra.league.population.matchmaking import lineup_table
from palaestra.league.population.pbt import exploit_explore
from palaestra.league.population.phases import log_phases, summarise
from palaestra.league.population.sides import SIDES, members_of, rivals
from palaestra.league.population.state import LeagueState, MatchRecord, Member
from palaestra.league.population.vector_runner import MASKED_ACTIONS_PER_STEP, MASKED_STEP_SHARE
from palaestra.league.rllib.modules import identity_mapping
from palaestra.league.rllib.nau_module import NAU_DIAGNOSTICS
from palaestra.league.rllib.weights import apply_hyperparams, copy_weights, push_weights, sync_weights

ProgressFn = Callable[[LeagueState, dict[str, Any]], None]


LEARNER_DIAGNOSTICS = ("entropy", "mean_kl_loss", "vf_explained_var", "policy_loss", "vf_loss")
"""PPO's per-module learner statistics logged every iteration (events.jsonl "learner", TensorBoard
``learner/<member>/...``): a policy that does not move shows as a KL near 0 and a flat entropy.
A NAU counting core (``core="nau"``) adds its regulariser's weight and sparsity penalty
(:data:`~palaestra.league.rllib.nau_module.NAU_DIAGNOSTICS`)."""


def learner_diagnostics(learners: dict[str, Any], members: list[str]) -> dict[str, dict[str, float]]:
    """The :data:`LEARNER_DIAGNOSTICS` (and a NAU module's ``NAU_DIAGNOSTICS``) of each trained
    member in RLlib's ``result["learners"]``."""
    out: dict[str, dict[str, float]] = {}
    for m in members:
        values = learners.get(m) or {}
        got = {k: float(values[k]) for k in (*LEARNER_DIAGNOSTICS, *NAU_DIAGNOSTICS) if k in values}
        if got:
            out[m] = {k: v for k, v in got.items() if np.isfinite(v)}
    return out


class LeagueRunError(RunStateError):
    """A run directory that cannot be started or resumed as asked."""


def prepare_run(config: LeagueConfig, out: Path, resume: bool,
                force: bool) -> tuple[LeagueConfig, LeagueState]:
    """Create (or, with ``resume``, reload) the run directory; returns the config and state.

    On resume the stored config wins, except ``iterations`` (which may grow) and the Ray placement
    fields (``address``, ``num_cpus``, runners, learners, GPUs), which may differ between machines.
    """
    layout = RunLayout(out)
    state_path = layout.state
    if resume:
        if not state_path.is_file():
            raise LeagueRunError(f"{out}: nothing to resume (no {STATE_FILE})")
        stored = LeagueConfig.load(layout.config)
        keep = {k: getattr(config, k) for k in (
            "iterations", "address", "num_cpus", "num_env_runners", "num_cpus_per_env_runner",
            "num_envs_per_env_runner", "num_learners", "num_gpus_per_learner", "max_restarts")}
        defaults = LeagueConfig(env=config.env)
        changed = [f.name for f in fields(LeagueConfig) if f.name not in keep
                   and getattr(config, f.name) != getattr(stored, f.name)
                   and getattr(config, f.name) != getattr(defaults, f.name)]
        if changed:
            raise LeagueRunError(f"{out}: --resume keeps the league's own settings, but these "
                                 f"differ from it: {', '.join(changed)} (see {CONFIG_FILE})")
        merged = LeagueConfig.from_json({**stored.to_json(), **keep})
        merged.save(layout.config)
        return merged, LeagueState.load(state_path)
    if state_path.exists():
        if not force:
            raise LeagueRunError(f"{out} already holds a league; pass --resume to continue it or "
                                 "--force to start over")
        for path in layout.owned():
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    out.mkdir(parents=True, exist_ok=True)
    config.save(layout.config)
    state = LeagueState.new(config.env, config.seed)
    for learner in config.learner_ids():
        state.add_member(Member(learner, "learner", config.initial_hyperparams()))
    for bot in config.bots if config.bomber else ():
        state.add_member(Member(BOT_PREFIX + bot, "bot"))
    state.save(state_path)
    return config, state


def retired_snapshots(state: LeagueState, config: LeagueConfig) -> list[str]:
    """Each learner's snapshots older than its newest ``max_snapshots``: no longer drawn as
    opponents and no longer held by the running algorithm (their weights go to ``archive/``)."""
    retired: list[str] = []
    for learner in state.learners():
        own = [s for s in state.snapshots() if state.members[s].parent == learner]
        retired.extend(own[:-config.max_snapshots])
    return retired


def active_snapshots(state: LeagueState, config: LeagueConfig) -> list[str]:
    gone = set(retired_snapshots(state, config))
    return [s for s in state.snapshots() if s not in gone]


def active_lineups(state: LeagueState, config: LeagueConfig) -> dict[str, dict[str, float]]:
    """Each learner's opponent distribution: the bot of its curriculum stage while it has one
    (:mod:`.curriculum`), else its PFSP table without the retired snapshots (for a single-agent
    env, just the learners: nobody has opponents)."""
    if config.solo:
        return {m: {} for m in state.learners()}
    table = lineup_table(state, config.matchmaking, rivals if config.hide_and_seek else None)
    retired = set(retired_snapshots(state, config))
    out = {}
    for learner, dist in table.items():
        staged = curriculum_lineup(stage_of(learner, state.matches, config.curriculum), config.curriculum) \
            if config.bomber else None
        if staged is not None:  # still in the curriculum: the stage's bot in every seat
            out[learner] = staged
            continue
        kept = {m: p for m, p in dist.items() if m not in retired}
        total = sum(kept.values())
        out[learner] = {m: p / total for m, p in kept.items()}
    return out


def shaping_table(state: LeagueState) -> dict[str, dict[str, float]]:
    return {m: {k: v for k, v in member.hyperparams.items() if k.startswith("shape_")}
            for m, member in state.members.items() if member.kind in ("learner", "snapshot")}


def env_config(state: LeagueState, config: LeagueConfig) -> dict[str, Any]:
    return {"lineups": active_lineups(state, config), "bots": state.bots(),
            "shaping": shaping_table(state), "seed": config.seed,
            "reward_model": config.reward_model, "action_filter": config.action_filter,
            "variant": config.variant,
            "agent_ids": sorted(set(config.planned_member_ids()) | set(state.learners())
                                | set(state.snapshots()))}


class LeagueRun:
    """One league run in ``out``; :meth:`train` runs it to ``config.iterations``."""

    def __init__(self, config: LeagueConfig, state: LeagueState, out: Path,
                 warm_start_progress: Callable[[str, int, int], None] | None = None) -> None:
        self.config, self.state, self.out = config, state, out
        self.warm_start_progress = warm_start_progress
        self.layout = RunLayout(out)
        self.algo: Any = None
        self._writer: Any = None

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        self.algo = algorithm.build_algorithm(self.config, self.state.learners(),
                                              active_snapshots(self.state, self.config),
                                              env_config(self.state, self.config))
        if self.state.checkpoint:
            self.algo.restore_from_path(str(self.layout.path(self.state.checkpoint).resolve()))
        apply_hyperparams(self.algo, self._learner_hyperparams())
        sync_weights(self.algo)
        if self.state.checkpoint:  # restored runners keep stale weights: hand them the learners'
            push_weights(self.algo, [*self.state.learners(), *active_snapshots(self.state, self.config)])
        if self.config.imitation.teacher is not None and not self.state.checkpoint:
            self._warm_start()

    def _warm_start(self) -> None:
        """Fit every learner to the imitation teacher (a new league only: once a checkpoint
        exists, the learners' weights come from it)."""
        from palaestra.league.population.imitation import warm_start
        from palaestra.league.population.vector_boards import bomber_config

        c = self.config
        start = time.perf_counter()
        stats = warm_start(self.algo, algorithm.module_spec(c), self.state.learners(), c.imitation,
                           bomber_config({"mode": c.mode}), c.action_filter, c.gamma, c.seed, self.warm_start_progress)
        self._event({"event": "imitation", "teacher": c.imitation.teacher,
                     "seconds": round(time.perf_counter() - start, 1), **stats})

    def stop(self) -> None:
        if self.algo is not None:
            self.algo.stop()
            self.algo = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _learner_hyperparams(self) -> dict[str, dict[str, float]]:
        return {m: self.state.members[m].hyperparams for m in self.state.learners()}

    # -- the loop ---------------------------------------------------------------------------
    def train(self, progress: ProgressFn | None = None,
              max_seconds: float | None = None) -> LeagueState:
        """Run to ``config.iterations``, or until ``max_seconds`` have passed (checked after each
        iteration, so the last one is always complete and checkpointed)."""
        restarts = 0
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        while self.state.iteration < self.config.iterations:
            if deadline is not None and time.monotonic() >= deadline:
                self._event({"event": "time_budget", "iteration": self.state.iteration})
                break
            try:
                if self.algo is None:
                    self.start()
                stats = self.iteration()
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # a lost node or worker: retry from the last checkpoint
                if restarts >= self.config.max_restarts:
                    raise
                restarts += 1
                self._event({"event": "restart", "iteration": self.state.iteration,
                             "error": f"{type(exc).__name__}: {exc}", "restart": restarts})
                self.stop()
                self.state = LeagueState.load(self.layout.state)
                continue
            if progress is not None:
                progress(self.state, stats)
        return self.state

    def iteration(self) -> dict[str, Any]:
        c, state = self.config, self.state
        it = state.iteration + 1
        self._await_env_runners(it)
        algorithm.push_league(self.algo, active_lineups(state, c), state.bots(), shaping_table(state))
        start = time.perf_counter()
        result = self.algo.train()
        stats: dict[str, Any] = {"iteration": it, "train_seconds": time.perf_counter() - start}
        games = algorithm.pop_results(self.algo)
        if c.solo:
            self._record_returns(it, games)
        else:
            for g in games:
                state.record(MatchRecord(it, "train", tuple(g["seats"]), tuple(g["ranks"]),
                                         g["seed"]))
        stats["train_games"] = len(games)
        if c.hide_and_seek:
            stats["phases"] = summarise(games)
        if c.bomber and c.curriculum.stages:  # where each learner stands, logged every iteration
            stats["curriculum"] = {m: stage_name(stage_of(m, state.matches, c.curriculum), c.curriculum)
                                   for m in state.learners()}
        runners = result.get("env_runners", {})
        stats["env_steps"] = int(runners.get("num_env_steps_sampled_lifetime", 0))
        if MASKED_STEP_SHARE in runners:  # the action filter at work (masked modules only)
            stats["action_mask"] = {k: float(runners[k]) for k in (MASKED_STEP_SHARE, MASKED_ACTIONS_PER_STEP)
                                    if k in runners}
        learner_stats = learner_diagnostics(result.get("learners", {}), state.learners())
        if learner_stats:
            stats["learner"] = learner_stats
        returns = runners.get("agent_episode_returns_mean", {}) or {}
        by_member: dict[str, list[float]] = {}  # team games: one agent id per seat of a member
        for agent, value in returns.items():
            if np.isfinite(value):  # members that finished no episode report NaN
                by_member.setdefault(str(identity_mapping(str(agent))), []).append(float(value))
        stats["returns"] = {m: float(np.mean(v)) for m, v in by_member.items()}
        if c.evaluates and it % c.eval_every == 0:
            stats["eval_win_rate"] = self._evaluate(it)
        if c.snapshot_every and it % c.snapshot_every == 0 and not c.solo:
            before = set(retired_snapshots(state, c))
            for learner in state.learners():
                snap = state.take_snapshot(learner, it)
                algorithm.add_snapshot(self.algo, c, snap.member_id, learner, state.learners())
            for old in [s for s in retired_snapshots(state, c) if s not in before]:
                algorithm.retire_snapshot(self.algo, old, state.learners(),
                                          self.layout.archived_module(old))
            self._event({"event": "snapshot", "iteration": it,
                         "members": state.snapshots()[-len(state.learners()):]})
        if it % c.pbt.interval == 0 and len(state.learners()) > 1:
            rng = state.rng()
            groups = [members_of(side, state.learners()) for side in SIDES] if c.hide_and_seek \
                else [state.learners()]
            events = [e for group in groups for e in exploit_explore(
                state, rng, c.pbt, it, fitness=self.fitness(c.pbt.interval) if c.solo else None,
                among=group)]
            state.store_rng(rng)
            for e in events:
                copy_weights(self.algo, e.donor, e.target)
                self._event({"event": "pbt", "iteration": it, "target": e.target, "donor": e.donor,
                             "before": e.before, "after": e.after})
            apply_hyperparams(self.algo, self._learner_hyperparams())
            stats["pbt"] = [(e.target, e.donor) for e in events]
        state.iteration = it
        self._checkpoint()
        stats["wall_seconds"] = time.perf_counter() - start  # the whole iteration, checkpoint included
        self._log(stats)
        return stats

    def _await_env_runners(self, it: int, timeout_s: float = 120.0) -> None:
        """Bring back env runners lost with a node before the iteration starts.

        RLlib restarts a lost runner's actor elsewhere, but its ``train()`` only probes for it, and
        a Bomber runner takes a while to start (torch, numba). Without waiting, the iterations
        after a node loss sample nothing, and a runner that comes back mid-iteration misses the
        lineups pushed before it. So wait (at most ``timeout_s``) until every remote runner is
        healthy again; RLlib's ``restore_env_runners`` also gives it the current weights.
        """
        group = getattr(self.algo, "env_runner_group", None)
        if group is None or not self.config.num_env_runners:
            return
        missing = group.num_remote_env_runners() - group.num_healthy_remote_env_runners()
        if not missing:
            return
        start = time.monotonic()
        while group.num_healthy_remote_env_runners() < group.num_remote_env_runners():
            self.algo.restore_env_runners(group)
            if time.monotonic() - start > timeout_s:
                break
            time.sleep(0.5)
        self._event({"event": "env_runners", "iteration": it, "missing": missing,
                     "healthy": group.num_healthy_remote_env_runners(),
                     "waited_seconds": round(time.monotonic() - start, 1)})

    def _record_returns(self, it: int, episodes: list[dict[str, Any]]) -> None:
        """Single-agent envs: each learner's mean return this iteration, in ``extra["returns"]``."""
        table = self.state.extra.setdefault("returns", {})
        for learner in self.state.learners():
            mine = [e["return"] for e in episodes if e["member"] == learner]
            if mine:
                table.setdefault(learner, []).append([it, float(np.mean(mine)), len(mine)])

    def fitness(self, last: int) -> dict[str, float]:
        """Mean episode return of each learner over its last ``last`` iterations (solo envs)."""
        out = {}
        for learner, rows in self.state.extra.get("returns", {}).items():
            recent = rows[-last:]
            n = sum(r[2] for r in recent)
            if n:
                out[learner] = sum(r[1] * r[2] for r in recent) / n
        return out

    def _evaluate(self, it: int) -> dict[str, float]:
        rates = {}
        for k, learner in enumerate(self.state.learners()):
            module = self.algo.get_module(learner)
            rng = np.random.default_rng([self.config.seed, it, k])
            games = play_eval_games(learner, module_policy(module, rng), self.config.eval_games,
                                    seed=int(rng.integers(2**31)), masked=takes_mask(module),
                                    action_filter=self.config.action_filter)
            for g in games:
                self.state.record(MatchRecord(it, "eval", g.seats, g.ranks, g.seed))
            rates[learner] = sum(g.won(learner) for g in games) / len(games)
        return rates

    def _checkpoint(self) -> None:
        """New checkpoint directory first, then the state that names it, then prune old ones."""
        name = self.layout.checkpoint_name(self.state.iteration)
        path = self.layout.path(name)
        if path.exists():
            shutil.rmtree(path)
        self.algo.save_to_path(str(path.resolve()))
        self.state.checkpoint = name
        self.state.save(self.layout.state)
        kept = sorted(self.layout.checkpoints.iterdir())
        for old in kept[:-self.config.keep_checkpoints]:
            shutil.rmtree(old, ignore_errors=True)

    # -- logs -------------------------------------------------------------------------------
    def _event(self, event: dict[str, Any]) -> None:
        with open(self.layout.events, "a") as f:
            f.write(json.dumps(event, sort_keys=True) + "\n")

    def _log(self, stats: dict[str, Any]) -> None:
        from torch.utils.tensorboard import SummaryWriter

        if self._writer is None:
            self._writer = SummaryWriter(str(self.layout.tb))
        w, it = self._writer, self.state.iteration
        every = self.config.eval_every or 10
        if self.state.matches and (it % every == 0 or it == self.config.iterations):
            # a full re-rating costs O(matches): not every iteration
            for name, p in self.state.rating_table().players.items():
                w.add_scalar(f"rating_ordinal/{name}", p.ordinal, it)
                w.add_scalar(f"rating_elo/{name}", p.elo, it)
        for learner in self.state.learners():
            for k, v in self.state.members[learner].hyperparams.items():
                w.add_scalar(f"hyperparams/{learner}/{k}", v, it)
        for member, ret in stats.get("returns", {}).items():
            w.add_scalar(f"episode_return/{member}", ret, it)
        for learner, stage in stats.get("curriculum", {}).items():
            w.add_scalar(f"curriculum_stage/{learner}", (*self.config.curriculum.stages, "pfsp").index(stage), it)
        for learner, rate in stats.get("eval_win_rate", {}).items():
            w.add_scalar(f"eval_win_rate_vs_3_simple/{learner}", rate, it)
        for k, v in stats.get("action_mask", {}).items():
            w.add_scalar(f"action_mask/{k}", v, it)
        for learner, values in stats.get("learner", {}).items():
            for k, v in values.items():
                w.add_scalar(f"learner/{learner}/{k}", v, it)
        if stats.get("phases"):
            log_phases(w, stats["phases"], it)
        w.add_scalar("train/seconds_per_iteration", stats["train_seconds"], it)
        w.add_scalar("train/env_steps", stats["env_steps"], it)
        w.flush()
        self._event({"event": "iteration", **{k: v for k, v in stats.items() if k != "pbt"}})
