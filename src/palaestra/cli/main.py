"""The ``palaestra`` command line: parses arguments and dispatches; the work lives elsewhere.

Each command's options are defined by a ``build_*`` function in the module of its group
(``cli/kelly.py``, ``cli/bomber.py``...). Only the command being run is built in full, so that
one command never imports what another one needs (a training command's config, an optional
extra); ``palaestra --help`` lists every command from the table below.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

from rich.console import Console
from rich.markup import escape

from palaestra.cli import bomber, envs, es, kelly, league, prefs, replay, tournament, train
from palaestra.errors import PalaestraError

EPILOG = """examples:
  palaestra envs
  palaestra solve kelly
  palaestra evaluate kelly --agent optimal --agent kelly --episodes 10000
  palaestra train kelly --algo ppo --timesteps 300000 --out runs/ppo
  palaestra evaluate kelly --agent runs/ppo
  palaestra bomber play --agent simple --agent random --agent random --agent random --games 20
  palaestra bomber check ../shared/reference/pommerman/*.jsonl.gz
  palaestra tournament --help
  palaestra replay view match.json.gz
  palaestra play bomber --vs simple simple random
"""

# Errors a user causes and can fix: printed as `error: ...` with exit status 2. Anything else is a
# bug and keeps its traceback.
FILE_ERRORS = (FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError,
               PermissionError)


class Command(NamedTuple):
    name: str
    summary: str
    """The line ``palaestra --help`` shows (argparse help text: ``%`` is written ``%%``)."""
    build: Callable[[argparse.ArgumentParser], None]
    """Fills in the command's description, options and handler (``func``)."""


COMMANDS: tuple[Command, ...] = (
    Command("envs", "list the registered environments", envs.build_envs),
    Command("solve", "solve a game exactly (Kelly coin flip: dynamic programming over cents)",
            kelly.build_solve),
    Command("evaluate", "evaluate agents on a single-agent env (mean return, 95%% CI, regret)",
            kelly.build_evaluate),
    Command("train", "train an agent with PPO (Stable-Baselines3 or RLlib)", train.build_train),
    Command("bomber", "play Bomber games; check the rules against Pommerman recordings",
            bomber.build_bomber),
    Command("tournament", "submit agents, run sandboxed tournaments, rate and rank",
            tournament.build_tournament),
    Command("replay", "watch a replay in a window or export it as GIF/MP4", replay.build_replay),
    Command("play", "play Bomber yourself against agents (keyboard), recording a replay",
            replay.build_play),
    Command("league", "train a population with PFSP, snapshots, PBT and ratings (RLlib)",
            league.build_league),
    Command("es", "evolution strategies (OpenAI-ES, canonical ES) on Ray", es.build_es),
    Command("prefs", "learn a reward from pairwise preferences, train on it", prefs.build_prefs),
)


def build_parser(full: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The parser; the commands named in ``full`` (every command when None) have their options,
    the others only their name and summary."""
    from palaestra import __version__

    parser = argparse.ArgumentParser(
        prog="palaestra",
        description="Build, train, rate and pit reinforcement-learning agents against each other.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"palaestra {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of every error, also of the `error: ...` ones")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = None if full is None else set(full)
    for command in COMMANDS:
        p = sub.add_parser(command.name, help=command.summary)
        if chosen is None or command.name in chosen:
            command.build(p)
    return parser


def _command_word(argv: Sequence[str]) -> str | None:
    """The command of a command line: its first word that is not an option (the options before
    the command take no value)."""
    return next((word for word in argv if not word.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    word = _command_word(argv)
    args = build_parser([word] if word else []).parse_args(argv)
    console = Console()
    try:
        return int(args.func(args, console))
    except (PalaestraError, *FILE_ERRORS) as exc:
        if args.debug:
            raise
        console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)  # one line, paths whole
        return 2
    except KeyboardInterrupt:
        if args.debug:
            raise
        console.print("[yellow]interrupted[/]")
        return 130


if __name__ == "__main__":
    sys.exit(main())
