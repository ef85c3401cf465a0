"""``palaestra prefs …``: reward learning from pairwise preferences (parse + dispatch)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from palaestra.errors import RunStateError, require_extra

if TYPE_CHECKING:
    from palaestra.league.prefs.labels import LabelStore
    from palaestra.league.prefs.run import Labeller
    from palaestra.league.prefs.segments import Segment
    from palaestra.viewer.prefs_labeller import LabellerConfig

EPILOG = """examples:
  palaestra prefs train --env kelly --labels synthetic --budget 1000 --out runs/prefs-kelly
  palaestra prefs train --env kelly --labels synthetic --oracle-noise 0.1 --out runs/prefs-noisy
  palaestra prefs train --env kelly --labels human --budget 100 --out runs/prefs-me
  palaestra evaluate kelly --agent runs/prefs-kelly --episodes 10000
  palaestra train kelly --reward-model runs/prefs-kelly/reward_model --out runs/ppo-on-prefs
  palaestra prefs train --env bomber --budget 1000 --timesteps 400000 --out runs/prefs-bomber
  palaestra prefs train --env bomber --labels human --budget 60 --rounds 3 --out runs/bomber-me
  palaestra league eval --out runs/prefs-bomber/league --member m0 --games 1000
  palaestra prefs import-replays --db runs/t.sqlite --name cup --labels-db runs/labels.sqlite
  palaestra prefs import-replays --db runs/t.sqlite --name ffa --labels-db runs/mine.sqlite --pending
  palaestra prefs label --labels-db runs/mine.sqlite
  palaestra prefs fit --labels-db runs/labels.sqlite --env bomber --out runs/bomber-reward
  palaestra league train --env bomber --reward-model runs/bomber-reward --out runs/league-prefs

Each round plays the current policy, cuts segments, labels the pairs the reward ensemble disputes
most (synthetic: the true reward decides; human: a window shows both clips side by side, keys
Left/A, Right/D, Down/T tie, S/Space skip, Backspace undo, Q stop), refits the ensemble on every
label in the store and trains on the learned reward. Labels are kept in --labels-db (default
<out>/labels.sqlite). Kelly: PPO trains; the run ends with the policy's true final wealth on
unseen games. Bomber: the learner (--member) plays against three SimpleAgents, its clips are
cut from the recorded games, and a league (<out>/league, an ordinary league run: `league eval`,
`league table`, `league replay` work on it) trains on the learned reward; the run ends with the
commands of the comparison at equal steps with the true reward (also in prefs_results.json).
"""


def build_prefs(p: argparse.ArgumentParser) -> None:
    from palaestra.league.prefs.model_config import RewardModelConfig
    from palaestra.league.prefs.replay_labels import BOMBER_SEGMENT_LENGTH
    from palaestra.league.prefs.run import PrefsConfig

    d, m = PrefsConfig(), RewardModelConfig()
    p.description = ("Preference-based reward learning (Christiano et al. 2017): an ensemble of "
                     "reward models fitted to labelled segment pairs, active queries by ensemble "
                     "disagreement, PPO on the learned reward.")
    p.epilog, p.formatter_class = EPILOG, argparse.RawDescriptionHelpFormatter
    psub = p.add_subparsers(dest="prefs_command", metavar="ACTION", required=True)
    build_train(psub)
    r = psub.add_parser("import-replays", help="labels (or pairs to label) from a tournament",
                        description="Turn every finished match of a tournament into labels. "
                        "Kelly: each pair of agents' games, the better-ranked preferred. Bomber: "
                        "each pair of seats of different teams, their last --length steps, the "
                        "better placed preferred. `prefs train --labels-db` (Kelly) or `prefs fit` "
                        "then fits to them. With --pending (Bomber) the pairs are queued "
                        "unlabelled instead, for you to judge with `prefs label`.")
    r.add_argument("--db", type=Path, required=True, help="the tournament database")
    r.add_argument("--name", required=True, help="the tournament")
    r.add_argument("--labels-db", type=Path, required=True, help="the label store to add to")
    r.add_argument("--pending", action="store_true",
                   help="Bomber: queue the pairs for labelling by hand (`prefs label`) instead "
                   "of labelling them from the match's outcome; a match queued before is not "
                   "queued again")
    r.add_argument("--length", type=int, default=BOMBER_SEGMENT_LENGTH,
                   help=f"Bomber: steps per clip, each seat's last ({BOMBER_SEGMENT_LENGTH})")
    r.add_argument("--seed", type=int, default=0,
                   help="--pending: seed of the draw of which clip of a pair shows on the left")
    r.add_argument("--action-offset", type=float, default=d.action_offset,
                   help="Kelly: the learner mapping the games are expressed in (as for prefs "
                   "train)")
    r.set_defaults(func=_cmd_import)
    build_label(psub)
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


LABEL_EPILOG = """examples:
  palaestra prefs import-replays --db runs/t.sqlite --name ffa --labels-db runs/mine.sqlite --pending
  palaestra prefs label --labels-db runs/mine.sqlite --list
  palaestra prefs label --labels-db runs/mine.sqlite --limit 20 --labeller ana
  palaestra prefs label --labels-db runs/mine.sqlite --drop 7
  palaestra prefs fit --labels-db runs/mine.sqlite --env bomber --out runs/bomber-reward

