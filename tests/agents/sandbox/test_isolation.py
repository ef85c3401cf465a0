"""Hostile agents in the jail (agents/sandbox/isolation.py): each attack is a Kelly bot whose bet
says whether the attack worked (1 cent) or was stopped (0), and the host checks the damage itself.

Skipped, with the reason, where this machine cannot isolate (no bubblewrap, no user namespaces).
"""

from __future__ import annotations

import os
import socket
import textwrap
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import palaestra
import palaestra.envs  # noqa: F401  (registers the envs)
from palaestra.agents.sandbox.host import AgentFault, SandboxLimits, launch
from palaestra.agents.sandbox.isolation import isolation_problem, python_roots, sha256_of

PROBLEM = isolation_problem()
pytestmark = pytest.mark.skipif(PROBLEM is not None, reason=f"no isolation here: {PROBLEM}")
LIMITS = SandboxLimits(init_time_s=30.0, step_time_s=10.0)


@pytest.fixture(scope="module")
def kelly_obs() -> dict[str, Any]:
    obs, _ = gym.make("palaestra/KellyCoinflip-v0").reset(seed=0)
    return obs


def bot(tmp_path: Path, attack: str) -> Path:
    """A submission whose ``act`` runs ``attack`` (a function body returning True on success)."""
    path = tmp_path / "submission" / "bot.py"
    path.parent.mkdir(exist_ok=True)
    path.write_text("import os, socket, subprocess, sys\n\n\ndef attack():\n"
                    + textwrap.indent(textwrap.dedent(attack), "    ")
                    + "\n\ndef agent(obs, config):\n    return 1 if attack() else 0\n")
    return path


def play(path: Path, kelly_obs: dict[str, Any], **kwargs: Any) -> int:
    with launch(f"python:{path}", "kelly", {}, 0, LIMITS, isolate=True, **kwargs) as agent:
        agent.reset(np.random.default_rng(0))
        return int(agent.act(kelly_obs))


