"""The RLlib side of the league: the multi-agent PPO algorithm, its modules and their weights.

One RLlib module per league member that plays through RLlib (learners and frozen snapshots; bots
play inside the env). Learners are trained, snapshots are not. The agent id of a seat is its
member id, so the policy mapping is the identity. Ray is imported only here (and lazily).
"""

from __future__ import annotations

from typing import Any

from palaestra.league.population.envs.bomber import ACT_SPACE, OBS_SPACE, BomberLeagueEnv
from palaestra.league.population.config import LeagueConfig
from palaestra.league.population.envs.solo import SoloLeagueEnv, make_solo_env

ENV_NAME = "palaestra_league"


def make_league_env(ctx: Any) -> Any:
    """The league env of an env_config (``env`` names it; Bomber by default)."""
    return SoloLeagueEnv(ctx) if ctx.get("env", "bomber") != "bomber" else BomberLeagueEnv(ctx)


def _identity_mapping(agent_id: Any, episode: Any = None, **kwargs: Any) -> Any:
    return agent_id


def module_spec(config: LeagueConfig) -> Any:
    """The spec of one member's module: an MLP policy and value net (on Bomber's flat planes, on
    Kelly's features), or an LSTM for counting, which has to keep its own step count."""
    from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import (
        DefaultPPOTorchRLModule,
    )
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    if config.solo:
        env = make_solo_env(config.env)
        obs_space, act_space = env.observation_space, env.action_space
    else:
        obs_space, act_space = OBS_SPACE, ACT_SPACE
    recurrent = {"use_lstm": True, "lstm_cell_size": 32, "max_seq_len": 32} \
        if config.env == "counting" else {}
    return RLModuleSpec(module_class=DefaultPPOTorchRLModule,
                        observation_space=obs_space, action_space=act_space,
                        model_config=DefaultModelConfig(fcnet_hiddens=list(config.hidden),
                                                        vf_share_layers=False, **recurrent))


def build_algorithm(config: LeagueConfig, learners: list[str], snapshots: list[str],
                    env_config: dict[str, Any]) -> Any:
    """A PPO algorithm with one module per learner and snapshot; only learners are trained."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.tune.registry import register_env

    register_env(ENV_NAME, make_league_env)
    modules = [*learners, *snapshots]
    spec = module_spec(config)
    ppo = (
        PPOConfig()
        .environment(ENV_NAME, env_config={**env_config, "env": config.env},
                     disable_env_checking=True,
                     # Kelly's policy output is mapped to a bet by KellyFeatures, as elsewhere.
                     normalize_actions=False, clip_actions=config.env == "kelly")
        .env_runners(
            num_env_runners=config.num_env_runners,
            num_envs_per_env_runner=config.num_envs_per_env_runner,
            num_cpus_per_env_runner=config.num_cpus_per_env_runner,
            rollout_fragment_length="auto",
        )
        .learners(num_learners=config.num_learners,
                  num_gpus_per_learner=config.num_gpus_per_learner)
        .multi_agent(
            policies=set(modules),
            policy_mapping_fn=_identity_mapping,
            policies_to_train=list(learners),
        )
        .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs={m: spec for m in modules}))
        .training(
            lr=config.lr,
            entropy_coeff=config.entropy_coeff,
            gamma=config.gamma,
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
        envs = getattr(runner.env, "envs", [])
        for env in envs:
            env.unwrapped.set_league(lineups, bots, shaping)
        return len(envs)

    algo.env_runner_group.foreach_env_runner(install, local_env_runner=True)


def pop_results(algo: Any) -> list[dict[str, Any]]:
    """The match records every env finished since the last call (runner by runner, env by env)."""

    def collect(runner: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for env in getattr(runner.env, "envs", []):
            out.extend(env.unwrapped.pop_results())
        return out

    results = algo.env_runner_group.foreach_env_runner(collect, local_env_runner=True)
    return [r for chunk in results for r in chunk]


def add_snapshot(algo: Any, config: LeagueConfig, snapshot: str, parent: str,
                 learners: list[str]) -> None:
    """Add a frozen module ``snapshot`` holding ``parent``'s current weights."""
    weights = algo.learner_group.get_weights(module_ids=[parent])[parent]
    algo.add_module(
        module_id=snapshot,
        module_spec=module_spec(config),
        new_agent_to_module_mapping_fn=_identity_mapping,
        new_should_module_be_updated=list(learners),
    )
    algo.learner_group.set_weights({snapshot: weights})
    sync_weights(algo)


def retire_snapshot(algo: Any, snapshot: str, learners: list[str], archive: Any) -> None:
    """Save ``snapshot``'s module under ``archive`` (a new directory), then drop it from the
    algorithm: it is no longer synced to the env runners nor written into checkpoints."""
    from pathlib import Path

    path = Path(archive)
    if not path.exists():  # a resumed run may retire it again: the archive is already there
        tmp = path.with_name(path.name + ".tmp")
        algo.get_module(snapshot).save_to_path(str(tmp.resolve()))
        tmp.replace(path)
    algo.remove_module(snapshot, new_agent_to_module_mapping_fn=_identity_mapping,
                       new_should_module_be_updated=list(learners))


def copy_weights(algo: Any, donor: str, target: str) -> None:
    """PBT exploit: ``target``'s module takes ``donor``'s weights."""
    weights = algo.learner_group.get_weights(module_ids=[donor])[donor]
    algo.learner_group.set_weights({target: weights})
    sync_weights(algo)


def sync_weights(algo: Any) -> None:
    algo.env_runner_group.sync_weights(from_worker_or_learner_group=algo.learner_group,
                                       inference_only=True)


def apply_hyperparams(algo: Any, hyperparams: dict[str, dict[str, float]]) -> None:
    """Set every learner module's learning rate and entropy bonus (PBT explore, and resume)."""

    def apply(learner: Any) -> None:
        for module_id, h in hyperparams.items():
            for _, optimizer in learner.get_optimizers_for_module(module_id):
                learner._set_optimizer_lr(optimizer, float(h["lr"]))
                schedule = learner._optimizer_lr_schedules.get(optimizer)
                if schedule is not None and not schedule.use_schedule:
                    schedule._curr_value = float(h["lr"])
            entropy = learner.entropy_coeff_schedulers_per_module.get(module_id)
            if entropy is not None and not entropy.use_schedule:
                entropy._curr_value = float(h["entropy_coeff"])

    algo.learner_group.foreach_learner(apply)
