"""Small pygame helpers the viewer windows share: cached fonts, text fitting, event sources."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from typing import Any, Union

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402

EventBatch = list[Any]
"""The pygame events of one frame."""
EventSource = Union[Callable[[], Union[EventBatch, None]], Iterable[EventBatch], None]
"""Where a window's events come from: None for the keyboard, else a script (tests, headless):
an iterable of batches (one per frame) or a callable returning the next batch (None: no more)."""


@lru_cache(maxsize=32)
def font(px: int) -> pygame.font.Font:
    """pygame's default font at ``px`` pixels (cached; initialises the font module if needed)."""
    if not pygame.font.get_init():
        pygame.font.init()
    return pygame.font.Font(None, px)


def fit_text(text: str, px: int, width: int) -> str:
    """``text``, cut with an ellipsis so that it is at most ``width`` pixels wide."""
    f = font(px)
    if f.size(text)[0] <= width:
        return text
    while text and f.size(text + "…")[0] > width:
        text = text[:-1]
    return text + "…"


def poller(events: EventSource) -> Callable[[], EventBatch | None]:
    """A function returning the next batch of events, or None when a scripted source runs out."""
    if events is None:
        return pygame.event.get
    if callable(events):
        return events
    it: Iterator[EventBatch] = iter(events)
    return lambda: next(it, None)


def display_named() -> bool:
    """Whether the environment names a display (or an SDL video driver, such as ``dummy``)."""
    if os.environ.get("SDL_VIDEODRIVER"):
        return True
    if sys.platform.startswith(("win", "darwin")):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
