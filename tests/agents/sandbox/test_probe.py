"""The probe at `submit` (agents/sandbox/submission.py) is a real game, seated and seeded like a
tournament match, so a submission cannot behave only while it is validated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import palaestra.envs  # noqa: F401  (registers the envs)
from palaestra.agents.sandbox.host import SandboxLimits
from palaestra.agents.sandbox.submission import (
    ProbeSeating,
    SubmissionError,
    play_probe,
    validate_submission,
)
from palaestra.envs.bomber.env import BomberParallelEnv

LIMITS = SandboxLimits(init_time_s=30.0, step_time_s=0.5, overage_bank_s=2.0)


class Recorder:
    """Stands in for a sandboxed agent and keeps what it was shown."""

    def __init__(self, action: Any = 0) -> None:
        self.first_draw: int | None = None
        self.observations: list[Any] = []
        self.action = action

    def reset(self, rng: np.random.Generator) -> None:
        self.first_draw = int(rng.integers(2**62))

    def act(self, observation: Any) -> Any:
        self.observations.append(observation)
        return self.action


def test_seatings_vary_like_matches() -> None:
    draws = [ProbeSeating.draw("bomber") for _ in range(300)]
    assert {d.seat for d in draws} == {0, 1, 2, 3}
    assert len({d.seed for d in draws}) == 300 and max(d.seed for d in draws) >= 2**32
    assert len({d.opponents for d in draws}) > 10
    assert all(len(d.opponents) == 3 and d.seats == 4 for d in draws)
    kelly = [ProbeSeating.draw("kelly") for _ in range(100)]
    assert {d.seat for d in kelly} == {0, 1} and all(d.opponents == () for d in kelly)


@pytest.mark.parametrize("mode", ["ffa", "team", "team_radio"])
def test_the_bomber_probe_shows_what_a_match_in_that_seat_shows(mode: str) -> None:
    # a match seeds seat k's reset from SeedSequence(seed).spawn(seats)[k] and the board from
    # the seed itself (evaluation/match.py); the probe must do the same and play to the end
    seating = ProbeSeating(seat=2, seats=4, seed=123_456_789_012, opponents=("simple", "random", "static"))
    recorder = Recorder(action=[0, 0, 0] if mode == "team_radio" else 0)
    played = play_probe(recorder, "bomber", {"mode": mode}, seating)  # type: ignore[arg-type]
    expected = np.random.default_rng(np.random.SeedSequence(seating.seed).spawn(4)[2])
    assert recorder.first_draw == int(expected.integers(2**62))
    first, _ = BomberParallelEnv(mode=mode).reset(seed=seating.seed)
    assert all(np.array_equal(np.asarray(v), np.asarray(first["player_2"][k]))
               for k, v in recorder.observations[0].items())
    assert played == len(recorder.observations) > 5  # far past the old five-step probe


def test_the_kelly_probe_is_a_whole_game() -> None:
    seating = ProbeSeating(seat=1, seats=2, seed=99)
    recorder = Recorder(action=1)
    played = play_probe(recorder, "kelly", {}, seating)  # type: ignore[arg-type]
    env = gym.make("palaestra/KellyCoinflip-v0")
    obs, _ = env.reset(seed=99)
    steps = 0
    while True:
        steps += 1
        _, _, terminated, truncated, _ = env.step(np.int64(1))
        if terminated or truncated:
            break
    assert played == steps == len(recorder.observations) and steps > 5


def test_a_submission_that_behaves_only_for_a_few_steps_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sleeper.py"
    path.write_text("steps = 0\n\n\ndef agent(obs, config):\n    global steps\n    steps += 1\n"
                    "    return 0 if steps <= 20 else 'cheat'\n")
    with pytest.raises(SubmissionError, match="invalid_action"):
        validate_submission(f"python:{path}", "bomber", "sleeper", LIMITS,
                            seating=ProbeSeating(0, 4, 5, ("static", "static", "static")))
