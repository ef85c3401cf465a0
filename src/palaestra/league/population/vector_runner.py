"""An RLlib EnvRunner that samples the league on many Bomber boards at once.

:class:`BomberVectorEnvRunner` is a :class:`ray.rllib.env.multi_agent_env_runner.MultiAgentEnvRunner`
(so RLlib still builds the MultiRLModule, syncs weights through ``set_state``, keeps metrics,
health checks and checkpoints) whose sampling is its own: it holds ``env_config["num_boards"]``
games (default 32) in one :class:`~palaestra.league.population.vector_boards.LeagueBoards`, lets the
compiled bots play the bot seats in one call per kind and step, and runs each member's module once
per step on the observations of all its live seats on all boards (no connectors). Every board game
is one :class:`~ray.rllib.env.multi_agent_episode.MultiAgentEpisode` whose agent ids are the member
ids of that board (team mode: ``member/seat``, since a member plays both seats of its team; a dead
seat's action waits without an observation for the team's result at the game's end, which RLlib
adds to its last step); running episodes are cut when ``sample(num_timesteps=...)`` has enough env steps
(one board step is one env step, as one step of one RLlib env), as RLlib's runners cut them.

Use it as ``PPOConfig().env_runners(env_runner_cls=BomberVectorEnvRunner, num_envs_per_env_runner=1)``
with the league's env (``palaestra_league``: RLlib still builds one ``BomberLeagueEnv`` for the spaces
and connectors, but never steps it) and one module per member with the identity mapping. The driver
installs the league with ``runner.set_league(lineups, bots, shaping)`` and collects match records
with ``runner.pop_results()`` (``BomberLeagueEnv``'s formats), e.g. through ``foreach_env_runner``.

A module whose observation space is a Dict (:func:`palaestra.league.rllib.cnn.masked_obs_space`)
gets ``{"planes", "action_mask"}`` with the action filter's mask; any other module the flat planes.
Actions are drawn from the module's logits (a Discrete action space is required) with the runner's
seeded generator, so one seed gives the same lineups, boards, bot moves and actions.

With ``reward_model`` (a reward model directory; FFA only) every member's step is paid the model's
reward of the flat planes it acted on and its move, in place of the game's result (the shaping
terms are added as to the result), as ``BomberLeagueEnv`` pays it; the match records keep the true
outcomes.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.torch import TorchRLModule
from ray.rllib.env.multi_agent_env_runner import MultiAgentEnvRunner
from ray.rllib.env.multi_agent_episode import MultiAgentEpisode
from ray.rllib.utils.metrics import (
    NUM_AGENT_STEPS_SAMPLED,
    NUM_AGENT_STEPS_SAMPLED_LIFETIME,
    NUM_ENV_STEPS_SAMPLED,
    NUM_ENV_STEPS_SAMPLED_LIFETIME,
    NUM_EPISODES,
    NUM_EPISODES_LIFETIME,
    NUM_MODULE_STEPS_SAMPLED,
    NUM_MODULE_STEPS_SAMPLED_LIFETIME,
    WEIGHTS_SEQ_NO,
)

from palaestra.envs.bomber import constants as C
from palaestra.envs.bomber.filter_names import LEGACY_FILTER
from palaestra.errors import ConfigError, UnknownNameError
from palaestra.league.population.vector_boards import LeagueBoards, bomber_config
from palaestra.league.rllib.cnn import MASK_KEY, PLANES_KEY, action_heads
from palaestra.league.rllib.modules import seat_agent_id

DEFAULT_NUM_BOARDS = 32
"""Boards per runner when ``env_config`` has no ``num_boards``."""
MASKED_STEP_SHARE = "masked_step_share"
"""Env-runner metric: the share of masked members' steps where the action filter took at least
one action away."""
MASKED_ACTIONS_PER_STEP = "masked_actions_per_step"
"""Env-runner metric: actions the filter took away per masked member step (of 6)."""


def sample_categorical(logits: np.ndarray, rng: np.random.Generator,
                       explore: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Actions (m,) drawn from the categorical of ``logits`` (m, n), and their log-probabilities.

    One uniform per row from ``rng`` (inverse CDF); an action of probability zero in float64
    (a masked logit) is never drawn. Without ``explore`` the most likely action is taken.
    """
    z = logits.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    total = p.sum(axis=1)
    if explore:
        cum = np.cumsum(p, axis=1)
        u = rng.random(len(z)) * total
        actions = (cum > u[:, None]).argmax(axis=1)
    else:
        actions = z.argmax(axis=1)
    logp = z[np.arange(len(z)), actions] - np.log(total)
    return actions.astype(np.int64), logp.astype(np.float32)


