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
