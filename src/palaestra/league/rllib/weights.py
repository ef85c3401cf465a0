"""Moving module weights inside an RLlib algorithm: learner to learner, learners to env runners,
and a module to disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def sync_weights(algo: Any) -> None:
    """Send the learners' current weights to every env runner (inference parts only)."""
    algo.env_runner_group.sync_weights(from_worker_or_learner_group=algo.learner_group,
                                       inference_only=True)


def push_weights(algo: Any, module_ids: list[str]) -> None:
    """Set the learners' weights of ``module_ids`` on every env runner's module directly.

    After ``restore_from_path``, remote env runners hold the weights of the checkpoint's own
    env-runner state (not the learners' trained ones), and :func:`sync_weights` does not replace
    them: a resumed league's first iteration then sampled from other weights than it trained
    (measured: entropy 0.25 -> 1.02 nats, KL 0.19, in the first resumed iteration). This writes
    the state into each runner's module, bypassing RLlib's weight bookkeeping.
    """
    weights = {m: module_weights(algo, m) for m in module_ids}

    def install(runner: Any) -> int:
        modules = runner.module
        for m, state in weights.items():
            if m in modules:
                own = modules[m].get_state()
                modules[m].set_state({k: v for k, v in state.items() if k in own})
        return len(weights)

    algo.env_runner_group.foreach_env_runner(install, local_env_runner=True)


def module_weights(algo: Any, module_id: str) -> Any:
    """The learner group's current weights of ``module_id``."""
    return algo.learner_group.get_weights(module_ids=[module_id])[module_id]


def copy_weights(algo: Any, donor: str, target: str) -> None:
    """``target``'s module takes ``donor``'s weights, on the learners and the env runners."""
    algo.learner_group.set_weights({target: module_weights(algo, donor)})
    sync_weights(algo)


def save_module(algo: Any, path: Path, module_id: str | None = None) -> None:
    """Save a module (the only one when ``module_id`` is None) as an RLlib module directory."""
    module = algo.get_module() if module_id is None else algo.get_module(module_id)
    module.save_to_path(str(Path(path).resolve()))


def save_module_once(algo: Any, module_id: str, path: Path) -> None:
    """Save ``module_id`` at ``path`` unless a directory is already there; written under a
    temporary name and renamed, so ``path`` never holds half a module."""
    if path.exists():
        return
    tmp = path.with_name(path.name + ".tmp")
    save_module(algo, tmp, module_id)
    tmp.replace(path)


def apply_hyperparams(algo: Any, hyperparams: dict[str, dict[str, float]]) -> None:
    """Set the learning rate (``lr``) and entropy bonus (``entropy_coeff``) of each module named
    in ``hyperparams`` on every learner (used by PBT explore, and on resume)."""

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
