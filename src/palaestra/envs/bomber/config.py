"""Configuration of a Bomber game."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from palaestra.envs.bomber import constants as C
from palaestra.errors import ConfigError


@dataclass(frozen=True)
class BomberConfig:
    """A Bomber (Pommerman) game.

    The defaults are Pommerman's FFA competition settings.
    """

    mode: Literal["ffa", "team", "team_radio"] = "ffa"
    """``ffa``: every agent for itself; ``team``: agents 0 & 2 against 1 & 3; ``team_radio``: teams
    that also send two words (0..7 each) to their teammate every step."""
    observation: Literal["dict", "planes"] = "dict"
    """``dict``: Pommerman's per-agent dict; ``planes``: a (22, 11, 11) float32 stack for learning."""
    partially_observable: bool = False
    """See only the square of ``agent_view_size`` cells around oneself (the rest is fog)."""
    agent_view_size: int = C.AGENT_VIEW_SIZE
    """Half-width of the visible square when partially observable."""
    max_steps: int = C.MAX_STEPS
    """The game is a tie for everyone still alive after this many steps."""
    max_blast_strength: int | None = None
    """Cap of the blast strength power-up. None: Pommerman's own value, 10 in FFA and the view size
    (4) in the team modes, whose competition configs pass it to the forward model."""
    num_rigid: int = C.NUM_RIGID
    """Rigid walls on a generated board (even)."""
    num_wood: int = C.NUM_WOOD
    """Wood walls on a generated board (even, includes the corridors)."""
    num_items: int = C.NUM_ITEMS
    """Power-ups hidden under wood."""

    def __post_init__(self) -> None:
        if self.mode not in C.MODES:
            raise ConfigError(f"mode must be one of {C.MODES}, got {self.mode!r}")
        if self.observation not in ("dict", "planes"):
            raise ConfigError(f"observation must be 'dict' or 'planes', got {self.observation!r}")
        if self.agent_view_size < 1:
            raise ConfigError(f"agent_view_size must be >= 1, got {self.agent_view_size}")
        if self.max_steps < 1:
            raise ConfigError(f"max_steps must be >= 1, got {self.max_steps}")
        if self.max_blast_strength is not None and self.max_blast_strength < C.DEFAULT_BLAST_STRENGTH:
            raise ConfigError(f"max_blast_strength must be >= {C.DEFAULT_BLAST_STRENGTH}")
        for name in ("num_rigid", "num_wood", "num_items"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")

    @property
    def team(self) -> bool:
        return self.mode != C.FFA

    @property
    def radio(self) -> bool:
        return self.mode == C.TEAM_RADIO

    @property
    def blast_cap(self) -> int:
        """The blast strength cap this game is played with."""
        if self.max_blast_strength is not None:
            return self.max_blast_strength
        return self.default_blast_cap(self.mode)

    @staticmethod
    def default_blast_cap(mode: str) -> int:
        """Pommerman's blast strength cap for ``mode``: 10 in FFA, the view size (4) in team modes."""
        if mode not in C.MODES:
            raise ConfigError(f"mode must be one of {C.MODES}, got {mode!r}")
        return C.MAX_BLAST_STRENGTH if mode == C.FFA else C.AGENT_VIEW_SIZE

    @property
    def view(self) -> int:
        """View half-width, or -1 when fully observable."""
        return self.agent_view_size if self.partially_observable else -1
