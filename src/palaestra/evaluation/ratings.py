"""Ratings for tournament results: Elo and OpenSkill (Plackett-Luce), a replay and a leaderboard.

Every result is a ranking of teams: ``ranks[i]`` is the place of ``teams[i]``, a lower rank is
better and equal ranks are a draw between those teams. A free-for-all is a game of teams of one.

* :class:`Elo` is classic Elo extended to many players by pairwise decomposition (see
  :meth:`Elo.update_teams` for the exact convention).
* :class:`OpenSkillRater` wraps the ``openskill`` package's Plackett-Luce model.
* :func:`rate_games` replays a sequence of :class:`RatedGame` through both and returns a
  :class:`RatingTable`: per-player ratings and win/draw/loss counts, the rating history and the
  pairwise "who beat whom" counts; :func:`leaderboard_rows` and :func:`print_leaderboard` turn it
  into a sorted table.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from palaestra.errors import ConfigError

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "Elo",
    "EloConfig",
    "OpenSkillRater",
    "PlayerStats",
    "RatedGame",
    "RatingTable",
    "SORT_KEYS",
    "leaderboard_rows",
    "print_leaderboard",
    "rate_games",
]


def _validate_ranking(teams: Sequence[Sequence[str]], ranks: Sequence[int]) -> None:
    """Raise ConfigError unless ``teams``/``ranks`` describe one game between 2+ disjoint teams."""
    if isinstance(teams, (str, bytes)):
        raise ConfigError("teams must be a sequence of sequences of player names")
    if len(teams) < 2:
        raise ConfigError(f"a game needs at least 2 teams, got {len(teams)}")
    if len(ranks) != len(teams):
        raise ConfigError(f"got {len(ranks)} ranks for {len(teams)} teams")
    seen: set[str] = set()
    for team in teams:
        if isinstance(team, (str, bytes)):
            raise ConfigError(f"a team must be a sequence of player names, got the string {team!r}")
        if len(team) == 0:
            raise ConfigError("a team must have at least one player")
        for player in team:
            if not isinstance(player, str):
                raise ConfigError(f"player names must be strings, got {player!r}")
            if player in seen:
                raise ConfigError(f"player {player!r} appears more than once in one game")
            seen.add(player)
    for rank in ranks:
        if isinstance(rank, bool) or not isinstance(rank, numbers.Integral):
            raise ConfigError(f"ranks must be integers, got {rank!r}")


def _score(rank_a: int, rank_b: int) -> float:
    """Score of a against b: 1 for a better (lower) rank, 0.5 for equal ranks, 0 otherwise."""
    if rank_a < rank_b:
        return 1.0
    if rank_a == rank_b:
        return 0.5
    return 0.0


# --------------------------------------------------------------------------------------------- Elo


@dataclass(frozen=True)
class EloConfig:
    """Parameters of :class:`Elo`."""

    initial: float = 1500.0
    """Rating of a player before its first game."""
    k: float = 32.0
    """Largest possible change in a two-player game."""
    scale: float = 400.0
    """A rating gap of ``scale`` means odds of 10 to 1."""

    def __post_init__(self) -> None:
        if not math.isfinite(self.initial):
            raise ConfigError(f"initial must be finite, got {self.initial}")
        if not (math.isfinite(self.k) and self.k > 0):
            raise ConfigError(f"k must be positive and finite, got {self.k}")
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise ConfigError(f"scale must be positive and finite, got {self.scale}")


class Elo:
    """Elo ratings for two-player, free-for-all and team games.

    Players are added at ``config.initial`` on their first game. ``ratings`` is the live dict of
    every rated player's current rating.
    """

    def __init__(self, config: EloConfig = EloConfig(),
                 ratings: Mapping[str, float] | None = None) -> None:
        self.config = config
        self.ratings: dict[str, float] = dict(ratings or {})

    def rating(self, name: str) -> float:
        """Current rating of ``name``; ``config.initial`` for a player not yet rated."""
        return self.ratings.get(name, self.config.initial)

    def expected(self, a: float, b: float) -> float:
        """Expected score of a player rated ``a`` against one rated ``b`` (win 1, draw 0.5)."""
        return 1.0 / (1.0 + 10.0 ** ((b - a) / self.config.scale))

    def update(self, ranks: Mapping[str, int]) -> dict[str, float]:
        """Rate one game among 2+ players; ``ranks[name]`` is the player's place, lower is better.

        Equal ranks are a draw. Same convention as :meth:`update_teams` with teams of one: with
        ``n`` players each player's change is ``k / (n - 1)`` times the sum over its ``n - 1``
        opponents of ``score - expected`` (score 1 / 0.5 / 0), all from the pre-game ratings, so
        the result does not depend on the order of ``ranks``; two players get standard Elo.

        Returns each player's rating change; ``ratings`` is updated.
        """
        players = sorted(ranks)  # canonical order: bit-identical results for any dict order
        return self.update_teams([[p] for p in players], [ranks[p] for p in players])

    def update_teams(self, teams: Sequence[Sequence[str]], ranks: Sequence[int]) -> dict[str, float]:
        """Rate one game between 2+ teams; ``ranks[i]`` is the place of ``teams[i]``, lower better.

        Each team is rated as one player with the mean rating of its members. With ``n`` teams,
        every pair of teams counts as a game scored 1 / 0.5 / 0 (better rank / equal / worse), and
        team ``i`` changes by ``k / (n - 1) * sum_j (score_ij - expected(R_i, R_j))``, all from
        the pre-game ratings. The ``k / (n - 1)`` factor keeps the largest change at ``k``
        whatever the number of teams, and the team changes sum to zero. Every member of a team
        gets the team's change.

        Returns each player's rating change; ``ratings`` is updated.
        """
        _validate_ranking(teams, ranks)
        means = [sum(self.rating(p) for p in team) / len(team) for team in teams]
        n = len(teams)
        factor = self.config.k / (n - 1)
        deltas: dict[str, float] = {}
        for i, team in enumerate(teams):
            total = 0.0
            for j in range(n):
                if j != i:
                    total += _score(ranks[i], ranks[j]) - self.expected(means[i], means[j])
            for p in team:
                deltas[p] = factor * total
        for p, d in deltas.items():
            self.ratings[p] = self.rating(p) + d
        return deltas


# ---------------------------------------------------------------------------------------- OpenSkill


class OpenSkillRater:
    """OpenSkill ratings with the ``openskill`` package's Plackett-Luce model.

    Each player is a Gaussian belief ``(mu, sigma)`` about its skill, ``(mu0, sigma0)`` before its
    first game. The update is deterministic: the same games in the same order give the same numbers.
    Keyword arguments go to :class:`openskill.models.PlackettLuce` (defaults: ``mu=25``,
    ``sigma=25/3``, ``beta=25/6``, ``tau=25/300``).
    """

    def __init__(self, **model_options: Any) -> None:
        from openskill.models import PlackettLuce

        self.model = PlackettLuce(**model_options)
        self._ratings: dict[str, tuple[float, float]] = {}

    @property
    def initial_mu(self) -> float:
        """``mu`` of an unrated player."""
        return float(self.model.mu)

    @property
    def initial_sigma(self) -> float:
        """``sigma`` of an unrated player."""
        return float(self.model.sigma)

    @property
    def ratings(self) -> dict[str, tuple[float, float]]:
        """A copy of ``{player: (mu, sigma)}`` for every rated player."""
        return dict(self._ratings)

    def mu(self, name: str) -> float:
        """Mean of the skill belief about ``name``."""
        return self._ratings.get(name, (self.initial_mu, self.initial_sigma))[0]

    def sigma(self, name: str) -> float:
        """Standard deviation of the skill belief about ``name``."""
        return self._ratings.get(name, (self.initial_mu, self.initial_sigma))[1]

    def ordinal(self, name: str) -> float:
        """Conservative skill estimate ``mu - 3 sigma`` (0 for an unrated player by default)."""
        return self.mu(name) - 3.0 * self.sigma(name)

    def _objects(self, teams: Sequence[Sequence[str]]) -> list[list[Any]]:
        return [[self.model.rating(mu=self.mu(p), sigma=self.sigma(p), name=p) for p in team]
                for team in teams]

    def update(self, teams: Sequence[Sequence[str]],
               ranks: Sequence[int]) -> dict[str, tuple[float, float]]:
        """Rate one game; ``ranks[i]`` is the place of ``teams[i]`` (lower better, equal = draw).

        A free-for-all is teams of one. Returns the new ``(mu, sigma)`` of every player in the game.
        """
        _validate_ranking(teams, ranks)
        rated = self.model.rate(self._objects(teams), ranks=[int(r) for r in ranks])
        new: dict[str, tuple[float, float]] = {}
        for team, team_rated in zip(teams, rated):
            for p, r in zip(team, team_rated):
                new[p] = (float(r.mu), float(r.sigma))
        self._ratings.update(new)
        return new

    def predict_win(self, teams: Sequence[Sequence[str]]) -> list[float]:
        """Probability that each team wins a game between ``teams`` (sums to 1)."""
        _validate_ranking(teams, [0] * len(teams))
        return [float(p) for p in self.model.predict_win(self._objects(teams))]


# ------------------------------------------------------------------------------------ replaying games


@dataclass(frozen=True)
class RatedGame:
    """One game's result: ``ranks[i]`` is the place of ``teams[i]`` (0 best, equal = draw)."""

    game_id: str
    teams: list[list[str]]
    ranks: list[int]

    def __post_init__(self) -> None:
        _validate_ranking(self.teams, self.ranks)
        # private copies, so later changes to the caller's lists cannot alter a recorded game
        object.__setattr__(self, "teams", [list(t) for t in self.teams])
        object.__setattr__(self, "ranks", [int(r) for r in self.ranks])


