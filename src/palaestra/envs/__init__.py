"""Simulators. Importing this package registers the Gymnasium envs (``palaestra/...``)."""

from palaestra.envs.registration import (
    ENVS,
    EnvSpec,
    env_id,
    family_specs,
    get_spec,
    register_all,
    short_names,
)

register_all()

__all__ = ["ENVS", "EnvSpec", "env_id", "family_specs", "get_spec", "register_all", "short_names"]
