"""``palaestra envs``: list the registered environments."""

from __future__ import annotations

import argparse

from rich.console import Console


def build_envs(p: argparse.ArgumentParser) -> None:
    p.set_defaults(func=_cmd_envs)


def _cmd_envs(args: argparse.Namespace, console: Console) -> int:
    from palaestra.envs import ENVS

    for spec in ENVS:
        console.print(f"[bold]{spec.env_id}[/]  (name: {spec.short_name}, {spec.kind})")
        console.print(f"    {spec.description}", highlight=False)
    return 0
