"""Watching recorded games: a pygame replay viewer and headless GIF / MP4 export; human play and
the preference labelling window.

* :mod:`palaestra.viewer.timeline`: a replay re-simulated once into per-step states and events
  (bombs, pick-ups, kills with the killer named, deaths, the result; Kelly: cap, bust, end;
  hide-and-seek: the seek phase, locks, vaults, hiders spotted and hidden again, the score;
  counting: step T, the ending), built by :mod:`.bomber_log` (from
  :mod:`palaestra.envs.bomber.events`), :mod:`.kelly_log`, :mod:`.hide_and_seek_log` and
  :mod:`.counting_log`.
* :mod:`palaestra.viewer.app`: :class:`~palaestra.viewer.app.ReplayViewer`, the window (play,
  pause, step, seek, speed, per-agent views, names, ratings, event log) and its frames;
  :mod:`.draw_bomber`, :mod:`.draw_kelly`, :mod:`.draw_hide_and_seek` (the map with every
  agent's vision cone) and :mod:`.draw_counting` (the grid, T and the step count) draw each
  game's picture and panel.
* :mod:`palaestra.viewer.export`: :func:`~palaestra.viewer.export.export_gif` and
  :func:`~palaestra.viewer.export.export_mp4`, which draw the same frames without a window.
* :mod:`palaestra.viewer.human`: play Bomber on the keyboard against agents.
* :mod:`palaestra.viewer.prefs_labeller`: judge pairs of clips for preference learning.
* :mod:`palaestra.viewer.ui`: the fonts, text helpers, event sources and display check they share.
"""
