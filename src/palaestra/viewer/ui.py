"""Small pygame helpers the viewer windows share: cached fonts, text fitting and drawing, event
sources, and the display check."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from typing import Any

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402

EventBatch = list[Any]
"""The pygame events of one frame."""
EventSource = Callable[[], EventBatch | None] | Iterable[EventBatch] | None
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


def draw_text(surf: pygame.Surface, text: str, pos: tuple[float, float], px: int,
              color: tuple[int, int, int], anchor: str = "midleft", width: int | None = None) -> pygame.Rect:
    """Draw ``text`` with its ``anchor`` point (a pygame Rect attribute) at ``pos``; returns its
    rectangle. With ``width``, the text is cut to fit (:func:`fit_text`)."""
    if width is not None:
        text = fit_text(text, px, width)
    img = font(px).render(text, True, color)
    rect = img.get_rect(**{anchor: (round(pos[0]), round(pos[1]))})
    surf.blit(img, rect)
    return rect


def wrap_text(text: str, px: int, width: int) -> list[str]:
    """``text`` as one line, or two broken at a space (the second cut with an ellipsis)."""
    f = font(px)
    if f.size(text)[0] <= width:
        return [text]
    words = text.split(" ")
    for n in range(len(words) - 1, 0, -1):
        head = " ".join(words[:n])
        if f.size(head)[0] <= width:
            return [head, fit_text(" ".join(words[n:]), px, width)]
    return [fit_text(text, px, width)]


def cut_middle(text: str, n: int) -> str:
    """``text`` cut to ``n`` characters, with an ellipsis in the middle (for long paths)."""
    return text if len(text) <= n else text[: n // 2 - 1] + "..." + text[-(n - n // 2 - 2):]


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


def open_display(error: Callable[[str], Exception], missing: str, failed: str) -> None:
    """Initialise pygame's display, or raise ``error(missing)`` when the environment names no
    display (:func:`display_named`) and ``error(failed)`` when SDL cannot open one (``{exc}`` in
    ``failed`` is replaced by SDL's reason)."""
    if not display_named():
        raise error(missing)
    try:
        pygame.display.init()
    except pygame.error as exc:
        raise error(failed.replace("{exc}", str(exc))) from None
