"""The scripted Bomber bots (``simple``, ``random``, ``static``) compiled, for many boards at once.

:class:`CompiledBots` decides for chosen seats of every board of a
:class:`~palaestra.envs.bomber.core.BomberBatch` in one numba call
(:mod:`palaestra.agents.scripted.compiled_kernel`), working on the batch's arrays directly. Each
seat sees what its dict observation shows, fog included when the game is partially observable. The
Python agents of :mod:`palaestra.agents.scripted.bomber` stay the reference: given the same state,
the same memory and the same draws (:class:`~palaestra.agents.scripted.simple.UniformDraws`), a
compiled bot picks the same action (tests/agents/scripted/test_compiled_bots.py plays real games
to show it).

Example::

    bots = make_compiled_bots("simple", num_boards=256, config=BomberConfig(mode="team"))
    moves = bots.act(vector_env.batch, mask, rng)   # (256, 4); STOP where mask is False
    bots.reset(board_index)                         # when board ``board_index`` starts a new game
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from palaestra.agents.scripted import compiled_kernel as K
from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber.config import BomberConfig
from palaestra.envs.bomber.core import BomberBatch
from palaestra.errors import ConfigError, UnknownNameError

COMPILED_BOTS: dict[str, str] = {
    "simple": "SimpleBomberAgent (the port of Pommerman's SimpleAgent), compiled",
    "random": "uniformly random action among the six, compiled",
    "static": "always STOP, compiled",
}
_KINDS = {"static": K.STATIC, "random": K.RANDOM, "simple": K.SIMPLE}


@dataclass(frozen=True)
class SeatMemory:
    """What a simple bot remembers between steps, in the Python port's terms."""

    recent: list[tuple[int, int]]
    """The last cells (row, col) where it took a random walk step, oldest first (at most 6)."""
    prev_direction: int | None
    """The last direction it stepped toward an enemy, None before the first."""


class CompiledBots:
    """One kind of scripted bot in any seats of ``num_boards`` boards, stepped together.

    Args:
        name: ``"simple"``, ``"random"`` or ``"static"`` (see :data:`COMPILED_BOTS`).
        num_boards: boards of the batches this will act on.
        config: the game (its mode fixes who is an enemy, its view the fog); Pommerman's FFA by
            default.

    Every seat starts with an empty memory; call :meth:`reset` for a board (or one seat) whenever
    its game restarts.
    """

    def __init__(self, name: str, num_boards: int, config: BomberConfig | None = None) -> None:
        if name not in _KINDS:
            raise UnknownNameError(f"unknown compiled Bomber bot {name!r}; known: {', '.join(COMPILED_BOTS)}")
        if num_boards < 1:
            raise ConfigError(f"num_boards must be >= 1, got {num_boards}")
        self.name = name
        self.num_boards = num_boards
        self.config = config or BomberConfig()
        self._kind = _KINDS[name]
        shape = (num_boards, C.NUM_AGENTS)
        self._recent = np.full((*shape, K.RECENT_MEMORY), -1, np.int64)
        self._recent_len = np.zeros(shape, np.int64)
        self._prev_dir = np.full(shape, -1, np.int64)
        self._moves = np.zeros(shape, np.int64)
        self.draws_used = np.zeros(shape, np.int64)
        """(num_boards, 4) how many uniforms each seat drew in the last :meth:`act`."""

    def reset(self, board_index: int, seat: int | None = None) -> None:
        """Forget what the bots of board ``board_index`` (or only its ``seat``) remember.

        Raises:
            ConfigError: for a board or seat out of range.
        """
        if not 0 <= board_index < self.num_boards:
            raise ConfigError(f"board_index must lie in 0..{self.num_boards - 1}, got {board_index}")
        if seat is not None and not 0 <= seat < C.NUM_AGENTS:
            raise ConfigError(f"seat must lie in 0..{C.NUM_AGENTS - 1}, got {seat}")
        seats = slice(None) if seat is None else slice(seat, seat + 1)
        self._recent[board_index, seats] = -1
        self._recent_len[board_index, seats] = 0
        self._prev_dir[board_index, seats] = -1

    def reset_all(self) -> None:
        """Forget everything (every seat of every board)."""
        self._recent[:] = -1
        self._recent_len[:] = 0
        self._prev_dir[:] = -1

    def act(self, batch: BomberBatch, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The moves (num_boards, 4) of the live seats where ``mask`` (num_boards, 4) is True.

        Other seats, and dead ones, get STOP and keep their memory. Draws come from ``rng``, one
        uniform per draw, board by board and seat by seat; :attr:`draws_used` counts them. The
        returned array is reused by the next call.

        Raises:
            ConfigError: if the batch or the mask does not have ``num_boards`` boards.
        """
        if batch.size != self.num_boards:
            raise ConfigError(f"expected a batch of {self.num_boards} boards, got {batch.size}")
        mask = np.asarray(mask, dtype=np.bool_)
        if mask.shape != (self.num_boards, C.NUM_AGENTS):
            raise ConfigError(f"mask must have shape {(self.num_boards, C.NUM_AGENTS)}, got {mask.shape}")
        K.act_batch(self._kind, batch.board, batch.agents, batch.bombs, batch.meta, mask, self.config.team,
                    self.config.view, self._recent, self._recent_len, self._prev_dir, rng, self._moves,
                    self.draws_used)
        return self._moves

    def memory(self, board_index: int, seat: int) -> SeatMemory:
        """What the simple bot in ``seat`` of board ``board_index`` remembers now."""
        n = int(self._recent_len[board_index, seat])
        cells = [int(v) for v in self._recent[board_index, seat, :n]]
        prev = int(self._prev_dir[board_index, seat])
        return SeatMemory([divmod(v, C.BOARD_SIZE) for v in cells], None if prev < 0 else prev)


def make_compiled_bots(name: str, num_boards: int, config: BomberConfig | None = None) -> CompiledBots:
    """Compiled bots of kind ``name`` (see :data:`COMPILED_BOTS`) for ``num_boards`` boards.

    Raises:
        UnknownNameError: for an unknown name, listing the known ones.
    """
    return CompiledBots(name, num_boards, config)
