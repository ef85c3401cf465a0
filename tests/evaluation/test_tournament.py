"""Tournaments: schedules, sandboxed faults recorded with their reason, resume after kill -9."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from palaestra.agents.sandbox.isolation import sha256_of
from palaestra.errors import ConfigError, UnknownNameError
from palaestra.evaluation.replay import load_replay, replay_from_dict, save_replay, verify_replay
from palaestra.evaluation.store import StoreError, TournamentStore
from palaestra.evaluation.tournament import (
    TournamentConfig,
    entry_base,
    entry_names,
    local_runner,
    matchmaking_round,
    round_robin,
    run_tournament,
    secret_seed,
    tournament_table,
)

FAST = {"step_time_s": 0.5, "overage_bank_s": 1.0, "init_time_s": 10.0}


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_round_robin_rotates_every_group_through_every_seat() -> None:
    config = TournamentConfig("t", "bomber", ("a", "b", "c", "d", "e"), rounds=2)
    matches = round_robin(config)
    assert len(matches) == 5 * 4 * 2  # C(5,4) groups x 4 rotations x 2 rounds
    assert len({m["match_id"] for m in matches}) == len(matches)
    seats = Counter((m["seats"][k], k) for m in matches for k in range(4))
    assert set(seats.values()) == {4 * 2}  # every agent in every seat 4 groups x 2 rounds
    by_group = Counter(m["seed"] for m in matches)
    assert set(by_group.values()) == {4}  # the rotations of a group share the board
    assert round_robin(config) == matches


def test_config_is_validated() -> None:
    with pytest.raises(ConfigError, match="at least that many"):
        TournamentConfig("t", "bomber", ("a", "b", "c"))
    with pytest.raises(ConfigError, match="entry names must differ, got a more than once; name a "
                       "built-in's copies a#2"):
        TournamentConfig("t", "kelly", ("a", "a"))
    with pytest.raises(ConfigError, match=r"env must be one of \('bomber', 'counting', 'hide-and-seek', "
                       r"'kelly', 'kelly-generalized'\)"):
        TournamentConfig("t", "chess", ("a", "b"))
    with pytest.raises(ConfigError, match="Bomber matches always have 4 players"):
        TournamentConfig("t", "bomber", ("a", "b", "c", "d"), players=2)


def test_bomber_tournament_with_a_submission_stores_results_and_verified_replays(tmp_path: Path,
                                                                                trust: bool) -> None:
    from palaestra.agents.sandbox.submission import validate_submission

    bot = _write(tmp_path / "bot.py", "def agent(obs, config):\n    return 5 if obs['ammo'] > 0 else 1\n")
    info = validate_submission(f"python:{bot}", "bomber", "bomber-bot")
    store = TournamentStore(tmp_path / "t.sqlite")
    store.add_submission("bot", "bomber", info.kind, info.spec, info.sha256, {})
    config = TournamentConfig("cup", "bomber", ("bot", "simple", "random", "static"), limits=FAST)
    summary = run_tournament(store, config, local_runner(1), trust_submissions=trust)
    assert (summary.played, summary.failed) == (4, {})
    done = store.matches("cup", status="done")
    assert len(done) == 4
    for m in done:
        res = m["result"]
        assert sorted(res["seats"]) == ["bot", "random", "simple", "static"]
        assert len(res["ranks"]) == 4 and min(res["ranks"]) == 0
        replay = replay_from_dict(store.replay(m["match_id"]))
        verify_replay(replay)
        assert replay.agents == res["seats"] and replay.seed == m["seed"]
        save_replay(replay, tmp_path / "r.json.gz")
        assert load_replay(tmp_path / "r.json.gz") == replay
    table = tournament_table(store, "cup")
    assert {"bot", "simple", "random", "static"} <= set(table.players)


BAD_AGENTS = {
    "hangs": "import time\ndef agent(obs, config):\n    time.sleep(60)\n",
    "crashes": "def agent(obs, config):\n    raise RuntimeError('boom at step')\n",
    "garbage": "def agent(obs, config):\n    print('garbage on stdout')\n    return 'all in'\n",
    "negative": "def agent(obs, config):\n    return -5\n",
    "hog": "def agent(obs, config):\n    blob = bytearray(3 * 1024 ** 3)\n    return 0\n",
}


def test_faulty_submissions_never_stop_a_tournament(tmp_path: Path, trust: bool) -> None:
    store = TournamentStore(tmp_path / "t.sqlite")
    for name, code in BAD_AGENTS.items():
        path = _write(tmp_path / f'{name}.py', code)
        store.add_submission(name, "kelly", "python", f"python:{path}", sha256_of(path), {})
    limits = {**FAST, "step_time_s": 0.3, "overage_bank_s": 0.2, "memory_mb": 512,
              "on_timeout": "forfeit"}
    config = TournamentConfig("bad", "kelly", ("kelly", *BAD_AGENTS), players=2, limits=limits)
    summary = run_tournament(store, config, local_runner(2), trust_submissions=trust)
    assert summary.failed == {} and summary.played == 15  # C(6, 2)
    reasons: dict[str, set[str]] = {}
    for m in store.matches("bad", status="done"):
        res = m["result"]
        for seat, why in res["faults"].items():
            reasons.setdefault(res["seats"][int(seat)], set()).add(why.split(":")[0])
        if "kelly" in res["seats"]:
            k = res["seats"].index("kelly")
            assert res["ranks"][k] == 0  # every broken agent ranks below the working one
    assert reasons["hangs"] == {"timeout"}
    assert reasons["crashes"] == {"crash"} and reasons["negative"] == {"invalid_action"}
    assert reasons["garbage"] == {"invalid_action"} or reasons["garbage"] == {"protocol"}
    assert reasons["hog"] <= {"memory", "crash"}
    assert "kelly" not in reasons


def test_parallel_workers_give_the_same_results_as_one(tmp_path: Path) -> None:
    agents = ("optimal", "kelly", "random", "fraction:0.1")
    results = []
    for workers in (1, 2):
        store = TournamentStore(tmp_path / f"w{workers}.sqlite")
        run_tournament(store, TournamentConfig("p", "kelly", agents, rounds=2), local_runner(workers))
        results.append({m["match_id"]: m["result"] for m in store.matches("p")})
    assert results[0] == results[1] and len(results[0]) == 12


def test_matchmaking_pairs_close_ratings_and_is_reproducible(tmp_path: Path) -> None:
    agents = ("optimal", "kelly", "random", "fraction:0.1", "fraction:0.9", "capped-kelly")
    config = TournamentConfig("mm", "kelly", agents, schedule="matchmaking", rounds=4)
    runs = []
    for i in range(2):
        store = TournamentStore(tmp_path / f"m{i}.sqlite")
        run_tournament(store, config, local_runner(1))
        runs.append([(m["round"], m["seats"], m["result"]["ranks"]) for m in store.matches("mm")])
    assert runs[0] == runs[1]
    rounds = Counter(r for r, _, _ in runs[0])
    assert rounds == {0: 3, 1: 3, 2: 3, 3: 3}
    for r in range(4):  # nobody plays twice in a round
        seats = [a for rr, s, _ in runs[0] if rr == r for a in s]
        assert len(seats) == len(set(seats))
    done = TournamentStore(tmp_path / "m0.sqlite").matches("mm", status="done")
    assert matchmaking_round(config, 3, [m for m in done if m["round"] < 3]) == [
        {k: m[k] for k in ("match_id", "round", "ordinal", "seats", "seed")}
        for m in done if m["round"] == 3
    ]


def test_a_changed_config_does_not_silently_resume(tmp_path: Path) -> None:
    store = TournamentStore(tmp_path / "t.sqlite")
    run_tournament(store, TournamentConfig("x", "kelly", ("kelly", "optimal")), local_runner(1))
    with pytest.raises(StoreError, match="differs in rounds"):
        run_tournament(store, TournamentConfig("x", "kelly", ("kelly", "optimal"), rounds=2),
                       local_runner(1))


def test_a_built_in_seated_twice_enters_as_two_players(tmp_path: Path) -> None:
    assert entry_names(["simple", "random", "simple", "simple"]) == ("simple", "random", "simple#2", "simple#3")
    names = ("simple#2", "simple", "a#b", "x#1", "#2")
    assert [entry_base(n) for n in names] == ["simple", "simple", "a#b", "x#1", "#2"]
    store = TournamentStore(tmp_path / "t.sqlite")
    agents = entry_names(["simple", "random", "simple", "random"])
    config = TournamentConfig("dup", "bomber", agents, env_config={"mode": "team"}, seed=3)
    summary = run_tournament(store, config, local_runner(1))
    assert summary.played == 4 and summary.failed == {}
    seatings = [m["seats"] for m in store.matches("dup", status="done")]
    # every rotation of (simple, random, simple#2, random#2) makes the two SimpleAgents a team
    assert len(seatings) == 4
    assert all({"simple", "simple#2"} in ({s[0], s[2]}, {s[1], s[3]}) for s in seatings)
    assert set(tournament_table(store, "dup").players) == {"simple", "simple#2", "random", "random#2"}
    # a submission is one entrant: it cannot be seated twice
    bot = _write(tmp_path / "bot.py", "def agent(obs, config):\n    return 0\n")
    store.add_submission("idle", "bomber", "python", f"python:{bot}", sha256_of(bot), {})
    twice = TournamentConfig("sub2", "bomber", entry_names(["idle", "idle", "simple", "random"]))
    with pytest.raises(ConfigError, match="'idle#2': a submission enters a tournament once"):
        run_tournament(store, twice, local_runner(1))


def test_unknown_agent_is_named() -> None:
    store = TournamentStore(":memory:")
    with pytest.raises(UnknownNameError, match="unknown agent 'nobody'.*simple"):
        run_tournament(store, TournamentConfig("x", "bomber", ("nobody", "simple", "random", "static")))


SLOW_BOT = ("import time\ndef agent(obs, config):\n    time.sleep(0.004)\n"
            "    return int(obs['wealth'][0] * 100) // 10\n")


def test_kill_9_then_rerun_loses_and_duplicates_nothing(tmp_path: Path, trust_flags: list[str]) -> None:
    db = tmp_path / "t.sqlite"
    bot = _write(tmp_path / "slow.py", SLOW_BOT)
    with TournamentStore(db) as store:
        store.add_submission("slow", "kelly", "python", f"python:{bot}", sha256_of(bot), {})
    argv = [sys.executable, "-m", "palaestra", "tournament", "--db", str(db), "run", "--name", "k9",
            "--env", "kelly", "--agent", "slow", "--agent", "kelly", "--agent", "optimal",
            "--agent", "fraction:0.05", "--rounds", "3", "--workers", "1", *trust_flags]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    done_before = 0
    while time.time() < deadline:
        time.sleep(0.2)
        try:
            with sqlite3.connect(db) as con:
                done_before = con.execute("SELECT COUNT(*) FROM matches WHERE status='done'").fetchone()[0]
        except sqlite3.OperationalError:
            continue
        if done_before >= 4 or proc.poll() is not None:
            break
    assert proc.poll() is None, "the run finished before it could be killed; make it longer"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with TournamentStore(db) as store:
        before = {m["match_id"]: m["result"] for m in store.matches("k9", status="done")}
        assert 4 <= len(before) < 18
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "resumed k9" in done.stdout
    with TournamentStore(db) as store:
        after = store.matches("k9")
        assert len(after) == 18 and all(m["status"] == "done" for m in after)
        assert len({m["match_id"] for m in after}) == 18
        for m in after:  # what was recorded before the kill is untouched
            if m["match_id"] in before:
                assert m["result"] == before[m["match_id"]]
    # no --seed: a secret one was drawn and kept, and the rerun resumed with it
    with TournamentStore(db) as store:
        seed = store.tournament_config("k9")["seed"]
    assert seed >= 2**32 and f"seed {seed}" in done.stdout
    # and the result is exactly that of an uninterrupted run
    clean = tmp_path / "clean.sqlite"
    with TournamentStore(clean) as store:
        store.add_submission("slow", "kelly", "python", f"python:{bot}", sha256_of(bot), {})
        config = TournamentConfig("k9", "kelly", ("slow", "kelly", "optimal", "fraction:0.05"),
                                  rounds=3, seed=seed, limits={"step_time_s": 0.1, "overage_bank_s": 5.0,
                                                    "init_time_s": 10.0, "memory_mb": 1024,
                                                    "on_timeout": "default"})
        run_tournament(store, config, local_runner(2), trust_submissions=bool(trust_flags))
        reference = {m["match_id"]: m["result"] for m in store.matches("k9")}
    with TournamentStore(db) as store:
        assert {m["match_id"]: m["result"] for m in store.matches("k9")} == reference


@pytest.mark.slow
def test_matches_run_on_a_ray_cluster_with_the_same_results(tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="ray is not installed")
    import ray
    from ray.cluster_utils import Cluster

    from palaestra.league.ray_runner import ray_runner

    agents = ("optimal", "kelly", "random", "fraction:0.1")
    local = TournamentStore(tmp_path / "local.sqlite")
    run_tournament(local, TournamentConfig("r", "kelly", agents), local_runner(1))
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)  # a second "machine"
    try:
        remote = TournamentStore(tmp_path / "ray.sqlite")
        summary = run_tournament(remote, TournamentConfig("r", "kelly", agents),
                                 ray_runner(cluster.address))
        assert summary.played == 6 and summary.failed == {}
        assert {m["match_id"]: m["result"] for m in remote.matches("r")} == {
            m["match_id"]: m["result"] for m in local.matches("r")
        }
    finally:
        ray.shutdown()
        cluster.shutdown()


PROGRAM = '''import json, sys
for line in sys.stdin:
    m = json.loads(line)
    reply = {"init": {"type": "ready", "name": "tenth"}, "reset": {"type": "ok"}}.get(m["type"])
    if m["type"] == "act":
        reply = {"type": "action", "action": round(m["obs"]["wealth"][0] * 100) // 10}
    if m["type"] == "close":
        break
    print(json.dumps(reply), flush=True)
'''


def test_kelly_tournament_with_a_checkpoint_and_a_program(tmp_path: Path, trust: bool) -> None:
    from palaestra.agents.sandbox.submission import validate_submission
    from palaestra.league.training.config import TrainConfig
    from palaestra.league.training.run import train

    train(TrainConfig(timesteps=512, n_envs=2, n_steps=256, batch_size=128, n_epochs=1,
                      eval_episodes=10, tensorboard=False), tmp_path / "ppo")
    program = _write(tmp_path / "tenth.py", PROGRAM)
    store = TournamentStore(tmp_path / "t.sqlite")
    for name, spec in (("ppo", f"checkpoint:{tmp_path / 'ppo'}"),
                       ("tenth", f"cmd:{sys.executable} {program}")):
        info = validate_submission(spec, "kelly", name)
        store.add_submission(name, "kelly", info.kind, info.spec, info.sha256, {})
    summary = run_tournament(store, TournamentConfig("kc", "kelly", ("ppo", "tenth", "fraction:0.1")),
                             local_runner(1), trust_submissions=trust)
    assert summary.played == 3 and summary.failed == {}
    for m in store.matches("kc", status="done"):
        assert m["result"]["faults"] == {}
        if "tenth" in m["seats"] and "fraction:0.1" in m["seats"]:
            # the program bets exactly 10% (rounded down) like the built-in: same game, same wealth
            assert m["result"]["scores"][0] == m["result"]["scores"][1]


@pytest.mark.parametrize("mode", ["team", "team_radio"])
def test_team_modes_rank_teams(tmp_path: Path, mode: str, trust: bool) -> None:
    store = TournamentStore(tmp_path / "t.sqlite")
    config = TournamentConfig("tm", "bomber", ("simple", "random", "static", "random2"),
                              env_config={"mode": mode})
    with pytest.raises(UnknownNameError, match="unknown agent 'random2'"):
        run_tournament(store, config, local_runner(1))
    bot = _write(tmp_path / "bot.py", "def agent(obs, config):\n    return 0\n")
    store.add_submission("idle", "bomber", "python", f"python:{bot}", sha256_of(bot), {})
    config = TournamentConfig("tm", "bomber", ("simple", "random", "static", "idle"),
                              env_config={"mode": mode})
    summary = run_tournament(store, config, local_runner(1), trust_submissions=trust)
    assert summary.played == 4 and summary.failed == {}
    for m in store.matches("tm", status="done"):
        res = m["result"]
        assert res["teams"] == [[0, 2], [1, 3]] and len(res["ranks"]) == 2
        assert res["faults"] == {}
        verify_replay(replay_from_dict(store.replay(m["match_id"])))


def test_untrusted_submissions_are_refused_where_they_cannot_be_isolated(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from palaestra.agents.sandbox import isolation

    bot = _write(tmp_path / "slow.py", SLOW_BOT)
    store = TournamentStore(tmp_path / "t.sqlite")
    store.add_submission("slow", "kelly", "python", f"python:{bot}", sha256_of(bot), {})
    monkeypatch.setattr(isolation, "isolation_problem", lambda: "no bubblewrap on this test machine")
    config = TournamentConfig("t", "kelly", ("slow", "kelly"), limits=FAST)
    with pytest.raises(ConfigError, match="no bubblewrap on this test machine.*--trust-submissions"):
        run_tournament(store, config, local_runner(1))
    assert store.matches("t") == []  # nothing was scheduled
    summary = run_tournament(store, config, local_runner(1), trust_submissions=True)
    assert summary.played == 1 and summary.failed == {}
    # built-ins alone never need isolation
    run_tournament(store, TournamentConfig("b", "kelly", ("kelly", "optimal")), local_runner(1))


def test_a_submission_changed_since_submit_forfeits_its_matches(tmp_path: Path) -> None:
    from palaestra.agents.sandbox.isolation import isolation_problem

    if isolation_problem() is not None:
        pytest.skip(f"no isolation here: {isolation_problem()}")
    bot = _write(tmp_path / "slow.py", SLOW_BOT)
    store = TournamentStore(tmp_path / "t.sqlite")
    store.add_submission("slow", "kelly", "python", f"python:{bot}", sha256_of(bot), {})
    bot.write_text(SLOW_BOT.replace("// 10", "// 2"))  # swapped after submit
    summary = run_tournament(store, TournamentConfig("t", "kelly", ("slow", "kelly"), limits=FAST),
                             local_runner(1))
    assert summary.played == 1 and summary.failed == {}
    for m in store.matches("t", status="done"):
        seat = str(m["result"]["seats"].index("slow"))
        assert "changed since it was submitted" in m["result"]["faults"][seat]


HONEST = "def agent(obs, config):\n    return int(obs['wealth'][0] * 100) // 10\n"


def test_a_hostile_entrant_changes_nothing_but_its_own_moves(tmp_path: Path) -> None:
    """The hostile entrant attacks the database, the other entrant and the host's processes, then
    bets exactly as the honest one: stored results and ratings equal those of the honest run."""
    from palaestra.agents.sandbox.isolation import isolation_problem

    if isolation_problem() is not None:
        pytest.skip(f"no isolation here: {isolation_problem()}")
    db = tmp_path / "hostile" / "t.sqlite"
    db.parent.mkdir()
    victim = _write(tmp_path / "victim.py", HONEST.replace("// 10", "// 20"))
    victim_code = victim.read_text()
    attack = f'''import os, signal, sqlite3, subprocess, sys
def attack():
    try:
        con = sqlite3.connect({str(db)!r})
        con.execute("UPDATE matches SET result = NULL")
        con.commit()
    except Exception:
        pass
    try:
        open({str(victim)!r}, "w").write("def agent(obs, config):\\n    return 0\\n")
    except OSError:
        pass
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) != os.getpid():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
    return 0
'''
    hostile = _write(tmp_path / "entrant.py", attack + HONEST.replace("def agent(obs, config):\n",
                                                                      "def agent(obs, config):\n    attack()\n"))
    (tmp_path / "honest").mkdir()
    honest = _write(tmp_path / "honest" / "entrant.py", HONEST)
    tables = []
    for path, store_path in ((hostile, db), (honest, tmp_path / "honest" / "t.sqlite")):
        with TournamentStore(store_path) as store:
            store.add_submission("entrant", "kelly", "python", f"python:{path}", sha256_of(path), {})
            store.add_submission("victim", "kelly", "python", f"python:{victim}", sha256_of(victim), {})
            config = TournamentConfig("cup", "kelly", ("entrant", "victim", "kelly"), limits=FAST)
            summary = run_tournament(store, config, local_runner(1))
            assert summary.failed == {} and summary.played == 3
            results = [m["result"] for m in store.matches("cup", status="done")]
            assert all(r["faults"] == {} for r in results), results
            tables.append((results, tournament_table(store, "cup")))
    assert tables[0] == tables[1]
    assert victim.read_text() == victim_code
    os.kill(os.getpid(), 0)  # the host is alive


def test_match_seeds_are_too_wide_to_search_and_a_secret_seed_is_fresh() -> None:
    # an agent that sees its reset seed must not be able to try every match seed to find the
    # env's: 63-bit match seeds (32 only for tournaments stored before seed_bits existed)
    config = TournamentConfig("w", "kelly", ("kelly", "optimal", "fraction:0.05"), rounds=4, seed=7)
    seeds = [m["seed"] for m in round_robin(config)]
    assert len(set(seeds)) == len(seeds) and max(seeds) >= 2**32 and max(seeds) < 2**63
    legacy = [m["seed"] for m in round_robin(replace(config, seed_bits=32))]
    assert max(legacy) < 2**32 and "seed_bits" not in replace(config, seed_bits=32).to_dict()
    assert secret_seed() != secret_seed()
    with pytest.raises(ConfigError, match="seed_bits"):
        replace(config, seed_bits=16)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="seed must be >= 0"):
        replace(config, seed=-1)
