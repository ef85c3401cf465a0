"""Bomber start boards (Pommerman's make_board / make_items rules) and the renderers."""

from __future__ import annotations

import os
from collections import deque

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import numpy as np
import pytest

from palaestra.envs.bomber import board as B
from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber.board import inaccessible_passages, make_board, make_items
from palaestra.envs.bomber.render import AGENT_COLORS, render_ansi, render_rgb_array, save_png

SIZE = C.BOARD_SIZE
# Cells Pommerman keeps free next to the agents on the 11x11 board, and its wood corridors.
BREATHING = [
    (1, 2), (2, 1), (9, 8), (8, 9), (1, 8), (8, 1), (2, 9), (9, 2),
    (1, 3), (3, 1), (9, 7), (7, 9), (1, 7), (7, 1), (3, 9), (9, 3),
]
CORRIDORS = [
    (1, 4), (6, 1), (9, 6), (6, 9),
    (1, 5), (5, 1), (9, 5), (5, 9),
    (1, 6), (4, 1), (9, 4), (4, 9),
]


def _board(seed: int, **kw) -> np.ndarray:
    return make_board(np.random.default_rng(seed), **kw)


def _reachable(board: np.ndarray, start: tuple[int, int]) -> np.ndarray:
    seen = np.zeros(board.shape, bool)
    seen[start] = True
    q = deque([start])
    while q:
        r, c = q.popleft()
        for nr, nc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
            if 0 <= nr < board.shape[0] and 0 <= nc < board.shape[1] and not seen[nr, nc]:
                if board[nr, nc] != C.RIGID:
                    seen[nr, nc] = True
                    q.append((nr, nc))
    return seen


# ------------------------------------------------------------------------------- make_board


def test_same_seed_same_board_and_items():
    for seed in range(5):
        r1, r2 = np.random.default_rng(seed), np.random.default_rng(seed)
        b1, b2 = make_board(r1), make_board(r2)
        np.testing.assert_array_equal(b1, b2)
        np.testing.assert_array_equal(make_items(r1, b1), make_items(r2, b2))


def test_different_seeds_differ():
    boards = [_board(s) for s in range(10)]
    distinct = {b.tobytes() for b in boards}
    assert len(distinct) == len(boards)


def test_dtype_shape_and_codes():
    b = _board(0)
    assert b.dtype == np.int8 and b.shape == (SIZE, SIZE)
    assert set(np.unique(b).tolist()) <= {C.PASSAGE, C.RIGID, C.WOOD, C.AGENT0, C.AGENT0 + 1, C.AGENT0 + 2,
                                          C.AGENT0 + 3}


@pytest.mark.parametrize("seed", range(20))
def test_walls_symmetric_and_off_diagonal(seed):
    b = _board(seed)
    for code in (C.RIGID, C.WOOD):
        mask = b == code
        np.testing.assert_array_equal(mask, mask.T)
        assert not np.diagonal(mask).any()


@pytest.mark.parametrize("seed", range(20))
def test_agents_at_corners_with_breathing_room_and_corridors(seed):
    b = _board(seed)
    for i, pos in enumerate(C.START_POSITIONS):
        assert b[pos] == C.AGENT0 + i
    assert (b >= C.AGENT0).sum() == 4
    for cell in BREATHING:
        assert b[cell] == C.PASSAGE, cell
    for cell in CORRIDORS:
        assert b[cell] == C.WOOD, cell


@pytest.mark.parametrize("seed", range(20))
def test_wall_counts_as_pommerman(seed):
    b = _board(seed)
    # Pommerman lays 12 corridor wood cells first and counts them in num_wood.
    assert (b == C.RIGID).sum() == C.NUM_RIGID == 36
    assert (b == C.WOOD).sum() == C.NUM_WOOD == 36
    b = _board(seed, num_rigid=20, num_wood=50)
    assert (b == C.RIGID).sum() == 20 and (b == C.WOOD).sum() == 50
    b = _board(seed, num_rigid=0, num_wood=12)
    assert (b == C.RIGID).sum() == 0
    assert sorted(zip(*np.nonzero(b == C.WOOD))) == sorted(CORRIDORS)


def test_two_agents():
    b = _board(0, num_agents=2, num_wood=20)
    assert b[1, 1] == C.AGENT0 and b[SIZE - 2, SIZE - 2] == C.AGENT0 + 1
    assert (b >= C.AGENT0).sum() == 2
    assert (b == C.WOOD).sum() == 20 and (b == C.RIGID).sum() == C.NUM_RIGID


