"""``palaestra prefs train --env bomber``: learn a Bomber reward from preferences, train a league on it.

The loop of :mod:`.run` (Christiano et al. 2017), with a league for the policy. Each round:

1. the league's member (``m0`` by default) plays FFA games against three SimpleAgents, its seat
   rotated, each recorded as a replay (:mod:`.bomber_queries`; before the league's first
   checkpoint the ``random`` bot stands in for the untrained learner);
2. the member's clips are cut from the replays (frames too when a person labels), paired at
   random into ``candidates`` times as many pairs as the round may label, and the pairs the
   reward ensemble disagrees on most are kept (before the first fit: random pairs);
3. they are labelled (the synthetic oracle on Bomber's own reward, or a person in the pygame
   window) and every segment and label goes to the label store at once;
4. the ensemble is refitted on every Bomber label in the store and saved to ``reward_model/``;
5. from the second round on, the league trains on the learned reward for its share of
   ``timesteps`` (the first training round creates it, the next ones resume it; each start
   builds new env runners, which load the reward model saved in step 4).

The league is an ordinary league run (the league's defaults: the boards sampler, the CNN behind
the action filter; the boards pay the learned reward, while ratings and the evaluation rounds count
true outcomes): ``palaestra
league eval/table/replay/export --out OUT/league`` work on it. A run directory holds::

    labels.sqlite        the label store (unless --labels-db names another)
    reward_model/        the last fitted ensemble (what the league trains on)
    league/              the league run
    replays/rNN/         the replays of round NN's games (gzipped)
    prefs_results.json   the settings, the per-round history, the baseline commands

The baseline of the comparison (the same league, trained on the true reward for as many env
steps) is :meth:`BomberPrefsConfig.baseline_commands`, saved in the results (None when the league
never trained: a human labeller stopped in the initial round).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from palaestra.errors import ConfigError
from palaestra.league.population.config import LeagueConfig
from palaestra.league.prefs.labels import LabelStore
from palaestra.league.prefs.replay_labels import BOMBER_SEGMENT_LENGTH
from palaestra.league.prefs.rounds import (
    LABELS_FILE,
    MODEL_DIR,
    RESULTS_FILE,
    Labeller,
    Labelling,
    ProgressFn,
    RoundsConfig,
    check_positive,
    most_disputed,
    refit,
    run_rounds,
)

__all__ = ["BOMBER", "LEAGUE_DIR", "REPLAYS_DIR", "BomberPrefsConfig", "BomberPrefsRun", "PhaseFn",
           "baseline_dir"]

BOMBER = "bomber"
LEAGUE_DIR = "league"
"""The league run, in the prefs run's directory."""
REPLAYS_DIR = "replays"
"""The rounds' replays, one folder a round, in the prefs run's directory."""
PhaseFn = Callable[[int, str], None]
"""Called with the round and what it is doing now (for a progress display)."""


