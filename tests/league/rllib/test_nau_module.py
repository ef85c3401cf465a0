"""The NAU counting core as an RLlib module: recurrent batches, the regulariser and clamp in PPO,
the league's ``--core nau`` and a tiny counting league end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("ray.rllib", reason="ray[rllib] is not installed")

import torch  # noqa: E402
from ray.rllib.core import DEFAULT_MODULE_ID  # noqa: E402
from ray.rllib.core.columns import Columns  # noqa: E402
from ray.rllib.evaluation.postprocessing import Postprocessing  # noqa: E402
from ray.rllib.utils.metrics import NUM_ENV_STEPS_SAMPLED_LIFETIME  # noqa: E402

from palaestra.agents.learned.nalu import FEATURE_NAMES, CountingPolicy, counting_features  # noqa: E402
from palaestra.agents.learned.nau import NAU, arithmetic_units  # noqa: E402
from palaestra.errors import ConfigError  # noqa: E402
from palaestra.league.rllib.nau_module import (  # noqa: E402
    FEATURE_SCALE,
    NAU_DIAGNOSTICS,
    PLANNED_ENV_STEPS_KEY,
    REGULARIZER_WEIGHT_KEY,
    SPARSITY_PENALTY_KEY,
    NauConfig,
    NauCountingModule,
    NauPPOTorchLearner,
    nau_module_spec,
    training_progress,
)

N_FEATURES = len(FEATURE_NAMES)


def _module(config: NauConfig | None = None, seed: int = 0) -> Any:
    torch.manual_seed(seed)
    return nau_module_spec(config=config).build()


def _features(b: int, t: int, seed: int = 0) -> torch.Tensor:
    """Counting features of random GridCounting-like observations, shape (B, T, 9)."""
    rng = np.random.default_rng(seed)
    obs = {"agent": rng.integers(0, 7, (b * t, 2)), "target": rng.integers(0, 7, (b * t, 2)),
           "T": rng.integers(5, 13, b * t)}
    return torch.from_numpy(counting_features(obs)).reshape(b, t, N_FEATURES)


def _initial(module: Any, b: int) -> dict[str, torch.Tensor]:
    return {k: v[None].repeat(b, *([1] * v.dim())) for k, v in module.get_initial_state().items()}


def _stepped(policy: CountingPolicy, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The policy stepped one step at a time over (B, T, 9), its state carried by hand."""
    state = policy.initial_state(x.shape[0])
    logits, values = [], []
    for t in range(x.shape[1]):
        step_logits, step_value, state = policy(x[:, t], state)
        logits.append(step_logits)
        values.append(step_value)
    return torch.stack(logits, 1), torch.stack(values, 1), state[0]


# ------------------------------------------------------------------------------- the module


def test_the_module_wraps_a_nau_counting_policy_with_an_initial_state_per_episode() -> None:
    module = _module()
    assert isinstance(module, NauCountingModule) and module.is_stateful()
    policy = module.policy
    assert isinstance(policy, CountingPolicy) and policy.kind == "nau"
    assert (policy.hidden, policy.gain, policy.feature_scale) == (8, 1.0, 4.0)  # the trainer's
    assert FEATURE_SCALE == 4.0  # the scale CountingFeatures' observations have
    assert {id(u) for u in arithmetic_units(module)} == {id(u) for u in arithmetic_units(policy)}
    state = module.get_initial_state()
    assert list(state) == ["h0"] and state["h0"].shape == (8,) and not state["h0"].any()
    assert module.model_config["max_seq_len"] == 32  # RLlib's connectors chunk episodes by it
    assert _module(NauConfig(hidden=3)).get_initial_state()["h0"].shape == (3,)


