"""An example tournament submission: a Python file with a class ``Agent``.

It walks around without ever laying a bomb, stepping only onto passages and power-ups and never
into flames or next to a bomb about to go off. Submit it with

    palaestra tournament submit examples/bots/walker.py --name walker --env bomber
"""

import numpy as np

STOP, UP, DOWN, LEFT, RIGHT = range(5)
MOVES = {UP: (-1, 0), DOWN: (1, 0), LEFT: (0, -1), RIGHT: (0, 1)}
SAFE = {0, 6, 7, 8}  # passage and the three power-ups


class Agent:
    """Random safe walking; the generator comes from the host so games replay exactly."""

    def __init__(self, config=None):
        self.rng = np.random.default_rng(0)

    def reset(self, rng):
        self.rng = rng

    def act(self, obs):
        board, life = np.asarray(obs["board"]), np.asarray(obs["bomb_life"])
        row, col = (int(x) for x in obs["position"])
        choices = []
        for move, (dr, dc) in MOVES.items():
            r, c = row + dr, col + dc
            if 0 <= r < 11 and 0 <= c < 11 and int(board[r, c]) in SAFE:
                near = life[max(r - 2, 0):r + 3, max(c - 2, 0):c + 3]
                if not np.any((near > 0) & (near < 4)):
                    choices.append(move)
        return int(self.rng.choice(choices)) if choices else STOP
