"""The configuration of a league run (``palaestra league train``)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from palaestra.envs import get_spec
from palaestra.envs.bomber.constants import MODES as BOMBER_MODES
from palaestra.envs.bomber.filter_names import DEFAULT_FILTER, LEGACY_FILTER, FilterName, check_filter
from palaestra.errors import ConfigError, FileFormatError
from palaestra.league.population.curriculum import CurriculumConfig
from palaestra.league.population.imitation_config import ImitationConfig
from palaestra.league.population.matchmaking import MatchmakingConfig
from palaestra.league.population.pbt import PBTConfig

LEAGUE_ENVS: tuple[str, ...] = tuple(get_spec(name).short_name
                                     for name in ("bomber", "kelly", "counting", "hide-and-seek"))
"""Envs the league trains on: Bomber (rated games with opponents), hide-and-seek (a hider and a
seeker population, rated against each other) and two single-agent envs (each learner plays
alone; PBT ranks learners by mean return)."""
LEAGUE_CORES: tuple[str, ...] = ("lstm", "nau")
"""Recurrent cores of a counting league's policy (:attr:`LeagueConfig.core`)."""


@dataclass(frozen=True)
class LeagueConfig:
    """Everything a league run needs; saved as ``league_config.json`` next to the league state."""

    env: str = "bomber"
    """Env short name (see :data:`LEAGUE_ENVS`)."""
    mode: Literal["ffa", "team", "team_radio"] = "ffa"
    """Bomber: ``ffa`` (one learner seat against three opponents), ``team`` (2v2: a learner plays
    both seats of its team against one opponent team) or ``team_radio`` (the same, each seat also
    sending its mate two words a step; CNN only); the team modes need the boards sampler."""
    population: int = 4
    """Number of learners trained side by side (``m0``, ``m1``, ...); hide-and-seek: per side
    (hiders ``h0``, ``h1``, ..., seekers ``s0``, ``s1``, ...)."""
    variant: str = "quadrant"
    """Hide-and-seek: the game, a name of :data:`~palaestra.envs.hide_and_seek.config.VARIANTS`
    (``quadrant``: 10 cells, 2v2, 60 steps; ``full``: 16 cells, 120 steps)."""
    iterations: int = 100
    """Training iterations (RLlib ``train()`` calls) in all; ``--resume`` continues up to this."""
    steps_per_iteration: int = 4000
    """Env steps sampled per iteration (all learners together)."""
    minibatch_size: int = 500
    epochs: int = 4
    """PPO epochs over each iteration's batch."""
    lr: float = 3e-4
    """Initial learning rate of every learner (PBT perturbs it)."""
    entropy_coeff: float = 0.01
    """Initial entropy bonus of every learner (PBT perturbs it)."""
    shaping: dict[str, float] = field(
        default_factory=lambda: {"shape_pickup": 0.1, "shape_enemy_death": 0.2})
    """Initial reward-shaping weights of every learner (PBT perturbs them)."""
    hidden: tuple[int, ...] = (256, 256)
    """Hidden layers of the MLP policy and value networks (``model="mlp"``, and Kelly/counting)."""
    core: Literal["lstm", "nau"] = "lstm"
    """Counting: the policy's recurrent core. ``lstm`` is RLlib's LSTM in front of MLP policy and
    value nets; ``nau`` is the NAU accumulator of the REINFORCE trainer, a
    :class:`~palaestra.agents.learned.nalu.CountingPolicy` of kind ``nau``
    (league/rllib/nau_module.py), trained with its sparsity regulariser on a schedule over the
    run's planned env steps and its weights clamped to [-1, 1] after every optimiser step. Only
    ``lstm`` for the other envs (where it changes nothing)."""
    model: Literal["cnn", "mlp"] = "cnn"
    """Bomber: the CNN over the planes (league/rllib/cnn.py), or an MLP over the flat planes."""
    action_mask: bool = True
    """Bomber: mask the logits of the moves the action filter forbids."""
    action_filter: FilterName = DEFAULT_FILTER
    """Bomber: the filter of that mask (envs/bomber/filters.py): ``sure-death`` (illegal and
    certainly deadly moves) or ``cautious`` (also moves one near opponent's next act could make
    deadly); leagues saved before this field keep ``sure-death``."""
    sampler: Literal["boards", "env"] = "boards"
    """Bomber: ``boards`` samples many boards per step in one env runner (BomberVectorEnvRunner:
    compiled bots, batched inference); ``env`` is RLlib's own runner over one board per env (the
    path before issue 17, MLP without the mask only)."""
    num_boards: int = 32
    """Boards per env runner with ``sampler="boards"``."""
    gamma: float = 0.99
    gae_lambda: float = 0.95
    """GAE's lambda. RLlib's own default, 1.0 (Monte Carlo returns), gives advantages of high
    variance over Bomber's games of hundreds of steps; leagues saved before this field keep it."""
    bots: tuple[str, ...] = ("random", "static", "simple")
    """Scripted bots in the league (opponents only)."""
    snapshot_every: int = 10
    """Iterations between frozen snapshots of every learner (0: none)."""
    max_snapshots: int = 8
    """Oldest snapshots beyond this many per learner stop being drawn as opponents."""
    eval_every: int = 10
    """Iterations between evaluation rounds against three SimpleAgents (0: none). Bomber FFA
    leagues only (:attr:`evaluates`): the other leagues have none and ignore it."""
    eval_games: int = 8
    """Games per learner per evaluation round against three SimpleAgents."""
    pbt: PBTConfig = field(default_factory=PBTConfig)
    matchmaking: MatchmakingConfig = field(default_factory=MatchmakingConfig)
    curriculum: CurriculumConfig = field(default_factory=CurriculumConfig)
    """Bomber: the bots each learner must beat, stage by stage, before PFSP draws its opponents."""
    imitation: ImitationConfig = field(default_factory=ImitationConfig)
    """Bomber FFA: the warm start before the first iteration, every learner fitted to a scripted
    teacher's moves (league/population/imitation.py); off unless a teacher is named."""
    seed: int = 0
    num_cpus: int = 2
    """CPUs of the local Ray started when there is no ``address``."""
    address: str | None = None
    """Address of an existing Ray cluster (``ray://...`` or ``host:port``); None: local Ray."""
    num_env_runners: int = 0
    """Remote env runners (0: sample in the driver process)."""
    num_cpus_per_env_runner: float = 1.0
    num_envs_per_env_runner: int = 1
    num_learners: int = 0
    """Remote learner workers (0: learn in the driver process)."""
    num_gpus_per_learner: float = 0.0
    """GPUs per learner (set with ``num_learners >= 1`` on a GPU cluster)."""
    keep_checkpoints: int = 2
    """Checkpoints kept on disk (the newest ones)."""
    max_restarts: int = 3
    """Times a failed iteration (a lost node, a dead worker) is retried from the last checkpoint."""
    reward_model: str | None = None
    """Bomber: a reward model directory (``palaestra.league.prefs``) whose per-agent reward
    replaces Bomber's own for every learner (shaping still adds on top). Ratings and evaluations
    still count true match outcomes."""

    def __post_init__(self) -> None:
        if self.env not in LEAGUE_ENVS:
            raise ConfigError(f"the league trains on {LEAGUE_ENVS}, not {self.env!r}")
        positive = ("population", "iterations", "steps_per_iteration", "minibatch_size", "epochs",
                    "num_cpus", "num_envs_per_env_runner", "keep_checkpoints", "eval_games",
                    "max_snapshots", "num_boards")
        for name in positive:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if self.hide_and_seek:
            from palaestra.envs.hide_and_seek.config import variant_config

            variant_config(self.variant)
        for name in ("snapshot_every", "eval_every", "num_env_runners", "num_learners",
                     "max_restarts"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{name} must be an integer >= 0, got {value!r}")
        if self.minibatch_size > self.steps_per_iteration:
            raise ConfigError("minibatch_size must not exceed steps_per_iteration")
        if not self.lr > 0 or self.entropy_coeff < 0 or not 0 < self.gamma <= 1:
            raise ConfigError("need lr > 0, entropy_coeff >= 0 and 0 < gamma <= 1")
        if not 0 <= self.gae_lambda <= 1:
            raise ConfigError(f"gae_lambda must be in [0, 1], got {self.gae_lambda}")
        unknown = set(self.shaping) - {"shape_pickup", "shape_enemy_death"}
        if unknown:
            raise ConfigError(f"unknown shaping weights {sorted(unknown)}; known: shape_pickup, "
                              "shape_enemy_death")
        negative = sorted(k for k, v in self.shaping.items() if not v >= 0)
        if negative:
            listed = ", ".join(f"{k}={self.shaping[k]}" for k in negative)
            raise ConfigError(f"shaping weights must be >= 0, got {listed}")
        if not self.hidden or any(h < 1 for h in self.hidden):
            raise ConfigError(f"hidden must list positive layer sizes, got {self.hidden!r}")
        from palaestra.agents.scripted.bomber import SCRIPTED_BOMBER_AGENTS

        bad = [b for b in self.bots if b not in SCRIPTED_BOMBER_AGENTS]
        if bad:
            raise ConfigError(f"unknown bots {bad}; known: {', '.join(SCRIPTED_BOMBER_AGENTS)}")
        if self.model not in ("cnn", "mlp") or self.sampler not in ("boards", "env"):
            raise ConfigError(f"model must be cnn or mlp and sampler boards or env, got "
                              f"{self.model!r} and {self.sampler!r}")
        if self.bomber and self.sampler == "env" and (self.model != "mlp" or self.action_mask):
            raise ConfigError("sampler 'env' (one board per env) takes model 'mlp' without the "
                              "action mask; use sampler 'boards' for the CNN and the mask")
        if self.bomber and self.mode != "ffa" and self.reward_model is not None:
            raise ConfigError(f"a reward model pays FFA leagues only, not mode {self.mode!r}")
        if self.core not in LEAGUE_CORES:
            raise ConfigError(f"core must be one of {', '.join(LEAGUE_CORES)}, got {self.core!r}")
        if self.core == "nau" and get_spec(self.env).family != "counting":
            raise ConfigError(f"core 'nau' (the NAU counting accumulator) is for --env counting, "
                              f"not {self.env!r}; the {self.env} league has its own policy")
        check_filter(self.action_filter)
        if self.mode not in BOMBER_MODES:
            raise ConfigError(f"mode must be one of {', '.join(BOMBER_MODES)}, got {self.mode!r}")
        if self.mode != "ffa" and (not self.bomber or self.sampler != "boards"):
            raise ConfigError(f"mode {self.mode!r} is a Bomber mode of the boards sampler (sampler 'boards')")
        if self.mode == "team_radio" and self.model != "cnn":
            raise ConfigError("mode 'team_radio' needs model 'cnn' (the word heads are the CNN's)")
        missing = [b for b in self.curriculum.stages if b not in self.bots]
        if missing and self.bomber:
            raise ConfigError(f"curriculum stages {missing} are not among the league's bots {list(self.bots)}")
        if self.imitation.teacher is not None and not self.bomber:
            raise ConfigError("the imitation warm start is for Bomber leagues")
        if self.num_gpus_per_learner and self.num_learners < 1:
            raise ConfigError("num_gpus_per_learner needs num_learners >= 1")
        if self.reward_model is not None:
            if not self.bomber:
                raise ConfigError("reward_model applies to Bomber leagues")
            from palaestra.league.prefs.model_config import require_model_dir

            require_model_dir(self.reward_model)

    @property
    def solo(self) -> bool:
        """A single-agent env: no opponents, snapshots or ratings; fitness is the mean return."""
        return get_spec(self.env).seats[1] == 1

    @property
    def evaluates(self) -> bool:
        """Whether the run plays evaluation rounds: every ``eval_every`` iterations, in a Bomber
        FFA league (the rounds are FFA games against SimpleAgents)."""
        return bool(self.eval_every) and self.bomber and self.mode == "ffa"

    @property
    def bomber(self) -> bool:
        """A Bomber league (bots, curriculum, shaping, the action filter and samplers apply)."""
        return get_spec(self.env).family == "bomber"

    @property
    def hide_and_seek(self) -> bool:
        """A hide-and-seek league: hider and seeker populations (:mod:`.sides`)."""
        return get_spec(self.env).family == "hide_and_seek"

    def learner_ids(self) -> list[str]:
        if self.hide_and_seek:
            from palaestra.league.population.sides import side_learner_ids

            return side_learner_ids(self.population)
        return [f"m{i}" for i in range(self.population)]

    def planned_member_ids(self) -> list[str]:
        """Every learner and snapshot id the run can create, up to ``iterations``."""
        ids = self.learner_ids()
        if self.snapshot_every and not self.solo:
            for it in range(self.snapshot_every, self.iterations + 1, self.snapshot_every):
                ids.extend(f"{m}@it{it}" for m in self.learner_ids())
        return ids

    def initial_hyperparams(self) -> dict[str, float]:
        """What every learner starts with."""
        shaping = self.shaping if self.bomber else {}
        return {"lr": self.lr, "entropy_coeff": self.entropy_coeff, **shaping}

    def to_json(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LeagueConfig:
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in data.items() if k != "package_version"}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"unknown league config fields {sorted(unknown)}")
        values = dict(data)
        if "pbt" in values:
            pbt = dict(values["pbt"])
            pbt["perturb_factors"] = tuple(pbt.get("perturb_factors", (0.8, 1.25)))
            if "bounds" in pbt:
                pbt["bounds"] = {k: tuple(v) for k, v in pbt["bounds"].items()}
            values["pbt"] = PBTConfig(**pbt)
        if "matchmaking" in values:
            values["matchmaking"] = MatchmakingConfig(**values["matchmaking"])
        # a config saved before the curriculum existed resumes as it ran: PFSP from the start;
        # one saved before the CNN, the mask and the boards sampler: the MLP on one board per env
        curriculum = values.get("curriculum", {"stages": (), "thresholds": ()})
        values["curriculum"] = CurriculumConfig(**curriculum)
        values["imitation"] = ImitationConfig(**values.get("imitation", {}))
        for name, old in (("model", "mlp"), ("action_mask", False), ("sampler", "env"),
                          ("gae_lambda", 1.0), ("action_filter", LEGACY_FILTER)):
            values.setdefault(name, old)
        for name in ("hidden", "bots"):
            if name in values:
                values[name] = tuple(values[name])
        return cls(**values)

    def save(self, path: Path) -> None:
        """Write the resolved config, with the package version, atomically."""
        import palaestra

        tmp = path.with_name(path.name + ".tmp")
        data = {**self.to_json(), "package_version": palaestra.__version__}
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> LeagueConfig:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise FileFormatError(f"{path}: cannot read the league config ({exc})") from exc
        return cls.from_json(data)