def test_forward_on_a_time_batch_matches_stepping_the_wrapped_policy() -> None:
    module = _module()
    x = _features(4, 7)
    want_logits, want_values, want_h = _stepped(module.policy, x)
    batch = {Columns.OBS: x, Columns.STATE_IN: _initial(module, 4)}
    with torch.no_grad():
        train = module.forward_train(batch)
        inference = module.forward_inference(batch)
        exploration = module.forward_exploration(batch)
        values = module.compute_values(batch)
    assert train[Columns.ACTION_DIST_INPUTS].shape == (4, 7, 5)
    for out in (train, inference, exploration):
        torch.testing.assert_close(out[Columns.ACTION_DIST_INPUTS], want_logits)
        torch.testing.assert_close(out[Columns.STATE_OUT]["h0"], want_h)
    assert values.shape == (4, 7)
    torch.testing.assert_close(values, want_values)
    # PPO passes _forward_train's embeddings back for the value loss: the same values
    torch.testing.assert_close(module.compute_values(batch, train[Columns.EMBEDDINGS]), want_values)


def test_the_state_carried_across_two_chunks_equals_one_pass() -> None:
    module = _module(seed=3)
    x = _features(3, 9, seed=1)
    with torch.no_grad():
        whole = module.forward_train({Columns.OBS: x, Columns.STATE_IN: _initial(module, 3)})
        first = module.forward_train({Columns.OBS: x[:, :4], Columns.STATE_IN: _initial(module, 3)})
        second = module.forward_train({Columns.OBS: x[:, 4:], Columns.STATE_IN: first[Columns.STATE_OUT]})
    joined = torch.cat([first[Columns.ACTION_DIST_INPUTS], second[Columns.ACTION_DIST_INPUTS]], 1)
    torch.testing.assert_close(joined, whole[Columns.ACTION_DIST_INPUTS])
    torch.testing.assert_close(torch.cat([first[Columns.EMBEDDINGS], second[Columns.EMBEDDINGS]], 1),
                               whole[Columns.EMBEDDINGS])
    torch.testing.assert_close(second[Columns.STATE_OUT]["h0"], whole[Columns.STATE_OUT]["h0"])
    # sampling's one step at a time (T = 1), as the env runner and league replay feed it
    state = _initial(module, 3)
    with torch.no_grad():
        for t in range(9):
            out = module.forward_exploration({Columns.OBS: x[:, t:t + 1], Columns.STATE_IN: state})
            torch.testing.assert_close(out[Columns.ACTION_DIST_INPUTS][:, 0],
                                       whole[Columns.ACTION_DIST_INPUTS][:, t])
            state = out[Columns.STATE_OUT]
    torch.testing.assert_close(state["h0"], whole[Columns.STATE_OUT]["h0"])


def test_a_step_without_a_time_axis_or_a_state_starts_an_episode() -> None:
    module = _module()
    x = _features(5, 1)
    with torch.no_grad():
        timed = module.forward_inference({Columns.OBS: x, Columns.STATE_IN: _initial(module, 5)})
        bare = module.forward_inference({Columns.OBS: x[:, 0]})
    assert bare[Columns.ACTION_DIST_INPUTS].shape == (5, 5)
    torch.testing.assert_close(bare[Columns.ACTION_DIST_INPUTS], timed[Columns.ACTION_DIST_INPUTS][:, 0])
    torch.testing.assert_close(bare[Columns.STATE_OUT]["h0"], timed[Columns.STATE_OUT]["h0"])
    with pytest.raises(ConfigError, match="state_in lacks"):
        module.forward_inference({Columns.OBS: x, Columns.STATE_IN: {"h": torch.zeros(5, 8)}})
    with pytest.raises(ConfigError, match=r"\(B, T, F\)"):
        module.forward_inference({Columns.OBS: x[None]})


