"""The agent sandbox: good agents of every kind, every way an agent can fail, submissions."""

from __future__ import annotations

import json
import re
import shlex
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import palaestra.envs  # noqa: F401  (registers the envs)
from palaestra.agents.learned.checkpoints import FORMAT, FORMAT_VERSION, META_FILE
from palaestra.agents.sandbox import protocol as P
from palaestra.agents.sandbox.host import AgentFault, SandboxedAgent, SandboxLimits, launch
from palaestra.agents.sandbox.submission import SubmissionError, validate_submission
from palaestra.agents.scripted.bomber import make_scripted_bomber_agent
from palaestra.envs.bomber import parallel_env
from palaestra.errors import ConfigError

LIMITS = SandboxLimits(init_time_s=5.0, step_time_s=0.2, overage_bank_s=0.3)
FORFEIT = SandboxLimits(init_time_s=5.0, step_time_s=0.2, overage_bank_s=0.3, on_timeout="forfeit")
DOCS = Path(__file__).resolve().parents[3] / "docs" / "protocol.md"


def _write(directory: Path, name: str, source: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(source))
    return path


def _group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in a process group."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def _assert_group_gone(pgid: int) -> None:
    deadline = time.monotonic() + 10.0  # SIGKILL is at once; a loaded machine may reap late
    while _group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _group_members(pgid) == []


@pytest.fixture(scope="module")
def bomber_obs() -> dict[str, Any]:
    obs, _ = parallel_env().reset(seed=0)
    return obs["player_0"]


@pytest.fixture(scope="module")
def kelly_obs() -> dict[str, Any]:
    obs, _ = gym.make("palaestra/KellyCoinflip-v0").reset(seed=0)
    return obs


# -- good agents ------------------------------------------------------------------------------


def test_python_class_agent(tmp_path: Path, bomber_obs: dict[str, Any]) -> None:
    path = _write(tmp_path, "classy.py", """
        import numpy as np

        class Agent:
            name = "classy"

            def __init__(self, config):
                self.config = config
                print("constructed with", config)  # must not corrupt the protocol

            def reset(self, rng):
                self.rng = rng

            def act(self, obs):
                assert obs["board"].dtype == np.int8 and obs["board"].shape == (11, 11)
                assert obs["bomb_life"].dtype == np.float32 and isinstance(obs["ammo"], int)
                print("thinking")
                return np.int64(self.rng.integers(5))
    """)
    with launch(f"python:{path}", "bomber", {"mode": "ffa"}, 2, LIMITS) as agent:
        assert agent.name == "classy"
        agent.reset(np.random.default_rng(0))
        actions = [agent.act(bomber_obs) for _ in range(10)]
        assert all(type(a) is int and 0 <= a < 5 for a in actions)
        assert agent.faults == [] and agent.steps == 10
        pid = agent.pid
    assert "constructed with {'mode': 'ffa'}" in agent.stderr_tail()
    _assert_group_gone(pid)


def test_python_function_agent(tmp_path: Path, kelly_obs: dict[str, Any]) -> None:
    path = _write(tmp_path, "fn.py", """
        import numpy as np

        def agent(obs, config):
            assert obs["wealth"].dtype == np.float64 and obs["wealth"].shape == (1,)
            assert isinstance(obs["rounds_left"], np.int64)
            return int(obs["wealth"][0] * 100) // 10
    """)
    with launch(f"python:{path}", "kelly", {}, 0, LIMITS) as agent:
        assert agent.name == "fn"
        agent.reset(np.random.default_rng(0))
        assert agent.act(kelly_obs) == 250


def _docs_example(tmp_path: Path) -> Path:
    text = DOCS.read_text()
    block = text.split("## A complete agent program", 1)[1].split("```python\n", 1)[1]
    return _write(tmp_path, "example_bot.py", block.split("```", 1)[0])


