"""``palaestra prefs …``: reward learning from pairwise preferences (parse + dispatch)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from palaestra.errors import RunStateError, require_extra

if TYPE_CHECKING:
    from palaestra.league.prefs.segments import Segment

EPILOG = """examples:
  palaestra prefs train --env kelly --labels synthetic --budget 1000 --out runs/prefs-kelly
  palaestra prefs train --env kelly --labels synthetic --oracle-noise 0.1 --out runs/prefs-noisy
  palaestra prefs train --env kelly --labels human --budget 100 --out runs/prefs-me
  palaestra evaluate kelly --agent runs/prefs-kelly --episodes 10000
  palaestra train kelly --reward-model runs/prefs-kelly/reward_model --out runs/ppo-on-prefs
  palaestra prefs import-replays --db runs/t.sqlite --name cup --labels-db runs/labels.sqlite
  palaestra prefs fit --labels-db runs/labels.sqlite --env bomber --out runs/bomber-reward
  palaestra league train --env bomber --reward-model runs/bomber-reward --out runs/league-prefs

Each round plays the current policy, cuts segments, labels the pairs the reward ensemble disputes
most (synthetic: the true reward decides; human: a window shows both clips side by side, keys
Left/A, Right/D, Down/T tie, S/Space skip, Backspace undo, Q stop), refits the ensemble on every
label in the store and trains PPO on the learned reward. Labels are kept in --labels-db (default
<out>/labels.sqlite). The run ends with the policy's true final wealth on unseen games.
"""


def build_prefs(p: argparse.ArgumentParser) -> None:
    from palaestra.league.prefs.model_config import RewardModelConfig
    from palaestra.league.prefs.run import PREFS_ENVS, PrefsConfig

    d, m = PrefsConfig(), RewardModelConfig()
    p.description = ("Preference-based reward learning (Christiano et al. 2017): an ensemble of "
                     "reward models fitted to labelled segment pairs, active queries by ensemble "
                     "disagreement, PPO on the learned reward.")
    p.epilog, p.formatter_class = EPILOG, argparse.RawDescriptionHelpFormatter
    psub = p.add_subparsers(dest="prefs_command", metavar="ACTION", required=True)
    t = psub.add_parser("train", help="run the label / fit / train loop", epilog=EPILOG,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("--env", default=d.env, choices=list(PREFS_ENVS))
    t.add_argument("--labels", default=d.labels, choices=["synthetic", "human"],
                   help="who labels: the oracle on the true reward, or you in a window")
    t.add_argument("--budget", type=int, default=d.budget, help=f"comparisons ({d.budget})")
    t.add_argument("--out", type=Path, required=True, help="run directory to create")
    t.add_argument("--force", action="store_true", help="replace --out if it holds a run")
    t.add_argument("--labels-db", type=Path,
                   help="SQLite label store (default <out>/labels.sqlite); labels already "
                   "there for this env are used too")
    t.add_argument("--rounds", type=int, default=d.rounds, help=f"rounds ({d.rounds})")
    t.add_argument("--timesteps", type=int, default=d.timesteps,
                   help=f"PPO env steps on the learned reward ({d.timesteps:,})")
    t.add_argument("--segment-length", type=int, default=d.segment_length)
    t.add_argument("--candidates", type=int, default=d.candidates,
                   help="candidate pairs per label (the most disputed are asked)")
    t.add_argument("--oracle-noise", type=float, default=d.oracle_noise,
                   help="synthetic labels: chance a label is a coin flip")
    t.add_argument("--action-offset", type=float, default=d.action_offset,
                   help="the learner bets sigmoid(a - offset) of its wealth (2: an untrained "
                   "policy bets 12%%; 0: half)")
    t.add_argument("--label-noise", type=float, default=m.label_noise,
                   help="reward model: eps of the Bradley-Terry likelihood")
    t.add_argument("--ensemble", type=int, default=m.ensemble, help="reward models")
    t.add_argument("--seed", type=int, default=d.seed)
    t.add_argument("--eval-episodes", type=int, default=d.eval_episodes)
    t.set_defaults(func=_cmd_train)
    r = psub.add_parser("import-replays", help="labels from a tournament's matches",
                        description="Turn every finished match of a tournament into labels. "
                        "Kelly: each pair of agents' games, the better-ranked preferred. Bomber: "
                        "each pair of seats of different teams, their last 32 steps, the better "
                        "placed preferred. `prefs train --labels-db` (Kelly) or `prefs fit` then "
                        "fits to them.")
    r.add_argument("--db", type=Path, required=True, help="the tournament database")
    r.add_argument("--name", required=True, help="the tournament")
    r.add_argument("--labels-db", type=Path, required=True, help="the label store to add to")
    r.add_argument("--action-offset", type=float, default=d.action_offset,
                   help="the learner mapping the games are expressed in (as for prefs train)")
    r.set_defaults(func=_cmd_import)
    f = psub.add_parser("fit", help="fit a reward model to the labels in a store",
                        description="Fit the reward ensemble to every label of one env in a "
                        "label store (synthetic, human or from replays) and save it: `train "
                        "--reward-model` (Kelly) and `league train --reward-model` (Bomber) train "
                        "on it.")
    f.add_argument("--labels-db", type=Path, required=True)
    f.add_argument("--env", required=True, help="whose labels: kelly, kelly-generalized, bomber")
    f.add_argument("--out", type=Path, required=True, help="reward model directory to write")
    f.add_argument("--force", action="store_true", help="replace --out")
    f.add_argument("--ensemble", type=int, default=m.ensemble)
    f.add_argument("--epochs", type=int, default=m.epochs)
    f.add_argument("--label-noise", type=float, default=m.label_noise)
    f.add_argument("--seed", type=int, default=0)
    f.set_defaults(func=_cmd_fit)


def _cmd_import(args: argparse.Namespace, console: Console) -> int:
    from palaestra.league.prefs.labels import LabelStore
    from palaestra.league.prefs.replay_labels import labels_from_tournament

    if not args.db.is_file():
        raise FileNotFoundError(f"no tournament database at {args.db}")
    with LabelStore(args.labels_db) as store:
        got = labels_from_tournament(args.db, args.name, store, args.action_offset)
        total = store.count()
    console.print(f"{got.labels} labels from {got.matches} matches ({got.skipped_matches} skipped: "
                  f"faults or team_radio); {total} labels in {args.labels_db}")
    return 0


def _cmd_fit(args: argparse.Namespace, console: Console) -> int:
    import numpy as np

    require_extra("sb3", "palaestra prefs fit", "torch")
    from palaestra.league.prefs.labels import LabelStore
    from palaestra.league.prefs.reward_model import MODEL_FILE, RewardEnsemble, RewardModelConfig

    if not args.labels_db.is_file():
        raise FileNotFoundError(f"no label store at {args.labels_db}")
    if (args.out / MODEL_FILE).exists() and not args.force:
        raise FileExistsError(f"{args.out} already holds a reward model; pass --force")
    with LabelStore(args.labels_db) as store:
        comps = store.comparisons(args.env)
    if not comps:
        raise RunStateError(f"{args.labels_db} has no labels for {args.env!r}")
    first = comps[0].left
    model = RewardEnsemble(first.obs.shape[1], first.actions.shape[1], RewardModelConfig(
        ensemble=args.ensemble, epochs=args.epochs, label_noise=args.label_noise, seed=args.seed))
    with console.status(f"fitting {args.ensemble} reward models to {len(comps)} labels"):
        stats = model.fit([(c.left, c.right, c.label) for c in comps],
                          np.random.default_rng(args.seed))
    model.save(args.out)
    console.print(f"fitted to {stats.labels} labels: loss {stats.loss:.3f}, the mean model agrees "
                  f"with {100 * stats.accuracy:.1f}% of the decided ones; saved to {args.out}")
    return 0


def _human_labeller(pairs: list[tuple[Segment, Segment]]) -> list[float | None]:
    """The pygame window: labels for the pairs shown (fewer when the user stops)."""
    from palaestra.viewer.prefs_labeller import LabellerConfig, label_pairs

    result = label_pairs(pairs, LabellerConfig(labeller="human"))
    given = {pl.index: pl.label for pl in result.labels}
    return [given.get(i) for i in range(max(given, default=-1) + 1)]


def _cmd_train(args: argparse.Namespace, console: Console) -> int:
    require_extra("sb3", "palaestra prefs train", "stable_baselines3", "torch")
    if args.labels == "human":
        require_extra("viewer", "palaestra prefs train --labels human", "pygame")
    import shutil

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from palaestra.league.prefs.model_config import RewardModelConfig
    from palaestra.league.prefs.run import RESULTS_FILE, PrefsConfig, PrefsRun

    config = PrefsConfig(env=args.env, labels=args.labels, budget=args.budget, rounds=args.rounds,
                         timesteps=args.timesteps, segment_length=args.segment_length,
                         candidates=args.candidates, oracle_noise=args.oracle_noise,
                         seed=args.seed, eval_episodes=args.eval_episodes,
                         action_offset=args.action_offset,
                         model=RewardModelConfig(ensemble=args.ensemble,
                                                 label_noise=args.label_noise, seed=args.seed))
    if (args.out / RESULTS_FILE).exists() or (args.out / "labels.sqlite").exists():
        if not args.force:
            raise FileExistsError(f"{args.out} already holds a prefs run; pass --force to "
                                  "replace it")
        shutil.rmtree(args.out)
    labeller = None
    if args.labels == "human":
        from palaestra.viewer.prefs_labeller import check_display

        check_display()
        labeller = _human_labeller
    run = PrefsRun(config, args.out, labeller=labeller, labels_db=args.labels_db)
    with Progress(TextColumn("[bold]prefs[/]"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[stats]}"), TimeElapsedColumn(),
                  console=console) as bar:
        task = bar.add_task("prefs", total=config.rounds + 1, stats="labelling")

        def report(row: dict[str, Any]) -> None:
            wealth = row.get("final_wealth")
            stats = (f"{row['labels']} labels, fit acc {row['fit_accuracy']:.2f}, "
                     f"{row['ppo_steps']:,} PPO steps"
                     + (f", recent games ${wealth:.2f}" if wealth is not None else ""))
            bar.update(task, completed=row["round"] + 1, stats=stats)

        summary = run.train(report)
    ev = summary["evaluation"]
    console.print(f"{summary['labels']} labels, {summary['ppo_steps']:,} PPO steps on the learned "
                  f"reward (+{summary['label_env_steps']:,} env steps to cut segments)")
    console.print(f"true final wealth over {ev['episodes']:,} unseen games: "
                  f"${ev['mean_wealth']:.2f} (95% CI ${ev['ci95_low']:.2f}-${ev['ci95_high']:.2f})"
                  f"; policy and reward_model/ in {args.out}")
    return 0