def test_settings_and_spaces_are_checked() -> None:
    config = NauConfig(hidden=4, gain=10, regularizer=0.5, regularizer_start=0.1, regularizer_end=0.2)
    assert NauConfig.from_model_config(config.to_model_config()) == config
    assert NauConfig.from_model_config(None) == NauConfig()
    assert config.schedule().weight(0.15) == pytest.approx(0.25)
    for bad in ({"hidden": 0}, {"hidden": 2.5}, {"gain": 0.0}, {"regularizer": -1.0},
                {"regularizer_start": 0.7, "regularizer_end": 0.6}, {"max_seq_len": 0},
                {"gain": float("nan")}):
        with pytest.raises(ConfigError):
            NauConfig(**bad)
    with pytest.raises(ConfigError, match="unknown counting_nau settings"):
        NauConfig.from_model_config({"counting_nau": {"width": 3}})
    with pytest.raises(ConfigError, match="counting features"):
        nau_module_spec(obs_space=gym.spaces.Box(-1.0, 1.0, (4,), np.float32)).build()
    with pytest.raises(ConfigError, match="Discrete"):
        nau_module_spec(act_space=gym.spaces.Box(-1.0, 1.0, (2,), np.float32)).build()


# --------------------------------------------------------------------------- PPO's learner

PLANNED = 1000


def _learner(config: NauConfig | None = None, lr: float = 3e-4,
             learner_config: dict[str, Any] | None = None) -> Any:
    from ray.rllib.algorithms.ppo import PPOConfig

    torch.manual_seed(0)
    spec = nau_module_spec(config=config)
    ppo = (
        PPOConfig()
        .environment(observation_space=spec.observation_space, action_space=spec.action_space)
        .training(lr=lr, train_batch_size_per_learner=12, minibatch_size=12, num_epochs=1)
        .rl_module(rl_module_spec=spec)
        .learners(learner_class=NauPPOTorchLearner,
                  learner_config_dict={PLANNED_ENV_STEPS_KEY: PLANNED} if learner_config is None
                  else learner_config)
    )
    return ppo.build_learner()


def _train_batch(module: Any, b: int = 3, t: int = 4, seed: int = 0) -> dict[str, Any]:
    """A PPO train batch as the learner connector builds it for a stateful module."""
    gen = torch.Generator().manual_seed(seed)
    x = _features(b, t, seed)
    with torch.no_grad():
        logits = module.forward_exploration({Columns.OBS: x, Columns.STATE_IN: _initial(module, b)})[
            Columns.ACTION_DIST_INPUTS]
    dist = torch.distributions.Categorical(logits=logits)
    actions = torch.multinomial(dist.probs.reshape(b * t, -1), 1, generator=gen).reshape(b, t)
    mask = torch.ones(b, t, dtype=torch.bool)
    mask[-1, -1] = False  # a zero-padded step at the end of the last sequence
    return {Columns.OBS: x, Columns.STATE_IN: _initial(module, b), Columns.ACTIONS: actions,
            Columns.ACTION_LOGP: dist.log_prob(actions), Columns.ACTION_DIST_INPUTS: logits,
            Postprocessing.ADVANTAGES: torch.randn(b, t, generator=gen),
            Postprocessing.VALUE_TARGETS: torch.randn(b, t, generator=gen), Columns.LOSS_MASK: mask}


def _loss_gradient(learner: Any, batch: dict[str, Any], env_steps: float) -> tuple[float, torch.Tensor]:
    """The NAU core's gradient of the learner's loss with ``env_steps`` sampled, and the
    regulariser's weight the learner used."""
    module = learner.module[DEFAULT_MODULE_ID]
    learner.before_gradient_based_update(timesteps={NUM_ENV_STEPS_SAMPLED_LIFETIME: env_steps})
    module.zero_grad()
    fwd = module.forward_train(batch)
    loss = learner.compute_loss_for_module(module_id=DEFAULT_MODULE_ID, batch=batch, fwd_out=fwd,
                                           config=learner.config.get_config_for_module(DEFAULT_MODULE_ID))
    loss.backward()
    return module.regularizer_weight(learner.progress), module.policy.core.weight.grad.clone()


