"""The network filter's BPF program (agents/sandbox/seccomp.py), run by a small interpreter of the
few classic-BPF instructions it uses, for every known ABI (the jail test runs it for real)."""

from __future__ import annotations

import errno
import struct

import pytest

from palaestra.agents.sandbox import seccomp as S

AF_INET, AF_INET6, AF_NETLINK = 2, 10, 16


def run(program: bytes, nr: int, arch: int, arg0: int = 0) -> int:
    """What the filter returns for one system call."""
    data = struct.pack("=iIQ6Q", nr, arch, 0, arg0, 0, 0, 0, 0, 0)
    insns = [struct.unpack_from("=HBBI", program, i) for i in range(0, len(program), 8)]
    acc, pc = 0, 0
    while True:
        code, jt, jf, k = insns[pc]
        if code == 0x20:
            acc = struct.unpack_from("=I", data, k)[0]
        elif code in (0x15, 0x35):
            taken = acc == k if code == 0x15 else acc >= k
            pc += jt if taken else jf
        elif code == 0x06:
            return k
        else:
            raise AssertionError(f"unexpected opcode {code:#x}")
        pc += 1


@pytest.mark.parametrize("name", sorted(S.ABIS))
def test_only_unix_sockets_pass_and_everything_else_runs(name: str) -> None:
    abi = S.ABIS[name]
    prog = S.program(abi)
    deny = 0x00050000 | errno.EACCES
    for call in (abi.socket, abi.socketpair):
        assert run(prog, call, abi.audit_arch, S.AF_UNIX) == S.RET_ALLOW
        for family in (AF_INET, AF_INET6, AF_NETLINK, 0, 2**32 - 1):
            assert run(prog, call, abi.audit_arch, family) == deny
    assert run(prog, abi.io_uring_setup, abi.audit_arch) == deny
    for other in (0, 1, 59, 60, 231, abi.socket + 1, abi.socket - 1):
        if other not in (abi.socket, abi.socketpair, abi.io_uring_setup):
            assert run(prog, other, abi.audit_arch, AF_INET) == S.RET_ALLOW


@pytest.mark.parametrize("name", sorted(S.ABIS))
def test_a_foreign_abi_is_killed(name: str) -> None:
    abi = S.ABIS[name]
    prog = S.program(abi)
    assert run(prog, abi.socket, 0x40000003, AF_INET) == S.RET_KILL_PROCESS  # i386
    assert run(prog, 0, 0, 0) == S.RET_KILL_PROCESS


def test_x32_calls_are_refused_on_x86_64() -> None:
    abi = S.ABIS["x86_64"]
    prog = S.program(abi)
    assert run(prog, S.X32_SYSCALL_BIT | 41, abi.audit_arch, AF_INET) == 0x00050000 | errno.EACCES
