"""HideAndSeek: PettingZoo test kit, vision, rules, layouts, stats and a scripted episode."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import numpy as np
import pytest

from palaestra.envs import hide_and_seek as hns
from palaestra.envs.hide_and_seek import constants as K
from palaestra.envs.hide_and_seek.config import HideAndSeekConfig
from palaestra.envs.hide_and_seek.state import GameState
from palaestra.envs.hide_and_seek.vision import field_of_view, line_of_sight
from palaestra.envs.hide_and_seek.world import connected, door_mask, generate, reachable, room_labels

CONFIGS = [
    {},
    {"n_hiders": 1, "n_seekers": 1},
    {"n_hiders": 3, "n_seekers": 3, "n_boxes": 6, "n_ramps": 3},
    {"rooms": False},
    {"grid_size": 11, "grid_radius": 3, "max_steps": 40, "n_boxes": 2, "n_ramps": 1},
]
IDS = ["default", "1v1", "3v3", "no-rooms", "small-local"]

# -- hand-made states ------------------------------------------------------------------------------

NOOP = np.array(K.NOOP_ACTION, np.int64)


def make_state(rows: list[str], faces: dict[str, int] | None = None, ramps: str = "^",
               step: int = 0) -> GameState:
    """A state from a text map: ``#`` wall, ``.`` floor, ``^`` ramp, ``o`` box, ``h``/``s`` box
    locked by hiders/seekers, ``A``-``C`` hiders, ``X``-``Z`` seekers (lower-case ``a``/``x``: the
    agent stands on a ramp). ``faces`` maps agent letters to facing codes (default: up)."""
    walls = np.array([[ch == "#" for ch in row] for row in rows])
    boxes, locks, ramp_cells = [], [], []
    agents: dict[str, tuple[int, int]] = {}
    for r, row in enumerate(rows):
        for c, ch in enumerate(row):
            if ch in "ohs":
                boxes.append((r, c))
                locks.append({"o": K.UNLOCKED, "h": K.HIDERS, "s": K.SEEKERS}[ch])
            elif ch in ramps or ch in "abcxyz":
                ramp_cells.append((r, c))
            if ch.upper() in "ABCXYZ" and ch != ".":
                agents[ch.upper()] = (r, c)
    order = [ch for ch in "ABC" if ch in agents] + [ch for ch in "XYZ" if ch in agents]
    faces = faces or {}
    return GameState(
        walls=walls,
        ramps=np.array(ramp_cells, np.int64).reshape(-1, 2),
        boxes=np.array(boxes, np.int64).reshape(-1, 2),
        box_lock=np.array(locks, np.int64),
        agent_pos=np.array([agents[ch] for ch in order], np.int64),
        agent_face=np.array([faces.get(ch, K.UP) for ch in order], np.int64),
        agent_team=np.array([K.HIDERS if ch in "ABC" else K.SEEKERS for ch in order], np.int64),
        step=step,
    )


def env_from(rows: list[str], faces: dict[str, int] | None = None, step: int | None = None,
             **config) -> tuple[hns.HideAndSeekParallelEnv, dict]:
    """A parallel env started from a text map; by default in the seek phase (step = prep)."""
    n_h = sum(ch in "ABCabc" for row in rows for ch in row)
    n_s = sum(ch in "XYZxyz" for row in rows for ch in row)
    n_boxes = sum(ch in "ohs" for row in rows for ch in row)
    n_ramps = sum(ch in "^abcxyz" for row in rows for ch in row)
    env = hns.parallel_env(grid_size=len(rows), n_hiders=n_h, n_seekers=n_s, n_boxes=n_boxes,
                           n_ramps=n_ramps, **config)
    start = env.config.prep_steps if step is None else step
    obs, _ = env.reset(seed=0, options={"state": make_state(rows, faces, step=start)})
    return env, obs


def step_one(env: hns.HideAndSeekParallelEnv, **acts: tuple[int, int, int]):
    """Step with the given actions (by agent name), everyone else doing nothing."""
    actions = {name: np.array(acts.get(name, K.NOOP_ACTION), np.int64) for name in env.agents}
    return env.step(actions)


def move(direction: int, face: int = 0, interact: int = 0) -> tuple[int, int, int]:
    return (direction + 1, face, interact)


OPEN_8 = [
    "########",
    "#......#",
    "#......#",
    "#......#",
    "#......#",
    "#......#",
    "#......#",
    "########",
]


def put(rows: list[str], **cells: tuple[int, int]) -> list[str]:
    """``rows`` with characters placed at cells: ``put(rows, A=(1, 1))``."""
    grid = [list(row) for row in rows]
    for ch, (r, c) in cells.items():
        grid[r][c] = ch[0]
    return ["".join(row) for row in grid]


# -- PettingZoo test kit ---------------------------------------------------------------------------


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_pettingzoo_api_parallel_api_and_seed(config):
    from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test

    api_test(hns.env(**config), num_cycles=150)
    parallel_api_test(hns.parallel_env(**config), num_cycles=150)
    parallel_seed_test(lambda: hns.parallel_env(**config), num_cycles=150)


def test_pettingzoo_render_test_and_frames():
    from pettingzoo.test import render_test

    render_test(hns.env)
    render_test(lambda render_mode=None: hns.env(render_mode=render_mode, n_hiders=1, n_seekers=3, rooms=False))
    env = hns.parallel_env(render_mode="rgb_array", grid_size=12)
    env.reset(seed=3)
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    assert frame.shape[0] > 12 * 40 and frame.std() > 10
    text = env.to_ansi()
    assert len(text.splitlines()) == 13 and "prep" in text.splitlines()[-1]


def test_agents_spaces_and_observations_are_well_formed():
    env = hns.parallel_env(n_hiders=3, n_seekers=2, n_boxes=5, n_ramps=2, grid_radius=4)
    obs, infos = env.reset(seed=1)
    assert env.possible_agents == ["hider_0", "hider_1", "hider_2", "seeker_0", "seeker_1"]
    space = env.observation_space("hider_0")
    assert space["entities"].shape == (6 + 5 + 2, K.NUM_ENTITY_FEATURES)
    assert space["grid"].shape == (K.NUM_GRID_CHANNELS, 9, 9)
    assert space["self"].shape == (K.NUM_SELF_FEATURES,)
    for name in env.agents:
        assert space.contains(obs[name]), name
        assert infos[name]["phase"] == "prep"
    # Seekers are blind during preparation; the others see at least their own cell.
    assert not obs["seeker_0"]["entity_mask"].any()
    assert not obs["seeker_0"]["grid"][K.G_VISIBLE].any()
    assert obs["hider_0"]["grid"][K.G_VISIBLE, 4, 4] == 1 and obs["hider_0"]["grid"][K.G_SELF, 4, 4] == 1
    assert obs["hider_2"]["self"][K.SELF_INDEX["index"]] == 2
    assert env.state().shape == env.state_space.shape


def test_same_seed_same_layout_and_different_seeds_differ():
    def walls(seed):
        env = hns.parallel_env()
        env.reset(seed=seed)
        return env.game.walls.copy(), env.game.boxes.copy()

    a, b, c = walls(5), walls(5), walls(6)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not (np.array_equal(a[0], c[0]) and np.array_equal(a[1], c[1]))


@pytest.mark.parametrize("bad", [
    {"n_hiders": 0}, {"n_seekers": 4}, {"grid_size": 6}, {"prep_fraction": 1.0}, {"cone_half_angle": 0},
    {"vision_range": 0}, {"n_boxes": -1}, {"grid_radius": 0}, {"n_boxes": 80}, {"max_rooms": 1},
])
def test_config_rejects_bad_values(bad):
    with pytest.raises(ValueError):
        HideAndSeekConfig(**bad)


def test_bad_actions_are_rejected_before_anything_changes():
    env = hns.parallel_env(n_hiders=1, n_seekers=1)
    env.reset(seed=0)
    before = env.game.copy()
    with pytest.raises(ValueError, match="hider_0"):
        env.step({"hider_0": np.array([9, 0, 0]), "seeker_0": NOOP})
    with pytest.raises(ValueError, match="no action for seeker_0"):
        env.step({"hider_0": NOOP})
    np.testing.assert_array_equal(env.game.agent_pos, before.agent_pos)
    assert env.game.step == 0


# -- vision ----------------------------------------------------------------------------------------


def test_line_of_sight_blocked_by_walls_and_boxes_not_by_ramps():
    state = make_state([
        "#########",
        "#A..#..X#",
        "#.......#",
        "#A.o...X#",
        "#.......#",
        "#A..^..X#",
        "#########",
    ])
    opaque = state.opaque()
    assert not line_of_sight(opaque, 1, 1, 1, 7)  # wall between
    assert not line_of_sight(opaque, 3, 1, 3, 7)  # box between
    assert line_of_sight(opaque, 5, 1, 5, 7)      # a ramp is floor
    assert line_of_sight(opaque, 2, 1, 2, 7)
    # symmetric, and the end cells never block
    assert line_of_sight(opaque, 1, 4, 1, 1) and line_of_sight(opaque, 1, 1, 1, 4)
    for r0, c0, r1, c1 in [(1, 1, 5, 7), (5, 1, 1, 7), (3, 1, 2, 7), (1, 3, 5, 5)]:
        assert line_of_sight(opaque, r0, c0, r1, c1) == line_of_sight(opaque, r1, c1, r0, c0)


def test_sight_slips_between_corner_cells_only_when_one_is_open():
    rows = ["#####", "#...#", "#...#", "#...#", "#####"]
    opaque = make_state(put(rows, A=(1, 1), X=(3, 3))).opaque()
    assert line_of_sight(opaque, 1, 1, 3, 3)
    opaque[2, 2] = True  # the diagonal runs through this cell's centre
    assert not line_of_sight(opaque, 1, 1, 3, 3)
    opaque = np.zeros((3, 3), bool)
    opaque[0, 1] = True  # one corner cell: still seen
    assert line_of_sight(opaque, 0, 0, 1, 1)
    opaque[1, 0] = True  # both: blocked
    assert not line_of_sight(opaque, 0, 0, 1, 1)


def test_vision_cone_follows_facing_and_range():
    walls = np.zeros((21, 21), bool)
    view = field_of_view(walls, 10, 10, K.RIGHT, 5.0, np.cos(np.radians(45)))
    assert view[10, 10]                    # own cell
    assert view[10, 15] and not view[10, 16]  # range 5
    assert view[8, 13]                     # inside the cone (angle ~34 deg)
    assert not view[7, 11]                 # outside (angle ~72 deg)
    assert not view[10, 8] and not view[5, 10]  # behind and beside
    around = field_of_view(walls, 10, 10, K.UP, 5.0, -1.0)
    assert around[10, 5] and around[15, 10] and around[13, 13]


def test_hider_seen_only_in_cone_and_line_of_sight():
    rows = [
        "########",
        "#A.....#",
        "#......#",
        "#..#...#",
        "#......#",
        "#......#",
        "#X.....#",
        "########",
    ]
    env, _ = env_from(rows, faces={"X": K.UP})
    assert not env.all_hidden                      # straight ahead
    env, _ = env_from(rows, faces={"X": K.RIGHT})
    assert env.all_hidden                          # 90 degrees off: outside the 67.5-degree cone
    env, _ = env_from(put(rows, o=(3, 1)), faces={"X": K.UP})
    assert env.all_hidden                          # a box in between
    env, _ = env_from(put(rows, **{"#": (4, 1)}), faces={"X": K.UP})
    assert env.all_hidden                          # a wall in between
    env, _ = env_from(rows, faces={"X": K.UP}, vision_range=4.0)
    assert env.all_hidden                          # too far


def test_observation_shows_seen_entities_only():
    rows = put(OPEN_8, A=(3, 1), X=(3, 5), o=(1, 5), h=(5, 5))
    env, obs = env_from(rows, faces={"A": K.RIGHT, "X": K.DOWN})
    a = obs["hider_0"]
    mask = a["entity_mask"].astype(bool)
    seeker_slot, box0, box1 = K.MAX_PER_TEAM, 2 * K.MAX_PER_TEAM, 2 * K.MAX_PER_TEAM + 1
    assert mask[seeker_slot] and mask[box0] and mask[box1] and not mask[0]
    row = a["entities"][seeker_slot]
    assert row[K.F_TYPE + K.T_SEEKER] == 1 and (row[K.F_DROW], row[K.F_DCOL]) == (0, 4)
    assert row[K.F_FACE + K.DOWN] == 1 and row[K.F_MATE] == 0 and row[K.F_VISIBLE] == 1
    assert a["entities"][box1, K.F_LOCK_OWN] == 1 and a["entities"][box0, K.F_LOCK_OWN] == 0
    assert obs["seeker_0"]["entities"][box1, K.F_LOCK_OTHER] == 1
    assert a["grid"][K.G_OPPONENT, 3, 5] == 1 and a["grid"][K.G_BOX_OWN, 5, 5] == 1
    # facing away, the same hider sees none of it
    env, obs = env_from(rows, faces={"A": K.LEFT, "X": K.LEFT})
    assert not obs["hider_0"]["entity_mask"].any()
    assert not obs["hider_0"]["entities"].any()
    assert obs["hider_0"]["grid"][K.G_OPPONENT].sum() == 0


# -- phases and rewards ----------------------------------------------------------------------------


def test_preparation_freezes_and_blinds_seekers_and_pays_nothing():
    rows = put(OPEN_8, A=(1, 1), X=(5, 5))
    env, obs = env_from(rows, step=0, faces={"X": K.LEFT}, max_steps=10, prep_fraction=0.4)
    assert env.config.prep_steps == 4
    for _ in range(4):
        assert obs["seeker_0"]["self"][K.SELF_INDEX["frozen"]] == 1
        assert not obs["seeker_0"]["entity_mask"].any()
        obs, rew, term, trunc, infos = step_one(env, hider_0=move(K.DOWN), seeker_0=move(K.UP, K.UP + 1))
        assert rew == {"hider_0": 0.0, "seeker_0": 0.0}
        np.testing.assert_array_equal(env.game.agent_pos[1], (5, 5))
        assert env.game.agent_face[1] == K.LEFT
    assert infos["seeker_0"]["phase"] == "seek" and obs["seeker_0"]["self"][K.SELF_INDEX["frozen"]] == 0
    assert env.game.agent_pos[0].tolist() == [5, 1]  # the hider moved all along
    obs, rew, *_ = step_one(env, seeker_0=move(K.UP, K.LEFT + 1))
    assert env.game.agent_pos[1].tolist() == [4, 5]
    assert rew["seeker_0"] == 1.0 and rew["hider_0"] == -1.0  # (5, 1) is now in the seeker's cone


def test_reward_is_zero_sum_and_plus_one_only_when_every_hider_is_unseen():
    rows = [
        "##########",
        "#A.......#",
        "#........#",
        "######.###",
        "#B.......#",
        "#........#",
        "#........#",
        "#........#",
        "#X......Y#",
        "##########",
    ]
    # X looks up at B; Y looks down at the wall.
    env, _ = env_from(rows, faces={"X": K.UP, "Y": K.DOWN})
    _, rew, *_ = step_one(env)
    assert rew == {"hider_0": -1.0, "hider_1": -1.0, "seeker_0": 1.0, "seeker_1": 1.0}
    # X turns right: neither hider is seen by anyone.
    _, rew, _, _, infos = step_one(env, seeker_0=(0, K.RIGHT + 1, 0))
    assert rew == {"hider_0": 1.0, "hider_1": 1.0, "seeker_0": -1.0, "seeker_1": -1.0}
    assert infos["hider_0"]["all_hidden"] and infos["seeker_1"]["all_hidden"]
    # One hider seen by one seeker is enough for the seekers.
    _, rew, _, _, infos = step_one(env, seeker_1=(0, K.UP + 1, 0))
    assert rew == {"hider_0": -1.0, "hider_1": -1.0, "seeker_0": 1.0, "seeker_1": 1.0}
    assert not infos["hider_0"]["all_hidden"]


def test_episode_truncates_after_max_steps():
    env = hns.parallel_env(max_steps=7, n_hiders=1, n_seekers=1)
    env.reset(seed=0)
    for t in range(7):
        _, _, term, trunc, _ = step_one(env)
        assert not any(term.values())
        assert all(trunc.values()) == (t == 6)
    assert env.agents == []
    with pytest.raises(RuntimeError):
        env.step({})


# -- boxes, locks, ramps ---------------------------------------------------------------------------


def test_pushing_pulling_and_dragging_boxes():
    rows = put(OPEN_8, A=(3, 2), o=(3, 3), X=(6, 6))
    env, _ = env_from(rows, faces={"A": K.RIGHT})
    step_one(env, hider_0=move(K.RIGHT))  # push
    assert env.game.boxes[0].tolist() == [3, 4] and env.game.agent_pos[0].tolist() == [3, 3]
    step_one(env, hider_0=move(K.LEFT, 0, K.GRAB))  # pull: the box follows
    assert env.game.boxes[0].tolist() == [3, 3] and env.game.agent_pos[0].tolist() == [3, 2]
    step_one(env, hider_0=move(K.DOWN, 0, K.GRAB))  # drag sideways
    assert env.game.boxes[0].tolist() == [4, 3] and env.game.agent_pos[0].tolist() == [4, 2]
    step_one(env, hider_0=move(K.LEFT))  # walking away without grabbing leaves it
    assert env.game.boxes[0].tolist() == [4, 3] and env.game.agent_pos[0].tolist() == [4, 1]
    assert env.stats()["seek"]["box_moves"] == 3 and env.stats()["seek"]["hider_box_moves"] == 3

    # against the wall a box does not move, and neither does the pusher
    env, _ = env_from(put(OPEN_8, A=(3, 4), o=(3, 5), X=(6, 1)))
    step_one(env, hider_0=move(K.RIGHT))
    step_one(env, hider_0=move(K.RIGHT))
    assert env.game.boxes[0].tolist() == [3, 6] and env.game.agent_pos[0].tolist() == [3, 5]
    assert env.stats()["seek"]["box_moves"] == 1

    # two boxes in a row, or an agent behind the box: no push
    env, _ = env_from(put(OPEN_8, A=(3, 1), o=(3, 2), o2=(3, 3), B=(5, 2), o3=(5, 3), X=(5, 4)))
    step_one(env, hider_0=move(K.RIGHT), hider_1=move(K.RIGHT))
    assert env.game.agent_pos[:2].tolist() == [[3, 1], [5, 2]]
    assert env.stats()["seek"]["box_moves"] == 0


def test_lock_blocks_the_other_team_and_only_the_locking_team_unlocks():
    rows = put(OPEN_8, A=(2, 3), o=(3, 3), X=(3, 4))
    env, _ = env_from(rows, faces={"A": K.DOWN, "X": K.LEFT})
    step_one(env, hider_0=(0, 0, K.TOGGLE_LOCK))
    assert env.game.box_lock[0] == K.HIDERS
    step_one(env, seeker_0=(0, 0, K.TOGGLE_LOCK))  # cannot unlock it
    assert env.game.box_lock[0] == K.HIDERS
    step_one(env, seeker_0=move(K.LEFT))  # cannot push it (the cell beyond is free)
    assert env.game.boxes[0].tolist() == [3, 3] and env.game.agent_pos[1].tolist() == [3, 4]
    step_one(env, seeker_0=move(K.RIGHT, 0, K.GRAB))  # nor pull it: it walks away alone
    assert env.game.boxes[0].tolist() == [3, 3] and env.game.agent_pos[1].tolist() == [3, 5]
    step_one(env, hider_0=move(K.UP, 0, K.GRAB))  # locked is locked for its own team too
    assert env.game.boxes[0].tolist() == [3, 3] and env.game.agent_pos[0].tolist() == [1, 3]
    step_one(env, hider_0=move(K.DOWN), seeker_0=move(K.LEFT))
    step_one(env, hider_0=(0, 0, K.TOGGLE_LOCK))  # its team unlocks it
    assert env.game.box_lock[0] == K.UNLOCKED
    step_one(env, seeker_0=move(K.LEFT))  # and now the seeker pushes it
    assert env.game.boxes[0].tolist() == [3, 2] and env.game.agent_pos[1].tolist() == [3, 3]
    seek = env.stats()["seek"]
    assert (seek["locks"], seek["unlocks"], seek["hider_locks"], seek["hider_unlocks"]) == (1, 1, 1, 1)
    assert (seek["box_moves"], seek["seeker_box_moves"], seek["seeker_locks"]) == (1, 1, 0)
    # the seekers lock for themselves, and then the hiders cannot unlock
    step_one(env, seeker_0=(0, 0, K.TOGGLE_LOCK))
    assert env.game.box_lock[0] == K.SEEKERS
    step_one(env, hider_0=move(K.DOWN, K.DOWN + 1, K.TOGGLE_LOCK))
    assert env.game.box_lock[0] == K.SEEKERS


RAMP_ROWS = [
    "#########",
    "#.......#",
    "#.^#....#",
    "#.......#",
    "#.^##...#",
    "#.......#",
    "#.^h....#",
    "#.......#",
    "#########",
]


@pytest.mark.parametrize("row, lands, over", [(2, 4, "a single wall"), (6, 4, "a locked box")])
def test_ramp_vaults_over_one_wall_or_unmovable_box(row, lands, over):
    env, _ = env_from(put(RAMP_ROWS, a=(row, 2), X=(7, 7)))
    step_one(env, hider_0=move(K.RIGHT))
    assert env.game.agent_pos[0].tolist() == [row, lands], over
    assert env.stats()["seek"]["ramp_uses"] == 1 and env.stats()["seek"]["hider_ramp_uses"] == 1


def test_no_vault_over_a_double_wall_without_a_ramp_or_onto_an_occupied_cell():
    env, _ = env_from(put(RAMP_ROWS, a=(4, 2), X=(7, 7)))
    step_one(env, hider_0=move(K.RIGHT))
    assert env.game.agent_pos[0].tolist() == [4, 2]  # two wall cells
    env, _ = env_from(put(RAMP_ROWS, A=(1, 3), X=(7, 7)))
    step_one(env, hider_0=move(K.DOWN))
    assert env.game.agent_pos[0].tolist() == [1, 3]  # no vault from the floor
    env, _ = env_from(put(RAMP_ROWS, a=(2, 2), X=(2, 4)))
    step_one(env, hider_0=move(K.RIGHT))
    assert env.game.agent_pos[0].tolist() == [2, 2]  # the landing cell is taken
    assert env.stats()["seek"]["ramp_uses"] == 0


# -- layouts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("size, max_rooms", [(16, 4), (12, 3), (24, 6)])
def test_rooms_are_connected_and_divided_by_doors(size, max_rooms):
    config = HideAndSeekConfig(grid_size=size, max_rooms=max_rooms)
    for seed in range(30):
        state = generate(np.random.default_rng(seed), config)
        walls = state.walls
        assert walls[0].all() and walls[-1].all() and walls[:, 0].all() and walls[:, -1].all()
        assert connected(walls)
        start = tuple(int(v) for v in state.agent_pos[0])
        assert reachable(walls, start)[~walls].all()  # every free cell, boxes ignored
        n_rooms = int(room_labels(walls).max()) + 1
        assert 2 <= n_rooms <= max_rooms
        assert door_mask(walls).sum() == n_rooms - 1  # one door per dividing wall: a tree of rooms
        # nothing placed on a wall, in a door, or twice
        cells = [tuple(c) for c in np.concatenate([state.ramps, state.boxes, state.agent_pos])]
        assert len(set(cells)) == len(cells)
        assert not any(walls[c] or door_mask(walls)[c] for c in cells)


def test_no_rooms_gives_an_open_arena():
    state = generate(np.random.default_rng(0), HideAndSeekConfig(rooms=False))
    assert state.walls[1:-1, 1:-1].sum() == 0 and not door_mask(state.walls).any()


# -- stats, speed, scripted play -------------------------------------------------------------------


def test_stats_are_counted_per_phase():
    rows = put(OPEN_8, A=(3, 2), o=(3, 3), X=(6, 6))
    env, _ = env_from(rows, step=0, faces={"A": K.RIGHT, "X": K.DOWN}, max_steps=6, prep_fraction=0.5)
    step_one(env, hider_0=move(K.RIGHT))  # prep: a push
    step_one(env, hider_0=(0, 0, K.TOGGLE_LOCK))  # prep: a lock
    step_one(env)
    _, _, _, _, infos = step_one(env, hider_0=(0, 0, K.TOGGLE_LOCK))  # seek: an unlock
    stats = infos["seeker_0"]["stats"]
    assert stats["prep"]["steps"] == 3 and stats["seek"]["steps"] == 1
    assert (stats["prep"]["box_moves"], stats["prep"]["locks"], stats["prep"]["unlocks"]) == (1, 1, 0)
    assert (stats["seek"]["box_moves"], stats["seek"]["locks"], stats["seek"]["unlocks"]) == (0, 0, 1)
    assert stats["prep"]["hidden_steps"] == 3 and stats["seek"]["hidden_steps"] == 1  # X looks away
    assert infos["hider_0"]["stats"] == stats and infos["hider_0"]["stats"] is not stats


@pytest.mark.parametrize("config", [{}, {"n_hiders": 3, "n_seekers": 3}, {"rooms": False}],
                         ids=["2v2", "3v3", "open"])
def test_scripted_hiders_against_scripted_seekers_play_a_full_episode(config):
    from palaestra.agents.scripted.hide_and_seek import make_scripted_hns_agent

    env = hns.parallel_env(**config)
    obs, _ = env.reset(seed=4)
    agents = {name: make_scripted_hns_agent("hider" if name.startswith("hider") else "seeker")
              for name in env.possible_agents}
    for k, agent in enumerate(agents.values()):
        agent.reset(np.random.default_rng(k))
    total = dict.fromkeys(env.possible_agents, 0.0)
    steps = 0
    while env.agents:
        actions = {name: agents[name].act(obs[name]) for name in env.agents}
        for name, a in actions.items():
            assert env.action_space(name).contains(a)
        obs, rewards, _, _, infos = env.step(actions)
        for name, r in rewards.items():
            total[name] += r
        steps += 1
    assert steps == env.config.max_steps
    seek_steps = env.config.max_steps - env.config.prep_steps
    assert abs(total["hider_0"]) <= seek_steps and total["hider_0"] == -total["seeker_0"]
    stats = infos["hider_0"]["stats"]
    assert stats["prep"]["steps"] == env.config.prep_steps and stats["seek"]["steps"] == seek_steps
    assert stats["prep"]["seeker_box_moves"] == 0 and stats["prep"]["seeker_ramp_uses"] == 0
