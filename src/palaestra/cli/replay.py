"""``palaestra replay …`` and ``palaestra play …``: watch, export, and play against agents."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from palaestra.errors import ConfigError, FileFormatError, require_extra


def _max_seats() -> int:
    """The most agents any game has (the registry's answer): the highest ``--view``."""
    from palaestra.envs import ENVS

    return max(spec.seats[1] for spec in ENVS)


def build_replay(p: argparse.ArgumentParser) -> None:
    p.description = ("Replays are re-simulated when loaded; a file that does not re-simulate "
                     "exactly is refused.")
    p.epilog = (
        "examples:\n  palaestra replay view match.json.gz --db tournament.sqlite\n"
        "  palaestra replay export match.json.gz --gif match.gif\n"
        "keys in the viewer: space play/pause, left/right step, home/end, up/down speed,\n"
        "  0 full view, 1-4 the view of player_0..player_3 (Bomber, fog of war), 1-6 one\n"
        "  hide-and-seek agent's view, b bombs in the log, click the bar to seek, q quit\n"
        "replays of Bomber, Kelly, hide-and-seek and counting games can be viewed and exported")
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    views = range(_max_seats() + 1)
    rsub = p.add_subparsers(dest="replay_command", metavar="ACTION", required=True)
    view = rsub.add_parser("view", help="open the replay viewer (needs a display)")
    view.add_argument("file", type=Path, help="replay file (.json or .json.gz)")
    view.add_argument("--db", type=Path, help="tournament database: show the agents' ratings")
    view.add_argument("--view", type=int, default=0, choices=views,
                      help="start in the full view (0) or agent k-1's view (Bomber 1-4, "
                           "hide-and-seek 1-6)")
    view.add_argument("--no-verify", action="store_true", help="skip the re-simulation check")
    view.set_defaults(func=_cmd_view)
    export = rsub.add_parser("export", help="write the replay as an animation, headless")
    export.add_argument("file", type=Path, help="replay file (.json or .json.gz)")
    out = export.add_mutually_exclusive_group(required=True)
    out.add_argument("--gif", type=Path, help="write an animated GIF here")
    out.add_argument("--mp4", type=Path, help="write an H.264 MP4 here")
    export.add_argument("--fps", type=float, default=8.0, help="frames (steps) per second (8)")
    export.add_argument("--view", type=int, default=0, choices=views,
                        help="0 full, k agent k-1 (Bomber 1-4, hide-and-seek 1-6)")
    export.add_argument("--db", type=Path, help="tournament database: show ratings")
    export.set_defaults(func=_cmd_export)


def build_play(p: argparse.ArgumentParser) -> None:
    p.description = ("You take a seat and play with the keyboard: arrows or WASD move, space lays "
                     "a bomb, p pauses, q quits (the game so far is still saved).")
    p.epilog = "example:\n  palaestra play bomber --vs simple simple random --turn-based"
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    from palaestra.envs import short_names
    from palaestra.envs.bomber.constants import MODES

    p.add_argument("env", choices=short_names("bomber"), help="the game")
    p.add_argument("--vs", nargs=3, required=True, metavar="AGENT",
                   help="three opponents: built-in names, submission names (--db) or .py files")
    p.add_argument("--mode", choices=list(MODES), default="ffa")
    p.add_argument("--seat", type=int, default=0, choices=range(4), help="your seat (0)")
    p.add_argument("--seed", type=int, default=0, help="board and agents' seed (0)")
    p.add_argument("--turn-based", action="store_true", help="the game waits for your key")
    p.add_argument("--fps", type=float, default=4.0, help="steps per second in real time (4)")
    p.add_argument("--partial", action="store_true", help="partially observable")
    p.add_argument("--out", type=Path, help="replay file (default replays/human-SEED.json.gz)")
    p.add_argument("--db", type=Path, help="tournament database to find submissions in")
    p.add_argument("--trust-submissions", action="store_true",
                   help="where no jail can be built here, run opponents that are not built-ins "
                        "without it (otherwise they are refused; docs/sandbox.md)")
    p.set_defaults(func=_cmd_play)


def _ratings(db: Path | None, replay_meta: dict) -> dict[str, str] | None:
    """Ratings of the match's tournament, as labels per agent name."""
    if db is None:
        return None
    from palaestra.evaluation.store import TournamentStore
    from palaestra.evaluation.tournament import tournament_table

    if not db.is_file():
        raise FileNotFoundError(f"{db}: no such tournament database")
    with TournamentStore(db) as store:
        name = store.tournament_of(str(replay_meta.get("match_id", "")))
        if name is None:
            raise FileFormatError(f"the replay's match is not in {db}; drop --db or pick the right "
                                  "file")
        table = tournament_table(store, name)
    return {p: f"{s.ordinal:.1f} (Elo {s.elo:.0f})" for p, s in table.players.items()}


def _check_view(view: int, env_id: str, seats: int) -> None:
    """``--view k`` names one of the game's agents (or 0, the full view)."""
    if view > seats:
        raise ConfigError(f"--view {view}: a game of {env_id} has {seats} agent(s); use 0 (full "
                          f"view) to {seats}")


def _cmd_view(args: argparse.Namespace, console: Console) -> int:
    require_extra("viewer", "palaestra replay view", "pygame")
    from palaestra.evaluation.replay import load_replay
    from palaestra.viewer.app import check_display, view_replay

    check_display()
    replay = load_replay(args.file, verify=False) if args.view or args.db else None
    if replay is not None:
        _check_view(args.view, replay.env_id, len(replay.agents))
    ratings = _ratings(args.db, replay.meta) if args.db and replay is not None else None
    view_replay(args.file, ratings=ratings, verify=not args.no_verify, view=args.view)
    return 0


def _cmd_export(args: argparse.Namespace, console: Console) -> int:
    import os

    require_extra("viewer", "palaestra replay export", "pygame", "PIL" if args.gif else "imageio_ffmpeg")
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    from palaestra.viewer.export import export_gif, export_mp4
    from palaestra.viewer.timeline import load_timeline

    timeline = load_timeline(args.file)
    _check_view(args.view, timeline.replay.env_id, len(timeline.seats))
    ratings = _ratings(args.db, timeline.replay.meta) if args.db else None
    target, write = (args.gif, export_gif) if args.gif else (args.mp4, export_mp4)
    path = write(timeline, target, fps=args.fps, view=args.view, ratings=ratings)
    console.print(f"{timeline.last_step + 1} frames written to {path}")
    return 0


def _cmd_play(args: argparse.Namespace, console: Console) -> int:
    require_extra("viewer", "palaestra play", "pygame")
    from palaestra.viewer.human import HumanGameConfig, play_human_game

    config = HumanGameConfig(
        opponents=tuple(args.vs), mode=args.mode, seat=args.seat, seed=args.seed,
        turn_based=args.turn_based, fps=args.fps, partially_observable=args.partial,
        trust_submissions=args.trust_submissions, **({"out": args.out} if args.out else {}),
    )
    result = play_human_game(config, db=args.db)
    console.print(f"game over after {result.steps} steps: {result.outcome}")
    console.print(f"replay saved to {result.replay_path} (palaestra replay view {result.replay_path})")
    return 0
