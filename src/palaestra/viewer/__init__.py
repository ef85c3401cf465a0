"""Watching recorded games: a pygame replay viewer and headless GIF / MP4 export.

* :mod:`palaestra.viewer.timeline`: a replay re-simulated once into per-step states and events
  (bombs, pick-ups, kills with the killer named, deaths, the result; Kelly: cap, bust, end).
* :mod:`palaestra.viewer.app`: :class:`~palaestra.viewer.app.ReplayViewer`, the window (play,
  pause, step, seek, speed, per-agent fogged views, names, ratings, event log) and its frames.
* :mod:`palaestra.viewer.export`: :func:`~palaestra.viewer.export.export_gif` and
  :func:`~palaestra.viewer.export.export_mp4`, which draw the same frames without a window.
"""
