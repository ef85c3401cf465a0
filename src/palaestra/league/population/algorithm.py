"""The league's multi-agent PPO algorithm in RLlib: one module per member that plays through RLlib.

Learners are trained, frozen snapshots are not; bots play inside the env. The agent id of a seat
is its member id, so the policy mapping is the identity. Module specs and weight moves are the
shared adapters of :mod:`palaestra.league.rllib`; Ray is imported lazily.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from palaestra.league.population.config import LeagueConfig
from palaestra.league.population.envs.bomber import ACT_SPACE, OBS_SPACE, BomberLeagueEnv
from palaestra.league.population.envs.solo import SoloLeagueEnv, make_solo_env
from palaestra.league.rllib.modules import identity_mapping
from palaestra.league.rllib.modules import module_spec as rllib_module_spec
from palaestra.league.rllib.weights import module_weights, save_module_once, sync_weights

ENV_NAME = "palaestra_league"


def make_league_env(ctx: Any) -> Any:
    """The league env of an env_config (``env`` names it; Bomber by default)."""
    env = ctx.get("env", "bomber")
    if env == "bomber":
        return BomberLeagueEnv(ctx)
    if env == "hide-and-seek":
        from palaestra.league.population.envs.hide_and_seek import HideAndSeekLeagueEnv

        return HideAndSeekLeagueEnv(ctx)
    return SoloLeagueEnv(ctx)


def module_spec(config: LeagueConfig) -> Any:
    """The spec of one member's module: for Bomber the CNN over the planes (behind the action mask
    unless it is off; in team_radio with the two word heads) or an MLP on the flat planes; an MLP
    on Kelly's features; for counting, which has to keep its own step count, an LSTM or (core
    ``nau``) the NAU accumulator of :mod:`palaestra.league.rllib.nau_module`; for hide-and-seek
    the entity module (pooled embeddings of the entities it sees)."""
    if config.hide_and_seek:
        from palaestra.envs.hide_and_seek.config import variant_config
        from palaestra.envs.hide_and_seek.env import action_space
        from palaestra.envs.hide_and_seek.observe import observation_space
        from palaestra.league.rllib.entity import EntityConfig, entity_module_spec

        return entity_module_spec(observation_space(variant_config(config.variant)), action_space(),
                                  EntityConfig())
    if config.solo:
        env = make_solo_env(config.env)
        if config.core == "nau":
            from palaestra.league.rllib.nau_module import nau_module_spec

            return nau_module_spec(env.observation_space, env.action_space)
        return rllib_module_spec(env.observation_space, env.action_space, config.hidden,
                                 lstm=config.env == "counting")
    if config.model == "cnn":
        from palaestra.league.rllib.cnn import CnnConfig, cnn_module_spec, radio_action_space

        cnn = CnnConfig(mask=config.action_mask)
        act_space = radio_action_space() if config.mode == "team_radio" else ACT_SPACE
        return cnn_module_spec(cnn, obs_space=None if config.action_mask else OBS_SPACE, act_space=act_space)
    return rllib_module_spec(OBS_SPACE, ACT_SPACE, config.hidden)


def learner_options(config: LeagueConfig) -> dict[str, Any]:
    """Extra ``learners()`` settings of the config's core: for ``nau``, the learner class that adds
    the NAU regulariser and clamps the weights (:class:`~palaestra.league.rllib.nau_module.NauPPOTorchLearner`)
    and the env steps the run plans, against which it measures the regulariser's schedule; none
    for the other cores (PPO's own learner)."""
    if config.core != "nau":
        return {}
    from palaestra.league.rllib.nau_module import PLANNED_ENV_STEPS_KEY, NauPPOTorchLearner

    planned = config.iterations * config.steps_per_iteration
    return {"learner_class": NauPPOTorchLearner,
            "learner_config_dict": {PLANNED_ENV_STEPS_KEY: planned}}


def build_algorithm(config: LeagueConfig, learners: list[str], snapshots: list[str],
                    env_config: dict[str, Any]) -> Any:
    """A PPO algorithm with one module per learner and snapshot; only learners are trained."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.tune.registry import register_env

    register_env(ENV_NAME, make_league_env)
    modules = [*learners, *snapshots]
    spec = module_spec(config)
    boards = config.bomber and config.sampler == "boards"
    runner: dict[str, Any] = {}
    if boards:
        from palaestra.league.population.vector_runner import BomberVectorEnvRunner

        runner = {"env_runner_cls": BomberVectorEnvRunner}
        env_config = {**env_config, "num_boards": config.num_boards, "mode": config.mode}
    ppo = (
        PPOConfig()
        .environment(ENV_NAME, env_config={**env_config, "env": config.env},
                     disable_env_checking=True,
                     # Kelly's policy output is mapped to a bet by KellyFeatures, as elsewhere.
                     normalize_actions=False, clip_actions=config.env == "kelly")
        .env_runners(
            num_env_runners=config.num_env_runners,
            num_envs_per_env_runner=1 if boards else config.num_envs_per_env_runner,
            # RLlib annotates an int but takes fractional CPUs, as Ray does
            num_cpus_per_env_runner=config.num_cpus_per_env_runner,  # type: ignore[arg-type]
            rollout_fragment_length="auto",
            **runner,
        )
        .learners(num_learners=config.num_learners,
                  num_gpus_per_learner=config.num_gpus_per_learner, **learner_options(config))
        .multi_agent(
            policies=set(modules),
            policy_mapping_fn=identity_mapping,
            policies_to_train=list(learners),
        )
        .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs={m: spec for m in modules}))
        .training(
            lr=config.lr,
            entropy_coeff=config.entropy_coeff,
            gamma=config.gamma,
            lambda_=config.gae_lambda,
            train_batch_size_per_learner=config.steps_per_iteration,
            minibatch_size=config.minibatch_size,
            num_epochs=config.epochs,
        )
        .fault_tolerance(restart_failed_env_runners=True)
        .debugging(seed=config.seed, log_level="ERROR")
        .reporting(metrics_num_episodes_for_smoothing=20)
    )
    return ppo.build_algo()


def push_league(algo: Any, lineups: dict[str, dict[str, float]], bots: list[str],
                shaping: dict[str, dict[str, float]]) -> None:
    """Install matchmaking, bots and shaping weights in every env of every env runner."""

    def install(runner: Any) -> int:
        if hasattr(runner, "set_league"):  # the boards sampler holds the league itself
            runner.set_league(lineups, bots, shaping)
            return 1
        envs = getattr(runner.env, "envs", [])
        for env in envs:
            env.unwrapped.set_league(lineups, bots, shaping)
        return len(envs)

    algo.env_runner_group.foreach_env_runner(install, local_env_runner=True)


def pop_results(algo: Any) -> list[dict[str, Any]]:
    """The match records every env finished since the last call (runner by runner, env by env)."""

    def collect(runner: Any) -> list[dict[str, Any]]:
        if hasattr(runner, "pop_results"):
            return list(runner.pop_results())
        out: list[dict[str, Any]] = []
        for env in getattr(runner.env, "envs", []):
            out.extend(env.unwrapped.pop_results())
        return out

    results = algo.env_runner_group.foreach_env_runner(collect, local_env_runner=True)
    return [r for chunk in results for r in chunk]


def add_snapshot(algo: Any, config: LeagueConfig, snapshot: str, parent: str,
                 learners: list[str]) -> None:
    """Add a frozen module ``snapshot`` holding ``parent``'s current weights."""
    weights = module_weights(algo, parent)
    algo.add_module(
        module_id=snapshot,
        module_spec=module_spec(config),
        new_agent_to_module_mapping_fn=identity_mapping,
        new_should_module_be_updated=list(learners),
    )
    algo.learner_group.set_weights({snapshot: weights})
    sync_weights(algo)


def retire_snapshot(algo: Any, snapshot: str, learners: list[str], archive: Path) -> None:
    """Save ``snapshot``'s module under ``archive`` (a new directory), then drop it from the
    algorithm: it is no longer synced to the env runners nor written into checkpoints."""
    # a resumed run may retire it again: the archive is already there
    save_module_once(algo, snapshot, Path(archive))
    algo.remove_module(snapshot, new_agent_to_module_mapping_fn=identity_mapping,
                       new_should_module_be_updated=list(learners))
