"""A curriculum of bots before PFSP: each Bomber learner first plays three ``static`` bots, then
three ``random`` ones, then three ``simple`` ones, and graduates from each stage when its win rate
over its last ``window`` games of that stage reaches the stage's threshold. After the last stage,
PFSP (:mod:`.matchmaking`) draws its opponents as before.

A learner's stage is a function of the match history alone (its ``train`` games in which every
opponent was the stage's bot), so a resumed run, or one restored after ``kill -9``, puts every
learner back in the stage it had reached; nothing else is stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from palaestra.errors import ConfigError
from palaestra.league.population.state import BOT_PREFIX, MatchRecord


@dataclass(frozen=True)
class CurriculumConfig:
    """The bots of each stage and the win rates that end them (``stages=()``: PFSP at once)."""

    stages: tuple[str, ...] = ("static", "random", "simple")
    """Scripted bots, in order; a learner plays three of the stage's bot at a time."""
    thresholds: tuple[float, ...] = (0.4, 0.4, 0.2)
    """Win rate (alone on top) over the last ``window`` games of a stage that ends it."""
    window: int = 40
    """Games a learner must have played in a stage before it can graduate from it."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "stages", tuple(self.stages))
        object.__setattr__(self, "thresholds", tuple(float(t) for t in self.thresholds))
        if len(self.thresholds) != len(self.stages):
            raise ConfigError(f"curriculum: {len(self.stages)} stages need as many thresholds, "
                              f"got {len(self.thresholds)}")
        if any(not 0.0 < t <= 1.0 for t in self.thresholds):
            raise ConfigError(f"curriculum thresholds must be in (0, 1], got {self.thresholds}")
        if isinstance(self.window, bool) or not isinstance(self.window, int) or self.window < 1:
            raise ConfigError(f"curriculum window must be a positive integer, got {self.window!r}")


def won_alone(game: MatchRecord, member: str) -> bool:
    """Whether ``member`` took first place alone."""
    return {s for s, r in zip(game.seats, game.ranks) if r == 0} == {member}


def stage_of(member: str, games: Iterable[MatchRecord], config: CurriculumConfig) -> int:
    """The stage ``member`` has reached (``len(config.stages)``: graduated, PFSP), from the
    league's match records in order (only ``train`` games count)."""
    stage = 0
    recent: list[bool] = []
    for game in games:
        if stage >= len(config.stages):
            break
        if game.source != "train" or member not in game.seats:
            continue
        bot = BOT_PREFIX + config.stages[stage]
        if any(s != bot for s in game.seats if s != member):
            continue  # not a game of this stage
        recent = (recent + [won_alone(game, member)])[-config.window:]
        if len(recent) == config.window and sum(recent) / config.window >= config.thresholds[stage]:
            stage, recent = stage + 1, []
    return stage


def stage_name(stage: int, config: CurriculumConfig) -> str:
    """``static`` / ``random`` / ... or ``pfsp`` once graduated."""
    return config.stages[stage] if stage < len(config.stages) else "pfsp"


def curriculum_lineup(stage: int, config: CurriculumConfig) -> dict[str, float] | None:
    """The opponent distribution of a learner in ``stage``, or ``None`` once it plays PFSP."""
    if stage >= len(config.stages):
        return None
    return {BOT_PREFIX + config.stages[stage]: 1.0}
