"""The state of a training league: members, match results, PBT history and the league's RNG.

Pure Python (no Ray, no torch), JSON on disk::

    {"format": "palaestra-league", "version": 1, "env": "...", "iteration": 10,
     "members": [{"member_id": "m0", "kind": "learner", ...}, ...], "matches": [...],
     "pbt_events": [...], "rng_state": {...}, "checkpoint": "ckpt/it10", "extra": {}}

Member ids: ``"m0"`` a learner, ``"m0@it10"`` its snapshot at iteration 10, ``"bot:simple"`` a bot,
``"es:run"`` an external member (trained outside the league, e.g. by ``palaestra es train``: it
plays and is rated, but the league never draws it as an opponent).
A match may seat one bot several times. Wherever a match is rated or counted pairwise, each member
id takes part once, with the **best rank among its seats** (a bot with seats ranked 1 and 3 ranks
1); a match left with fewer than two distinct ids is not rated.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple, get_args

import numpy as np

from palaestra.errors import FileFormatError
from palaestra.evaluation.ratings import RatedGame, RatingTable, rate_games

__all__ = ["LEAGUE_FORMAT", "LEAGUE_VERSION", "LeagueState", "LeagueStateError", "MatchRecord",
           "Member", "MemberKind", "PBTEvent", "WinRecord"]

LEAGUE_FORMAT = "palaestra-league"
"""The ``format`` field of every league file."""
LEAGUE_VERSION = 1
"""The version this module reads and writes."""

MemberKind = Literal["learner", "snapshot", "bot", "external"]
BOT_PREFIX = "bot:"
"""League ids of scripted bots are ``bot:<name>`` (``bot:simple``, ...)."""
Source = Literal["train", "eval"]
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937")


class LeagueStateError(FileFormatError):
    """A league file or league data that cannot be used; the message names the file and field."""


class WinRecord(NamedTuple):
    """How ``a`` did against ``b``: wins (ties count half) over the matches they played together."""

    wins: float
    games: int

    @property
    def rate(self) -> float:
        """``wins / games``; 0.5 (no information) before any game."""
        return self.wins / self.games if self.games else 0.5


@dataclass
class Member:
    """One member of the league."""

    member_id: str
    """``"m0"`` (learner), ``"m0@it10"`` (snapshot), ``"bot:simple"`` (bot), ``"es:run"``."""
    kind: MemberKind
    """Learners train; snapshots and bots are frozen; external members train elsewhere."""
    hyperparams: dict[str, float] = field(default_factory=dict)
    """Learners: ``lr``, ``entropy_coeff``, ``shape_<name>``; snapshots: the parent's copy."""
    parent: str | None = None
    """Snapshot: its learner; learner after a PBT exploit: the last donor."""
    created_iteration: int = 0
    """League iteration at which the member joined."""

    def __post_init__(self) -> None:
        if not isinstance(self.member_id, str) or not self.member_id:
            raise ValueError(f"member_id must be a non-empty string, got {self.member_id!r}")
        if self.kind not in get_args(MemberKind):
            raise ValueError(f"member {self.member_id!r}: kind must be one of "
                             f"{get_args(MemberKind)}, got {self.kind!r}")
        values = {}
        for key, value in dict(self.hyperparams).items():
            if not isinstance(value, (int, float)) or isinstance(value, bool) \
                    or not np.isfinite(value):
                raise ValueError(f"member {self.member_id!r}: hyperparam {key!r} must be a "
                                 f"finite number, got {value!r}")
            values[str(key)] = float(value)
        self.hyperparams = values
        if isinstance(self.created_iteration, bool) or not isinstance(
                self.created_iteration, (int, np.integer)) or self.created_iteration < 0:
            raise ValueError(f"member {self.member_id!r}: created_iteration must be an integer "
                             f">= 0, got {self.created_iteration!r}")
        self.created_iteration = int(self.created_iteration)

    @property
    def frozen(self) -> bool:
        """True for snapshots and bots (their weights never change)."""
        return self.kind in ("snapshot", "bot")