@dataclass(frozen=True)
class BomberPrefsConfig(RoundsConfig):
    """One preference run on Bomber (the shared settings: :class:`RoundsConfig`)."""

    timesteps: int = 400_000
    """League env steps on the learned reward, in all (all learners together; rounded up to
    whole iterations of ``steps_per_iteration``)."""
    segment_length: int = BOMBER_SEGMENT_LENGTH
    """Steps per clip."""
    games_per_round: int = 16
    """Games the member plays for each round's clips (more when the pairs need more clips)."""
    segments_per_game: int = 4
    """Most clips cut from one game: its last window and earlier ones."""
    member: str = "m0"
    """The learner whose games are cut into clips."""
    population: int = 1
    """Learners of the league (``m0``, ``m1`` ...), all trained on the learned reward."""
    steps_per_iteration: int = 4000
    """League: env steps sampled per iteration."""
    minibatch_size: int = 500
    """League: PPO minibatch size."""
    num_cpus: int = 2
    """League: CPUs of the local Ray."""
    num_env_runners: int = 0
    """League: remote env runners (0: sample in the driver process)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive(self, ("games_per_round", "segments_per_game", "population",
                              "steps_per_iteration", "minibatch_size", "num_cpus"))
        if isinstance(self.num_env_runners, bool) or not isinstance(self.num_env_runners, int) \
                or self.num_env_runners < 0:
            raise ConfigError(f"num_env_runners must be an integer >= 0, got "
                              f"{self.num_env_runners!r}")
        if self.minibatch_size > self.steps_per_iteration:
            raise ConfigError(f"minibatch_size {self.minibatch_size} exceeds steps_per_iteration "
                              f"{self.steps_per_iteration}")
        learners = self.league_config(1).learner_ids()  # also checks the league's own settings
        if self.member not in learners:
            raise ConfigError(f"member {self.member!r} is not a learner of a population of "
                              f"{self.population} ({', '.join(learners)})")
        if self.iterations < self.rounds:
            raise ConfigError(f"timesteps {self.timesteps:,} make {self.iterations} league "
                              f"iterations of {self.steps_per_iteration:,} steps, fewer than the "
                              f"{self.rounds} rounds (each trains one at least)")

    @property
    def iterations(self) -> int:
        """League iterations in all: ``timesteps`` in whole iterations, rounded up."""
        return math.ceil(self.timesteps / self.steps_per_iteration)

    def iterations_after(self, k: int) -> int:
        """Where the league stands after training round ``k`` (1 .. ``rounds``)."""
        return self.iterations * k // self.rounds

    def league_config(self, iterations: int, reward_model: str | None = None) -> LeagueConfig:
        """The league's settings up to ``iterations``: the league defaults (the boards sampler,
        the masked CNN) and this run's own settings."""
        return LeagueConfig(env=BOMBER, population=self.population, iterations=iterations,
                            steps_per_iteration=self.steps_per_iteration,
                            minibatch_size=self.minibatch_size, seed=self.seed,
                            num_cpus=self.num_cpus, num_env_runners=self.num_env_runners,
                            reward_model=reward_model)

    def baseline_commands(self, out: Path, baseline: Path, iterations: int | None = None,
                          eval_games: int = 1000, eval_seed: int = 2026) -> dict[str, str]:
        """The comparison with the run in ``out``: the same league trained on Bomber's own reward
        for as many env steps (``iterations``, default all of the run's), into ``baseline``
        (``train``), then each league's member against three SimpleAgents on the same games
        (``eval``: the baseline's, ``eval_prefs``: this run's)."""
        train = (f"palaestra league train --env {BOMBER} "
                 f"--population {self.population} --iterations "
                 f"{iterations or self.iterations} --steps-per-iteration {self.steps_per_iteration} "
                 f"--minibatch-size {self.minibatch_size} --seed {self.seed} --num-cpus "
                 f"{self.num_cpus} --num-env-runners {self.num_env_runners} --out {baseline}")
        evaluate = (f"palaestra league eval --member {self.member} --games {eval_games} "
                    f"--seed {eval_seed} --out")
        return {"train": train, "eval": f"{evaluate} {baseline} --json {baseline}/eval.json",
                "eval_prefs": f"{evaluate} {out / LEAGUE_DIR} --json {out}/eval.json"}

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "env": BOMBER, "iterations": self.iterations}


def baseline_dir(out: Path) -> Path:
    """Where the baseline commands train the true-reward league: beside ``out``."""
    out = out if out.name else out.resolve()
    return out.with_name(out.name + "-true-reward")


def _won(seats: tuple[str, ...], ranks: tuple[int, ...], member: str) -> bool:
    """``member`` ended the match alone on top."""
    return member in seats and ranks[seats.index(member)] == 0 and ranks.count(0) == 1


