"""Where the tests find the Pommerman trajectories recorded from the original forward model.

``../shared/reference/pommerman`` next to the repository, or the folder named by
``PALAESTRA_POMMERMAN_REFERENCE``. Tests that need them skip, naming the folder, when it is
missing or empty.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REFERENCE = Path(
    os.environ.get(
        "PALAESTRA_POMMERMAN_REFERENCE",
        Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "pommerman",
    )
)
FILES: list[Path] = sorted(REFERENCE.glob("*.jsonl*")) if REFERENCE.is_dir() else []


def needs_reference(what: str) -> pytest.MarkDecorator:
    """Skip unless the recordings are there; ``what`` says what the skipped tests check."""
    return pytest.mark.skipif(
        not FILES, reason=f"no Pommerman reference trajectories found in {REFERENCE} (the folder "
                          f"is missing or empty); these tests check {what}")