@dataclass(frozen=True)
class MatchRecord:
    """One played match: ``ranks[i]`` is the place of ``seats[i]`` (0 best, equal = draw)."""

    iteration: int
    source: Source
    seats: tuple[str, ...]
    ranks: tuple[int, ...]
    seed: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "seats", tuple(self.seats))
        object.__setattr__(self, "ranks", tuple(self.ranks))
        if self.source not in get_args(Source):
            raise ValueError(f"match source must be 'train' or 'eval', got {self.source!r}")
        if not all(isinstance(seat, str) for seat in self.seats):
            raise ValueError(f"seats must be member ids (strings), got {self.seats!r}")
        if len(self.seats) < 2:
            raise ValueError(f"a match needs at least 2 seats, got {len(self.seats)}")
        if len(self.ranks) != len(self.seats):
            raise ValueError(f"got {len(self.ranks)} ranks for {len(self.seats)} seats")
        for r in self.ranks:
            if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or r < 0:
                raise ValueError(f"ranks must be integers >= 0, got {r!r}")
        object.__setattr__(self, "ranks", tuple(int(r) for r in self.ranks))

    def merged_ranks(self) -> dict[str, int]:
        """``{member_id: best rank among its seats}`` in order of first seat."""
        best: dict[str, int] = {}
        for seat, rank in zip(self.seats, self.ranks):
            best[seat] = min(rank, best.get(seat, rank))
        return best


@dataclass(frozen=True)
class PBTEvent:
    """One PBT exploit/explore step: ``target`` took ``donor``'s weights and perturbed hyperparams."""

    iteration: int
    target: str
    donor: str
    before: dict[str, float]
    after: dict[str, float]
    target_rating: float
    donor_rating: float