@dataclass
class PlayerStats:
    """A player's ratings and record after a replay."""

    name: str
    elo: float
    mu: float
    sigma: float
    games: int = 0
    wins: int = 0
    """Games where the player's team had the best rank (0) and not every team shared it."""
    draws: int = 0
    """Games where every team had the same rank."""
    losses: int = 0
    """Games where the player's team ranked below another team."""

    @property
    def ordinal(self) -> float:
        """``mu - 3 sigma``."""
        return self.mu - 3.0 * self.sigma

    @property
    def win_rate(self) -> float:
        """``wins / games`` (0 before any game)."""
        return self.wins / self.games if self.games else 0.0


@dataclass
class RatingTable:
    """Ratings and records from :func:`rate_games`."""

    players: dict[str, PlayerStats] = field(default_factory=dict)
    """Every player that played, in order of first appearance."""
    history: list[tuple[int, str, float, float]] = field(default_factory=list)
    """``(game_index, player, elo, ordinal)`` for each player of each game, after that game;
    ``game_index`` counts games from 0 in replay order."""
    n_games: int = 0
    initial_elo: float = EloConfig.initial
    initial_ordinal: float = 0.0
    beats: dict[tuple[str, str], int] = field(default_factory=dict)
    """``(a, b) -> `` number of games in which a's team ranked strictly better than b's."""
    meetings: dict[tuple[str, str], int] = field(default_factory=dict)
    """``(a, b) -> `` number of games a and b played on different teams (symmetric)."""

    def _names(self, players: Sequence[str] | None) -> list[str]:
        return list(self.players) if players is None else list(players)

    def win_matrix(self, players: Sequence[str] | None = None) -> list[list[int]]:
        """``m[i][j]`` = games in which ``players[i]`` ranked better than ``players[j]``.

        Pairwise from the ranks: in a game of several teams every member of a better-ranked team
        beats every member of a worse-ranked one; teammates never meet. ``players`` defaults to
        every player in order of first appearance.
        """
        names = self._names(players)
        return [[self.beats.get((a, b), 0) for b in names] for a in names]

    def meeting_matrix(self, players: Sequence[str] | None = None) -> list[list[int]]:
        """``m[i][j]`` = games ``players[i]`` and ``players[j]`` played as opponents (draws too)."""
        names = self._names(players)
        return [[self.meetings.get((a, b), 0) for b in names] for a in names]


