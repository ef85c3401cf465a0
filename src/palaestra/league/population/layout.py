"""Where everything of a league run lives in its run directory (the one owner of those names).

A league run directory holds::

    league.json            the league state (members, matches, PBT events, RNG, last checkpoint)
    league_config.json     the LeagueConfig the run was started with
    events.jsonl           one JSON line per snapshot, PBT round, restart, iteration
    checkpoints/itNNNNNN/  RLlib checkpoints (the newest ``keep_checkpoints``)
    archive/<member>/      RLlib modules of retired snapshots
    plots/                 league table, rating curves, win matrix (PNG)
    tb/                    TensorBoard scalars

The names are a file format: runs written by earlier versions load with the same names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

STATE_FILE = "league.json"
CONFIG_FILE = "league_config.json"
EVENTS_FILE = "events.jsonl"
CHECKPOINTS_DIR = "checkpoints"
ARCHIVE_DIR = "archive"
PLOTS_DIR = "plots"
TB_DIR = "tb"
MODULES_IN_CHECKPOINT: tuple[str, ...] = ("learner_group", "learner", "rl_module")
"""Where an RLlib algorithm checkpoint keeps one directory per module."""


@dataclass(frozen=True)
class RunLayout:
    """The paths of the league run in ``root``."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def state(self) -> Path:
        return self.root / STATE_FILE

    @property
    def config(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def events(self) -> Path:
        return self.root / EVENTS_FILE

    @property
    def checkpoints(self) -> Path:
        return self.root / CHECKPOINTS_DIR

    @property
    def archive(self) -> Path:
        return self.root / ARCHIVE_DIR

    @property
    def plots(self) -> Path:
        return self.root / PLOTS_DIR

    @property
    def tb(self) -> Path:
        return self.root / TB_DIR

    @staticmethod
    def checkpoint_name(iteration: int) -> str:
        """The checkpoint of ``iteration`` relative to the root, as ``league.json`` names it."""
        return f"{CHECKPOINTS_DIR}/it{iteration:06d}"

    def path(self, relative: str) -> Path:
        """A path stored relative to the root (e.g. the state's ``checkpoint``)."""
        return self.root / relative

    def archived_module(self, member: str) -> Path:
        """The module directory of a retired snapshot."""
        return self.archive / member

    def checkpoint_module(self, checkpoint: str, member: str) -> Path:
        """``member``'s module directory inside the checkpoint ``checkpoint`` (relative name)."""
        return self.path(checkpoint).joinpath(*MODULES_IN_CHECKPOINT, member)

    def owned(self) -> tuple[Path, ...]:
        """Everything a run writes here (what ``--force`` removes before starting over)."""
        return (self.state, self.config, self.events, self.checkpoints, self.tb, self.plots,
                self.archive)
