"""Replays: a game as its seed, env id and per-step actions, re-simulated deterministically.

* :mod:`~palaestra.evaluation.replay.format`: the :class:`Replay` record, its versioned JSON
  object (:func:`replay_to_dict`, :func:`replay_from_dict`) and every check on it;
* :mod:`~palaestra.evaluation.replay.simulate`: :func:`simulate`, :func:`make_replay`,
  :func:`verify_replay` and :func:`hide_and_seek_state` (the JSON state of a hide-and-seek game);
* :mod:`~palaestra.evaluation.replay.io`: :func:`replay_bytes`, :func:`save_replay` and
  :func:`load_replay` (plain or gzip JSON).

Everything public is importable from this package, e.g.
``from palaestra.evaluation.replay import load_replay, ReplayError``.
"""

from palaestra.evaluation.replay.format import (
    BOMBER_ENV_ID,
    COUNTING_ENV_ID,
    HIDE_AND_SEEK_ENV_ID,
    KELLY_ENV_ID,
    KELLY_GENERALIZED_ENV_ID,
    REPLAY_FAMILIES,
    REPLAY_FORMAT,
    REPLAY_VERSION,
    SUPPORTED_VERSIONS,
    EnvFamily,
    Replay,
    ReplayError,
    ReplayStepError,
    canonical_json,
    replay_from_dict,
    replay_to_dict,
    resolve_env_id,
    state_sha256,
)
from palaestra.evaluation.replay.io import load_replay, replay_bytes, save_replay
from palaestra.evaluation.replay.simulate import (
    SimulationResult,
    hide_and_seek_state,
    make_replay,
    simulate,
    verify_replay,
)

__all__ = [
    "BOMBER_ENV_ID",
    "COUNTING_ENV_ID",
    "HIDE_AND_SEEK_ENV_ID",
    "KELLY_ENV_ID",
    "KELLY_GENERALIZED_ENV_ID",
    "REPLAY_FAMILIES",
    "REPLAY_FORMAT",
    "REPLAY_VERSION",
    "SUPPORTED_VERSIONS",
    "EnvFamily",
    "Replay",
    "ReplayError",
    "ReplayStepError",
    "SimulationResult",
    "canonical_json",
    "hide_and_seek_state",
    "load_replay",
    "make_replay",
    "replay_bytes",
    "replay_from_dict",
    "replay_to_dict",
    "resolve_env_id",
    "save_replay",
    "simulate",
    "state_sha256",
    "verify_replay",
]
