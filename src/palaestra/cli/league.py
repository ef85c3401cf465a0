"""``palaestra league …``: population-based training with PFSP and ratings (parse + dispatch)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from palaestra.envs.bomber.constants import MODES as BOMBER_MODES
from palaestra.envs.bomber.filter_names import FILTERS
from palaestra.errors import ConfigError, require_extra

if TYPE_CHECKING:
    from palaestra.league.population.config import LeagueConfig
    from palaestra.league.population.state import LeagueState

EPILOG = """examples:
  palaestra league train --env bomber --population 4 --iterations 200 --out runs/league
  palaestra league train --out runs/league --iterations 400 --resume     # continue (also after kill -9)
  palaestra league train --out runs/league --address 10.0.0.5:6379 --num-env-runners 8 \\
      --num-learners 1 --gpus-per-learner 1                               # on a Ray cluster with a GPU
  palaestra league table --out runs/league --plots runs/league/plots
  palaestra league eval --out runs/league --games 200 --baseline simple   # vs 3 SimpleAgents
  palaestra league export --out runs/league --member m0 --to runs/m0       # for tournaments
"""


def build_league(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Population-based training on RLlib: learners play each other, their frozen "
        "snapshots and scripted bots, opponents chosen by prioritised fictitious self-play; every "
        "game is rated (OpenSkill, Elo); PBT copies the best into the worst and perturbs their "
        "hyperparameters. Everything lives in the --out directory and survives kill -9.")
    p.epilog, p.formatter_class = EPILOG, argparse.RawDescriptionHelpFormatter
    lsub = p.add_subparsers(dest="league_command", metavar="ACTION", required=True)
    from palaestra.league.population.config import LEAGUE_CORES, LEAGUE_ENVS, LeagueConfig

    d = LeagueConfig()
    t = lsub.add_parser("train", help="train (or resume) a league",
                        description="Train a league in --out. With --resume, continue the league "
                        "stored there from its last checkpoint (its config is kept; --iterations "
                        "and the Ray placement options may change).",
                        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("--env", default=d.env, choices=list(LEAGUE_ENVS),
                   help="bomber (rated FFA or team games); hide-and-seek (--population hiders "
                   "h0.. against as many seekers s0.., rated against each other); or a "
                   "single-agent env trained by the same loop: kelly, counting (PBT on mean return)")
    from palaestra.envs.hide_and_seek.config import VARIANTS

    t.add_argument("--variant", choices=list(VARIANTS), default=d.variant,
                   help="hide-and-seek: the game; quadrant is 10 cells, 2v2, 60 steps, full 16 "
                   f"cells, 120 steps ({d.variant})")
    t.add_argument("--out", type=Path, required=True, help="run directory")
    t.add_argument("--population", type=int, default=d.population, help=f"learners ({d.population})")
    t.add_argument("--iterations", type=int, default=d.iterations,
                   help=f"training iterations in all ({d.iterations})")
    t.add_argument("--steps-per-iteration", type=int, default=d.steps_per_iteration,
                   help=f"env steps per iteration ({d.steps_per_iteration})")
    t.add_argument("--minibatch-size", type=int, default=d.minibatch_size)
    t.add_argument("--epochs", type=int, default=d.epochs)
    t.add_argument("--lr", type=float, default=d.lr, help=f"initial learning rate ({d.lr})")
    t.add_argument("--entropy", type=float, default=d.entropy_coeff,
                   help=f"initial entropy bonus ({d.entropy_coeff})")
    t.add_argument("--gamma", type=float, default=d.gamma, help=f"discount ({d.gamma})")
    t.add_argument("--gae-lambda", type=float, default=d.gae_lambda,
                   help=f"GAE lambda of the advantages ({d.gae_lambda})")
    t.add_argument("--snapshot-every", type=int, default=d.snapshot_every)
    t.add_argument("--max-snapshots", type=int, default=d.max_snapshots,
                   help="snapshots per learner kept as opponents; older ones are archived "
                   f"({d.max_snapshots})")
    t.add_argument("--pbt-interval", type=int, default=d.pbt.interval)
    mm = d.matchmaking
    t.add_argument("--pfsp", choices=["hard", "variance", "uniform"], default=mm.weighting,
                   help="PFSP's weighting of opponents by the learner's win rate p against them: "
                   f"hard (1-p)^2, variance p(1-p), uniform ({mm.weighting})")
    t.add_argument("--bot-weight", type=float, default=mm.bot_weight,
                   help=f"PFSP: multiplier on the bots' weights, 0 leaves them out ({mm.bot_weight})")
    t.add_argument("--snapshot-weight", type=float, default=mm.snapshot_weight,
                   help=f"PFSP: multiplier on the snapshots' weights, 0 leaves them out ({mm.snapshot_weight})")
    t.add_argument("--learner-weight", type=float, default=mm.learner_weight,
                   help="PFSP: multiplier on the other learners' weights, 0 leaves them out "
                   f"({mm.learner_weight})")
    t.add_argument("--eval-every", type=int, default=d.eval_every,
                   help="iterations between evaluation rounds against three SimpleAgents (Bomber "
                   "FFA only: team, Kelly, counting and hide-and-seek leagues have none) "
                   f"({d.eval_every})")
    t.add_argument("--eval-games", type=int, default=d.eval_games)
    t.add_argument("--bots", nargs="+", default=list(d.bots), help="scripted bots in the league")
    t.add_argument("--mode", choices=list(BOMBER_MODES), default=d.mode,
                   help="Bomber: ffa, team (2v2: a learner plays both seats of its team against "
                   "one opponent team drawn by PFSP) or team_radio (the same, and each seat sends "
                   "its mate two words a step through the module's word heads); the team modes "
                   f"have no in-training evaluation rounds ({d.mode})")
    t.add_argument("--core", choices=list(LEAGUE_CORES), default=d.core,
                   help="counting: the policy's recurrent core. lstm: RLlib's LSTM before MLP "
                   "policy and value nets; nau: the NAU accumulator h_t = h_(t-1) + NAU(x_t) of "
                   "the REINFORCE counting trainer (an NAU head for the logits, an MLP value), "
                   "its sparsity regulariser rising from 0 at 30%% to full weight at 60%% of the "
                   "planned env steps (--iterations x --steps-per-iteration), its weights clamped "
                   f"to [-1, 1] after every PPO step; --env counting only ({d.core})")
    t.add_argument("--model", choices=["cnn", "mlp"], default=d.model,
                   help=f"Bomber policy: a CNN over the planes or an MLP ({d.model})")
    t.add_argument("--no-action-mask", dest="action_mask", action="store_false",
                   help="Bomber: do not mask illegal and certainly deadly moves (masked by default)")
    t.add_argument("--action-filter", choices=FILTERS, default=d.action_filter,
                   help="Bomber: the mask's filter: 'sure-death' masks illegal moves and moves "
                   "after which every escape meets a flame (opponents keeping still); 'cautious' "
                   "also masks moves that one near opponent's next bomb or step would make deadly, "
                   f"while a move safe from that is left ({d.action_filter})")
    t.add_argument("--sampler", choices=["boards", "env"], default=d.sampler,
                   help="Bomber: 'boards' steps --num-boards boards per env runner with compiled "
                   "bots and batched inference; 'env' is RLlib's runner over one board per env "
                   f"(the old path: --model mlp --no-action-mask) ({d.sampler})")
    t.add_argument("--num-boards", type=int, default=d.num_boards,
                   help=f"boards per env runner with --sampler boards ({d.num_boards})")
    t.add_argument("--curriculum", nargs="*", default=list(d.curriculum.stages), metavar="BOT",
                   help="Bomber: bots each learner must beat in turn before PFSP picks its "
                   f"opponents ({' '.join(d.curriculum.stages)}; none: PFSP at once)")
    t.add_argument("--curriculum-thresholds", nargs="*", type=float,
                   default=list(d.curriculum.thresholds), metavar="RATE",
                   help="win rate (alone on top) that ends each stage "
                   f"({' '.join(map(str, d.curriculum.thresholds))})")
    t.add_argument("--curriculum-window", type=int, default=d.curriculum.window,
                   help=f"games over which a stage's win rate is measured ({d.curriculum.window})")
    im = d.imitation
    t.add_argument("--imitate", metavar="BOT", help="warm start: before the first iteration, fit "
                   "every learner to this bot's moves (cautious-simple: a SimpleAgent behind the "
                   "cautious filter), then train with PPO; Bomber (in a team league the bot "
                   "plays both seats of a side) (default: none)")
    t.add_argument("--imitate-samples", type=int, default=im.samples,
                   help=f"the teacher's steps to fit ({im.samples})")
    t.add_argument("--imitate-epochs", type=int, default=im.epochs,
                   help=f"passes of the fit over them ({im.epochs})")
    t.add_argument("--shape-pickup", type=float, default=d.shaping["shape_pickup"],
                   help="Bomber: initial reward per power-up a learner picks up (PBT perturbs it) "
                   f"({d.shaping['shape_pickup']})")
    t.add_argument("--shape-enemy-death", type=float, default=d.shaping["shape_enemy_death"],
                   help="Bomber: initial reward per other agent that dies while the learner stands "
                   f"(PBT perturbs it) ({d.shaping['shape_enemy_death']})")
    t.add_argument("--reward-model", help="pay the learners a learned per-agent reward (a "
                   "reward model directory) instead of Bomber's result; shaping adds to it, "
                   "ratings stay true (Bomber FFA, either sampler)")
    t.add_argument("--seed", type=int, default=d.seed)
    t.add_argument("--address", help="existing Ray cluster to join (default: start a local Ray)")
    t.add_argument("--num-cpus", type=int, default=d.num_cpus, help="CPUs of the local Ray")
    t.add_argument("--num-env-runners", type=int, default=d.num_env_runners)
    t.add_argument("--num-cpus-per-env-runner", type=float, default=d.num_cpus_per_env_runner)
    t.add_argument("--num-learners", type=int, default=d.num_learners)
    t.add_argument("--gpus-per-learner", type=float, default=d.num_gpus_per_learner)
    t.add_argument("--max-minutes", type=float,
                   help="stop after the iteration that passes this wall-clock budget")
    t.add_argument("--resume", action="store_true", help="continue the league in --out")
    t.add_argument("--force", action="store_true", help="discard a league already in --out")
    t.set_defaults(func=_cmd_train)

    s = lsub.add_parser("table", help="print the league table; --plots writes the PNGs")
    s.add_argument("--out", type=Path, required=True, help="run directory")
    s.add_argument("--plots", type=Path, help="directory for league_table.png, rating curves, ...")
    s.set_defaults(func=_cmd_table)

    e = lsub.add_parser(
        "eval", help="play the learners (and baselines) in one seat against three SimpleAgents",
        description="Export each learner (or --member) from the last checkpoint and play it in "
        "FFA games against three --opponent agents (SimpleAgents by default): game g seats it at "
        "g % 4 (seats rotated) on the board of seed (--seed, g), and every row meets the same "
        "boards in the same seats. A win is a game it ends alone on top; a tie, a game without a "
        "winner that it was still standing in at the end; anything else is a loss. "
        "--baseline adds built-in agents measured the same way.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  palaestra league eval --out runs/league --games 1000 --baseline "
               "filtered-random --baseline simple --baseline random --baseline static "
               "--json runs/league/eval.json")
    e.add_argument("--out", type=Path, required=True, help="run directory")
    e.add_argument("--games", type=int, default=100, help="games per row (100)")
    e.add_argument("--member", action="append", help="member id (default: every learner)")
    e.add_argument("--seed", type=int, default=12345, help="seeds every game's board and agents")
    e.add_argument("--baseline", action="append", default=[],
                   help="also play this built-in agent (filtered-random, simple, random, static, "
                        "league) in the seat")
    e.add_argument("--opponent", default="simple", help="the built-in agent in the other three seats")
    e.add_argument("--workers", type=int, default=None,
                   help="processes playing the games (default: one per CPU); results do not depend on it")
    e.add_argument("--json", type=Path, help="write the results here")
    e.set_defaults(func=_cmd_eval)

    x = lsub.add_parser("export", help="write a member as a checkpoint for tournaments and play",
                        description="Copy a member's policy from the last checkpoint into a "
                        "palaestra checkpoint directory: `palaestra bomber play --agent DIR`, "
                        "`palaestra tournament submit DIR --env bomber` and the sandbox load it.")
    x.add_argument("--out", type=Path, required=True, help="run directory")
    x.add_argument("--member", required=True, help="member id, e.g. m0 or m0@it100")
    x.add_argument("--to", type=Path, required=True, help="checkpoint directory to create")
    x.add_argument("--force", action="store_true", help="replace --to if it exists")
    x.set_defaults(func=_cmd_export)
    rp = lsub.add_parser("replay", help="save a replay of one evaluation game of a member",
                         description="Play evaluation game --game of --member as `league eval` plays "
                         "it (the same --seed and --opponent give the same game: FFA, the member in seat "
                         "game % 4 against three opponents; a team league, on side game % 2 against "
                         "two; a Kelly or counting league, the member's greedy episode --game of --seed; "
                         "a hide-and-seek league, a greedy game against --opponent) "
                         "and save it as a replay, which `palaestra replay view` and `replay export` show.")
    rp.add_argument("--out", type=Path, required=True, help="run directory")
    rp.add_argument("--member", required=True, help="member id, e.g. m0 or m0@it100")
    rp.add_argument("--to", type=Path, required=True, help="replay file to write (.json or .json.gz)")
    rp.add_argument("--game", type=int, default=0, help="which evaluation game (0)")
    rp.add_argument("--seed", type=int, default=0, help="the evaluation's seed (0)")
    rp.add_argument("--opponent", help="a Bomber league: the built-in opponents (simple); a "
                    "hide-and-seek league: the member of the other side to play (its best-rated learner)")
    rp.add_argument("--force", action="store_true", help="replace --to if it exists")
    rp.set_defaults(func=_cmd_replay)


def _config(args: argparse.Namespace) -> LeagueConfig:
    from palaestra.league.population.config import LeagueConfig
    from palaestra.league.population.curriculum import CurriculumConfig
    from palaestra.league.population.imitation_config import ImitationConfig
    from palaestra.league.population.matchmaking import MatchmakingConfig
    from palaestra.league.population.pbt import PBTConfig

    return LeagueConfig(
        env=args.env, mode=args.mode, variant=args.variant, population=args.population,
        iterations=args.iterations,
        steps_per_iteration=args.steps_per_iteration, minibatch_size=args.minibatch_size,
        epochs=args.epochs, lr=args.lr, entropy_coeff=args.entropy, gamma=args.gamma, gae_lambda=args.gae_lambda,
        snapshot_every=args.snapshot_every, max_snapshots=args.max_snapshots,
        eval_every=args.eval_every,
        eval_games=args.eval_games, bots=tuple(args.bots), seed=args.seed,
        pbt=PBTConfig(interval=args.pbt_interval),
        matchmaking=MatchmakingConfig(weighting=args.pfsp, bot_weight=args.bot_weight,
                                      snapshot_weight=args.snapshot_weight,
                                      learner_weight=args.learner_weight),
        address=args.address, num_cpus=args.num_cpus,
        num_env_runners=args.num_env_runners,
        num_cpus_per_env_runner=args.num_cpus_per_env_runner,
        num_learners=args.num_learners, num_gpus_per_learner=args.gpus_per_learner,
        shaping={"shape_pickup": args.shape_pickup, "shape_enemy_death": args.shape_enemy_death},
        reward_model=args.reward_model, core=args.core, model=args.model, action_mask=args.action_mask,
        action_filter=args.action_filter,
        sampler=args.sampler, num_boards=args.num_boards,
        imitation=ImitationConfig(teacher=args.imitate, samples=args.imitate_samples,
                                  epochs=args.imitate_epochs),
        curriculum=CurriculumConfig(tuple(args.curriculum),
                                    tuple(args.curriculum_thresholds) if args.curriculum else (),
                                    args.curriculum_window))


def _cmd_train(args: argparse.Namespace, console: Console) -> int:
    require_extra("rllib", "palaestra league train", "ray", "torch")
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from palaestra.league.population.layout import RunLayout
    from palaestra.league.population.plots import plot_league, print_league
    from palaestra.league.population.run import LeagueRun, prepare_run
    from palaestra.league.rllib.session import ray_session

    if args.max_minutes is not None and not args.max_minutes > 0:
        raise ConfigError(f"--max-minutes must be positive, got {args.max_minutes}")
    config, state = prepare_run(_config(args), args.out, args.resume, args.force)
    if state.iteration >= config.iterations:
        console.print(f"the league in {args.out} is at iteration {state.iteration} already")
        print_league(state, console)
        return 0
    with ray_session(config), Progress(
            TextColumn("[bold]league[/]"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[stats]}"), TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("league", total=config.iterations, completed=state.iteration,
                            stats="starting Ray and the learners")
        def warm(phase: str, done: int, total: int) -> None:
            what = "collecting the teacher's games" if phase == "collect" else "fitting to the teacher"
            bar.update(task, stats=f"imitation: {what} {done}/{total}")

        run = LeagueRun(config, state, args.out, warm_start_progress=warm)

        def report(st: LeagueState, stats: dict[str, Any]) -> None:
            wins = stats.get("eval_win_rate")
            text = f"{stats['train_games']} games, {stats['train_seconds']:.1f}s"
            if wins:
                text += " | vs 3 simple: " + " ".join(f"{m} {r:.0%}" for m, r in wins.items())
            seek = stats.get("phases", {}).get("seek")
            if seek:
                text += f" | hiders' seek return {seek['hider_return']:+.2f}/step"
            if stats.get("pbt"):
                text += " | PBT " + ", ".join(f"{t}<-{d}" for t, d in stats["pbt"])
            bar.update(task, completed=st.iteration, stats=text)

        try:
            budget = None if args.max_minutes is None else 60.0 * args.max_minutes
            state = run.train(report, max_seconds=budget)
        finally:
            run.stop()
    if config.solo:
        fitness = run.fitness(10)
        for learner in state.learners():
            console.print(f"{learner}: mean return over its last 10 iterations "
                          f"{fitness.get(learner, float('nan')):.4g}  "
                          f"{state.members[learner].hyperparams}", highlight=False)
    else:
        print_league(state, console)
    layout = RunLayout(args.out)
    if state.matches:
        from palaestra.league.population.curves import read_events

        paths = plot_league(state, layout.plots, None if config.solo else read_events(layout.events))
        console.print(f"plots: {', '.join(str(p) for p in paths.values())}")
    console.print(f"TensorBoard: tensorboard --logdir {layout.tb}")
    return 0


def _cmd_table(args: argparse.Namespace, console: Console) -> int:
    from palaestra.league.population.curves import read_events
    from palaestra.league.population.layout import RunLayout
    from palaestra.league.population.plots import plot_league, print_league
    from palaestra.league.population.state import LeagueState

    layout = RunLayout(args.out)
    state = LeagueState.load(layout.state)
    print_league(state, console)
    if args.plots:
        for p in plot_league(state, args.plots, read_events(layout.events)).values():
            console.print(f"wrote {p}")
    return 0


def _cmd_eval(args: argparse.Namespace, console: Console) -> int:
    require_extra("rllib", "palaestra league eval", "ray", "torch")
    from rich.progress import Progress
    from rich.table import Table

    from palaestra.evaluation.versus import default_workers
    from palaestra.league.population.eval import evaluate_members
    from palaestra.league.population.layout import RunLayout
    from palaestra.league.population.state import LeagueState

    workers = default_workers() if args.workers is None else args.workers
    members = args.member or LeagueState.load(RunLayout(args.out).state).learners()
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("evaluation games", total=args.games * (len(members) + len(args.baseline)))
        rows = evaluate_members(args.out, members, args.baseline, args.games, args.seed,
                                args.opponent, workers, lambda n: bar.advance(task, n))
    title = (f"one seat (rotated) against three {args.opponent} agents, {args.games} FFA games"
             if not rows or rows[0].mode == "ffa" else
             f"one side (rotated) against two {args.opponent} agents, {args.games} team games")
    table = Table(title=f"{title}, seed {args.seed}")
    for col in ("agent", "wins", "ties", "losses", "win rate"):
        table.add_column(col, justify="left" if col == "agent" else "right")
    for r in rows:
        table.add_row(r.agent, str(r.wins), str(r.ties), str(r.losses), f"{r.win_rate:.1%}")
    console.print(table)
    if args.json:
        args.json.write_text(json.dumps([r.to_dict() for r in rows], indent=2) + "\n")
    return 0


def _cmd_export(args: argparse.Namespace, console: Console) -> int:
    require_extra("rllib", "palaestra league export", "ray", "torch")
    from palaestra.league.population.eval import export_member

    out = export_member(args.out, args.member, args.to, args.force)
    console.print(f"wrote {out}: try `palaestra bomber play --agent {out} --agent simple "
                  "--agent simple --agent simple --games 10`")
    return 0


def _cmd_replay(args: argparse.Namespace, console: Console) -> int:
    require_extra("rllib", "palaestra league replay", "ray", "torch")
    from palaestra.evaluation.replay import save_replay
    from palaestra.league.population.eval import record_member_game

    if args.to.exists() and not args.force:
        raise FileExistsError(f"{args.to} already exists; pass --force to replace it")
    replay = record_member_game(args.out, args.member, args.game, args.seed, args.opponent)
    save_replay(replay, args.to)
    result = (f"winners: {replay.outcome.get('winners', [])}" if "winners" in replay.outcome
              else ", ".join(f"{k} {v}" for k, v in replay.outcome.items() if not isinstance(v, dict | list)))
    console.print(f"game {args.game} of {args.member} ({replay.steps} steps, {result}) "
                  f"saved to {args.to}", highlight=False)
    return 0
