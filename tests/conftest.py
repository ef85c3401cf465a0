import glob
import os
import tempfile
from collections.abc import Iterator

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")


@pytest.fixture(scope="session", autouse=True)
def no_sb3_default_log_folders() -> Iterator[None]:
    """Fail the run if it left SB3 logger folders in the temp dir: a model that learns without a
    logger of its own makes SB3 create ``SB3-<time>`` there on every ``learn()``."""
    pattern = os.path.join(tempfile.gettempdir(), "SB3-*")
    before = set(glob.glob(pattern))
    yield
    new = sorted(set(glob.glob(pattern)) - before)
    if new:
        pytest.fail(f"SB3 wrote default logger folders (give the model a logger): {new}")


@pytest.fixture(scope="session")
def trust_flags() -> list[str]:
    """Options for `tournament run` in tests about tournaments rather than isolation: none where
    submissions can run jailed (the default path), ``--trust-submissions`` where this machine
    cannot jail them (the isolation tests skip there, naming what is missing)."""
    from palaestra.agents.sandbox.isolation import isolation_problem

    return [] if isolation_problem() is None else ["--trust-submissions"]


@pytest.fixture(scope="session")
def trust(trust_flags: list[str]) -> bool:
    """``trust_submissions`` for ``run_tournament``, as :func:`trust_flags` for the CLI."""
    return bool(trust_flags)
