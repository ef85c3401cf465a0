"""Differential test: our rules replay recorded Pommerman games state by state.

Reads every ``*.jsonl.gz`` / ``*.jsonl`` under ``../shared/reference/pommerman/`` (next to the
repository) or under the directory named by ``PALAESTRA_POMMERMAN_REFERENCE``.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from pommerman_reference import FILES
from pommerman_reference import needs_reference as needs_reference_for

from palaestra.envs.bomber.fidelity import read_trajectories, recorded_blast_cap, replay

needs_reference = needs_reference_for("our rules against the original forward model")


@needs_reference
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_recorded_pommerman_game_replays_exactly(path: Path) -> None:
    games = steps = 0
    failures = []
    for trajectory in read_trajectories(path):
        games += 1
        steps += len(trajectory["steps"])
        divergence = replay(trajectory, max_blast_strength=recorded_blast_cap(trajectory))
        if divergence is not None:
            failures.append(f"seed {trajectory.get('seed')}: {divergence}")
    assert games > 0, f"{path} holds no trajectories"
    assert not failures, f"{len(failures)}/{games} games diverge; first:\n{failures[0]}"


@needs_reference
def test_the_harness_reports_the_first_divergence() -> None:
    trajectory = next(read_trajectories(FILES[0]))
    broken = copy.deepcopy(trajectory)
    broken["steps"][1]["state"]["agents"][2]["ammo"] += 1
    broken["steps"][3]["state"]["board"][0][0] = 1 - broken["steps"][3]["state"]["board"][0][0] % 2
    divergence = replay(broken)
    assert divergence is not None
    assert divergence.step == 2 and divergence.field == "agent 2"
    assert "ammo" in str(divergence)


def test_a_recorded_game_is_replayed_with_its_modes_blast_cap() -> None:
    from palaestra.envs.bomber.config import BomberConfig
    from palaestra.errors import FileFormatError

    assert recorded_blast_cap({}) == BomberConfig(mode="ffa").blast_cap == 10
    assert recorded_blast_cap({"game_type": "Team"}) == BomberConfig(mode="team").blast_cap == 4
    assert recorded_blast_cap({"game_type": "TeamRadio"}) == 4
    with pytest.raises(FileFormatError, match="unknown game_type 'OneVsOne'"):
        recorded_blast_cap({"game_type": "OneVsOne"})
