"""Writing a replay as an animation, headless: GIF (Pillow) or MP4 (the bundled ffmpeg).

Every step of the timeline becomes one frame, drawn exactly as the viewer window would show it
(:meth:`~palaestra.viewer.app.ReplayViewer.frame`); no window is opened.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import numpy as np  # noqa: E402
from PIL import GifImagePlugin, Image  # noqa: E402

from palaestra.viewer.app import ReplayViewer  # noqa: E402
from palaestra.viewer.timeline import Timeline, ViewerError  # noqa: E402

FORMATS = {".gif": "GIF", ".mp4": "MP4"}
"""File extensions :func:`export_animation` writes."""


def _check_fps(fps: float) -> float:
    if not fps or fps <= 0 or fps > 100:
        raise ViewerError(f"fps must lie in (0, 100], got {fps!r}")
    return float(fps)


def _prepare(path: str | os.PathLike[str], suffix: str) -> tuple[Path, bool]:
    """The output path, checked (right extension, parent directory made, file writable), and
    whether this call created the file (so that a failed export can remove it again)."""
    target = Path(path)
    if target.suffix.lower() != suffix:
        known = ", ".join(FORMATS)
        raise ViewerError(f"cannot write {target}: a {FORMATS[suffix]} file must end with {suffix} "
                          f"(animations are written as {known})")
    if target.is_dir():
        raise ViewerError(f"cannot write {target}: it is a directory")
    created = not target.exists()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "ab"):
            pass
    except OSError as exc:
        raise ViewerError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target, created


def _frames(timeline: Timeline, view: int, ratings: dict[str, str] | None,
            tile: int) -> Iterator[np.ndarray]:
    viewer = _viewer(timeline, ratings, tile)
    for step in range(timeline.last_step + 1):
        yield viewer.frame(step, view=view)


def _viewer(timeline: Timeline, ratings: dict[str, str] | None, tile: int) -> ReplayViewer:
    viewer = ReplayViewer(timeline, ratings=ratings, tile=tile)
    viewer.playing = True  # the status bar reads "playing", as it would while watching
    return viewer


def export_gif(timeline: Timeline, path: str | os.PathLike[str], fps: float = 8, view: int = 0,
               ratings: dict[str, str] | None = None, tile: int = 48) -> Path:
    """Write every step as one frame of a looping GIF; returns the path.

    All frames share one palette (taken from a sample of frames spread over the game), so colours
    do not flicker; each frame after the first stores only the rectangle that changed, with the
    unchanged pixels in it transparent (which compresses well). Frames are encoded one at a time,
    so memory does not grow with the game's length. Raises :class:`ViewerError` for a path that
    does not end with .gif or cannot be written.
    """
    fps = _check_fps(fps)
    target, created = _prepare(path, ".gif")
    viewer = _viewer(timeline, ratings, tile)
    last = timeline.last_step
    samples = sorted({round(s) for s in np.linspace(0, last, min(8, last + 1))})
    palette = _shared_palette([Image.fromarray(viewer.frame(s, view)) for s in samples])
    colors = palette.getpalette()
    assert colors is not None
    duration = round(1000 / fps)
    try:
        with open(target, "wb") as fp:
            previous: np.ndarray | None = None
            for step in range(last + 1):
                rgb = Image.fromarray(viewer.frame(step, view))
                indices = np.asarray(rgb.quantize(palette=palette, dither=Image.Dither.NONE)).copy()
                indices[indices == _CLEAR] = 0  # entry 255 repeats entry 0's colour
                if previous is None:
                    image = _paletted(indices, colors)
                    header, _ = GifImagePlugin.getheader(image, None, {"loop": 0, "duration": duration})
                    fp.write(b"".join(header))
                    chunks = GifImagePlugin.getdata(image, duration=duration, disposal=1)
                else:
                    left, top, right, bottom = _changed_box(previous, indices)
                    patch = indices[top:bottom, left:right].copy()
                    patch[patch == previous[top:bottom, left:right]] = _CLEAR
                    chunks = GifImagePlugin.getdata(_paletted(patch, colors), offset=(left, top),
                                                    duration=duration, disposal=1,
                                                    transparency=_CLEAR)
                fp.write(b"".join(chunks))
                previous = indices
            fp.write(b";")  # GIF trailer
    except OSError as exc:
        if created:
            target.unlink(missing_ok=True)
        raise ViewerError(f"cannot write {target}: {exc}") from None
    return target


_CLEAR = 255
"""Palette index kept for "unchanged" (transparent) pixels of a GIF frame."""


def _paletted(indices: np.ndarray, colors: list[int]) -> Image.Image:
    image = Image.fromarray(indices, mode="P")
    image.putpalette(colors)
    return image


def _changed_box(before: np.ndarray, after: np.ndarray) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the pixels that differ; one pixel if none does."""
    diff = before != after
    rows, cols = np.flatnonzero(diff.any(axis=1)), np.flatnonzero(diff.any(axis=0))
    if rows.size == 0:
        return (0, 0, 1, 1)
    return (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)


