"""A seccomp filter that takes the network away from a jailed agent, loopback included.

bubblewrap's new network namespace has no route out, but it brings up a private loopback device,
so an agent could still open TCP or UDP sockets to itself. The filter built here (classic BPF, as
``bwrap --seccomp FD`` expects) makes every such attempt fail:

* ``socket`` and ``socketpair`` succeed only for ``AF_UNIX`` (Python's own plumbing needs it; no
  host socket file is visible in the jail, and abstract names live in the jail's network
  namespace); any other family fails with ``EACCES``;
* ``io_uring_setup`` fails with ``EACCES`` (io_uring can open sockets without the ``socket`` call);
* a system call from another ABI than the machine's own (x32, or 32-bit compat on x86-64) kills
  the process, so no other system-call table can go around the checks.

Only x86-64 and AArch64 are known; :func:`filter_problem` says so on other machines.
"""

from __future__ import annotations

import errno
import os
import platform
import struct
from dataclasses import dataclass

# classic BPF opcodes (linux/filter.h) and seccomp return values (linux/seccomp.h)
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_RET_K = 0x06
RET_ALLOW = 0x7FFF0000
RET_KILL_PROCESS = 0x80000000
RET_EACCES = 0x00050000 | errno.EACCES
# offsets in struct seccomp_data: nr (int), arch (u32), instruction pointer (u64), args (u64 x 6)
_NR, _ARCH, _ARG0 = 0, 4, 16
AF_UNIX = 1
X32_SYSCALL_BIT = 0x40000000


@dataclass(frozen=True)
class Abi:
    """The numbers of one machine's system-call ABI."""

    audit_arch: int
    socket: int
    socketpair: int
    io_uring_setup: int
    x32_bit: bool


ABIS: dict[str, Abi] = {
    "x86_64": Abi(audit_arch=0xC000003E, socket=41, socketpair=53, io_uring_setup=425, x32_bit=True),
    "aarch64": Abi(audit_arch=0xC00000B7, socket=198, socketpair=199, io_uring_setup=425,
                   x32_bit=False),
}


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def program(abi: Abi) -> bytes:
    """The filter for ``abi`` as the raw ``struct sock_filter`` array bwrap reads."""
    # Layout (index: instruction); a jump's offsets count from the next instruction.
    #  0 load arch            1 arch == ours ? 2 : KILL
    #  2 load nr              3 nr >= x32 bit ? DENY : 4   (only where x32 exists)
    #  4 io_uring_setup ? DENY   5 socket ? FAMILY   6 socketpair ? FAMILY   7 ALLOW
    #  FAMILY: load arg0, == AF_UNIX ? ALLOW : DENY
    body: list[tuple[int, int, str | None, str | None]] = [
        (_LD_W_ABS, _ARCH, None, None),
        (_JEQ_K, abi.audit_arch, None, "kill"),
        (_LD_W_ABS, _NR, None, None),
    ]
    if abi.x32_bit:
        body.append((_JGE_K, X32_SYSCALL_BIT, "deny", None))
    body += [
        (_JEQ_K, abi.io_uring_setup, "deny", None),
        (_JEQ_K, abi.socket, "family", None),
        (_JEQ_K, abi.socketpair, "family", None),
        (_RET_K, RET_ALLOW, None, None),
    ]
    labels = {"family": len(body)}
    body += [(_LD_W_ABS, _ARG0, None, None), (_JEQ_K, AF_UNIX, "allow", "deny")]
    labels["allow"] = len(body)
    body.append((_RET_K, RET_ALLOW, None, None))
    labels["deny"] = len(body)
    body.append((_RET_K, RET_EACCES, None, None))
    labels["kill"] = len(body)
    body.append((_RET_K, RET_KILL_PROCESS, None, None))

    out = bytearray()
    for index, (code, k, jt, jf) in enumerate(body):
        t = 0 if jt is None else labels[jt] - index - 1
        f = 0 if jf is None else labels[jf] - index - 1
        out += _insn(code, k, t, f)
    return bytes(out)


def machine_abi() -> Abi | None:
    """This machine's ABI, or ``None`` where no filter is known for it."""
    return ABIS.get(platform.machine())


def filter_problem() -> str | None:
    """``None`` when a filter exists for this machine, else why not."""
    if machine_abi() is None:
        return (f"no network filter is known for the {platform.machine()!r} architecture "
                f"(known: {', '.join(ABIS)})")
    return None


def filter_fd() -> int:
    """A file descriptor, positioned at its start, holding this machine's filter; the caller
    passes it to the child (``pass_fds``) and closes it after the child started.

    Raises:
        RuntimeError: no filter is known for this architecture.
    """
    abi = machine_abi()
    if abi is None:
        raise RuntimeError(filter_problem())
    fd = os.memfd_create("palaestra-seccomp")  # close-on-exec, except where passed
    os.write(fd, program(abi))
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
