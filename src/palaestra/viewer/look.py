"""The replay viewer's colours and small drawing pieces (discs, chips), shared by its parts."""

from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402
import pygame.gfxdraw  # noqa: E402

from palaestra.viewer.ui import font  # noqa: E402

RGB = tuple[int, int, int]

BACKGROUND: RGB = (36, 39, 46)
PANEL_BG: RGB = (30, 33, 40)
BAR_BG: RGB = (24, 26, 32)
ROW_HIGHLIGHT: RGB = (48, 53, 64)
LINE: RGB = (64, 68, 80)
TEXT: RGB = (236, 236, 240)
DIM: RGB = (140, 144, 156)
ALIVE_COLOR: RGB = (39, 174, 96)
DEAD_COLOR: RGB = (192, 57, 43)
SEEK_TRACK: RGB = (62, 66, 78)
SEEK_FILL: RGB = (88, 166, 255)
EVENT_COLORS: dict[str, RGB] = {
    "kill": (255, 110, 96),
    "death": (255, 168, 82),
    "pickup": (190, 150, 255),
    "bomb": (150, 154, 166),
    "win": (255, 214, 80),
    "tie": (205, 205, 215),
    "cap": (110, 222, 140),
    "bust": (255, 110, 96),
    "end": (205, 205, 215),
    "seek": (240, 200, 90),
    "lock": (110, 190, 255),
    "unlock": (170, 180, 200),
    "vault": (241, 196, 15),
    "spotted": (255, 110, 96),
    "hidden": (120, 160, 255),
    "due": (205, 205, 215),
    "on_time": (110, 222, 140),
    "early": (241, 196, 15),
    "late": (255, 168, 82),
    "timeout": (255, 110, 96),
}
"""Colour of each kind of event in the log (and of the marks on the seek bar); the log shows only
the kinds listed here."""
SEEK_MARKS: tuple[str, ...] = ("kill", "death", "win", "tie", "cap", "bust", "end", "seek", "spotted",
                               "due", "on_time", "early", "late", "timeout")
"""Event kinds marked on the seek bar."""
WEALTH_COLOR: RGB = (88, 166, 255)
WIN_BAR: RGB = (46, 160, 90)
LOSS_BAR: RGB = (200, 70, 60)
CAP_COLOR: RGB = (241, 196, 15)


def disc(surf: pygame.Surface, cx: float, cy: float, r: float, color: RGB) -> None:
    """An anti-aliased filled circle."""
    x, y, rr = round(cx), round(cy), max(1, round(r))
    pygame.gfxdraw.filled_circle(surf, x, y, rr, color)
    pygame.gfxdraw.aacircle(surf, x, y, rr, color)


def chip(surf: pygame.Surface, x: int, cy: int, label: str, color: RGB, px: int = 18) -> int:
    """A rounded label with a coloured background; returns its right edge."""
    img = font(px).render(label, True, (255, 255, 255))
    rect = pygame.Rect(x, 0, img.get_width() + 12, px + 2)
    rect.centery = cy
    pygame.draw.rect(surf, color, rect, border_radius=rect.h // 2)
    surf.blit(img, img.get_rect(center=rect.center))
    return rect.right


def money(cents: int) -> str:
    """``$1,234.50``."""
    return f"${cents / 100:,.2f}"


def surface_to_array(surf: pygame.Surface) -> np.ndarray:
    """An (H, W, 3) uint8 copy of a surface's pixels."""
    return np.ascontiguousarray(pygame.surfarray.array3d(surf).transpose(1, 0, 2), dtype=np.uint8)


def array_to_surface(frame: np.ndarray) -> pygame.Surface:
    """A surface showing an (H, W, 3) uint8 picture."""
    return pygame.surfarray.make_surface(np.ascontiguousarray(frame.transpose(1, 0, 2)))