def test_json_lines_program_from_the_docs(
    tmp_path: Path, bomber_obs: dict[str, Any], kelly_obs: dict[str, Any]
) -> None:
    command = f"cmd:{shlex.quote(sys.executable)} {shlex.quote(str(_docs_example(tmp_path)))}"
    with launch(command, "kelly", {}, 0, LIMITS) as agent:
        assert agent.name == "example-bot"
        agent.reset(np.random.default_rng(0))
        assert agent.act(kelly_obs) == 250
    with launch(command, "bomber", {"mode": "team_radio"}, 1, LIMITS) as agent:
        agent.reset(np.random.default_rng(0))
        move, *words = agent.act(bomber_obs)
        assert 0 <= move < 5 and words == [0, 0]
    assert "playing bomber in seat 1" in agent.stderr_tail()


def _play_seat0(agent: Any, seed: int, steps: int = 40) -> list[int]:
    game = parallel_env()
    obs, _ = game.reset(seed=0)
    agent.reset(np.random.default_rng(seed))
    actions = []
    for _ in range(steps):
        if "player_0" not in game.agents:
            break
        actions.append(agent.act(obs["player_0"]))
        moves = {name: 0 for name in game.agents}
        moves["player_0"] = actions[-1]
        obs, *_ = game.step(moves)
    return actions


def test_builtin_same_seed_same_actions() -> None:
    runs = []
    for _ in range(2):
        with launch("builtin:simple", "bomber", {}, 0, LIMITS) as agent:
            assert agent.name == "simple"
            runs.append(_play_seat0(agent, seed=7))
    assert runs[0] == runs[1] and len(set(runs[0])) > 1
    # The sandbox sends the agent a seed drawn from the generator; in-process it plays the same.
    sent_seed = int(np.random.default_rng(7).integers(0, P.MAX_SEED))

    class Reseeded:
        def __init__(self) -> None:
            self.inner = make_scripted_bomber_agent("simple")

        def reset(self, rng: np.random.Generator) -> None:
            self.inner.reset(np.random.default_rng(sent_seed))

        def act(self, obs: Any) -> int:
            return self.inner.act(obs)

    assert _play_seat0(Reseeded(), seed=7) == runs[0]


# -- failing agents ---------------------------------------------------------------------------

HANGS_AT_STEP_1 = """
    import time

    class Agent:
        def __init__(self):
            self.steps = 0

        def act(self, obs):
            self.steps += 1
            if self.steps >= 2:
                time.sleep(60)
            return 1
"""


def test_hang_plays_the_default_action(tmp_path: Path, bomber_obs: dict[str, Any]) -> None:
    path = _write(tmp_path, "hang.py", HANGS_AT_STEP_1)
    limits = SandboxLimits(init_time_s=5.0, step_time_s=0.2, overage_bank_s=0.3, default_action=4)
    agent = launch(f"python:{path}", "bomber", {}, 0, limits)
    try:
        assert agent.act(bomber_obs) == 1
        start = time.monotonic()
        assert agent.act(bomber_obs) == 4
        # it waited step_time_s + the whole bank (0.5 s), then gave up (kill and report included)
        assert 0.45 < time.monotonic() - start < 2.5
        assert [f.reason for f in agent.faults] == ["timeout"]
        assert "overage bank" in str(agent.faults[0]) and not agent.alive
        _assert_group_gone(agent.pid)
        start = time.monotonic()  # from now on the default action, without asking the agent
        assert agent.act(bomber_obs) == 4 and time.monotonic() - start < limits.step_time_s
    finally:
        agent.close()


