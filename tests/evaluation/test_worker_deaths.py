"""A match that kills the process playing it (evaluation/runners.py): the tournament goes on, the
culprit is charged with a ``worker_killed`` fault, and its victims' results stand.

The killer runs trusted (plain sandbox), the only way an agent can reach its worker: in the jail
it cannot see it (tests/agents/sandbox/test_isolation.py).
"""

from __future__ import annotations

from pathlib import Path

from palaestra.agents.sandbox.isolation import sha256_of
from palaestra.evaluation.runners import WORKER_KILLED, local_runner
from palaestra.evaluation.store import TournamentStore
from palaestra.evaluation.tournament import TournamentConfig, run_tournament

KILLER = ("import os, signal\n\n\ndef agent(obs, config):\n"
          "    os.kill(os.getppid(), signal.SIGKILL)  # the match worker\n    return 0\n")
HONEST = "def agent(obs, config):\n    return int(obs['wealth'][0] * 100) // 10\n"
LIMITS = {"step_time_s": 0.5, "overage_bank_s": 1.0, "init_time_s": 20.0}


def _run(tmp_path: Path, name: str, code: str) -> dict[str, dict]:
    bot = tmp_path / f"{name}.py"
    bot.write_text(code)
    with TournamentStore(tmp_path / f"{name}.sqlite") as store:
        store.add_submission("entrant", "kelly", "python", f"python:{bot}", sha256_of(bot), {})
        config = TournamentConfig("t", "kelly", ("entrant", "kelly", "optimal", "fraction:0.05"),
                                  seed=3, limits=LIMITS)
        summary = run_tournament(store, config, local_runner(2), trust_submissions=True)
        assert summary.failed == {} and summary.played == 6
        return {m["match_id"]: m["result"] for m in store.matches("t")}


def test_a_worker_killer_forfeits_its_matches_and_harms_no_other(tmp_path: Path) -> None:
    killed = _run(tmp_path, "killer", KILLER)
    honest = _run(tmp_path, "honest", HONEST)
    assert killed.keys() == honest.keys() and all(r is not None for r in killed.values())
    for match, result in killed.items():
        seats = result["seats"]
        if "entrant" not in seats:  # played beside the killer's matches, or after them
            assert result == honest[match]
            continue
        k = seats.index("entrant")
        assert result["faults"][str(k)].startswith(f"{WORKER_KILLED}:")
        assert result["ranks"][k] == max(result["ranks"])  # a forfeit ranks last
        others = [j for j in range(len(seats)) if j != k]
        assert not any(str(j) in result["faults"] for j in others)
