"""``cautious-simple``: a SimpleAgent whose moves pass the ``cautious`` action filter.

Each step the SimpleAgent picks its move as usual; when the ``cautious`` filter
(:mod:`palaestra.envs.bomber.filters`) forbids that move, the agent picks uniformly among the moves
the filter allows instead. Against three SimpleAgents this wins far more often than either part
alone (docs/league.md, "The imitation warm start"), which makes it the teacher of the league's
imitation warm start (:mod:`palaestra.league.population.imitation`). The league's boards play the
same rule with the compiled SimpleAgent (:data:`palaestra.league.population.vector_playout.GUARDED_BOTS`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from palaestra.agents.scripted.bomber import SimpleBomberAgent
from palaestra.agents.scripted.filtered import observation_mask
from palaestra.envs.bomber.filter_names import FilterName


class CautiousSimpleBomberAgent(SimpleBomberAgent):
    """SimpleAgent's move when the ``cautious`` filter allows it, else a uniform allowed one.

    The SimpleAgent's own draws and the fallback's both come from the generator given to ``reset``.
    """

    name = "cautious-simple"
    action_filter: FilterName = "cautious"

    def act(self, observation: Any) -> int:
        move = super().act(observation)
        allowed = observation_mask(observation, self.action_filter)
        if allowed[move]:
            return move
        options = np.flatnonzero(allowed)
        return int(options[int(self._rng.integers(len(options)))])