def test_hang_forfeits_and_the_whole_group_is_killed(
    tmp_path: Path, kelly_obs: dict[str, Any]
) -> None:
    path = _write(tmp_path, "hang_child.py", """
        import subprocess
        import time

        class Agent:
            def __init__(self):
                self.child = subprocess.Popen(["sleep", "60"])

            def act(self, obs):
                time.sleep(60)
    """)
    with launch(f"python:{path}", "kelly", {}, 0, FORFEIT) as agent:
        assert len(_group_members(agent.pid)) == 2  # the worker and its sleep
        with pytest.raises(AgentFault) as caught:
            agent.act(kelly_obs)
        assert caught.value.reason == "timeout"
        _assert_group_gone(agent.pid)
        with pytest.raises(AgentFault):  # stays forfeited
            agent.act(kelly_obs)


def test_slow_init_is_an_init_timeout(tmp_path: Path) -> None:
    path = _write(tmp_path, "slow.py", """
        import time
        time.sleep(60)

        def agent(obs, config):
            return 0
    """)
    limits = SandboxLimits(init_time_s=0.8, step_time_s=0.2, overage_bank_s=0.3)
    start = time.monotonic()
    with pytest.raises(AgentFault) as caught:
        launch(f"python:{path}", "kelly", {}, 0, limits)
    assert caught.value.reason == "init_timeout"
    assert time.monotonic() - start < 5 * limits.init_time_s


def test_crash_reports_the_exception(tmp_path: Path, kelly_obs: dict[str, Any]) -> None:
    path = _write(tmp_path, "crash.py", """
        def agent(obs, config):
            raise RuntimeError("boom 42")
    """)
    with launch(f"python:{path}", "kelly", {}, 0, LIMITS) as agent:
        with pytest.raises(AgentFault) as caught:
            agent.act(kelly_obs)
    fault = caught.value
    assert fault.reason == "crash"
    assert "RuntimeError: boom 42" in str(fault)
    assert "Traceback" in fault.stderr  # the stderr tail comes with it


def test_program_that_dies_is_a_crash(tmp_path: Path, kelly_obs: dict[str, Any]) -> None:
    script = _write(tmp_path, "dies.py", """
        import json, sys
        sys.stdin.readline()
        print(json.dumps({"type": "ready", "name": "dies"}), flush=True)
        sys.stdin.readline()
        print("segfault coming", file=sys.stderr)
        sys.exit(3)
    """)
    with launch(f"cmd:{sys.executable} {script}", "kelly", {}, 0, LIMITS) as agent:
        with pytest.raises(AgentFault) as caught:
            agent.act(kelly_obs)
    assert caught.value.reason == "crash"
    assert "exited with status 3" in str(caught.value) and "segfault coming" in str(caught.value)


def test_garbage_on_stdout_is_a_protocol_fault(tmp_path: Path, kelly_obs: dict[str, Any]) -> None:
    script = _write(tmp_path, "chatty.py", """
        import json, sys
        for line in sys.stdin:
            message = json.loads(line)
            if message["type"] == "init":
                print(json.dumps({"type": "ready", "name": "chatty"}), flush=True)
            elif message["type"] == "act":
                print("let me think about this...", flush=True)
                print(json.dumps({"type": "action", "action": 0}), flush=True)
    """)
    with launch(f"cmd:{sys.executable} {script}", "kelly", {}, 0, LIMITS) as agent:
        with pytest.raises(AgentFault) as caught:
            agent.act(kelly_obs)
    assert caught.value.reason == "protocol"
    assert "let me think" in str(caught.value)


def test_invalid_action(tmp_path: Path, bomber_obs: dict[str, Any]) -> None:
    path = _write(tmp_path, "nine.py", """
        def agent(obs, config):
            return 9
    """)
    with launch(f"python:{path}", "bomber", {}, 0, LIMITS) as agent:
        with pytest.raises(AgentFault) as caught:
            agent.act(bomber_obs)
    assert caught.value.reason == "invalid_action"
    assert "0..5" in str(caught.value) and "9" in str(caught.value)