def rate_games(games: Iterable[RatedGame], elo_config: EloConfig = EloConfig()) -> RatingTable:
    """Replay ``games`` in order through :class:`Elo` and :class:`OpenSkillRater`.

    Elo rates every game with :meth:`Elo.update_teams` (a free-for-all is teams of one), OpenSkill
    with its default Plackett-Luce model. The result is a pure function of the games and their
    order.
    """
    elo = Elo(elo_config)
    skill = OpenSkillRater()
    table = RatingTable(initial_elo=elo_config.initial,
                        initial_ordinal=skill.initial_mu - 3.0 * skill.initial_sigma)
    for index, game in enumerate(games):
        teams, ranks = game.teams, game.ranks
        elo.update_teams(teams, ranks)
        skill.update(teams, ranks)
        everyone_tied = len(set(ranks)) == 1
        for team, rank in zip(teams, ranks):
            for p in team:
                stats = table.players.setdefault(
                    p, PlayerStats(p, elo_config.initial, skill.initial_mu, skill.initial_sigma))
                stats.elo, stats.mu, stats.sigma = elo.rating(p), skill.mu(p), skill.sigma(p)
                stats.games += 1
                if everyone_tied:
                    stats.draws += 1
                elif rank == min(ranks):
                    stats.wins += 1
                else:
                    stats.losses += 1
                table.history.append((index, p, stats.elo, stats.ordinal))
        for i, (team_i, rank_i) in enumerate(zip(teams, ranks)):
            for j, (team_j, rank_j) in enumerate(zip(teams, ranks)):
                if i == j:
                    continue
                for a in team_i:
                    for b in team_j:
                        table.meetings[a, b] = table.meetings.get((a, b), 0) + 1
                        if rank_i < rank_j:
                            table.beats[a, b] = table.beats.get((a, b), 0) + 1
        table.n_games = index + 1
    return table