The window plays both clips side by side, in step and looping: the board of each, the clip's
own agent outlined in white. Keys: Left/A left better, Right/D right better, Down/T/= tie,
S/Space skip, Backspace undo (back one pair), R replay, Q/Esc or closing the window stop. When
the window closes, every answer is stored as a label and its pair leaves the queue; a skipped
pair, and those not reached before a stop, stay queued for next time.
"""


LABEL_DESCRIPTION = """\
Label, in a window, the pairs of clips queued in a label store for a human to judge
(`prefs import-replays --pending`), outside any training run. Each pair is shown as two Bomber
boards, playing side by side; say which clip shows the better play. The answers become labels
in the same store (labeller human, or human:NAME), which `prefs fit` fits a reward model to."""


def build_label(psub: Any) -> None:
    from palaestra.league.prefs.pending import PENDING_ENVS
    from palaestra.viewer.prefs_config import LabellerConfig

    c = LabellerConfig()
    q = psub.add_parser("label", help="label the pairs queued in a label store, by hand",
                        description=LABEL_DESCRIPTION, epilog=LABEL_EPILOG,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    q.add_argument("--labels-db", type=Path, required=True,
                   help="the label store holding the pending pairs (it must exist)")
    q.add_argument("--env", choices=list(PENDING_ENVS),
                   help="only this env's pairs (default: all)")
    q.add_argument("--limit", type=int, help="label at most this many pairs, the oldest first")
    q.add_argument("--labeller", metavar="NAME",
                   help="your name, stored with each label as human:NAME (default: human)")
    q.add_argument("--blind", action="store_true",
                   help="hide which agent played each clip")
    q.add_argument("--fps", type=float, default=c.fps,
                   help=f"clip playback speed in steps per second ({c.fps:g})")
    q.add_argument("--list", action="store_true",
                   help="list the pending pairs and exit (no window)")
    q.add_argument("--drop", type=int, action="append", metavar="ID",
                   help="remove pending pair ID unlabelled (repeatable), e.g. one that cannot "
                   "be shown, and exit")
    q.set_defaults(func=_cmd_label)


def _list_pending(store: LabelStore, env: str | None, console: Console) -> None:
    """One line a pending pair: its id, where it comes from, and its two clips."""
    from palaestra.league.prefs.labels import LabelStoreError

    agents: dict[int, list[str]] = {}
    rows = store.pending(env)
    for row in rows:
        if row.replay_id not in agents:
            try:
                agents[row.replay_id] = [str(a) for a in store.replay(row.replay_id)["agents"]]
            except (LabelStoreError, KeyError, TypeError):
                agents[row.replay_id] = []  # shown as "?"; `prefs label` names the problem
        names = agents[row.replay_id]
        left, right = (f"{names[seat] if 0 <= seat < len(names) else '?'} (player_{seat}) "
                       f"from step {start}" for seat, start in (row.left, row.right))
        console.print(f"pair {row.pending_id}: {row.env}, {row.source}, {row.length} steps: "
                      f"{left} | {right}", soft_wrap=True, highlight=False)
    console.print(f"{len(rows)} pending pairs", highlight=False)


def _cmd_label(args: argparse.Namespace, console: Console) -> int:
    from palaestra.errors import ConfigError
    from palaestra.league.prefs.bomber_clips import ACTION_NAMES
    from palaestra.league.prefs.labels import LabelStore
    from palaestra.league.prefs.pending import label_pending, load_pending

    db = args.labels_db
    if not db.is_file():
        raise FileNotFoundError(f"no label store at {db} (queue pairs into one with `palaestra "
                                "prefs import-replays ... --pending`)")
    if args.limit is not None and args.limit < 1:
        raise ConfigError(f"--limit must be a positive integer, got {args.limit}")
    if args.labeller is not None and not args.labeller.strip():
        raise ConfigError("--labeller must be a non-empty name")
    with LabelStore(db) as store:
        if args.drop:
            known = {row.pending_id for row in store.pending()}
            missing = [i for i in args.drop if i not in known]
            if missing:
                raise RunStateError(f"{db} has no pending pair {missing[0]}; nothing was removed "
                                    "(`--list` shows the pending pairs)")
            for i in args.drop:
                store.drop_pending(i)
            console.print(f"removed {len(args.drop)} pending pairs; "
                          f"{sum(store.pending_counts().values())} pending in {db}", soft_wrap=True)
            return 0
        counts = store.pending_counts()
        waiting = counts.get(args.env, 0) if args.env else sum(counts.values())
        if waiting == 0:
            others = (f" ({', '.join(f'{n} {e}' for e, n in counts.items())} pending)"
                      if counts else "")
            console.print(f"nothing to label: no pending {args.env + ' ' if args.env else ''}"
                          f"pairs in {db}{others}. Queue some with `palaestra prefs "
                          f"import-replays --db T --name N --labels-db {db} --pending`", soft_wrap=True)
            return 0
        if args.list:
            _list_pending(store, args.env, console)
            return 0
        require_extra("viewer", "palaestra prefs label", "pygame")
        from palaestra.viewer.prefs_labeller import LabellerConfig, check_display

        check_display()
        n = min(waiting, args.limit or waiting)
        with console.status(f"cutting the clips of {n} pairs from their replays"):
            pairs = load_pending(store, args.env, args.limit)
        bomber = all(p.left.env == "bomber" for p in pairs)
        config = LabellerConfig(fps=args.fps, labeller=args.labeller or "human",
                                show_agent=not args.blind,
                                action_names=ACTION_NAMES if bomber else None)
        who = "human" if args.labeller is None else f"human:{args.labeller}"
        done = label_pending(store, pairs, window_labeller(config), who)
        left = sum(store.pending_counts().values())
        labels = store.count(labeller="human")
    if done.labelled == 0:
        console.print(f"no labels given ({done.skipped} skipped, {done.unseen} not reached): "
                      f"nothing was stored; {left} pairs still pending in {db}", soft_wrap=True)
        return 0
    v = done.verdicts
    console.print(f"{done.labelled} labelled ({v.get(1.0, 0)} left better, {v.get(0.0, 0)} right "
                  f"better, {v.get(0.5, 0)} ties), {done.skipped} skipped, {done.unseen} not "
                  f"reached; {left} pairs still pending, {labels} labels by hand in {db}", soft_wrap=True)
    console.print(f"fit a reward model to them: palaestra prefs fit --labels-db {db} --env "
                  f"{pairs[0].left.env} --out runs/reward", soft_wrap=True)
    return 0


def _cmd_import(args: argparse.Namespace, console: Console) -> int:
    import numpy as np

    from palaestra.league.prefs.labels import LabelStore
    from palaestra.league.prefs.replay_labels import labels_from_tournament, pending_from_tournament

    if not args.db.is_file():
        raise FileNotFoundError(f"no tournament database at {args.db}")
    with LabelStore(args.labels_db) as store:
        if args.pending:
            queued = pending_from_tournament(args.db, args.name, store,
                                             np.random.default_rng(args.seed), args.length)
            waiting = sum(store.pending_counts().values())
        else:
            got = labels_from_tournament(args.db, args.name, store, args.action_offset,
                                         args.length)
            total = store.count()
    if args.pending:
        console.print(f"{queued.pairs} pairs from {queued.matches} matches queued for labelling "
                      f"by hand ({queued.skipped_matches} skipped: faults or team_radio; "
                      f"{queued.already_queued} queued before); {waiting} pending in "
                      f"{args.labels_db}: label them with `palaestra prefs label --labels-db "
                      f"{args.labels_db}`", soft_wrap=True)
        return 0
    console.print(f"{got.labels} labels from {got.matches} matches ({got.skipped_matches} skipped: "
                  f"faults or team_radio); {total} labels in {args.labels_db}", soft_wrap=True)
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


def window_labeller(config: LabellerConfig) -> Labeller:
    """The pygame window as a labeller: labels for the pairs shown (fewer when the user
    stops)."""
    from palaestra.viewer.prefs_labeller import label_pairs

    def label(pairs: list[tuple[Segment, Segment]]) -> list[float | None]:
        result = label_pairs(pairs, config)
        given = {pl.index: pl.label for pl in result.labels}
        return [given.get(i) for i in range(max(given, default=-1) + 1)]

    return label


KELLY_ONLY: dict[str, str] = {"action_offset": "--action-offset", "eval_episodes": "--eval-episodes"}
"""``prefs train`` options of the Kelly envs only (destination -> flag)."""
BOMBER_ONLY: dict[str, str] = {
    "games_per_round": "--games-per-round", "segments_per_game": "--segments-per-game",
    "member": "--member", "population": "--population",
    "steps_per_iteration": "--steps-per-iteration", "minibatch_size": "--minibatch-size",
    "num_cpus": "--num-cpus", "num_env_runners": "--num-env-runners"}
"""``prefs train`` options of Bomber only (destination -> flag)."""
ENV_DEFAULTS = ("timesteps", "segment_length")
"""``prefs train`` options whose default depends on the env (None: the env's config default)."""


def build_train(psub: Any) -> None:
    """``prefs train``: the options of every env, then those of the Kelly envs and of Bomber."""
    from palaestra.league.prefs.bomber_run import BOMBER, BomberPrefsConfig
    from palaestra.league.prefs.model_config import RewardModelConfig
    from palaestra.league.prefs.run import PREFS_ENVS, PrefsConfig

    d, b, m = PrefsConfig(), BomberPrefsConfig(), RewardModelConfig()
    t = psub.add_parser("train", help="run the label / fit / train loop", epilog=EPILOG,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("--env", default=d.env, choices=[*PREFS_ENVS, BOMBER],
                   help="Kelly: PPO (SB3) on the learned reward; bomber: a league (RLlib)")
    t.add_argument("--labels", default=d.labels, choices=["synthetic", "human"],
                   help="who labels: the oracle on the true reward, or you in a window")
    t.add_argument("--budget", type=int, default=d.budget, help=f"comparisons ({d.budget})")
    t.add_argument("--out", type=Path, required=True, help="run directory to create")
    t.add_argument("--force", action="store_true", help="replace --out if it holds a run")
    t.add_argument("--labels-db", type=Path,
                   help="SQLite label store (default <out>/labels.sqlite); labels already "
                   "there for this env are used too")
    t.add_argument("--rounds", type=int, default=d.rounds, help=f"rounds ({d.rounds})")
    t.add_argument("--timesteps", type=int,
                   help=f"env steps of training on the learned reward (Kelly: PPO's, "
                   f"{d.timesteps:,}; bomber: the league's, all learners together, {b.timesteps:,})")
    t.add_argument("--segment-length", type=int,
                   help=f"steps per segment (Kelly {d.segment_length}, bomber {b.segment_length})")
    t.add_argument("--candidates", type=int, default=d.candidates,
                   help="candidate pairs per label (the most disputed are asked)")
    t.add_argument("--oracle-noise", type=float, default=d.oracle_noise,
                   help="synthetic labels: chance a label is a coin flip")
    t.add_argument("--label-noise", type=float, default=m.label_noise,
                   help="reward model: eps of the Bradley-Terry likelihood")
    t.add_argument("--ensemble", type=int, default=m.ensemble, help="reward models")
    t.add_argument("--seed", type=int, default=d.seed)
    k = t.add_argument_group("Kelly only (kelly, kelly-generalized)")
    k.add_argument("--action-offset", type=float,
                   help=f"the learner bets sigmoid(a - offset) of its wealth ({d.action_offset:g}: "
                   "an untrained policy bets 12%%; 0: half)")
    k.add_argument("--eval-episodes", type=int,
                   help=f"games of the final evaluation ({d.eval_episodes})")
    g = t.add_argument_group("bomber only", "the learner's games against three SimpleAgents "
                             "(its seat rotated), cut into clips,\nand the league it trains in")
    g.add_argument("--games-per-round", type=int,
                   help=f"games played for each round's clips ({b.games_per_round}; more when the "
                   "round's pairs need more clips)")
    g.add_argument("--segments-per-game", type=int,
                   help=f"most clips cut from a game: its last window and earlier ones "
                   f"({b.segments_per_game})")
    g.add_argument("--member", help=f"the learner whose games are cut into clips ({b.member})")
    g.add_argument("--population", type=int,
                   help=f"learners of the league, all trained on the learned reward ({b.population})")
    g.add_argument("--steps-per-iteration", type=int,
                   help=f"league env steps per iteration ({b.steps_per_iteration})")
    g.add_argument("--minibatch-size", type=int, help=f"league PPO minibatch ({b.minibatch_size})")
    g.add_argument("--num-cpus", type=int, help=f"CPUs of the local Ray ({b.num_cpus})")
    g.add_argument("--num-env-runners", type=int,
                   help=f"remote league env runners ({b.num_env_runners}: sample in this process)")
    t.set_defaults(func=_cmd_train)


def train_config(args: argparse.Namespace) -> Any:
    """The run's config from ``prefs train``'s arguments: a PrefsConfig (Kelly) or a
    BomberPrefsConfig. ConfigError for an option of another env."""
    from palaestra.errors import ConfigError
    from palaestra.league.prefs.bomber_run import BOMBER, BomberPrefsConfig
    from palaestra.league.prefs.model_config import RewardModelConfig
    from palaestra.league.prefs.run import PrefsConfig

    bomber = args.env == BOMBER
    own, other = (BOMBER_ONLY, KELLY_ONLY) if bomber else (KELLY_ONLY, BOMBER_ONLY)
    given = [flag for dest, flag in other.items() if getattr(args, dest) is not None]
    if given:
        envs = "kelly and kelly-generalized" if bomber else "bomber"
        raise ConfigError(f"{', '.join(given)} applies to --env {envs} only, not --env {args.env}")
    values = {dest: getattr(args, dest) for dest in (*ENV_DEFAULTS, *own)
              if getattr(args, dest) is not None}
    common = dict(labels=args.labels, budget=args.budget, rounds=args.rounds,
                  candidates=args.candidates, oracle_noise=args.oracle_noise, seed=args.seed,
                  model=RewardModelConfig(ensemble=args.ensemble, label_noise=args.label_noise,
                                          seed=args.seed))
    if bomber:
        return BomberPrefsConfig(**common, **values)
    return PrefsConfig(env=args.env, **common, **values)


def _cmd_train(args: argparse.Namespace, console: Console) -> int:
    import shutil

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from palaestra.league.prefs.bomber_run import BOMBER, LEAGUE_DIR, BomberPrefsRun
    from palaestra.league.prefs.rounds import LABELS_FILE, MODEL_DIR, RESULTS_FILE

    config, bomber = train_config(args), args.env == BOMBER
    if bomber:
        require_extra("rllib", "palaestra prefs train --env bomber", "ray", "torch")
    else:
        require_extra("sb3", "palaestra prefs train", "stable_baselines3", "torch")
    if args.labels == "human":
        require_extra("viewer", "palaestra prefs train --labels human", "pygame")
    if any((args.out / name).exists() for name in (RESULTS_FILE, LABELS_FILE, MODEL_DIR, LEAGUE_DIR)):
        if not args.force:
            raise FileExistsError(f"{args.out} already holds a prefs run; pass --force to "
                                  "replace it")
        shutil.rmtree(args.out)
    labeller = None
    if args.labels == "human":
        from palaestra.league.prefs.bomber_clips import ACTION_NAMES
        from palaestra.viewer.prefs_labeller import LabellerConfig, check_display

        check_display()
        labeller = window_labeller(LabellerConfig(labeller="human",
                                                  action_names=ACTION_NAMES if bomber else None))
    with Progress(TextColumn("[bold]prefs[/]"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[stats]}"), TimeElapsedColumn(),
                  console=console) as bar:
        task = bar.add_task("prefs", total=config.rounds + 1, stats="labelling")

        def report(row: dict[str, Any]) -> None:
            if bomber:  # minutes a round: keep a line of each
                bar.console.print(_round_line(row), highlight=False, soft_wrap=True)
                stats = f"{row['labels']} labels"
            else:
                wealth = row.get("final_wealth")
                stats = (f"{row['labels']} labels, fit acc {row['fit_accuracy']:.2f}, "
                         f"{row['ppo_steps']:,} PPO steps"
                         + (f", recent games ${wealth:.2f}" if wealth is not None else ""))
            bar.update(task, completed=row["round"] + 1, stats=stats)

        if bomber:
            summary = BomberPrefsRun(config, args.out, labeller, args.labels_db).train(
                report, lambda k, text: bar.update(task, stats=f"round {k}: {text}"))
        else:
            from palaestra.league.prefs.run import PrefsRun

            summary = PrefsRun(config, args.out, labeller, args.labels_db).train(report)
    if bomber:
        league = summary["league"]
        console.print(f"{summary['labels']} labels from {summary['clip_games']} games; the league "
                      f"in {args.out / LEAGUE_DIR} trained {league['iterations']} iterations "
                      f"({league['ppo_steps']:,} env steps) on the reward model in "
                      f"{args.out / MODEL_DIR}", highlight=False, soft_wrap=True)
        if summary["baseline"]:
            console.print("the baseline (the true reward, as many env steps), then both learners "
                          "on the same games:", highlight=False)
            for command in summary["baseline"].values():
                console.print(f"  {command}", highlight=False, soft_wrap=True)
        return 0
    ev = summary["evaluation"]
    console.print(f"{summary['labels']} labels, {summary['ppo_steps']:,} PPO steps on the learned "
                  f"reward (+{summary['label_env_steps']:,} env steps to cut segments)")
    console.print(f"true final wealth over {ev['episodes']:,} unseen games: "
                  f"${ev['mean_wealth']:.2f} (95% CI ${ev['ci95_low']:.2f}-${ev['ci95_high']:.2f})"
                  f"; policy and reward_model/ in {args.out}")
    return 0


def _round_line(row: dict[str, Any]) -> str:
    """One Bomber round, for the console."""
    line = (f"round {row['round']}: {row['labels']} labels, fit acc {row['fit_accuracy']:.2f}; "
            f"{row['player']} won {row['clip_games_win_rate']:.0%} of {row['games']} games "
            f"against 3 simple; league iteration {row['league_iteration']} "
            f"({row['ppo_steps']:,} env steps)")
    for key, what in (("train_win_rate", "training games won"),
                      ("eval_win_rate", "evaluation vs 3 simple")):
        if row.get(key) is not None:
            line += f", {what} {row[key]:.0%}"
    return line