def test_memory_hog_is_stopped_and_the_host_survives(
    tmp_path: Path, kelly_obs: dict[str, Any]
) -> None:
    path = _write(tmp_path, "hog.py", """
        import numpy as np

        def agent(obs, config):
            hog = np.ones(2**28)  # 2 GiB
            return int(hog[0])
    """)
    limits = SandboxLimits(init_time_s=5.0, step_time_s=0.5, overage_bank_s=0.5, memory_mb=256)
    with launch(f"python:{path}", "kelly", {}, 0, limits) as agent:
        with pytest.raises(AgentFault) as caught:
            agent.act(kelly_obs)
    assert caught.value.reason in ("memory", "crash")
    assert caught.value.reason == "memory"  # numpy raises MemoryError under RLIMIT_AS
    assert np.ones(1000).sum() == 1000.0


def test_the_overage_bank_is_spent_across_steps(tmp_path: Path, kelly_obs: dict[str, Any]) -> None:
    path = _write(tmp_path, "slowish.py", """
        import time

        def agent(obs, config):
            time.sleep(0.4)
            return 0
    """)
    # Each step is at least 0.3 s over: 0.85 s of bank covers two (0.25 s spare, less the
    # exchange's own time), never three (0.05 s short even on the fastest machine).
    limits = SandboxLimits(init_time_s=5.0, step_time_s=0.1, overage_bank_s=0.85,
                           on_timeout="forfeit")
    with launch(f"python:{path}", "kelly", {}, 0, limits) as agent:
        agent.act(kelly_obs)
        assert 0.35 < agent.bank_left < 0.55
        agent.act(kelly_obs)
        assert 0.0 < agent.bank_left < 0.25
        with pytest.raises(AgentFault) as caught:
            agent.act(kelly_obs)
    assert caught.value.reason == "timeout"


def test_unstartable_command_is_a_fault(tmp_path: Path) -> None:
    with pytest.raises(AgentFault) as caught:
        launch(f"cmd:{tmp_path / 'nowhere'}", "kelly", {}, 0, LIMITS)
    assert caught.value.reason == "crash"
    with pytest.raises(ConfigError, match="bad agent spec"):
        launch("java:Bot.class", "kelly", {}, 0, LIMITS)


def test_close_is_idempotent_and_the_process_exits(kelly_obs: dict[str, Any]) -> None:
    agent = SandboxedAgent(
        [sys.executable, "-m", "palaestra.agents.sandbox.worker", "--builtin", "kelly"],
        "kelly", {}, 0, LIMITS,
    )
    assert agent.act(kelly_obs) == 500
    agent.close()
    agent.close()
    _assert_group_gone(agent.pid)


# -- submissions ------------------------------------------------------------------------------


def test_validate_a_good_submission(tmp_path: Path) -> None:
    path = _write(tmp_path, "good.py", """
        def agent(obs, config):
            return 0
    """)
    info = validate_submission(str(path), "bomber", "goodbot", LIMITS)
    assert (info.name, info.kind, info.env) == ("goodbot", "python", "bomber")
    assert info.spec == f"python:{path.resolve()}"
    assert re.fullmatch(r"[0-9a-f]{64}", info.sha256) and 0 < info.probe_steps <= 800
    again = validate_submission(f"python:{path}", "bomber", None, LIMITS)
    assert again.name == "good" and again.sha256 == info.sha256


def test_validate_a_program_submission(tmp_path: Path) -> None:
    command = f"cmd:{sys.executable} {_docs_example(tmp_path)}"
    info = validate_submission(command, "kelly", None, LIMITS)
    assert (info.kind, info.name, info.agent_name) == ("program", "example_bot", "example-bot")


@pytest.mark.parametrize(
    "source, message",
    [
        (None, "no such file"),
        ("x = 1\n", "defines neither a class Agent"),
        ("def agent(obs, config)\n    return 0\n", "line 1: SyntaxError"),
        ("import no_such_module_here\n", "ModuleNotFoundError: No module named"),
        ("def agent(obs, config):\n    return 'left'\n", "invalid_action"),
    ],
)
def test_validate_reports_the_problem(tmp_path: Path, source: str | None, message: str) -> None:
    path = tmp_path / "bot.py"
    if source is not None:
        path.write_text(source)
    with pytest.raises(SubmissionError, match=message):
        validate_submission(f"python:{path}", "bomber", "bot", LIMITS)