@pytest.mark.parametrize("seed", range(50))
def test_reachability(seed):
    b = _board(seed)
    seen = _reachable(b, (SIZE - 2, SIZE - 2))
    unreachable = (b == C.PASSAGE) & ~seen
    assert unreachable.sum() <= B.MAX_INACCESSIBLE == 4
    assert sorted(inaccessible_passages(b, (SIZE - 2, SIZE - 2))) == sorted(zip(*np.nonzero(unreachable)))
    # every agent is in the searched component
    for pos in C.START_POSITIONS:
        assert seen[pos]


def test_inaccessible_passages_counts_walled_in_cells():
    b = np.full((5, 5), C.PASSAGE, np.int8)
    b[0, 1] = b[1, 0] = b[1, 1] = C.RIGID  # (0, 0) walled in
    b[3, 3] = C.WOOD  # wood does not block
    assert inaccessible_passages(b, (4, 4)) == [(0, 0)]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(num_rigid=35), "even"),
        (dict(num_wood=37), "even"),
        (dict(num_wood=10), "corridors"),
        (dict(num_rigid=80, num_wood=14), "too many walls"),
        (dict(num_rigid=-2), "non-negative"),
        (dict(num_agents=3), "num_agents"),
        (dict(size=5), "size"),
    ],
)
def test_make_board_rejects_impossible_counts(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _board(0, **kwargs)


def test_make_board_gives_up_on_hopeless_boards(monkeypatch):
    monkeypatch.setattr(B, "MAX_ATTEMPTS", 3)
    # every free cell rigid: the diagonal passages are cut off
    with pytest.raises(RuntimeError, match="inaccessible"):
        _board(0, num_rigid=80, num_wood=12)


# ------------------------------------------------------------------------------- make_items


@pytest.mark.parametrize("seed", range(20))
def test_items_only_under_wood(seed):
    rng = np.random.default_rng(seed)
    b = make_board(rng)
    items = make_items(rng, b)
    assert items.dtype == np.int8 and items.shape == b.shape
    assert (items != 0).sum() == C.NUM_ITEMS
    assert np.all(b[items != 0] == C.WOOD)
    assert set(np.unique(items[items != 0]).tolist()) <= set(C.POWERUPS)


def test_item_kinds_all_appear():
    rng = np.random.default_rng(0)
    kinds = np.concatenate([make_items(rng, make_board(rng)).ravel() for _ in range(10)])
    counts = [(kinds == k).sum() for k in C.POWERUPS]
    assert all(c > 30 for c in counts), counts


def test_make_items_errors_and_edge_counts():
    rng = np.random.default_rng(0)
    b = make_board(rng)
    assert not make_items(rng, b, num_items=0).any()
    full = make_items(rng, b, num_items=36)
    np.testing.assert_array_equal(full != 0, b == C.WOOD)
    with pytest.raises(ValueError, match="wood"):
        make_items(rng, b, num_items=37)
    with pytest.raises(ValueError):
        make_items(rng, b, num_items=-1)


# ------------------------------------------------------------------------------- rendering

ALL_ALIVE = [True, True, True, True]


def _cell(frame: np.ndarray, r: int, c: int, tile: int, top: int = 0) -> np.ndarray:
    return frame[top + r * tile: top + (r + 1) * tile, c * tile: (c + 1) * tile]


def _has_color(region: np.ndarray, color) -> bool:
    return bool(np.all(region == np.array(color, np.uint8), axis=-1).any())


def test_rgb_frame_shape_and_dtype():
    b = _board(0)
    f = render_rgb_array(b, alive=ALL_ALIVE, step=0)
    assert f.dtype == np.uint8 and f.ndim == 3 and f.shape[2] == 3
    assert f.shape[1] == SIZE * 48 and f.shape[0] > SIZE * 48  # status bar below
    g = render_rgb_array(b, alive=ALL_ALIVE, step=0, tile=20, title="hello")
    assert g.shape[1] == SIZE * 20 and g.shape[0] > f.shape[0] * 20 / 48


def test_different_boards_render_differently():
    f1 = render_rgb_array(_board(0), alive=ALL_ALIVE, step=0, tile=16)
    f2 = render_rgb_array(_board(1), alive=ALL_ALIVE, step=0, tile=16)
    assert not np.array_equal(f1, f2)
    # and the step is drawn
    f3 = render_rgb_array(_board(0), alive=ALL_ALIVE, step=1, tile=16)
    assert not np.array_equal(f1, f3)


def test_agent_colour_at_its_cell_and_dead_agents_not_drawn():
    t = 24
    b = _board(3)
    f = render_rgb_array(b, alive=ALL_ALIVE, step=0, tile=t)
    for i, (r, c) in enumerate(C.START_POSITIONS):
        assert _has_color(_cell(f, r, c, t), AGENT_COLORS[i])
        other = AGENT_COLORS[(i + 1) % 4]
        assert not _has_color(_cell(f, r, c, t), other)
    dead = render_rgb_array(b, alive=[True, False, True, True], step=0, tile=t)
    r, c = C.START_POSITIONS[1]
    assert not _has_color(_cell(dead, r, c, t), AGENT_COLORS[1])


def test_bombs_flames_items_fog_change_cells():
    t = 24
    b = np.zeros((SIZE, SIZE), np.int8)
    base = render_rgb_array(b, alive=ALL_ALIVE, step=0, tile=t)
    b2 = b.copy()
    b2[0, 0], b2[0, 1], b2[0, 2], b2[0, 3], b2[0, 4] = C.BOMB, C.FLAMES, C.EXTRA_BOMB, C.INCR_RANGE, C.KICK
    bl = np.zeros(b.shape, int)
    bl[0, 0] = 5
    fl = np.zeros(b.shape, int)
    fl[5, 5] = 2
    fog = np.zeros(b.shape, bool)
    fog[10, 10] = True
    f = render_rgb_array(b2, alive=ALL_ALIVE, step=0, tile=t, bomb_life=bl, flame_life=fl, fog=fog)
    for cell in [(0, 0), (0, 1), (0, 2), (0, 3), (0, 4), (5, 5), (10, 10)]:
        assert not np.array_equal(_cell(f, *cell, t), _cell(base, *cell, t)), cell
    # the three power-ups look different from one another
    icons = [_cell(f, 0, c, t) for c in (2, 3, 4)]
    assert not np.array_equal(icons[0], icons[1]) and not np.array_equal(icons[1], icons[2])
    # bomb life numbers differ
    bl[0, 0] = 2
    g = render_rgb_array(b2, alive=ALL_ALIVE, step=0, tile=t, bomb_life=bl)
    assert not np.array_equal(_cell(g, 0, 0, t), _cell(f, 0, 0, t))
    with pytest.raises(ValueError):
        render_rgb_array(b2, alive=ALL_ALIVE, step=0, bomb_life=np.zeros((3, 3)))


def test_save_png_round_trip(tmp_path):
    import pygame

    f = render_rgb_array(_board(0), alive=ALL_ALIVE, step=7, tile=16)
    path = tmp_path / "frame.png"
    save_png(f, path)
    loaded = pygame.surfarray.array3d(pygame.image.load(str(path))).transpose(1, 0, 2)
    np.testing.assert_array_equal(loaded, f)


def test_render_ansi():
    b = _board(0)
    text = render_ansi(b, alive=[True, False, True, True], step=12)
    lines = text.splitlines()
    assert len(lines) == SIZE + 1
    grid = lines[:SIZE]
    assert all(len(line) == SIZE for line in grid)
    assert grid[1][1] == "0" and grid[9][9] == "2" and grid[1][9] == "3"
    assert grid[9][1] == "."  # dead agent 1 is not shown
    for r in range(SIZE):
        for c in range(SIZE):
            if b[r, c] == C.RIGID:
                assert grid[r][c] == "#"
            elif b[r, c] == C.WOOD:
                assert grid[r][c] == "+"
    assert "12" in lines[-1] and "alive: 0 2 3" in lines[-1]


@pytest.mark.parametrize("env_module", ["palaestra.envs.bomber", "palaestra.envs.hide_and_seek"])
def test_rendering_without_pygame_names_the_viewer_extra(env_module: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib
    import sys

    from palaestra.errors import MissingExtraError

    monkeypatch.setitem(sys.modules, "pygame", None)  # as if pygame were not installed
    monkeypatch.setitem(sys.modules, "pygame.gfxdraw", None)
    package = importlib.import_module(env_module)
    monkeypatch.delitem(sys.modules, f"{env_module}.render", raising=False)
    monkeypatch.delattr(package, "render", raising=False)  # so the next import runs the module again
    env = package.parallel_env(render_mode="rgb_array")
    env.reset(seed=0)
    with pytest.raises(MissingExtraError, match=r"pip install 'palaestra\[viewer\]'"):
        env.render()
