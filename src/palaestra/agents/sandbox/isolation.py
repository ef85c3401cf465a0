"""Confine an untrusted agent process with Linux namespaces (bubblewrap).

A :class:`Jail` turns the command that serves an agent into a ``bwrap`` command line:

* new user, PID, network, IPC, UTS and cgroup namespaces; the agent runs as ``nobody`` (uid and
  gid 65534) of its own user namespace, with no capabilities;
* its own network namespace, so no network at all: the host's loopback services are out of reach;
  a seccomp filter (:mod:`.seccomp`) refuses every socket but ``AF_UNIX``, so not even the
  jail's private loopback can be used;
* a PID namespace: it sees and can signal only its own processes, and every one of them (setsid or
  not) dies when the jail's first process does (the host kills that one at the end of a match);
  ``--die-with-parent`` covers a host that dies first;
* a read-only view of the system directories and of the Python that runs palaestra, nothing else
  of the host's file system: no home directory, no tournament database, no other submission;
* a private writable working directory (``/sandbox``, a copy of the submission made by the caller)
  and an empty ``/tmp``; everything else is read-only;
* an environment of a few fixed variables (``--clearenv``), none of the host's.

Limits on memory, process count and CPU time stay those of :mod:`.limits` (applied to each process
by the host before ``exec``); where the cgroup file system is writable (as root),
:class:`TreeLimits` also bounds memory, process count and CPU share over the whole process tree.
Without it, :attr:`Jail.max_processes` sets the process count inside the jail, where Linux
counts it per user namespace.

:func:`isolation_problem` says why isolation is impossible on this machine (not Linux, no
bubblewrap, user namespaces disabled), or ``None``.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .seccomp import filter_fd, filter_problem

SANDBOX_DIR = "/sandbox"
"""Where the private working directory appears inside the jail."""
NOBODY = 65534
SYSTEM_DIRS: tuple[str, ...] = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
SYSTEM_FILES: tuple[str, ...] = ("/etc/ld.so.cache", "/etc/localtime")
ENVIRONMENT: dict[str, str] = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": SANDBOX_DIR,
    "LANG": "C.UTF-8",
    "PYTHONNOUSERSITE": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONHASHSEED": "0",
    "PYTHONUNBUFFERED": "1",
    "MALLOC_ARENA_MAX": "2",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}
"""The whole environment of a jailed agent."""


def sha256_of(path: Path) -> str:
    """Digest of a file, or of every file under a directory (relative names and contents)."""
    digest = hashlib.sha256()
    if path.is_file():
        digest.update(path.read_bytes())
        return digest.hexdigest()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(path)).encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def _bwrap() -> str | None:
    return shutil.which("bwrap")


def python_roots() -> tuple[Path, ...]:
    """Directories the jailed Python needs to read: its installation, the virtual environment
    and the folder palaestra is imported from (for an editable install)."""
    import palaestra

    roots = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(),
             Path(palaestra.__file__).resolve().parent}
    for entry in sys.path:  # site-packages of the venv, and a source tree on PYTHONPATH
        p = Path(entry).resolve() if entry else None
        if p is not None and p.name in ("site-packages", "dist-packages") and p.is_dir():
            roots.add(p)
    return tuple(sorted(roots))


def compiled_caches() -> tuple[Path, ...]:
    """palaestra's ``__pycache__`` folders that hold numba's compiled functions (``*.nbi``).

    numba uses an in-tree cache only where it can write, and the jail's view of the package is
    read-only, so without help every jailed agent would compile the rules kernel and the action
    filter again (tens of seconds, past the first step's time limit). Each jail therefore gets its
    own writable copy of these folders (:meth:`Jail.argv`): whatever the agent writes there dies
    with its working directory and never reaches the host or another agent. Looked up at every
    launch (a few ms), since the host fills its caches as it goes.
    """
    import palaestra

    package = Path(palaestra.__file__).resolve().parent
    return tuple(sorted(d for d in package.rglob("__pycache__") if any(d.glob("*.nbi"))))


@dataclass(frozen=True)
class Jail:
    """The namespaces and file-system view of one jailed agent."""

    workdir: Path
    """Host path of the private working directory; it appears as ``/sandbox`` inside."""
    max_processes: int | None = None
    """Where no cgroups bound the tree: RLIMIT_NPROC set inside the jail (see ``_NPROC_LAUNCHER``)."""

    def argv(self, inner: Sequence[str], seccomp_fd: int | None = None) -> list[str]:
        """The ``bwrap`` command line that runs ``inner`` in the jail; ``seccomp_fd`` (from
        :func:`.seccomp.filter_fd`, passed to the child) takes away its sockets."""
        bwrap = _bwrap()
        if bwrap is None:
            raise RuntimeError("bubblewrap (bwrap) is not installed")
        cmd = [bwrap, "--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc",
               "--unshare-uts", "--unshare-cgroup-try", "--uid", str(NOBODY), "--gid", str(NOBODY),
               "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--hostname", "sandbox",
               "--clearenv"]
        if seccomp_fd is not None:
            cmd += ["--seccomp", str(seccomp_fd)]
        for name, value in ENVIRONMENT.items():
            cmd += ["--setenv", name, value]
        # the fresh /proc, /dev and /tmp first: a later mount on /tmp would hide a Python or a
        # virtual environment that lives below /tmp
        cmd += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
        for d in SYSTEM_DIRS:
            cmd += ["--ro-bind-try", d, d]
        for f in SYSTEM_FILES:
            cmd += ["--ro-bind-try", f, f]
        for root in python_roots():
            cmd += ["--ro-bind", str(root), str(root)]
        for k, cache in enumerate(compiled_caches()):  # a private, writable copy each (see there)
            copy = self.workdir / ".compiled" / str(k)
            if not copy.exists():
                shutil.copytree(cache, copy)
                for folder in (copy, *(p for p in copy.rglob("*") if p.is_dir())):
                    os.chmod(folder, 0o777)
            cmd += ["--bind", str(copy), str(cache)]
        cmd += ["--bind", str(self.workdir), SANDBOX_DIR,
                "--remount-ro", "/",  # the skeleton bwrap built (mount points) is read-only too
                "--chdir", SANDBOX_DIR, "--"]
        if self.max_processes is not None:
            cmd += [sys.executable, "-I", "-S", "-c", _NPROC_LAUNCHER, str(self.max_processes)]
        return [*cmd, *inner]

    def popen(self, inner: Sequence[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        """Start ``inner`` in the jail, behind the network filter of :mod:`.seccomp`;
        ``kwargs`` go to :class:`subprocess.Popen` (``env`` is ignored: the jail sets its own).

        Raises:
            OSError, subprocess.SubprocessError: bwrap could not be started.
            RuntimeError: no network filter is known for this architecture.
        """
        fd = filter_fd()
        try:
            kwargs["env"] = {}
            return subprocess.Popen(self.argv(inner, seccomp_fd=fd), pass_fds=(fd,), **kwargs)
        finally:
            os.close(fd)


@functools.lru_cache(maxsize=1)
def isolation_problem() -> str | None:
    """``None`` when agents can be jailed here; otherwise what is missing, in one sentence."""
    if not sys.platform.startswith("linux"):
        return f"isolating submissions needs Linux namespaces; this is {sys.platform}"
    if _bwrap() is None:
        return ("isolating submissions needs bubblewrap (`bwrap`), which is not installed "
                "(Debian/Ubuntu: apt-get install bubblewrap)")
    no_filter = filter_problem()
    if no_filter is not None:
        return f"isolating submissions needs a network filter: {no_filter}"
    probe = Path(os.environ.get("TMPDIR", "/tmp")) / f"palaestra-jail-probe-{uuid.uuid4().hex}"
    probe.mkdir()
    try:
        proc = Jail(probe).popen(["/bin/true"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, stderr = proc.communicate(timeout=30)
    except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
        return f"bubblewrap could not start a jail: {exc}"
    finally:
        shutil.rmtree(probe, ignore_errors=True)
    if proc.returncode != 0:
        text = stderr.decode(errors="replace").strip()
        detail = text.splitlines()[-1] if text else f"exit {proc.returncode}"
        return f"bubblewrap could not create unprivileged user namespaces here ({detail})"
    return None


CGROUP_ROOTS = {"memory": Path("/sys/fs/cgroup/memory"), "pids": Path("/sys/fs/cgroup/pids"),
                "cpu": Path("/sys/fs/cgroup/cpu")}
"""cgroup v1 hierarchies (as on this project's machines); ``cpu`` is used where it exists."""
MAX_PROCESSES = 64
"""Processes (threads included) a jailed agent may have at once, all its descendants counted."""
CPU_QUOTA = 1.0
"""CPUs' worth of time a jailed agent's whole process tree may use at once (cgroup cpu quota), so
that busy children cannot starve the other agents of a match beyond one core."""
_NPROC_LAUNCHER = ("import os, resource, sys; n = int(sys.argv[1]); "
                   "resource.setrlimit(resource.RLIMIT_NPROC, (n, n)); os.execvp(sys.argv[2], sys.argv[2:])")
"""Sets RLIMIT_NPROC inside the jail, then runs the agent. Since Linux 5.14 the count is kept per
user namespace, so for an unprivileged host this limits the jail's own processes (as root the
limit does not bind, and the cgroups of :class:`TreeLimits` do the work)."""


def _own_cgroups() -> dict[str, str]:
    """Controller -> this process's cgroup path, from /proc/self/cgroup (v1 lines)."""
    found: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(","):
            if controller:
                found[controller] = path
    return found


@dataclass
class TreeLimits:
    """Memory and process-count limits over a whole process tree, through cgroup v1.

    :meth:`create` returns ``None`` where the hierarchies are not writable (not root); the
    per-process rlimits of :mod:`.limits` still apply then.
    """

    groups: dict[str, Path]

    @classmethod
    def create(cls, memory_bytes: int, max_pids: int, cpus: float = CPU_QUOTA) -> TreeLimits | None:
        """New groups below this process's own (so the machine's limits still hold)."""
        name = f"palaestra-{uuid.uuid4().hex[:12]}"
        groups: dict[str, Path] = {}
        try:
            own = _own_cgroups()
            for controller, root in CGROUP_ROOTS.items():
                parent = root / own.get(controller, "/").lstrip("/")
                if not os.access(parent, os.W_OK):
                    if controller == "cpu":
                        continue  # optional: the quota is a fairness bound, not a safety one
                    raise PermissionError(parent)
                group = parent / name
                group.mkdir()
                groups[controller] = group
            (groups["memory"] / "memory.limit_in_bytes").write_text(str(memory_bytes))
            (groups["pids"] / "pids.max").write_text(str(max_pids))
            if "cpu" in groups:
                period = int((groups["cpu"] / "cpu.cfs_period_us").read_text())
                (groups["cpu"] / "cpu.cfs_quota_us").write_text(str(int(period * cpus)))
        except OSError:
            cls(groups).remove()
            return None
        return cls(groups)

    def enter(self) -> None:
        """Move the calling process into the groups (call it in the child, before ``exec``)."""
        for group in self.groups.values():
            with open(group / "cgroup.procs", "w") as f:
                f.write(str(os.getpid()))

    def kill_and_remove(self) -> None:
        """SIGKILL every process left in the groups, then remove them."""
        import signal
        import time

        for _ in range(50):
            pids = self._pids()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.01)
        self.remove()

    def hit_memory_limit(self) -> bool:
        """Whether the tree ran into its memory limit (the kernel then kills inside it)."""
        try:
            return int((self.groups["memory"] / "memory.failcnt").read_text()) > 0
        except (OSError, KeyError, ValueError):
            return False

    def _pids(self) -> list[int]:
        try:
            text = (self.groups["pids"] / "cgroup.procs").read_text()
        except (OSError, KeyError):
            return []
        return [int(line) for line in text.split()]

    def remove(self) -> None:
        for group in self.groups.values():
            try:
                group.rmdir()
            except OSError:
                pass


def private_copy(kind: str, value: str, sha256: str | None = None) -> tuple[Path, str]:
    """A fresh working directory holding a copy of the submission, and the submission's path
    inside the jail. ``sha256`` (the hash taken at submit) is checked against the copy, so an
    entry changed on disk since it was submitted never runs.

    Raises:
        FileNotFoundError: the file or directory is gone.
        SubmissionChanged: the copy's hash is not ``sha256``.
    """
    import tempfile

    workdir = Path(tempfile.mkdtemp(prefix="palaestra-agent-"))
    os.chmod(workdir, 0o777)  # nobody inside the jail writes here
    if kind == "cmd":  # the program's own files (any argument naming a file) are copied in
        import shlex

        words = []
        for word in shlex.split(value):
            if Path(word).is_file() and not any(Path(word).resolve().is_relative_to(r)
                                                for r in (*python_roots(), Path("/usr"))):
                shutil.copy2(word, workdir / Path(word).name)
                word = f"{SANDBOX_DIR}/{Path(word).name}"
            words.append(word)
        return workdir, shlex.join(words)
    if kind not in ("python", "checkpoint"):
        return workdir, value
    source = Path(value)
    if not source.exists():
        shutil.rmtree(workdir, ignore_errors=True)
        raise FileNotFoundError(f"{value}: no such submission file")
    target = workdir / source.name
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copy2(source, target)
    if sha256 is not None and sha256_of(target) != sha256:
        shutil.rmtree(workdir, ignore_errors=True)
        raise SubmissionChanged(f"{value}: changed since it was submitted (hash mismatch)")
    return workdir, f"{SANDBOX_DIR}/{source.name}"


class SubmissionChanged(RuntimeError):
    """A submission's files no longer match the hash taken when it was submitted."""