def test_progress_is_the_fraction_of_the_planned_env_steps() -> None:
    assert training_progress(0, 1000) == 0.0
    assert training_progress(250, 1000) == 0.25
    assert training_progress(1800, 1000) == 1.0
    with pytest.raises(ConfigError):
        training_progress(10, 0)
    learner = _learner()
    assert learner.planned_env_steps == PLANNED
    learner.before_gradient_based_update(timesteps={NUM_ENV_STEPS_SAMPLED_LIFETIME: 450})
    assert learner.progress == 0.45
    for bad in ({}, {PLANNED_ENV_STEPS_KEY: 0}, {PLANNED_ENV_STEPS_KEY: 2.5}):
        with pytest.raises(ConfigError, match=PLANNED_ENV_STEPS_KEY):
            _learner(learner_config=bad)


def test_the_regulariser_enters_the_loss_with_the_schedule_weight() -> None:
    config = NauConfig(regularizer=2.0, regularizer_start=0.2, regularizer_end=0.6)
    learner = _learner(config)
    module = learner.module[DEFAULT_MODULE_ID]
    batch = _train_batch(module)
    off, g_off = _loss_gradient(learner, batch, 0.1 * PLANNED)  # before the schedule starts
    half, g_half = _loss_gradient(learner, batch, 0.4 * PLANNED)
    full, g_full = _loss_gradient(learner, batch, PLANNED)
    assert (off, half, full) == (0.0, pytest.approx(1.0), 2.0)
    module.zero_grad()
    module.sparsity_penalty().backward()
    g_penalty = module.policy.core.weight.grad.clone()
    assert g_penalty.abs().sum() > 0
    torch.testing.assert_close(g_half - g_off, half * g_penalty)
    torch.testing.assert_close(g_full - g_off, full * g_penalty)
    logged = learner.metrics.reduce()[DEFAULT_MODULE_ID]
    assert logged[REGULARIZER_WEIGHT_KEY] == 2.0
    assert float(logged[SPARSITY_PENALTY_KEY]) == pytest.approx(float(module.sparsity_penalty().detach()))


def test_every_optimiser_step_clamps_the_nau_weights() -> None:
    learner = _learner(lr=0.05)
    module = learner.module[DEFAULT_MODULE_ID]
    units = arithmetic_units(module.policy)
    assert len(units) == 2 and all(isinstance(u, NAU) for u in units)
    with torch.no_grad():  # far outside [-1, 1], as a large step could leave them
        units[0].weight[0] = 1.5
        units[1].weight[:, 0] = -3.0
    value_before = [p.detach().clone() for p in module.policy.value.parameters()]
    learner.before_gradient_based_update(timesteps={NUM_ENV_STEPS_SAMPLED_LIFETIME: PLANNED})
    learner._update({DEFAULT_MODULE_ID: _train_batch(module)})
    for unit in units:
        assert unit.weight.abs().max() <= 1.0
    assert (units[0].weight[0] == 1.0).any() and (units[1].weight[:, 0] == -1.0).all()
    assert any(not torch.equal(a, b) for a, b in zip(value_before, module.policy.value.parameters()))


# ------------------------------------------------------------------------------ the league


