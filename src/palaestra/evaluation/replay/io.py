"""Replay files: the exact bytes of a replay, atomic saving, and loading with verification.

A replay file is the replay's JSON object as compact sorted-key JSON and a newline, gzip-compressed
(with a zero mtime, so the same replay always gives the same bytes) when the name ends with
``.gz``. :func:`load_replay` recognises gzip by its magic bytes, not by the name.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
import zlib
from pathlib import Path

from palaestra.evaluation.replay.format import (
    Replay,
    ReplayError,
    canonical_json,
    plain,
    replay_from_dict,
    replay_to_dict,
)
from palaestra.evaluation.replay.simulate import verify_replay

_GZIP_MAGIC = b"\x1f\x8b"


def replay_bytes(replay: Replay, compress: bool = False) -> bytes:
    """The file contents: sorted-key compact JSON and a newline; gzip with a zero mtime if asked.

    The same replay always gives the same bytes.
    """
    replay_from_dict(plain(replay_to_dict(replay), "replay"))  # never write a malformed file
    text = canonical_json(replay_to_dict(replay)) + "\n"
    data = text.encode("utf-8")
    return gzip.compress(data, compresslevel=9, mtime=0) if compress else data


def save_replay(replay: Replay, path: str | os.PathLike[str]) -> Path:
    """Write ``replay`` to ``path`` atomically (temp file + rename); gzip when it ends with .gz."""
    target = Path(path)
    data = replay_bytes(replay, compress=target.name.endswith(".gz"))
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return target


def load_replay(path: str | os.PathLike[str], verify: bool = True) -> Replay:
    """Read a replay file (plain or gzip JSON) and, with ``verify``, re-simulate and check it.

    Raises :class:`ReplayError` naming the file and the problem: missing file, not gzip / not JSON,
    wrong format, unsupported version, missing or mistyped field, unknown env or env version
    mismatch, and with ``verify`` any difference from the re-simulation.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ReplayError(f"replay file not found: {p}") from None
    except OSError as exc:
        raise ReplayError(f"cannot read replay file {p}: {exc}") from None
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ReplayError(f"{p}: corrupt or truncated gzip data ({exc})") from None
    elif p.name.endswith(".gz"):
        raise ReplayError(f"{p}: not a gzip file, though its name ends with .gz")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ReplayError(f"{p}: not a replay (neither gzip nor UTF-8 JSON)") from None
    except json.JSONDecodeError as exc:
        raise ReplayError(f"{p}: not valid JSON ({exc.msg} at line {exc.lineno} column "
                          f"{exc.colno}); the file may be truncated") from None
    try:
        replay = replay_from_dict(data)
        if verify:
            verify_replay(replay)
    except ReplayError as exc:
        raise ReplayError(f"{p}: {exc}") from None
    return replay
