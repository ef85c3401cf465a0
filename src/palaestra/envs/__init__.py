"""Simulators. Importing this package registers the Gymnasium envs (``palaestra/...``)."""

from palaestra.envs.registration import ENVS, EnvSpec, get_spec, register_all

register_all()

__all__ = ["ENVS", "EnvSpec", "get_spec", "register_all"]