class BomberPrefsRun:
    """A Bomber preference run in ``out`` (see the module docstring).

    ``labeller`` labels when ``config.labels`` is ``human`` (the pygame window, or a script);
    ``labels_db`` is the label store (default ``out/labels.sqlite``), whose Bomber labels from
    earlier runs are fitted to as well.
    """

    def __init__(self, config: BomberPrefsConfig, out: Path, labeller: Labeller | None = None,
                 labels_db: Path | None = None) -> None:
        from palaestra.league.population.envs.bomber import OBS_SPACE
        from palaestra.league.prefs.reward_model import RewardEnsemble

        self.config, self.out = config, Path(out)
        self.league_dir = self.out / LEAGUE_DIR
        self.model_dir = (self.out / MODEL_DIR).resolve()  # the league's config names it
        self.out.mkdir(parents=True, exist_ok=True)
        self.rng = np.random.default_rng(config.seed)
        self.store = LabelStore(labels_db or self.out / LABELS_FILE)
        self.labelling = Labelling(config, self.store, labeller)
        self.model = RewardEnsemble(OBS_SPACE.shape[0], 1, config.model)
        self.history: list[dict[str, Any]] = []
        self._ray = ExitStack()
        self._ray_started = False

    def train(self, progress: ProgressFn | None = None,
              phase: PhaseFn | None = None) -> dict[str, Any]:
        """Run every round (see the module docstring), then :meth:`finish`; ``progress`` gets
        each round's history row, ``phase`` what a round is doing."""
        say: PhaseFn = phase or (lambda k, text: None)
        with ExitStack() as stack:  # Ray starts with the first training round, ends here
            self._ray, self._ray_started = stack, False
            self.history = run_rounds(self.config.schedule(), lambda k, n: self._round(k, n, say),
                                      self.labelling, progress)
        return self.finish()

    def _round(self, k: int, n: int, say: PhaseFn) -> dict[str, Any]:
        """Round ``k``: play and cut clips, label ``n`` pairs, refit, train the league (after
        the initial round)."""
        pairs, row = self._query(k, n, say)
        say(k, f"labelling {len(pairs)} pairs")
        self.labelling.label(pairs, self.rng)
        say(k, f"fitting the reward model to {self.store.count(BOMBER)} labels")
        fit = refit(self.model, self.store, BOMBER, self.rng)
        self.model.save(self.model_dir)
        row.update(labels=self.labelling.given, fit_loss=fit.loss, fit_accuracy=fit.accuracy)
        row.update(self._train_league(k, say) if k > 0 else {"league_iteration": 0, "ppo_steps": 0})
        return row

    def _query(self, k: int, n: int, say: PhaseFn) -> tuple[list[Any], dict[str, Any]]:
        """Round ``k``'s pairs to label (``n`` of them) and its history row so far."""
        from palaestra.league.prefs.bomber_clips import FRAME_TILE
        from palaestra.league.prefs.bomber_queries import draw_pairs, play_round

        c = self.config
        want = c.candidate_pairs(n, self.model.fitted)
        seed = int(self.rng.integers(2**31))
        tile = FRAME_TILE if c.labels == "human" else None  # the window shows frames; the oracle not
        say(k, "playing the clips' games")
        clips, games = play_round(self.league_dir, c.member, want, c.games_per_round, seed,
                                  c.segment_length, c.segments_per_game, self.rng, tile,
                                  self.out / REPLAYS_DIR / f"r{k:02d}",
                                  lambda g: say(k, f"played game {g + 1}"))
        pairs = most_disputed(self.model, draw_pairs(clips, want, self.rng), n)
        row = {"round": k, "player": games.player, "games": games.games, "game_seed": seed,
               "game_steps": games.steps, "clips": games.clips,
               "clip_games_win_rate": games.wins / games.games}
        return pairs, row

    def _train_league(self, k: int, say: PhaseFn) -> dict[str, Any]:
        """Train (create, then resume) the league up to round ``k``'s share of the iterations;
        what it reported."""
        from palaestra.league.population.layout import RunLayout
        from palaestra.league.population.run import LeagueRun, prepare_run

        c = self.config
        if not self._ray_started:
            from palaestra.league.rllib.session import ray_session

            self._ray.enter_context(ray_session(c.league_config(1)))
            self._ray_started = True
        target = c.iterations_after(k)
        resume = RunLayout(self.league_dir).state.is_file()
        config, state = prepare_run(c.league_config(target, str(self.model_dir)), self.league_dir,
                                    resume=resume, force=False)
        before = state.iteration
        evals: dict[str, float] = {}
        steps: list[int] = []

        def report(st: Any, stats: dict[str, Any]) -> None:
            evals.update(stats.get("eval_win_rate", {}))
            steps.append(int(stats.get("env_steps", 0)))
            say(k, f"league iteration {st.iteration}/{target}")

        say(k, f"league: starting iteration {before + 1}/{target}")
        run = LeagueRun(config, state, self.league_dir)
        try:
            state = run.train(report)
        finally:
            run.stop()
        mine = [m for m in state.matches if before < m.iteration <= state.iteration
                and m.source == "train" and c.member in m.seats]
        return {"league_iteration": state.iteration, "ppo_steps": steps[-1] if steps else 0,
                "train_games": len(mine),
                "train_win_rate": (sum(_won(m.seats, m.ranks, c.member) for m in mine) / len(mine)
                                   if mine else None),
                "eval_win_rate": evals.get(c.member)}

    def finish(self) -> dict[str, Any]:
        """Save the results (settings, history, the baseline commands); close the store."""
        c = self.config
        last = self.history[-1] if self.history else {}
        trained = int(last.get("league_iteration", 0))  # fewer than planned when a human stopped
        baseline = c.baseline_commands(self.out, baseline_dir(self.out), trained) if trained else None
        summary = {"config": c.to_json(), "history": self.history,
                   "labels": self.store.count(BOMBER),
                   "clip_games": sum(r["games"] for r in self.history),
                   "league": {"dir": LEAGUE_DIR, "member": c.member,
                              "iterations": trained, "ppo_steps": last.get("ppo_steps", 0)},
                   "reward_model": MODEL_DIR, "baseline": baseline}
        (self.out / RESULTS_FILE).write_text(json.dumps(summary, indent=2) + "\n")
        self.store.close()
        return summary
