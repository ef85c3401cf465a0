"""The preference labelling window, driven headless by scripted key presses."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import sys  # noqa: E402
from collections.abc import Iterator, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pygame  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from palaestra.league.prefs.segments import Segment  # noqa: E402
from palaestra.viewer.prefs_labeller import (  # noqa: E402
    SERIES_COLORS,
    LabellerConfig,
    LabellerError,
    LabellingResult,
    PairLabel,
    label_pairs,
)

KELLY_FEATURES = ("wealth", "rounds left", "cap gap", "edge")


def kelly_segment(agent: str = "bot", seed: int = 0, length: int = 25, env: str = "kelly",
                  rewards: np.ndarray | None = None) -> Segment:
    rng = np.random.default_rng(seed)
    wealth = 25.0 + np.cumsum(rng.normal(0.0, 2.0, size=length))
    obs = np.stack([wealth, 300.0 - np.arange(length), 250.0 - wealth, np.full(length, 0.2)], 1)
    bets = rng.uniform(0.0, 5.0, size=(length, 1))
    return Segment(env, obs, bets, np.zeros(length) if rewards is None else rewards, seed=seed,
                   start=10, agent=agent)


def framed_segment(agent: str = "simple", color: tuple[int, int, int] = (255, 0, 0),
                   length: int = 6) -> Segment:
    """Frame 0 is all ``color``; the later ones are grey."""
    frames = np.full((length, 88, 88, 3), 128, dtype=np.uint8)
    frames[0] = color
    return Segment("bomber", np.zeros((length, 3)), np.arange(length) % 6, np.zeros(length),
                   agent=agent, frames=frames)


def pairs_of(n: int) -> list[tuple[Segment, Segment]]:
    return [(kelly_segment("a", 2 * k), kelly_segment("b", 2 * k + 1)) for k in range(n)]


def key(k: int, unicode: str = "") -> pygame.event.Event:
    return pygame.event.Event(pygame.KEYDOWN, key=k, mod=0, unicode=unicode, scancode=0)


def presses(*keys: int) -> list[list[pygame.event.Event]]:
    """One frame per key press."""
    return [[key(k)] for k in keys]


def values(result: LabellingResult) -> list[float | None]:
    return [lab.label for lab in result.labels]


def png_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as img:
        assert img.format == "PNG"
        return img.size


@pytest.fixture(autouse=True)
def _window_closed() -> Iterator[None]:
    yield
    assert not pygame.display.get_init(), "the labeller left the display open"


def test_each_key_gives_its_label() -> None:
    script = presses(pygame.K_LEFT, pygame.K_a, pygame.K_RIGHT, pygame.K_d, pygame.K_DOWN,
                     pygame.K_t, pygame.K_EQUALS, pygame.K_s, pygame.K_SPACE)
    result = label_pairs(pairs_of(9), events=script)
    assert result == LabellingResult([PairLabel(i, v) for i, v in enumerate(
        [1.0, 1.0, 0.0, 0.0, 0.5, 0.5, 0.5, None, None])], False)
    assert isinstance(result.labels[0], PairLabel) and result.labels[0].index == 0


def test_frames_without_keys_and_other_keys_change_nothing() -> None:
    idle = [pygame.event.Event(pygame.MOUSEMOTION, pos=(5, 5), rel=(1, 1), buttons=(0, 0, 0))]
    script = [[], idle, [key(pygame.K_x)], [key(pygame.K_r)], [key(pygame.K_LEFT)], [],
              [key(pygame.K_UNKNOWN, unicode="=")]]  # '=' typed on another keyboard layout
    assert values(label_pairs(pairs_of(2), events=script)) == [1.0, 0.5]


def test_a_batch_of_keys_labels_several_pairs_and_a_callable_source_works() -> None:
    batches = iter([[key(pygame.K_LEFT), key(pygame.K_RIGHT)], [key(pygame.K_t)]])
    result = label_pairs(pairs_of(3), events=lambda: next(batches, None))
    assert values(result) == [1.0, 0.0, 0.5] and not result.quit


@pytest.mark.parametrize("stop", [key(pygame.K_q), key(pygame.K_ESCAPE),
                                  pygame.event.Event(pygame.QUIT)])
def test_quitting_midway_returns_the_labels_so_far(stop: pygame.event.Event) -> None:
    script = presses(pygame.K_LEFT, pygame.K_s) + [[stop], [key(pygame.K_RIGHT)]]
    result = label_pairs(pairs_of(4), events=script)
    assert result.quit
    assert result.labels == [PairLabel(0, 1.0), PairLabel(1, None)]


def test_running_out_of_scripted_events_counts_as_quitting() -> None:
    result = label_pairs(pairs_of(3), events=presses(pygame.K_d))
    assert result == LabellingResult([PairLabel(0, 0.0)], True)
    assert label_pairs(pairs_of(1), events=[]) == LabellingResult([], True)


def test_keys_after_the_last_pair_are_ignored() -> None:
    result = label_pairs(pairs_of(1), events=[[key(pygame.K_LEFT), key(pygame.K_q)]])
    assert result == LabellingResult([PairLabel(0, 1.0)], False)


def test_backspace_goes_back_one_pair() -> None:
    script = presses(pygame.K_BACKSPACE,  # nothing to undo yet
                     pygame.K_LEFT, pygame.K_RIGHT, pygame.K_BACKSPACE, pygame.K_BACKSPACE,
                     pygame.K_t, pygame.K_s, pygame.K_BACKSPACE, pygame.K_d, pygame.K_a)
    result = label_pairs(pairs_of(3), events=script)
    assert result == LabellingResult([PairLabel(0, 0.5), PairLabel(1, 0.0), PairLabel(2, 1.0)],
                                     False)


def test_segments_from_different_envs_are_refused_before_a_window_opens() -> None:
    pairs = pairs_of(2) + [(kelly_segment(env="kelly"), kelly_segment(env="bomber"))]
    with pytest.raises(ValueError, match=r"pair 2: .*different envs .*'kelly'.*'bomber'"):
        label_pairs(pairs, events=presses(pygame.K_LEFT))


def test_feature_names_must_match_the_observations() -> None:
    with pytest.raises(ValueError, match="pair 0: feature_names has 2 names"):
        label_pairs(pairs_of(1), LabellerConfig(feature_names=("a", "b")), events=[])


@pytest.mark.parametrize("kwargs", [{"fps": 0}, {"fps": float("nan")}, {"panel_size": (100, 400)},
                                    {"panel_size": (600,)}, {"labeller": " "},
                                    {"feature_names": "wealth"}, {"feature_names": ("a", "")},
                                    {"loop": 1}, {"max_rows": 0}])
def test_config_is_validated(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        LabellerConfig(**kwargs)  # type: ignore[arg-type]


def test_config_normalises_sequences() -> None:
    config = LabellerConfig(panel_size=[400, 320],  # type: ignore[arg-type]
                            feature_names=["x", "y"])  # type: ignore[arg-type]
    assert config.panel_size == (400, 320) and config.feature_names == ("x", "y")


def test_no_pairs_returns_at_once_even_without_a_display(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SDL_VIDEODRIVER", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    assert label_pairs([]) == LabellingResult([], False)


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="display detection is for X11/Wayland")
def test_keyboard_use_without_a_display_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SDL_VIDEODRIVER", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(LabellerError, match="SDL_VIDEODRIVER") as info:
        label_pairs(pairs_of(1))
    assert isinstance(info.value, RuntimeError)


def test_scripted_use_without_a_display_draws_off_screen(monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    for name in ("SDL_VIDEODRIVER", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    result = label_pairs(pairs_of(1), events=presses(pygame.K_RIGHT), screenshot=tmp_path / "s.png")
    assert values(result) == [0.0] and (tmp_path / "s.png").is_file()


def test_the_window_is_closed_when_the_event_source_fails() -> None:
    def broken() -> list[pygame.event.Event]:
        raise KeyError("boom")

    with pytest.raises(KeyError):
        label_pairs(pairs_of(1), events=broken)
    # the autouse fixture checks that the display was shut


def test_screenshot_of_frameless_segments_is_a_chart(tmp_path: Path) -> None:
    path = tmp_path / "shots" / "kelly.png"
    config = LabellerConfig(panel_size=(400, 320), feature_names=KELLY_FEATURES)
    result = label_pairs(pairs_of(2), config, events=presses(pygame.K_LEFT), screenshot=path)
    assert values(result) == [1.0] and result.quit
    assert png_size(path) == (2 * 400 + 3 * 16, 320 + 150)
    pixels = np.asarray(Image.open(path).convert("RGB")).reshape(-1, 3)
    colours = {tuple(p) for p in pixels}
    assert SERIES_COLORS[0] in colours and SERIES_COLORS[3] in colours  # the wealth and edge lines


def test_screenshot_of_segments_with_frames_shows_them_scaled(tmp_path: Path) -> None:
    path = tmp_path / "bomber.png"
    pair = (framed_segment("simple", (255, 0, 0)), framed_segment("ppo", (0, 255, 0)))
    label_pairs([pair], events=[[], [], []] + presses(pygame.K_t), screenshot=path)
    width, height = png_size(path)
    assert (width, height) == (2 * 560 + 3 * 16, 470 + 150)
    img = np.asarray(Image.open(path).convert("RGB"))
    red = np.all(img == (255, 0, 0), axis=2)
    green = np.all(img == (0, 255, 0), axis=2)
    # the first picture is kept (the clips moved on later); each frame is scaled up by a whole
    # factor (88 -> 352) and sits in its own half
    assert red.sum() == green.sum() == 352 * 352
    assert np.nonzero(red)[1].max() < width // 2 < np.nonzero(green)[1].min()


def test_true_rewards_never_change_the_picture(tmp_path: Path) -> None:
    shots = []
    for k, rewards in enumerate((np.zeros(25), np.linspace(-50.0, 50.0, 25))):
        seg = kelly_segment(seed=3, rewards=rewards)
        path = tmp_path / f"{k}.png"
        label_pairs([(seg, kelly_segment(seed=4))], events=[], screenshot=path)
        shots.append(np.asarray(Image.open(path)))
    assert np.array_equal(shots[0], shots[1])


def test_many_dimensions_and_mixed_panels_render(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    wide = [Segment("x", rng.normal(size=(30, 12)), rng.normal(size=(30, 5)), np.zeros(30),
                    agent=name) for name in ("a", "b")]
    flat = [Segment("y", np.ones((1, 2)), np.zeros((1, 1)), np.zeros(1)) for _ in range(2)]
    with_frames = framed_segment(length=30)
    without = Segment("bomber", np.zeros((30, 3)), np.zeros(30), np.zeros(30))
    pairs: Sequence[tuple[Segment, Segment]] = [tuple(wide), tuple(flat), (with_frames, without)]
    config = LabellerConfig(loop=False, show_agent=False, panel_size=(360, 300))
    result = label_pairs(pairs, config, events=[[]] * 40 + presses(pygame.K_a, pygame.K_d,
                                                                   pygame.K_s),
                         screenshot=tmp_path / "wide.png")
    assert values(result) == [1.0, 0.0, None] and not result.quit