def test_the_agent_runs_as_nobody_without_the_hosts_environment(
        tmp_path: Path, kelly_obs: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PALAESTRA_SECRET", "s3cret")
    path = bot(tmp_path, """
        return os.getuid() == 0 or "PALAESTRA_SECRET" in os.environ or "s3cret" in str(os.environ)
    """)
    assert play(path, kelly_obs) == 0


def test_no_view_of_the_hosts_files(tmp_path: Path, kelly_obs: dict[str, Any]) -> None:
    secret = tmp_path / "tournament.sqlite"
    secret.write_text("results")
    home = Path.home()
    roots = python_roots()  # shown read-only, with their parent folders as empty mount points
    mine = [str(p) for p in sorted(home.iterdir())
            if not any(r == p or p in r.parents for r in roots)][:20]
    assert mine, "the test needs something in the home directory to look for"
    path = bot(tmp_path, f"""
        return any(os.path.exists(p) for p in [{str(secret)!r}, "/etc/passwd", *{mine!r}])
    """)
    assert play(path, kelly_obs) == 0


def test_writes_outside_the_private_folder_fail(tmp_path: Path, kelly_obs: dict[str, Any]) -> None:
    package = Path(palaestra.__file__).parent
    targets = [tmp_path / "outside.txt", package / "injected.py", Path.home() / "injected.txt"]
    path = bot(tmp_path, f"""
        wrote = False
        for target in {[str(t) for t in targets]!r}:
            try:
                with open(target, "w") as f:
                    f.write("pwned")
                wrote = True
            except OSError:
                pass
        return wrote
    """)
    assert play(path, kelly_obs) == 0
    assert not any(t.exists() for t in targets)


def test_its_own_copy_is_private(tmp_path: Path, kelly_obs: dict[str, Any]) -> None:
    path = bot(tmp_path, """
        with open(__file__, "a") as f:
            f.write("# rewritten by the agent")
        return True
    """)
    before = path.read_text()
    assert play(path, kelly_obs) == 1  # it may write its own copy...
    assert path.read_text() == before  # ...never the submitted file


def test_a_submission_changed_after_submit_does_not_run(tmp_path: Path,
                                                        kelly_obs: dict[str, Any]) -> None:
    path = bot(tmp_path, "return False")
    submitted = sha256_of(path)
    assert play(path, kelly_obs, sha256=submitted) == 0
    path.write_text(path.read_text() + "\n# swapped for something else\n")
    with pytest.raises(AgentFault, match="changed since it was submitted"):
        play(path, kelly_obs, sha256=submitted)


def test_no_network_not_even_the_hosts_loopback(tmp_path: Path, kelly_obs: dict[str, Any]) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    try:
        path = bot(tmp_path, f"""
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
                return True
            except OSError:
                return False
        """)
        assert play(path, kelly_obs) == 0
    finally:
        server.close()


def test_no_sockets_at_all_not_even_on_the_jails_own_loopback(
        tmp_path: Path, kelly_obs: dict[str, Any]) -> None:
    # any socket that worked (IPv4, IPv6, UDP, raw, netlink) or an io_uring (which could open
    # sockets without the socket call) counts as a success; AF_UNIX socketpairs must still work
    path = bot(tmp_path, """
        import ctypes
        opened = []
        for family, kind in [(socket.AF_INET, socket.SOCK_STREAM), (socket.AF_INET, socket.SOCK_DGRAM),
                             (socket.AF_INET6, socket.SOCK_STREAM), (socket.AF_NETLINK, socket.SOCK_RAW),
                             (socket.AF_PACKET, socket.SOCK_RAW)]:
            try:
                socket.socket(family, kind).close()
                opened.append(family)
            except OSError:
                pass
        try:
            socket.socketpair(socket.AF_INET)
            opened.append("pair")
        except OSError:
            pass
        libc = ctypes.CDLL(None, use_errno=True)
        params = ctypes.create_string_buffer(120)
        uring = libc.syscall(425, 1, params)
        a, b = socket.socketpair()  # AF_UNIX: the agent's own plumbing keeps working
        a.send(b"x")
        unix_ok = b.recv(1) == b"x"
        return bool(opened) or uring >= 0 or ctypes.get_errno() != 13 or not unix_ok
    """)
    assert play(path, kelly_obs) == 0


def test_the_host_cannot_be_signalled_or_inspected(tmp_path: Path, kelly_obs: dict[str, Any]) -> None:
    host = os.getpid()
    path = bot(tmp_path, f"""
        hits = 0
        try:
            os.kill({host}, 0)
            hits += 1
        except OSError:
            pass
        try:
            open("/proc/{host}/mem", "rb").close()
            hits += 1
        except OSError:
            pass
        others = [p for p in os.listdir("/proc") if p.isdigit() and int(p) > 10]
        return hits > 0 or len(others) > 0
    """)
    assert play(path, kelly_obs) == 0
    os.kill(host, 0)  # still here


def test_setsid_children_die_with_the_agent(tmp_path: Path, kelly_obs: dict[str, Any]) -> None:
    marker = f"palaestra-orphan-{os.getpid()}-{time.monotonic_ns()}"
    path = bot(tmp_path, f"""
        for _ in range(8):
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", {marker!r}],
                             start_new_session=True, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return False
    """)
    assert play(path, kelly_obs) == 0

    def orphans() -> list[str]:
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.append(pid)
            except OSError:
                pass
        return found

    deadline = time.monotonic() + 10.0
    while orphans() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert orphans() == []


def _tree_limits_here() -> bool:
    from palaestra.agents.sandbox.isolation import TreeLimits

    tree = TreeLimits.create(1 << 30, 8)
    if tree is None:
        return False
    tree.remove()
    return True


needs_cgroups = pytest.mark.skipif(not _tree_limits_here(),
                                   reason="cgroups are not writable here (not root): per-process limits only")


@needs_cgroups
def test_memory_is_limited_over_the_whole_process_tree(tmp_path: Path,
                                                        kelly_obs: dict[str, Any]) -> None:
    # three children of 300 MB each against 512 MB for the whole submission: they cannot all live
    path = bot(tmp_path, """
        code = "import time; b = bytearray(300 << 20); b[::4096] = b'x' * len(b[::4096]); time.sleep(2)"
        children = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(3)]
        return sum(c.wait() == 0 for c in children) == 3
    """)
    limits = SandboxLimits(init_time_s=30.0, step_time_s=20.0, memory_mb=512)
    try:
        with launch(f"python:{path}", "kelly", {}, 0, limits, isolate=True) as agent:
            agent.reset(np.random.default_rng(0))
            assert int(agent.act(kelly_obs)) == 0
    except AgentFault as fault:  # or the kernel killed the agent itself
        assert fault.reason == "memory", fault


def _process_bomb(tmp_path: Path) -> Path:
    """A bot that starts four times the process limit of sleepers (setsid) and says whether it
    got to the limit."""
    from palaestra.agents.sandbox.isolation import MAX_PROCESSES

    return bot(tmp_path, f"""
        started = 0
        try:
            for _ in range({4 * MAX_PROCESSES}):
                subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                                 start_new_session=True)
                started += 1
        except OSError:
            pass
        return started >= {MAX_PROCESSES}
    """)


@needs_cgroups
def test_processes_are_limited_over_the_whole_process_tree(tmp_path: Path,
                                                           kelly_obs: dict[str, Any]) -> None:
    assert play(_process_bomb(tmp_path), kelly_obs) == 0


@needs_cgroups
def test_busy_children_get_one_core_between_them(tmp_path: Path, kelly_obs: dict[str, Any]) -> None:
    # three children spinning for 1.5 s would use up to 3 CPU-seconds (or both cores of a 2-core
    # machine); under the tree's quota of one CPU they get at most about 1.5 between them
    path = bot(tmp_path, """
        code = ("import os, time\\nend = time.monotonic() + 1.5\\nwhile time.monotonic() < end: pass\\n"
                "t = os.times()\\nprint(t.user + t.system)")
        children = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE) for _ in range(3)]
        used = sum(float(c.communicate()[0]) for c in children)
        return used > 1.9 or used < 0.5
    """)
    assert play(path, kelly_obs) == 0


def test_without_cgroups_the_process_count_is_set_inside_the_jail(
        tmp_path: Path, kelly_obs: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # no writable cgroups (an unprivileged host): RLIMIT_NPROC is set in the jail, where Linux
    # (5.14+) counts only the jail's own processes; the agent must still start and play
    from palaestra.agents.sandbox import isolation
    from palaestra.agents.sandbox.isolation import MAX_PROCESSES, Jail

    monkeypatch.setattr(isolation.TreeLimits, "create", classmethod(lambda cls, *a, **k: None))
    seen: list[Jail] = []
    popen = Jail.popen
    monkeypatch.setattr(Jail, "popen", lambda self, *a, **k: (seen.append(self), popen(self, *a, **k))[1])
    path = bot(tmp_path, f"""
        import resource
        return resource.getrlimit(resource.RLIMIT_NPROC)[0] != {MAX_PROCESSES}
    """)
    assert play(path, kelly_obs) == 0
    assert [j.max_processes for j in seen] == [MAX_PROCESSES]


@pytest.mark.skipif(os.geteuid() == 0, reason="as root the jail's RLIMIT_NPROC does not bind (the "
                    "cgroup test above covers root); this runs for unprivileged users")
def test_processes_are_limited_in_the_jail_without_cgroups(tmp_path: Path, kelly_obs: dict[str, Any]) -> None:
    assert play(_process_bomb(tmp_path), kelly_obs) == 0


def test_compiled_caches_are_used_and_private(tmp_path: Path) -> None:
    # numba's in-tree caches need a writable folder: each jail gets its own copy, so the first
    # step of an agent using the action filter does not compile it again (about 30 s here), and
    # what the agent writes there never reaches the host's cache
    from palaestra.agents.sandbox.isolation import compiled_caches
    from palaestra.agents.scripted.filtered import observation_mask
    from palaestra.envs.bomber.env import BomberParallelEnv

    obs, _ = BomberParallelEnv().reset(seed=0)
    observation_mask(obs["player_0"])  # the host compiles (and caches) the filter first
    target = next(c for c in compiled_caches() if c.parent.name == "bomber")
    path = tmp_path / "submission" / "masked.py"
    path.parent.mkdir()
    path.write_text(textwrap.dedent(f"""
        from palaestra.agents.scripted.filtered import observation_mask

        def agent(obs, config):
            open({str(target / "poison.nbi")!r}, "w").write("x")
            return int(observation_mask(obs).argmax())
    """))
    limits = SandboxLimits(init_time_s=30.0, step_time_s=5.0, overage_bank_s=0.0, on_timeout="forfeit")
    with launch(f"python:{path}", "bomber", {}, 0, limits, isolate=True) as agent:
        agent.reset(np.random.default_rng(0))
        assert 0 <= int(agent.act(obs["player_0"])) < 6  # within 5 s: no compile
    assert not (target / "poison.nbi").exists()
