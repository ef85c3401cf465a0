"""Many league games of Bomber at once: the game side of :mod:`palaestra.league.population.vector_runner`.

:class:`LeagueBoards` holds ``num_boards`` games in one :class:`~palaestra.envs.bomber.core.BomberBatch`.
Each board has a lineup drawn as :class:`~palaestra.league.population.envs.bomber.BomberLeagueEnv`
draws it at reset (a learner uniformly, its opponents from its PFSP distribution with
:func:`~palaestra.league.population.matchmaking.draw_lineup`, the four seated at random, then the
game's seed), and the game's board is the one ``BomberParallelEnv.reset(seed=...)`` builds from that
seed. Seats of scripted bots are played by the compiled bots (one call per kind and step for all
boards); the caller gives the moves of the league members' seats. Rewards, shaping, terminations,
play-outs and match records follow ``BomberLeagueEnv`` (FFA): a member's reward is Bomber's own
(-1 at its death, +1/-1 when the game ends, -1 at the time-out, which is a termination) plus
``shape_pickup`` per power-up it collects and ``shape_enemy_death`` per other agent that dies while
it lives.

Once no member of a board is alive, the bots still standing play the game out to its end in an
endgame pool (:class:`~palaestra.league.population.vector_playout.PlayoutPool`, one step per step of
the boards), whose record is kept when it ends; the caller restarts the board at once with
:meth:`LeagueBoards.restart`.

**Team mode** (``mode="team"``, 2v2): a learner plays both seats of its team (seats 0 and 2, or 1
and 3, drawn per game) against one opponent drawn by PFSP, which takes the other two seats: a
learner or snapshot playing both, or two bots of one kind. Both seats of a team are paid the
team's result (+1/-1, -1 at the time-out) when the game ends, the dead included: a seat that dies
while its mate plays on is *hanging* (:attr:`BoardsStep.hanging`), its episode open without an
observation until then. ``shape_enemy_death`` counts the other team's deaths. A game ends when a
team is out, so there is no play-out; its record has two seats, the team of seat 0 and that of
seat 1, so ratings and PFSP are by team.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from palaestra.agents.scripted.compiled import COMPILED_BOTS, CompiledBots
from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber.board import make_board, make_items
from palaestra.envs.bomber.config import BomberConfig
from palaestra.envs.bomber.core import ALIVE, COL, ROW, STEP, BomberBatch
from palaestra.envs.bomber.filter_names import LEGACY_FILTER, check_filter
from palaestra.envs.bomber.filters import filter_mask
from palaestra.envs.bomber.observe import planes
from palaestra.envs.bomber.vector import outcome_batch
from palaestra.errors import ConfigError, UnknownNameError
from palaestra.league.population.envs.bomber import BOT_PREFIX, bot_name, placement_ranks
from palaestra.league.population.matchmaking import draw_lineup
from palaestra.league.population.vector_playout import FILTERED_BOTS, GUARDED_BOTS, PlayoutPool, bot_moves

BOT_KINDS: tuple[str, ...] = (*COMPILED_BOTS, *FILTERED_BOTS, *GUARDED_BOTS)
"""Bot names the boards can seat."""


BOARD_MODES: tuple[str, ...] = C.MODES
"""Bomber modes the boards play: every mode."""


def _check_mode(mode: str) -> None:
    """ConfigError for a mode the boards do not play."""
    if mode not in BOARD_MODES:
        raise ConfigError(f"league boards play Bomber modes {', '.join(BOARD_MODES)}, got {mode!r}")


def bomber_config(bomber: dict[str, Any] | None) -> BomberConfig:
    """The game of an env_config's ``bomber`` entry (BomberParallelEnv keyword arguments).

    Raises:
        ConfigError: for a mode the boards do not play or an unknown setting.
    """
    bomber = dict(bomber or {})
    _check_mode(bomber.get("mode", "ffa"))
    known = {f.name for f in fields(BomberConfig)}
    unknown = sorted(set(bomber) - known)
    if unknown:
        raise ConfigError(f"unknown bomber settings {unknown}; known: {sorted(known)}")
    bomber["observation"] = "planes"
    return BomberConfig(**bomber)


@dataclass(frozen=True)
class BoardsStep:
    """What one :meth:`LeagueBoards.step` gives the caller (N boards, 4 seats)."""

    acted: np.ndarray
    """(N, 4) the member seats that acted this step (in their episode when the step began)."""
    rewards: np.ndarray
    """(N, 4) float32 rewards of the seats that acted or are paid their team's result (shaping
    included), 0 elsewhere."""
    terminated: np.ndarray
    """(N, 4) the seat's episode ended: FFA, its death; both modes, the game's decision or the
    time-out (team mode: also for the seats of :attr:`hanging` that died earlier)."""
    truncated: np.ndarray
    """(N, 4) always False: the time-out is a termination (the step count is in the planes, so
    nothing lies beyond it to bootstrap from). Kept for the runner's episode API."""
    over: np.ndarray
    """(N,) the members' episode of the board is over (no member alive, or the game ended)."""
    observations: np.ndarray
    """(N, 4, planes) float32 flat planes after the step, before any restart (zeros for the dead)."""
    hanging: np.ndarray
    """(N, 4) team mode: member seats that died this step while their team plays on; their episode
    stays open without an observation until the game's end pays them the team's result (in
    :attr:`rewards` and :attr:`terminated`, without acting). Always False in FFA."""


