"""Non-blocking line exchange with a sandboxed agent's stdin and stdout, keeping its stderr's tail.

:class:`Pipes` writes a request and waits, with ``select`` against a deadline, for the one line
that answers it; nothing here blocks on the agent. Whatever the agent writes to stderr meanwhile
is read as well, so that a chatty agent cannot fill the pipe and stall, and its last
:data:`STDERR_KEEP_BYTES` are kept for error reports.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import time

from palaestra.agents.sandbox import protocol as P

STDERR_KEEP_BYTES = 64 * 1024
"""How much of the agent's stderr is kept (the latest bytes)."""

STDERR_REPORT_LINES = 20
STDERR_REPORT_CHARS = 2000


class DeadlineExpired(Exception):
    """No complete line before the deadline."""


class StdoutClosed(Exception):
    """The agent closed its stdout (it exited, most likely)."""


class Pipes:
    """Non-blocking line exchange with a child's stdin/stdout, keeping the tail of its stderr."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdin and proc.stdout and proc.stderr
        self._in, self._out, self._err = (
            proc.stdin.fileno(), proc.stdout.fileno(), proc.stderr.fileno()
        )
        for fd in (self._in, self._out, self._err):
            os.set_blocking(fd, False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._out, selectors.EVENT_READ)
        self._selector.register(self._err, selectors.EVENT_READ)
        self._buffer = bytearray()
        self._stderr = bytearray()
        self._stderr_open = True
        self._stdout_open = True

    def exchange(self, payload: bytes, deadline: float) -> bytes:
        """Write ``payload``, then return the next line the child writes (without newline).

        Raises:
            DeadlineExpired: no complete line by ``deadline`` (``time.monotonic()``).
            StdoutClosed: the child closed stdout first.
            P.ProtocolError: output was waiting before the request, or a line is too long.
        """
        self._poll(0.0)
        if self._buffer:
            raise P.ProtocolError(
                f"unexpected output on stdout before the request: {bytes(self._buffer[:200])!r}"
            )
        pending: memoryview | None = memoryview(payload)
        if pending:
            self._selector.register(self._in, selectors.EVENT_WRITE)
        try:
            while True:
                line = self._take_line()
                if line is not None:
                    return line
                if not self._stdout_open:
                    raise StdoutClosed()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DeadlineExpired()
                pending = self._poll(remaining, pending)
        finally:
            if self._in in self._selector.get_map():
                self._selector.unregister(self._in)

    def send_nowait(self, payload: bytes) -> None:
        """Write what fits into the pipe now; ignore a full or broken pipe."""
        try:
            os.write(self._in, payload)
        except OSError:
            pass

    def _take_line(self) -> bytes | None:
        end = self._buffer.find(b"\n")
        if end < 0:
            if len(self._buffer) > P.MAX_LINE_BYTES:
                raise P.ProtocolError(f"a line longer than {P.MAX_LINE_BYTES} bytes on stdout")
            return None
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        if not line.strip():  # tolerate blank lines
            return self._take_line()
        return line

    def _poll(self, timeout: float, pending: memoryview | None = None) -> memoryview | None:
        """Wait up to ``timeout`` for events; write what can be written, read what is there."""
        for key, _ in self._selector.select(timeout):
            fd = key.fd
            if fd == self._in and pending is not None:
                pending = self._write(pending)
            elif fd == self._out:
                data = self._read(fd)
                if data is None:
                    continue
                if not data:
                    self._stdout_open = False
                    self._selector.unregister(fd)
                self._buffer += data
            elif fd == self._err:
                data = self._read(fd)
                if data is None:
                    continue
                if not data:
                    self._stderr_open = False
                    self._selector.unregister(fd)
                self._keep_stderr(data)
        return pending

    def _write(self, pending: memoryview) -> memoryview:
        try:
            written = os.write(self._in, pending)
        except BlockingIOError:
            return pending
        except (BrokenPipeError, OSError):  # the child is gone; its stdout will close
            written = len(pending)
        pending = pending[written:]
        if not pending:
            self._selector.unregister(self._in)
        return pending

    @staticmethod
    def _read(fd: int) -> bytes | None:
        try:
            return os.read(fd, 65536)
        except BlockingIOError:
            return None
        except OSError:
            return b""

    def _keep_stderr(self, data: bytes) -> None:
        self._stderr += data
        if len(self._stderr) > STDERR_KEEP_BYTES:
            del self._stderr[: len(self._stderr) - STDERR_KEEP_BYTES]

    def drain_stderr(self, deadline: float) -> None:
        """Read stderr until it closes or ``deadline`` passes (for the error report)."""
        while (self._stderr_open or self._stdout_open) and time.monotonic() < deadline:
            self._poll(max(0.0, deadline - time.monotonic()))

    def stderr_tail(self) -> str:
        """The last lines the child wrote to stderr."""
        text = self._stderr.decode("utf-8", errors="replace").rstrip()
        lines = text.splitlines()[-STDERR_REPORT_LINES:]
        tail = "\n".join(lines)
        return tail[-STDERR_REPORT_CHARS:]

    def close(self) -> None:
        self._selector.close()
