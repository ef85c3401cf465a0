"""Configuration of a hide-and-seek game."""

from __future__ import annotations

import math
from dataclasses import dataclass

from palaestra.envs.hide_and_seek.constants import MAX_PER_TEAM
from palaestra.errors import ConfigError

MIN_GRID_SIZE = 8
MAX_GRID_SIZE = 64


@dataclass(frozen=True)
class HideAndSeekConfig:
    """A hide-and-seek game on a square grid (OpenAI's hide-and-seek, in 2D grid form)."""

    grid_size: int = 16
    """Side of the square grid in cells, outer wall included (8..64)."""
    n_hiders: int = 2
    """Hiders, 1..3."""
    n_seekers: int = 2
    """Seekers, 1..3."""
    n_boxes: int = 4
    """Movable boxes: they block movement and sight and can be locked."""
    n_ramps: int = 2
    """Fixed ramps: from a ramp an agent vaults over one wall or box cell."""
    max_steps: int = 120
    """Steps per episode; the episode is truncated after the last."""
    prep_fraction: float = 0.4
    """Share of the episode spent in the preparation phase (seekers frozen and blind, rewards 0);
    ``round(max_steps * prep_fraction)`` steps. In [0, 1)."""
    vision_range: float = 10.0
    """How far an agent sees, in cells (Euclidean distance between cell centres)."""
    cone_half_angle: float = 67.5
    """Half the opening of the vision cone around the facing direction, in degrees (0, 180];
    67.5 gives OpenAI's 135-degree cone, 180 sees all around."""
    rooms: bool = True
    """Divide the arena into rooms by interior walls with one-cell doors; False: one open arena."""
    max_rooms: int = 4
    """With ``rooms``, the arena is divided into 2..max_rooms rooms (fewer when too small)."""
    min_room_size: int = 3
    """Smallest inner width of a room, in cells, when dividing."""
    grid_radius: int | None = None
    """``grid`` observation: None gives the whole map in absolute coordinates; an integer r gives
    the (2r+1)-cell square centred on the agent (cells off the map read as wall)."""

    def __post_init__(self) -> None:
        if not MIN_GRID_SIZE <= self.grid_size <= MAX_GRID_SIZE:
            raise ConfigError(f"grid_size must lie in {MIN_GRID_SIZE}..{MAX_GRID_SIZE}, got {self.grid_size}")
        for name in ("n_hiders", "n_seekers"):
            value = getattr(self, name)
            if not 1 <= value <= MAX_PER_TEAM:
                raise ConfigError(f"{name} must lie in 1..{MAX_PER_TEAM}, got {value}")
        for name in ("n_boxes", "n_ramps"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        inner = (self.grid_size - 2) ** 2
        placed = self.n_hiders + self.n_seekers + self.n_boxes + self.n_ramps
        if placed > inner // 3:
            raise ConfigError(f"{placed} agents, boxes and ramps do not fit a {self.grid_size} grid "
                             f"(at most {inner // 3})")
        if self.max_steps < 1:
            raise ConfigError(f"max_steps must be >= 1, got {self.max_steps}")
        if not 0.0 <= self.prep_fraction < 1.0:
            raise ConfigError(f"prep_fraction must lie in [0, 1), got {self.prep_fraction}")
        if not (math.isfinite(self.vision_range) and self.vision_range > 0):
            raise ConfigError(f"vision_range must be > 0, got {self.vision_range}")
        if not 0.0 < self.cone_half_angle <= 180.0:
            raise ConfigError(f"cone_half_angle must lie in (0, 180], got {self.cone_half_angle}")
        if self.max_rooms < 2:
            raise ConfigError(f"max_rooms must be >= 2, got {self.max_rooms}")
        if self.min_room_size < 2:
            raise ConfigError(f"min_room_size must be >= 2, got {self.min_room_size}")
        if self.grid_radius is not None and self.grid_radius < 1:
            raise ConfigError(f"grid_radius must be None or >= 1, got {self.grid_radius}")

    @property
    def prep_steps(self) -> int:
        """Number of preparation steps (the first ones of the episode)."""
        return min(self.max_steps - 1, round(self.max_steps * self.prep_fraction)) if self.max_steps > 1 else 0

    @property
    def cos_half_angle(self) -> float:
        return math.cos(math.radians(self.cone_half_angle))

    @property
    def grid_side(self) -> int:
        """Side of the ``grid`` observation."""
        return self.grid_size if self.grid_radius is None else 2 * self.grid_radius + 1


VARIANTS: dict[str, dict[str, object]] = {
    "full": {},
    "quadrant": {"grid_size": 10, "n_hiders": 2, "n_seekers": 2, "n_boxes": 2, "n_ramps": 1,
                 "max_steps": 60, "max_rooms": 2, "vision_range": 8.0},
}
"""Named games: ``full`` is the default config (16 cells, 2v2, 4 boxes, 2 ramps, 120 steps);
``quadrant`` a faster one to learn (10 cells, 2v2, 2 boxes, 1 ramp, 60 steps, at most two rooms:
one walled-off room with a door, as in OpenAI's quadrant game)."""


def variant_config(name: str) -> HideAndSeekConfig:
    """The :class:`HideAndSeekConfig` of a :data:`VARIANTS` name."""
    if name not in VARIANTS:
        raise ConfigError(f"no hide-and-seek variant {name!r}; known: {', '.join(VARIANTS)}")
    return HideAndSeekConfig(**VARIANTS[name])  # type: ignore[arg-type]