@dataclass
class LeagueState:
    """Everything the league needs to resume: members, results, PBT history, RNG, checkpoint."""

    env: str
    iteration: int = 0
    members: dict[str, Member] = field(default_factory=dict)
    matches: list[MatchRecord] = field(default_factory=list)
    pbt_events: list[PBTEvent] = field(default_factory=list)
    rng_state: dict[str, Any] = field(default_factory=dict)
    """``bit_generator.state`` of the league's own generator; see :meth:`rng`."""
    checkpoint: str | None = None
    """Relative path of the RLlib checkpoint directory that matches this state."""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def new(cls, env: str, seed: int) -> LeagueState:
        """An empty league whose generator is ``np.random.default_rng(seed)``."""
        state = cls(env=env)
        state.store_rng(np.random.default_rng(seed))
        return state

    # -- members -------------------------------------------------------------------------------
    def _ids(self, kind: MemberKind) -> list[str]:
        return [m for m, member in self.members.items() if member.kind == kind]

    def learners(self) -> list[str]:
        """Learner ids in creation order."""
        return self._ids("learner")

    def snapshots(self) -> list[str]:
        """Snapshot ids in creation order."""
        return self._ids("snapshot")

    def bots(self) -> list[str]:
        """Bot ids in creation order."""
        return self._ids("bot")

    def externals(self) -> list[str]:
        """External member ids (trained outside the league) in creation order."""
        return self._ids("external")

    def add_member(self, member: Member) -> None:
        """Add ``member``; ValueError if its id is taken."""
        if member.member_id in self.members:
            raise ValueError(f"member {member.member_id!r} is already in the league")
        self.members[member.member_id] = member

    def take_snapshot(self, learner: str, iteration: int) -> Member:
        """Add and return a frozen copy ``"<learner>@it<iteration>"`` of ``learner``'s hyperparams."""
        if learner not in self.members or self.members[learner].kind != "learner":
            raise ValueError(f"{learner!r} is not a learner of this league")
        snap = Member(f"{learner}@it{iteration}", "snapshot",
                      dict(self.members[learner].hyperparams), learner, iteration)
        self.add_member(snap)
        return snap

    # -- results -------------------------------------------------------------------------------
    def record(self, match: MatchRecord) -> None:
        """Append ``match``; ValueError if a seat is not a member."""
        unknown = [s for s in match.seats if s not in self.members]
        if unknown:
            raise ValueError(f"match seats unknown members {unknown}")
        self.matches.append(match)

    def _selected(self, sources: Iterable[str]) -> list[MatchRecord]:
        wanted = set(sources)
        if not wanted <= set(get_args(Source)):
            raise ValueError(f"sources must be among {get_args(Source)}, got {sorted(wanted)}")
        return [m for m in self.matches if m.source in wanted]

    def rating_table(self, sources: Iterable[str] = ("train", "eval")) -> RatingTable:
        """Elo and OpenSkill over the matches of ``sources`` in order (FFA, merged seats)."""
        games = []
        for index, match in enumerate(self._selected(sources)):
            merged = match.merged_ranks()
            if len(merged) < 2:
                continue
            dense = {r: i for i, r in enumerate(sorted(set(merged.values())))}
            games.append(RatedGame(str(index), [[m] for m in merged],
                                   [dense[r] for r in merged.values()]))
        return rate_games(games)

    def head_to_head(self, sources: Iterable[str] = ("train", "eval")
                     ) -> dict[tuple[str, str], WinRecord]:
        """``(a, b) -> WinRecord`` for every ordered pair that met, from the merged ranks."""
        counts: dict[tuple[str, str], list[float]] = {}
        for match in self._selected(sources):
            merged = match.merged_ranks()
            for a, ra in merged.items():
                for b, rb in merged.items():
                    if a != b:
                        c = counts.setdefault((a, b), [0.0, 0])
                        c[0] += 1.0 if ra < rb else 0.5 if ra == rb else 0.0
                        c[1] += 1
        return {k: WinRecord(w, int(g)) for k, (w, g) in counts.items()}

    def win_rate(self, a: str, b: str, sources: Iterable[str] = ("train", "eval")) -> WinRecord:
        """Wins of ``a`` over ``b`` (ties half) and the matches they played together."""
        for m in (a, b):
            if m not in self.members:
                raise ValueError(f"unknown member {m!r}")
        if a == b:
            raise ValueError(f"win_rate needs two different members, got {a!r} twice")
        return self.head_to_head(sources).get((a, b), WinRecord(0.0, 0))

    # -- randomness ----------------------------------------------------------------------------
    def rng(self) -> np.random.Generator:
        """A new generator restored from ``rng_state`` (call :meth:`store_rng` after using it)."""
        state = self.rng_state
        name = state.get("bit_generator") if isinstance(state, dict) else None
        if name not in _BIT_GENERATORS:
            raise ValueError(f"rng_state has no known bit_generator (got {name!r}); create the "
                             "league with LeagueState.new(env, seed) or call store_rng")
        bit_generator = getattr(np.random, name)()
        bit_generator.state = state
        return np.random.Generator(bit_generator)

    def store_rng(self, gen: np.random.Generator) -> None:
        """Save ``gen``'s state as the league's generator state."""
        self.rng_state = json.loads(json.dumps(gen.bit_generator.state))

    # -- files ---------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict with ``format`` and ``version``; inverse of :meth:`from_json`."""
        data = asdict(self)
        data["members"] = list(data["members"].values())
        return {"format": LEAGUE_FORMAT, "version": LEAGUE_VERSION, **data}

    @classmethod
    def from_json(cls, data: Any) -> LeagueState:
        """Rebuild a state from :meth:`to_json` output; :class:`LeagueStateError` if malformed."""
        if not isinstance(data, dict):
            raise LeagueStateError(f"expected a JSON object, got {type(data).__name__}")
        if data.get("format") != LEAGUE_FORMAT:
            raise LeagueStateError(f"field 'format' must be {LEAGUE_FORMAT!r}, "
                                   f"got {data.get('format')!r}")
        if data.get("version") != LEAGUE_VERSION:
            raise LeagueStateError(f"field 'version' must be {LEAGUE_VERSION} (the version this "
                                   f"palaestra reads), got {data.get('version')!r}")
        state = cls(env=_get(data, "env", str), iteration=_get(data, "iteration", int),
                    rng_state=_get(data, "rng_state", dict), extra=_get(data, "extra", dict),
                    checkpoint=_get(data, "checkpoint", (str, type(None))))
        for i, item in enumerate(_get(data, "members", list)):
            where = f"members[{i}]"
            member = _build(Member, item, where)
            if member.member_id in state.members:
                raise LeagueStateError(f"{where}.member_id: duplicate {member.member_id!r}")
            state.members[member.member_id] = member
        for i, item in enumerate(_get(data, "matches", list)):
            where = f"matches[{i}]"
            for key, kind in (("iteration", int), ("seed", int), ("seats", (list, tuple))):
                _get(item, key, kind, where)
            for seat in item["seats"]:
                if seat not in state.members:
                    raise LeagueStateError(f"{where}.seats: unknown member {seat!r}")
            state.matches.append(_build(MatchRecord, item, where))
        for i, item in enumerate(_get(data, "pbt_events", list)):
            event = _build(PBTEvent, item, f"pbt_events[{i}]")
            for key in ("target", "donor"):
                if getattr(event, key) not in state.members:
                    raise LeagueStateError(f"pbt_events[{i}].{key}: unknown member "
                                           f"{getattr(event, key)!r}")
            state.pbt_events.append(event)
        try:
            state.rng()
        except (ValueError, TypeError, KeyError) as exc:
            raise LeagueStateError(f"field 'rng_state': {exc}") from None
        return state

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the state atomically: ``<path>.tmp``, fsync, ``os.replace``, fsync the directory.

        If anything fails the old file at ``path`` is left as it was. Returns ``path``.
        """
        target = Path(path)
        try:
            text = json.dumps(self.to_json(), indent=1, allow_nan=False) + "\n"
        except (TypeError, ValueError) as exc:
            raise LeagueStateError(f"league state is not JSON-serialisable: {exc}") from None
        type(self).from_json(json.loads(text))  # never write a file that load() would reject
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> LeagueState:
        """Read a league file; :class:`LeagueStateError` naming the file and the bad field."""
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise LeagueStateError(f"league file not found: {p}") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise LeagueStateError(f"{p}: not a JSON league file ({exc})") from None
        except OSError as exc:
            raise LeagueStateError(f"cannot read league file {p}: {exc}") from None
        try:
            return cls.from_json(data)
        except LeagueStateError as exc:
            raise LeagueStateError(f"{p}: {exc}") from None


def _get(obj: Any, key: str, kind: type | tuple[type, ...], where: str = "") -> Any:
    """``obj[key]`` if it has type ``kind``, else a LeagueStateError naming the field."""
    name = f"{where}.{key}" if where else f"'{key}'"
    if not isinstance(obj, dict):
        raise LeagueStateError(f"{where or 'league'}: expected a JSON object")
    if key not in obj:
        raise LeagueStateError(f"field {name} is missing")
    value = obj[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise LeagueStateError(f"field {name} has the wrong type ({type(value).__name__})")
    return value


def _build(cls: type, item: Any, where: str) -> Any:
    """``cls(**item)``, turning any complaint into a LeagueStateError naming ``where``."""
    if not isinstance(item, dict):
        raise LeagueStateError(f"{where}: expected a JSON object")
    try:
        return cls(**item)
    except (TypeError, ValueError) as exc:
        raise LeagueStateError(f"{where}: {exc}") from None
