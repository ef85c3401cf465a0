"""Evolution-strategy baselines, pure numpy: OpenAI-ES and canonical (mu, lambda)-ES.

Ask/tell cores (:mod:`.algorithms`) over a shared noise table (:mod:`.noise`), with fitness shaping
(:mod:`.shaping`), optimisers (:mod:`.optim`), observation normalisation (:mod:`.obs_norm`) and a
flat-vector MLP policy (:mod:`.policy`) and one with memory (:mod:`.recurrent`); episodes and the
Ray worker (:mod:`.workers`), league matches (:mod:`.league_fitness`) and the run (:mod:`.run`).
"""

from palaestra.league.es.algorithms import (
    CandidateResult,
    CanonicalES,
    CanonicalESConfig,
    EvalResult,
    GenerationStats,
    OpenAIES,
    OpenAIESConfig,
)
from palaestra.league.es.noise import DEFAULT_NOISE_SIZE, Perturbation, SharedNoiseTable, perturb
from palaestra.league.es.obs_norm import RunningStat
from palaestra.league.es.optim import SGD, Adam, Optimizer, make_optimizer
from palaestra.league.es.policy import FlatMLPPolicy
from palaestra.league.es.shaping import canonical_weights, centered_ranks

__all__ = ["DEFAULT_NOISE_SIZE", "SGD", "Adam", "CandidateResult", "CanonicalES",
           "CanonicalESConfig", "EvalResult", "FlatMLPPolicy", "GenerationStats", "OpenAIES",
           "OpenAIESConfig", "Optimizer", "Perturbation", "RunningStat", "SharedNoiseTable",
           "canonical_weights", "centered_ranks", "make_optimizer", "perturb"]