class BomberVectorEnvRunner(MultiAgentEnvRunner):
    """The league's sampler over many Bomber boards (see the module docstring).

    ``env_config`` keys read here: ``num_boards`` (default 32), ``seed``, ``lineups``, ``bots``,
    ``shaping``, ``bomber`` (game settings), ``mode`` (``ffa``, ``team`` or ``team_radio``, default ``ffa``),
    ``play_out`` (default True), ``reward_model`` (a reward model directory: FFA only).

    Raises:
        ConfigError: for ``reward_model`` in a team mode, a non-Bomber league env or
            ``num_envs_per_env_runner`` other than 1.
        FileFormatError: for a reward model that does not take the planes and one move
            (:func:`~palaestra.league.population.envs.bomber.load_reward_model`).
    """

    def __init__(self, config: Any, **kwargs: Any) -> None:
        super().__init__(config=config, **kwargs)
        env_config = dict(self.config.env_config or {})
        if env_config.get("env", "bomber") != "bomber":
            raise ConfigError(f"BomberVectorEnvRunner plays the Bomber league, not {env_config.get('env')!r}")
        if self.config.num_envs_per_env_runner != 1:
            raise ConfigError("BomberVectorEnvRunner holds its boards itself: set num_envs_per_env_runner=1 "
                              "and env_config['num_boards']")
        num_boards = int(env_config.get("num_boards", DEFAULT_NUM_BOARDS))
        seed = int(env_config.get("seed", 0)) * 1_000_003 + int(self.worker_index or 0)
        bomber = {**(env_config.get("bomber") or {}), "mode": env_config.get("mode", "ffa")}
        self.boards = LeagueBoards(num_boards, bomber_config(bomber), seed,
                                   play_out=bool(env_config.get("play_out", True)),
                                   action_filter=str(env_config.get("action_filter", LEGACY_FILTER)))
        if env_config.get("lineups"):
            self.boards.set_league(env_config["lineups"], list(env_config.get("bots", [])),
                                   dict(env_config.get("shaping", {})))
        self._reward_model = self._load_reward_model(env_config.get("reward_model"))
        self._policy_rng = np.random.default_rng([seed, 2])
        self._board_episodes: list[MultiAgentEpisode] = []
        self._obs = np.zeros((0,), np.float32)
        self._mask = np.zeros((0,), np.float32)
        self._boards_need_reset = True
        self._mask_tally = np.zeros(3, np.int64)
        """Masked members' steps since the last sample's metrics: steps, steps where the mask took
        at least one action away, actions taken away."""

    def _load_reward_model(self, directory: str | None) -> Any:
        """The reward model that pays the members (None: the game's result pays them)."""
        if not directory:
            return None
        if self.boards.team:
            raise ConfigError("a reward model pays FFA leagues only, not mode "
                              f"{self.boards.config.mode!r}")
        from palaestra.league.population.envs.bomber import load_reward_model

        return load_reward_model(directory)

    def _learned_rewards(self, moves: np.ndarray) -> np.ndarray | None:
        """(N, 4) the reward model's reward of each active seat's step (None without a model)."""
        if self._reward_model is None:
            return None
        out = np.zeros(moves.shape, np.float32)
        active = self.boards.active
        if active.any():
            obs = self._obs.reshape(*moves.shape, -1)[active]
            out[active] = self._reward_model.reward(obs, moves[active].reshape(-1, 1))
        return out

    # -- league plumbing ---------------------------------------------------------------------
    def set_league(self, lineups: dict[str, dict[str, float]], bots: list[str],
                   shaping: dict[str, dict[str, float]]) -> int:
        """Install matchmaking, bots and shaping weights for the games started from now on.

        Returns the number of boards (what ``push_league`` counts per runner).
        """
        self.boards.set_league(lineups, bots, shaping)
        return self.boards.num_boards

    def pop_results(self) -> list[dict[str, Any]]:
        """The match records of the games finished since the last call (BomberLeagueEnv's format)."""
        return self.boards.pop_results()

    # -- observations ------------------------------------------------------------------------
    def _module(self, member: str) -> Any:
        modules: Any = self.module
        try:
            return modules[member]
        except KeyError:
            raise UnknownNameError(f"member {member!r} is seated but has no module in this runner") from None

    def _wants_mask(self, member: str) -> bool:
        return isinstance(self._module(member).observation_space, gym.spaces.Dict)

    def _refresh_mask(self) -> None:
        """The action mask of every seat, when any seated member's module takes one."""
        if any(self._wants_mask(s) for i in range(self.boards.num_boards) for s, m in
               zip(self.boards.seats[i], self.boards.member[i]) if m):
            self._mask = self.boards.action_mask().astype(np.float32)
        else:
            self._mask = np.ones((self.boards.num_boards, C.NUM_AGENTS, C.NUM_ACTIONS), np.float32)

    def _agent_obs(self, member: str, obs: np.ndarray, mask: np.ndarray, i: int, k: int) -> Any:
        if self._wants_mask(member):
            return {PLANES_KEY: obs[i, k], MASK_KEY: mask[i, k]}
        return obs[i, k]

    def _space(self, member: str) -> gym.Space:
        return self._module(member).observation_space

    def _agent_id(self, member: str, seat: int) -> str:
        """The episode's agent id of ``member`` in ``seat`` (FFA: the member id)."""
        return seat_agent_id(member, seat) if self.boards.team else member

    def _start_episode(self, i: int) -> MultiAgentEpisode:
        """A new episode for board ``i``'s current game, with its reset observations."""
        seated = {self._agent_id(s, k): (s, k) for k, (s, m) in
                  enumerate(zip(self.boards.seats[i], self.boards.member[i])) if m}
        obs_spaces: Any = {a: self._space(s) for a, (s, _) in seated.items()}
        act_spaces: Any = {a: self._module(s).action_space for a, (s, _) in seated.items()}
        mapping: Any = self.config.policy_mapping_fn
        episode = MultiAgentEpisode(observation_space=obs_spaces, action_space=act_spaces,
                                    agent_to_module_mapping_fn=mapping)
        episode.add_env_reset(
            observations={a: self._agent_obs(s, self._obs, self._mask, i, k) for a, (s, k) in seated.items()},
            infos={a: {} for a in seated})
        return episode

    def _reset_boards(self) -> None:
        n = self.boards.num_boards
        self.boards.restart(np.arange(n))
        self._obs = self.boards.observe()
        self._refresh_mask()
        self._board_episodes = [self._start_episode(i) for i in range(n)]
        self._boards_need_reset = False

    # -- acting ------------------------------------------------------------------------------
    def _heads(self, member: str) -> tuple[int, ...]:
        """The logit segments of a member's module: (6,), or (6, 8, 8) for a team_radio module."""
        return action_heads(self._module(member).action_space)

    def _episode_action(self, member: str, move: int, words: np.ndarray) -> Any:
        """The action an episode records: the move, or [move, word, word] for a radio module."""
        return np.array([move, *words], np.int64) if len(self._heads(member)) > 1 else move

    def _act(self, explore: bool, random_actions: bool
             ) -> tuple[np.ndarray, np.ndarray, dict[tuple[int, int], dict]]:
        """Moves (N, 4) and words (N, 4, 2) of the active member seats, and each seat's extra
        model outputs (a module without the word heads says zeros)."""
        boards = self.boards
        moves = np.zeros((boards.num_boards, C.NUM_AGENTS), np.int64)
        words = np.zeros((boards.num_boards, C.NUM_AGENTS, C.RADIO_NUM_WORDS), np.int64)
        extras: dict[tuple[int, int], dict] = {}
        groups: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for i, k in zip(*np.nonzero(boards.active)):
            groups[boards.seats[int(i)][int(k)]].append((int(i), int(k)))
        for member, cells in groups.items():
            bi = np.array([c[0] for c in cells])
            ki = np.array([c[1] for c in cells])
            heads = self._heads(member)
            if random_actions:  # uniform: the outputs of a uniform policy keep the episodes' columns whole
                drawn = np.stack([self._policy_rng.integers(h, size=len(cells)) for h in heads], axis=1)
                moves[bi, ki] = drawn[:, 0]
                if len(heads) > 1:
                    words[bi, ki] = drawn[:, 1:]
                uniform = np.zeros(sum(heads), np.float32)
                logp_uniform = np.float32(-np.log(heads).sum())
                for c in cells:
                    extras[c] = {Columns.ACTION_DIST_INPUTS: uniform, Columns.ACTION_LOGP: logp_uniform,
                                 WEIGHTS_SEQ_NO: self._weights_seq_no}
                continue
            module = self._module(member)
            obs: Any = torch.from_numpy(self._obs[bi, ki])
            if self._wants_mask(member):
                obs = {PLANES_KEY: obs, MASK_KEY: torch.from_numpy(self._mask[bi, ki])}
                removed = C.NUM_ACTIONS - self._mask[bi, ki].sum(axis=1)
                self._mask_tally += (len(cells), int((removed > 0).sum()), int(removed.sum()))
            with torch.no_grad():
                out = self._forward(module, {Columns.OBS: obs}, explore)
            logits = out[Columns.ACTION_DIST_INPUTS].detach().cpu().numpy()
            parts = np.split(logits, np.cumsum(heads)[:-1], axis=1)
            drawn_logp = [sample_categorical(p, self._policy_rng, explore) for p in parts]
            moves[bi, ki] = drawn_logp[0][0]
            if len(heads) > 1:  # the words' heads: a joint draw, the log-probabilities add
                words[bi, ki] = np.stack([a for a, _ in drawn_logp[1:]], axis=1)
            logp = np.sum([lp for _, lp in drawn_logp], axis=0).astype(np.float32)
            for j, c in enumerate(cells):
                extras[c] = {Columns.ACTION_DIST_INPUTS: logits[j], Columns.ACTION_LOGP: logp[j],
                             WEIGHTS_SEQ_NO: self._weights_seq_no}
        return moves, words, extras

    @staticmethod
    def _forward(module: Any, batch: dict[str, Any], explore: bool) -> dict[str, Any]:
        """The module's exploration (or inference) pass. A torch module is put in eval mode once and
        its ``_forward_exploration`` called directly: RLlib's public wrapper switches eval/train
        around every call, which costs more than a small MLP's pass (the runner never trains it)."""
        if isinstance(module, TorchRLModule):
            if module.training:
                module.eval()
            return module._forward_exploration(batch) if explore else module._forward_inference(batch)
        return module.forward_exploration(batch) if explore else module.forward_inference(batch)

    # -- sampling ----------------------------------------------------------------------------
    def _sample(self, *, num_timesteps: int | None = None, num_episodes: int | None = None,
                explore: bool, random_actions: bool = False, force_reset: bool = False) -> list[MultiAgentEpisode]:
        if force_reset or num_episodes is not None or self._boards_need_reset:
            self._reset_boards()
        done_episodes: list[MultiAgentEpisode] = []
        env_ts = agent_ts = 0
        agent_steps: dict[str, int] = defaultdict(int)
        by_steps = self.config.count_steps_by == "env_steps"

        def more() -> bool:
            if num_timesteps is None:
                return len(done_episodes) < (num_episodes or 0)
            return (env_ts if by_steps else agent_ts) < num_timesteps

        while more():
            moves, words, extras = self._act(explore, random_actions)
            step = self.boards.step(moves, words if self.boards.radio else None,
                                    self._learned_rewards(moves))
            next_obs = step.observations
            mask_after = self._mask
            if any(self._wants_mask(s) for s in self._episode_ids()):
                mask_after = self.boards.action_mask().astype(np.float32)
            for i in range(self.boards.num_boards):
                acted = [int(k) for k in np.flatnonzero(step.acted[i])]
                if not acted:
                    continue
                seats = self.boards.seats[i]
                # team mode: seats that died earlier are paid the team's result without acting
                paid = acted + [int(k) for k in np.flatnonzero(step.terminated[i] & ~step.acted[i])]
                seen = [k for k in acted if not step.hanging[i, k]]  # hanging seats get no observation
                aid = {k: self._agent_id(seats[k], k) for k in paid}
                trunc: dict[Any, bool] = {aid[k]: bool(step.truncated[i, k]) for k in paid}
                term: dict[Any, bool] = {aid[k]: bool(step.terminated[i, k]) for k in paid}
                over = bool(step.over[i])
                term["__all__"] = over and not any(trunc.values())
                trunc["__all__"] = over and any(trunc.values())
                self._board_episodes[i].add_env_step(
                    observations={aid[k]: self._agent_obs(seats[k], next_obs, mask_after, i, k) for k in seen},
                    actions={aid[k]: self._episode_action(seats[k], int(moves[i, k]), words[i, k])
                             for k in acted},
                    rewards={aid[k]: float(step.rewards[i, k]) for k in paid},
                    infos={aid[k]: {} for k in seen},
                    terminateds=term, truncateds=trunc,
                    extra_model_outputs={aid[k]: extras[(i, k)] for k in acted},
                )
                ids = [aid[k] for k in acted]
                env_ts += 1
                agent_ts += len(ids)
                for a in ids:
                    agent_steps[a] += 1
            self._obs, self._mask = next_obs, mask_after
            ended = np.flatnonzero(step.over)
            if len(ended):
                self.boards.restart(ended)
                self._obs = next_obs.copy()  # the finished episodes keep views of their last observation
                self._obs[ended] = self.boards.observe(ended)
                self._refresh_mask()
                for i in (int(v) for v in ended):
                    episode = self._board_episodes[i]
                    self._prune_zero_len_sa_episodes(episode)
                    done_episodes.append(episode)
                    self._board_episodes[i] = self._start_episode(i)
        return self._finish_sample(done_episodes, num_timesteps is not None, env_ts, dict(agent_steps))

    def _episode_ids(self) -> set[str]:
        return {s for i in range(self.boards.num_boards) for s, m in
                zip(self.boards.seats[i], self.boards.member[i]) if m}

    def _finish_sample(self, done_episodes: list[MultiAgentEpisode], cut: bool, env_ts: int,
                       agent_steps: dict[str, int]) -> list[MultiAgentEpisode]:
        """Numpy-ize, cut the running episodes (when sampling timesteps) and log the counts."""
        if self.episodes_to_numpy:
            for episode in done_episodes:
                episode.to_numpy()
        self._done_episodes_for_metrics.extend(done_episodes)
        ongoing: list[MultiAgentEpisode] = []
        if cut:
            continuations = [e.cut(len_lookback_buffer=self.config.episode_lookback_horizon)
                             for e in self._board_episodes]
            for episode in self._board_episodes:
                if episode.env_t == 0:
                    continue
                episode.validate()
                self._ongoing_episodes_for_metrics[episode.id_].append(episode)
                self._prune_zero_len_sa_episodes(episode)
                ongoing.append(episode.to_numpy() if self.episodes_to_numpy else episode)
            self._board_episodes = continuations
        else:
            self._boards_need_reset = True
        m = self.metrics
        m.log_value(NUM_ENV_STEPS_SAMPLED, env_ts, reduce="sum")
        m.log_value(NUM_ENV_STEPS_SAMPLED_LIFETIME, env_ts, reduce="lifetime_sum", with_throughput=True)
        m.log_value(NUM_EPISODES, len(done_episodes), reduce="sum")
        m.log_value(NUM_EPISODES_LIFETIME, len(done_episodes), reduce="lifetime_sum")
        mapping: Any = self.config.policy_mapping_fn
        for agent, count in agent_steps.items():
            module = mapping(agent, None)
            m.log_value((NUM_AGENT_STEPS_SAMPLED, str(agent)), count, reduce="sum")
            m.log_value((NUM_AGENT_STEPS_SAMPLED_LIFETIME, str(agent)), count, reduce="lifetime_sum")
            m.log_value((NUM_MODULE_STEPS_SAMPLED, module), count, reduce="sum")
            m.log_value((NUM_MODULE_STEPS_SAMPLED_LIFETIME, module), count, reduce="lifetime_sum")
        if env_ts > 0:
            self._log_env_steps(metric=self._metrics_num_env_steps_sampled, num_steps=env_ts)
        steps, masked, removed = (int(v) for v in self._mask_tally)
        if steps:  # how much the action filter did (run.py logs it every iteration)
            m.log_value(MASKED_STEP_SHARE, masked / steps, reduce="mean")
            m.log_value(MASKED_ACTIONS_PER_STEP, removed / steps, reduce="mean")
            self._mask_tally[:] = 0
        return done_episodes + ongoing