class LeagueBoards:
    """``num_boards`` FFA Bomber games with league lineups (see the module docstring).

    Args:
        num_boards: games stepped together.
        config: the game (FFA; see :func:`bomber_config`).
        seed: seeds lineups, boards and the bots' draws.
        play_out: finish the bots' game once no member of a board is alive (as BomberLeagueEnv).
        playout_slots: endgames played at once (default ``4 * num_boards``: a bots-only endgame, with
            static bots that never die, can last up to the step limit, far longer than a member's game).
        action_filter: the filter of :meth:`action_mask` (:mod:`palaestra.envs.bomber.filters`).
    """

    def __init__(self, num_boards: int, config: BomberConfig, seed: int, play_out: bool = True,
                 playout_slots: int | None = None, action_filter: str = LEGACY_FILTER) -> None:
        if num_boards < 1:
            raise ConfigError(f"num_boards must be >= 1, got {num_boards}")
        _check_mode(config.mode)
        self.team = config.team
        self.radio = config.radio
        """team_radio: members send two words a step (:meth:`step`'s ``member_words``), heard by
        their mate in the next step's planes; bots send none (zeros), as a bare move does."""
        self.num_boards = n = num_boards
        self.config = config
        self.play_out = play_out
        self.action_filter = check_filter(action_filter)
        self._rng = np.random.default_rng(seed)
        self._bot_rng = np.random.default_rng([seed, 1])
        self.batch = BomberBatch.empty(n)
        self._messages = np.zeros((n, C.NUM_AGENTS, C.RADIO_NUM_WORDS), np.int64)
        self.seats: list[list[str]] = [[] for _ in range(n)]
        self.seeds = np.zeros(n, np.int64)
        self.member = np.zeros((n, C.NUM_AGENTS), bool)
        self.active = np.zeros((n, C.NUM_AGENTS), bool)
        self.hanging = np.zeros((n, C.NUM_AGENTS), bool)
        """(N, 4) team mode: dead member seats whose episode awaits the team's result."""
        self._kind_mask = {k: np.zeros((n, C.NUM_AGENTS), bool) for k in BOT_KINDS}
        self._bots = {k: CompiledBots(k, n, config) for k in COMPILED_BOTS}
        self._death = np.full((n, C.NUM_AGENTS), -1, np.int64)
        self._shaping_w = np.zeros((n, C.NUM_AGENTS, 2), np.float32)
        self._lineups: dict[str, dict[str, float]] = {}
        self._bot_ids: list[str] = []
        self._shaping: dict[str, dict[str, float]] = {}
        self._results: list[dict[str, Any]] = []
        slots = 4 * num_boards if playout_slots is None else playout_slots
        if slots < 1:
            raise ConfigError(f"playout_slots must be >= 1, got {slots}")
        self._pool = PlayoutPool(slots, config, BOT_KINDS, self._bot_rng)

    # -- league plumbing ---------------------------------------------------------------------
    def set_league(self, lineups: dict[str, dict[str, float]], bots: list[str],
                   shaping: dict[str, dict[str, float]]) -> None:
        """Install the matchmaking table, the bot ids and the shaping weights (for new games).

        Raises:
            ValueError: for an empty lineup distribution.
            UnknownNameError: for a bot these boards cannot play.
        """
        for learner, dist in lineups.items():
            if not dist:
                raise ValueError(f"empty lineup distribution for {learner!r}")
        ids = set(bots) | {m for d in lineups.values() for m in d if m.startswith(BOT_PREFIX)}
        bad = sorted(b for b in ids if bot_name(b) not in BOT_KINDS)
        if bad:
            raise UnknownNameError(f"bots {bad} cannot be played on vector boards; known: {', '.join(BOT_KINDS)}")
        self._lineups = {k: dict(v) for k, v in lineups.items()}
        self._bot_ids = list(bots)
        self._shaping = {k: dict(v) for k, v in shaping.items()}

    def pop_results(self) -> list[dict[str, Any]]:
        """The games finished since the last call: ``{"seats", "ranks", "seed"}`` each."""
        out, self._results = self._results, []
        return out

    # -- games -------------------------------------------------------------------------------
    def restart(self, indices: np.ndarray | list[int]) -> None:
        """Start a new game with a new lineup on each board of ``indices`` (in that order).

        Raises:
            RuntimeError: if no league is installed.
        """
        if not self._lineups:
            raise RuntimeError("no league installed: call set_league() before sampling")
        learners = sorted(self._lineups)
        c = self.config
        for i in (int(v) for v in indices):
            rng = self._rng
            learner = learners[int(rng.integers(len(learners)))]
            if self.team:  # one opponent team: both seats of a member, or two bots of a kind
                (opponent,) = draw_lineup(self._lineups[learner], self._bot_ids, 1, rng)
                side = int(rng.integers(2))  # the learner's seats: side and side + 2
                seats = [learner if k % 2 == side else opponent for k in range(C.NUM_AGENTS)]
            else:
                opponents = draw_lineup(self._lineups[learner], self._bot_ids, C.NUM_AGENTS - 1, rng)
                lineup = [learner, *opponents]
                seats = [lineup[k] for k in rng.permutation(C.NUM_AGENTS)]
            seed = int(rng.integers(2**31))
            game_rng = np.random.default_rng(seed)  # as BomberParallelEnv.reset(seed=seed)
            board = make_board(game_rng, num_rigid=c.num_rigid, num_wood=c.num_wood)
            self.batch.set_start(i, board, make_items(game_rng, board, c.num_items))
            self.seats[i], self.seeds[i] = seats, seed
            for kind, mask in self._kind_mask.items():
                mask[i] = [s.startswith(BOT_PREFIX) and bot_name(s) == kind for s in seats]
            self.member[i] = [not s.startswith(BOT_PREFIX) for s in seats]
            self.active[i] = self.member[i]
            self.hanging[i] = False
            self._messages[i] = 0
            self._death[i] = -1
            for k, s in enumerate(seats):
                w = self._shaping.get(s, {})
                self._shaping_w[i, k] = (w.get("shape_pickup", 0.0), w.get("shape_enemy_death", 0.0))
            for bots in self._bots.values():
                bots.reset(i)

    def observe(self, indices: np.ndarray | None = None) -> np.ndarray:
        """(len(indices) or N, 4, planes) float32 flat planes of every seat (zeros for the dead)."""
        b, c = self.batch, self.config
        if indices is None:
            arrays = (b.board, b.agents, b.bombs, b.flames, b.meta, self._messages)
        else:
            arrays = tuple(a[indices] for a in (b.board, b.agents, b.bombs, b.flames, b.meta, self._messages))
        stack = planes(*arrays, c.view, c.team, c.max_steps)
        return stack.reshape(stack.shape[0], C.NUM_AGENTS, -1)

    def action_mask(self) -> np.ndarray:
        """(N, 4, 6) the mask of the boards' action filter for the member seats (all True elsewhere)."""
        return filter_mask(self.batch, self.action_filter, self.active)

    def step(self, member_moves: np.ndarray, member_words: np.ndarray | None = None,
             learned: np.ndarray | None = None) -> BoardsStep:
        """One step of every board: ``member_moves`` (N, 4) for the active member seats, bots inside.

        In team_radio, ``member_words`` (N, 4, 2) are the words of the active member seats (None:
        zeros); every living seat's words replace what its mate hears, as in BomberParallelEnv.
        ``learned`` (N, 4), FFA only: a reward model's reward of each active seat's step, paid in
        place of the game's result (the shaping terms are added to it as to the result).
        Boards whose members' episode ends are played out (when ``play_out``) and recorded; call
        :meth:`restart` for them before the next step.
        """
        b, n = self.batch, self.num_boards
        if learned is not None and self.team:
            raise ConfigError("learned rewards are paid in FFA games only")
        moves = np.where(self.active, np.asarray(member_moves, np.int64), C.STOP).astype(np.int64)
        if self.radio:
            self._send(member_words)
        self._results.extend(self._pool.step())
        bot_moves(b, self._kind_mask, self._bots, self._bot_rng, moves)
        acted = self.active.copy()
        alive_before = b.agents[:, :, ALIVE].astype(bool)
        board_before = b.board.copy()
        b.step(moves, self.config.blast_cap)
        alive = b.agents[:, :, ALIVE].astype(bool)
        steps = b.meta[:, STEP]
        done, final = outcome_batch(alive, steps, self.config.max_steps, self.team)
        died = alive_before & ~alive
        self._death[died] = np.broadcast_to(steps[:, None], died.shape)[died]
        if self.team:
            # the team's result goes to both its seats at the game's end, the dead included
            hang = acted & died & ~done[:, None]
            paid = (acted | self.hanging) & done[:, None]
            rewards = np.where(paid, final, 0).astype(np.float32)
            terminated = paid
            even, odd = died[:, 0::2].sum(axis=1), died[:, 1::2].sum(axis=1)
            enemy_deaths = np.where(np.arange(C.NUM_AGENTS) % 2 == 0, odd[:, None], even[:, None])
        else:
            hang = np.zeros_like(acted)
            paid = acted
            rewards = np.where(done[:, None] | died, final, 0).astype(np.float32)
            if learned is not None:
                rewards = np.where(acted, np.asarray(learned, np.float32), 0).astype(np.float32)
            # a time-out terminates too: the step count is in the planes, nothing lies beyond it
            terminated = acted & (done[:, None] | died)
            enemy_deaths = died.sum(axis=1)[:, None]
        truncated = np.zeros_like(terminated)
        # shaping for the members alive after the step
        rows, cols = b.agents[:, :, ROW], b.agents[:, :, COL]
        under = board_before[np.arange(n)[:, None], rows, cols]
        picked = np.isin(under, np.asarray(C.POWERUPS, np.int8)) & alive
        rewards += np.where(alive, picked * self._shaping_w[..., 0] + enemy_deaths * self._shaping_w[..., 1], 0.0)
        rewards = np.where(acted | paid, rewards, 0.0).astype(np.float32)
        obs = self.observe()
        over = done | ~(alive & self.member).any(axis=1)
        self.active &= ~(terminated | truncated | hang)
        self.active &= ~over[:, None]
        self.hanging = (self.hanging | hang) & ~terminated
        ended = np.flatnonzero(over)
        if len(ended):
            self._finish(ended, done)
        return BoardsStep(acted, rewards, terminated, truncated, over, obs, hang)

    def _send(self, member_words: np.ndarray | None) -> None:
        """What each living seat says this step becomes what its mate hears (bots say zeros)."""
        words = np.zeros((self.num_boards, C.NUM_AGENTS, C.RADIO_NUM_WORDS), np.int64)
        if member_words is not None:
            given = np.asarray(member_words, np.int64)
            if given.shape != words.shape:
                raise ValueError(f"member_words must have shape {words.shape}, got {given.shape}")
            words = np.where(self.active[..., None], given, 0)
        if words.min() < 0 or words.max() >= C.RADIO_VOCAB_SIZE:
            raise ValueError(f"radio words must lie in 0..{C.RADIO_VOCAB_SIZE - 1}")
        alive = self.batch.agents[:, :, ALIVE].astype(bool)
        mate = (np.arange(C.NUM_AGENTS) + 2) % C.NUM_AGENTS
        heard = self._messages.copy()
        heard[:, mate] = np.where(alive[..., None], words, self._messages[:, mate])
        self._messages = heard

    def _finish(self, ended: np.ndarray, done: np.ndarray) -> None:
        """Record the boards of ``ended``; those still running go to the endgame pool (``play_out``)."""
        for i in (int(v) for v in ended):
            if self.team:  # decided (or timed out) when over: one record of two teams
                alive = self.batch.agents[i, :, ALIVE].astype(bool)
                even, odd = bool(alive[0::2].any()), bool(alive[1::2].any())
                ranks = [0, 1] if even and not odd else [1, 0] if odd and not even else [0, 0]
                self._results.append({"seats": [self.seats[i][0], self.seats[i][1]], "ranks": ranks,
                                      "seed": int(self.seeds[i])})
                continue
            if not done[i] and self.play_out:
                self._results.extend(self._pool.add(self.batch, i, self._kind_mask, self._bots, self._death,
                                                    self.seats[i], int(self.seeds[i])))
                continue
            alive = self.batch.agents[i, :, ALIVE].astype(bool)
            # a decided game has its winner; one stopped early lets the bots standing share first place
            won = [int(k) for k in np.flatnonzero(alive)] if done[i] and alive.sum() == 1 else []
            death = [None if d < 0 else int(d) for d in self._death[i]]
            self._results.append({"seats": list(self.seats[i]), "ranks": placement_ranks(death, won),
                                  "seed": int(self.seeds[i])})

    def finish_playouts(self) -> None:
        """Play every endgame under way to its end (their records join :meth:`pop_results`)."""
        self._results.extend(self._pool.finish())
