"""Preference-based reward learning (Christiano et al. 2017).

Segments of behaviour (:mod:`.segments`) are compared in pairs by a labeller, the synthetic oracle
or a human (:mod:`.labels`, and the pygame window in :mod:`palaestra.viewer.prefs_labeller`);
labels live in SQLite. An ensemble of reward models is fitted to them with a Bradley-Terry loss
(:mod:`.reward_model`) and pays a learner through a wrapper (:mod:`.reward_wrapper`);
:mod:`.run` runs the whole loop with the SB3 trainer of ``palaestra train``. Tournament replays
give labels from their outcomes, or Bomber pairs queued for a human (:mod:`.replay_labels`, with
the clips and their board frames of :mod:`.bomber_clips`), labelled outside any run
(:mod:`.pending`, ``palaestra prefs label``).
"""