def _shared_palette(images: list[Image.Image]) -> Image.Image:
    """A palette image of 255 colours quantised from sample frames stacked into one sheet.

    Entry 255 (:data:`_CLEAR`) repeats entry 0, so a pixel mapped to it can be moved to 0.
    """
    w, h = images[0].size
    sheet = Image.new("RGB", (w, h * len(images)))
    for i, im in enumerate(images):
        sheet.paste(im, (0, i * h))
    palette = sheet.quantize(colors=255, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    colors = list(palette.getpalette() or [])[: 3 * 255]
    colors += [0] * (3 * 255 - len(colors)) + colors[:3]
    palette.putpalette(colors)
    return palette


def export_mp4(timeline: Timeline, path: str | os.PathLike[str], fps: float = 8, view: int = 0,
               ratings: dict[str, str] | None = None, tile: int = 48) -> Path:
    """Write every step as one frame of an H.264 MP4 (yuv420p, even size); returns the path.

    Frames are piped as raw RGB to the ffmpeg binary bundled with ``imageio-ffmpeg``. Raises
    :class:`ViewerError` for a path that does not end with .mp4 or cannot be written, or when
    ffmpeg is missing or fails.
    """
    fps = _check_fps(fps)
    target, created = _prepare(path, ".mp4")
    try:
        import imageio_ffmpeg

        ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as exc:
        raise ViewerError(f"MP4 export needs the imageio-ffmpeg package and its ffmpeg binary "
                          f"({exc}); export a GIF instead") from None
    frames = _frames(timeline, view, ratings, tile)
    first = _even(next(frames))
    h, w = first.shape[:2]
    cmd = [ffmpeg, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
           "-s", f"{w}x{h}", "-r", f"{fps:g}", "-i", "-", "-an", "-c:v", "libx264",
           "-pix_fmt", "yuv420p", "-preset", "veryfast", "-crf", "20", "-movflags", "+faststart",
           "-f", "mp4", str(target)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    assert proc.stdin is not None and proc.stderr is not None
    try:
        proc.stdin.write(first.tobytes())
        for frame in frames:
            proc.stdin.write(_even(frame).tobytes())
        proc.stdin.close()
    except BrokenPipeError:
        pass
    err = proc.stderr.read().decode("utf-8", "replace").strip()
    proc.stderr.close()
    if proc.wait() != 0:
        if created:
            target.unlink(missing_ok=True)
        raise ViewerError(f"ffmpeg could not write {target}: {err or f'exit status {proc.returncode}'}")
    return target


def _even(frame: np.ndarray) -> np.ndarray:
    """``frame`` cropped to even width and height (yuv420p needs them)."""
    h, w = frame.shape[:2]
    return np.ascontiguousarray(frame[: h - h % 2, : w - w % 2])


def export_animation(timeline: Timeline, path: str | os.PathLike[str], fps: float = 8,
                     view: int = 0, ratings: dict[str, str] | None = None, tile: int = 48) -> Path:
    """Write a GIF or MP4, chosen by the extension of ``path``; returns the path.

    Raises :class:`ViewerError` for any other extension.
    """
    suffix = Path(path).suffix.lower()
    if suffix == ".gif":
        return export_gif(timeline, path, fps=fps, view=view, ratings=ratings, tile=tile)
    if suffix == ".mp4":
        return export_mp4(timeline, path, fps=fps, view=view, ratings=ratings, tile=tile)
    raise ViewerError(f"cannot export to {path}: unknown extension {suffix or '(none)'!r}; "
                      f"use .gif or .mp4")


__all__ = ["FORMATS", "export_animation", "export_gif", "export_mp4"]