def test_the_league_config_takes_core_nau_for_counting_only(tmp_path: Path) -> None:
    from palaestra.cli.main import main
    from palaestra.league.population.algorithm import learner_options, module_spec
    from palaestra.league.population.config import LeagueConfig
    from palaestra.league.population.run import LeagueRunError, learner_diagnostics, prepare_run

    config = LeagueConfig(env="counting", core="nau", iterations=5, steps_per_iteration=400,
                          minibatch_size=200)
    assert LeagueConfig.from_json(config.to_json()) == config
    spec = module_spec(config)
    assert spec.module_class is NauCountingModule
    assert learner_options(config) == {"learner_class": NauPPOTorchLearner,
                                       "learner_config_dict": {PLANNED_ENV_STEPS_KEY: 2000}}
    assert LeagueConfig(env="counting").core == "lstm" and learner_options(LeagueConfig()) == {}
    assert module_spec(LeagueConfig(env="counting")).module_class is not NauCountingModule
    for env in ("kelly", "bomber", "hide-and-seek"):
        with pytest.raises(ConfigError, match="core 'nau'.*--env counting"):
            LeagueConfig(env=env, core="nau")
    with pytest.raises(ConfigError, match="core must be one of"):
        LeagueConfig(env="counting", core="gru")  # type: ignore[arg-type]
    assert main(["league", "train", "--env", "kelly", "--core", "nau", "--out", str(tmp_path / "k")]) == 2
    assert not (tmp_path / "k").exists()
    # an LSTM league does not resume as a NAU one
    lstm = LeagueConfig(env="counting", iterations=1, steps_per_iteration=400, minibatch_size=200)
    prepare_run(lstm, tmp_path / "lstm", resume=False, force=False)
    with pytest.raises(LeagueRunError, match="core"):
        prepare_run(LeagueConfig(**{**lstm.__dict__, "core": "nau"}), tmp_path / "lstm",
                    resume=True, force=False)
    # the regulariser's weight and penalty are logged with PPO's own statistics
    got = learner_diagnostics({"m0": {"entropy": 1.0, REGULARIZER_WEIGHT_KEY: 0.5,
                                      SPARSITY_PENALTY_KEY: 0.1}}, ["m0"])
    assert got == {"m0": {"entropy": 1.0, REGULARIZER_WEIGHT_KEY: 0.5, SPARSITY_PENALTY_KEY: 0.1}}
    assert set(NAU_DIAGNOSTICS) == {REGULARIZER_WEIGHT_KEY, SPARSITY_PENALTY_KEY}


def test_a_tiny_nau_counting_league_trains_resumes_and_replays(tmp_path: Path) -> None:
    from palaestra.cli.main import main
    from palaestra.evaluation.replay import load_replay
    from palaestra.league.population.eval import load_member_module
    from palaestra.league.population.state import LeagueState

    out = tmp_path / "counting-nau"
    args = ["league", "train", "--env", "counting", "--core", "nau", "--out", str(out),
            "--population", "1", "--steps-per-iteration", "400", "--minibatch-size", "200",
            "--epochs", "1", "--num-env-runners", "0", "--num-cpus", "2"]
    # two iterations planned, the time budget stops it after the first (checked after each one)
    assert main([*args, "--iterations", "2", "--max-minutes", "0.001"]) == 0
    assert LeagueState.load(out / "league.json").iteration == 1
    module = load_member_module(out, "m0")
    assert isinstance(module, NauCountingModule)
    first = [u.weight.detach().clone() for u in arithmetic_units(module.policy)]
    path = tmp_path / "c.json.gz"
    assert main(["league", "replay", "--out", str(out), "--member", "m0", "--to", str(path)]) == 0
    replay = load_replay(path)
    assert replay.env_id == "palaestra/GridCounting-v0" and replay.steps >= 1
    assert all(a in range(5) for a in replay.actions)
    assert main([*args, "--iterations", "2", "--resume"]) == 0
    assert LeagueState.load(out / "league.json").iteration == 2
    module = load_member_module(out, "m0")
    units = arithmetic_units(module.policy)
    assert len(units) == 2
    for unit in units:
        assert unit.weight.abs().max() <= 1.0
    assert any(not torch.equal(a, u.weight) for a, u in zip(first, units))  # it trained on
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    learner = {e["iteration"]: e["learner"]["m0"] for e in events if e["event"] == "iteration"}
    # progress: 400 of the 800 planned steps (weight (0.5 - 0.3) / (0.6 - 0.3) of the full one),
    # then all 800
    full = NauConfig().regularizer
    assert learner[1][REGULARIZER_WEIGHT_KEY] == pytest.approx(2 / 3 * full)
    assert learner[2][REGULARIZER_WEIGHT_KEY] == pytest.approx(full)
    assert all(0.0 <= v[SPARSITY_PENALTY_KEY] <= 0.5 for v in learner.values())