# ------------------------------------------------------------------------------------- leaderboard

SORT_KEYS = ("ordinal", "elo", "mu", "win_rate")
"""Columns :func:`leaderboard_rows` can sort by (descending)."""


def leaderboard_rows(table: RatingTable, sort: str = "ordinal") -> list[dict[str, Any]]:
    """One JSON-ready dict per player, best first by ``sort`` (ties by name); ``rank`` from 1."""
    if sort not in SORT_KEYS:
        raise ConfigError(f"sort must be one of {SORT_KEYS}, got {sort!r}")
    ordered = sorted(table.players.values(), key=lambda s: (-getattr(s, sort), s.name))
    return [
        {"rank": i, "player": s.name, "ordinal": s.ordinal, "mu": s.mu, "sigma": s.sigma,
         "elo": s.elo, "games": s.games, "wins": s.wins, "draws": s.draws, "losses": s.losses,
         "win_rate": s.win_rate}
        for i, s in enumerate(ordered, start=1)
    ]


def print_leaderboard(table: RatingTable, console: Console | None = None, sort: str = "ordinal",
                      title: str | None = None) -> None:
    """Print the leaderboard as a rich table (a new console on stdout if none is given)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = console or Console()
    rows = leaderboard_rows(table, sort)
    if not rows:
        console.print("no rated games yet")
        return
    out = Table(title=title or f"Leaderboard ({table.n_games} games, sorted by {sort})")
    out.add_column("#", justify="right")
    out.add_column("player", style="bold")
    out.add_column("ordinal", justify="right")
    out.add_column("mu ± sigma", justify="right")
    out.add_column("Elo", justify="right")
    out.add_column("games", justify="right")
    out.add_column("W/D/L", justify="right")
    out.add_column("win rate", justify="right")
    for r in rows:
        out.add_row(str(r["rank"]), Text(r["player"]), f"{r['ordinal']:.2f}",
                    f"{r['mu']:.2f} ± {r['sigma']:.2f}", f"{r['elo']:.0f}", str(r["games"]),
                    f"{r['wins']}/{r['draws']}/{r['losses']}", f"{100 * r['win_rate']:.1f}%")
    console.print(out)