def test_validate_refuses_a_kelly_checkpoint_for_bomber(tmp_path: Path) -> None:
    meta = {
        "env_id": "palaestra/KellyCoinflip-v0", "backend": "sb3", "algo": "ppo",
        "features": {"variant": "classic", "wealth_scale": 250.0, "rounds_scale": 300.0},
        "package_version": "0", "format": FORMAT, "format_version": FORMAT_VERSION,
    }
    (tmp_path / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(SubmissionError,
                       match="trained on palaestra/KellyCoinflip-v0, not palaestra/Bomber-v0"):
        validate_submission(f"checkpoint:{tmp_path}", "bomber", "ppo", LIMITS)
    with pytest.raises(SubmissionError, match="trained on palaestra/KellyCoinflip-v0, not"):
        validate_submission(str(tmp_path), "kelly-generalized", "ppo", LIMITS)
    with pytest.raises(SubmissionError, match="command not found"):
        validate_submission("cmd:no-such-program-xyz --fast", "kelly", "x", LIMITS)


def test_unknown_builtin_fails_start_up_with_the_known_names() -> None:
    # a load failure, reported by the worker (not a traceback from an uncaught KeyError)
    with pytest.raises(AgentFault) as info:
        with launch("builtin:nosuch", "bomber", {}, 0, LIMITS):
            pass
    assert info.value.reason == "crash"
    assert "unknown Bomber agent 'nosuch'; known: random, static, simple" in info.value.message
    assert "agent load failed" in info.value.stderr and "Traceback" not in info.value.stderr


# What a hostile or broken program may write instead of an action: each must be a `protocol`
# fault of that agent (with the host intact), never an exception that escapes the match.
HOSTILE_REPLIES = {
    "deep nesting": b'{"type": "action", "action": ' + b"[" * 200_000 + b"]" * 200_000 + b"}\n",
    "deep nesting, unclosed": b"[" * 500_000 + b"\n",
    "huge number": b'{"type": "action", "action": ' + b"9" * 100_000 + b"}\n",
    "huge exponent": b'{"type": "action", "action": 1e999999}\n',
    "bad utf-8": b'{"type": "action", "action": 0, "\xff\xfe": "\xc3\x28"}\n',
    "nested action": b'{"type": "action", "action": ' + b"[" * 900 + b"0" + b"]" * 900 + b"}\n",
    "NaN": b'{"type": "action", "action": NaN}\n',
    "oversized line": b'{"type": "action", "action": 0, "pad": "' + b"x" * (2 << 20) + b'"}\n',
}


@pytest.mark.parametrize("name", sorted(HOSTILE_REPLIES))
def test_hostile_output_is_a_protocol_fault(name: str, tmp_path: Path,
                                           kelly_obs: dict[str, Any]) -> None:
    (tmp_path / "reply.bin").write_bytes(HOSTILE_REPLIES[name])
    script = _write(tmp_path, "hostile.py", f"""
        import json, sys
        sys.stdin.readline()
        print(json.dumps({{"type": "ready", "name": "hostile"}}), flush=True)
        sys.stdin.readline()
        sys.stdout.buffer.write(open({str(tmp_path / "reply.bin")!r}, "rb").read())
        sys.stdout.flush()
        sys.stdin.readline()
    """)
    with launch(f"cmd:{sys.executable} {script}", "kelly", {}, 0, LIMITS) as agent:
        with pytest.raises(AgentFault) as caught:
            agent.act(kelly_obs)
    assert caught.value.reason in ("protocol", "invalid_action"), caught.value
    assert len(str(caught.value)) < 10_000  # the fault record quotes, it does not copy
