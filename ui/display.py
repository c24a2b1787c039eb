"""The standard way a page shows a result, and the explanation blocks.

Images are downscaled for the screen (the browser shows them a few hundred
pixels wide anyway), which keeps re-renders fast on large images; downloads
are full resolution and only encoded when the user clicks.
"""

from __future__ import annotations

import functools
import html
import inspect
import time
from typing import Callable

import numpy as np
import streamlit as st

import segcore
from segcore import viz
from segcore.instances import to_instances
from segcore.result import SegmentationResult

from .state import Current
from .texts import TEXTS, format_seconds

DISPLAY_SIDE = 1000
#: The "Watch it work" views run on a copy no larger than this on its longest
#: side: every step keeps a label image, and the figures show a few hundred
#: pixels anyway.
WATCH_SIDE = 512
#: Palette of a binary mask shown as a picture: background black, foreground white.
BLACK_WHITE = np.array([[0, 0, 0], [255, 255, 255]], dtype=np.uint8)


#: Seconds a session's first pictures get to paint before its first charts are sent (see
#: :func:`let_pictures_paint`); the AppTests set it to 0.
PAINT_PAUSE = 0.5
_sleep = time.sleep  # the tests count the pauses instead of waiting

THUMBNAIL_SIDE = 320
_TRUTH_OUTLINE = np.array([[0, 0, 0], [255, 255, 0]])


def truth_thumbnail(image: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """A small picture of an image with its ground truth outlined in yellow (dataset previews)."""
    picture = viz.overlay(image, (truth > 0).astype(np.uint8), mode="boundary", thickness=2, colors=_TRUTH_OUTLINE)
    return viz.downscale_for_display(picture, THUMBNAIL_SIDE)


def thumbnail_row(pictures: list[tuple[np.ndarray, str]]) -> None:
    """Thumbnails side by side, each with its caption."""
    for column, (picture, caption) in zip(st.columns(max(len(pictures), 1)), pictures):
        column.image(picture, caption=caption, width="stretch")


def for_screen(image: np.ndarray) -> np.ndarray:
    """A copy no larger than DISPLAY_SIDE on its longest side."""
    return viz.downscale_for_display(image, DISPLAY_SIDE)


def black_and_white(mask: np.ndarray) -> np.ndarray:
    """A binary mask (or 0/1 labels) as a black-and-white RGB picture, downscaled for the screen."""
    return viz.colorize(labels_for_screen(mask), colors=BLACK_WHITE)


def let_pictures_paint(pictures_sent_at: float) -> None:
    """Once per session, wait until PAINT_PAUSE seconds after ``pictures_sent_at`` before the first charts.

    A browser's first plotly chart or table makes it load several MB of chart
    code; sent in the same instant as the result pictures (all cached), that
    load held the pictures back by 0.6-1.6 s on the 2-core machine
    (bench/README.md, "First view (2026-12-02): what held it back"). Later runs find the code loaded, and a
    run whose methods computed for longer than the pause does not wait at all.
    """
    if st.session_state.get("charts_sent"):
        return
    st.session_state["charts_sent"] = True
    remaining = PAINT_PAUSE - (time.perf_counter() - pictures_sent_at)
    if remaining > 0:
        _sleep(remaining)


def legend_chips(entries: list[tuple[str, np.ndarray]]) -> str:
    """HTML legend: one coloured chip per (text, RGB colour), the text escaped and in black or white."""
    chips = []
    for text, colour in entries:
        r, g, b = (int(v) for v in colour[:3])
        ink = "white" if 0.299 * r + 0.587 * g + 0.114 * b < 140 else "black"
        chips.append(f"<span style='background:rgb({r},{g},{b});color:{ink};padding:2px 8px;border-radius:4px;"
                     f"margin-right:4px;display:inline-block;margin-bottom:4px'>{html.escape(text)}</span>")
    return " ".join(chips)


def plural(count: int, noun: str) -> str:
    """'1 pixel', '2,048 pixels'."""
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def keep_in_range(key: str, low: int, high: int) -> None:
    """Pull a stored widget value back into [low, high] before the widget is drawn (the image may have shrunk)."""
    if key in st.session_state:
        value = st.session_state[key]
        if not low <= value <= high:
            st.session_state[key] = min(max(value, low), high)


def keep_choice(key: str, options: list) -> None:
    """Forget a stored widget value that is no longer among the options."""
    if key in st.session_state and st.session_state[key] not in options:
        del st.session_state[key]


def watch_copy(cur: Current, why: str) -> tuple[np.ndarray, str, float]:
    """(image, cache key, scale) of the copy the step-by-step views run on; a caption says ``why`` if smaller."""
    small = viz.downscale_for_display(cur.image, WATCH_SIDE)
    if small.shape == cur.image.shape:
        return cur.image, cur.key, 1.0
    st.caption(f"Shown on a {small.shape[1]}×{small.shape[0]} copy of the image ({why}); the Result tab uses "
               "every pixel.")
    return small, f"{cur.key}:watch{WATCH_SIDE}", small.shape[0] / cur.image.shape[0]


def labels_for_screen(labels: np.ndarray) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.dtype == bool:
        labels = labels.view(np.uint8)
    return viz.downscale_for_display(labels.astype(np.int32) if labels.dtype != np.uint8 else labels, DISPLAY_SIDE)


def overlay_choice(key: str) -> str:
    """A small selector for how labels are drawn over the image."""
    choice = st.segmented_control("Overlay", ["Fill", "Outline", "Both"], default="Fill", key=key,
                                  help="Tint the regions, outline them, or both.")
    return {"Fill": "fill", "Outline": "boundary", "Both": "both"}.get(choice or "Fill", "fill")


def show_result(cur: Current, result: SegmentationResult, *, key: str, labels: np.ndarray | None = None,
                third: tuple[np.ndarray, str] | None = None, overlay_mode: str = "fill",
                label_caption: str | None = None) -> None:
    """Original | overlay | mask side by side, then run time, scores and downloads.

    ``labels`` overrides what is drawn (default: ``result.labels``); ``third``
    replaces the right-hand picture with (image, caption).
    """
    drawn = result.labels if labels is None else labels
    screen_image = for_screen(cur.image)
    screen_labels = labels_for_screen(drawn)
    if screen_labels.shape != screen_image.shape[:2]:  # rounding in the two downscales
        import cv2

        screen_labels = cv2.resize(screen_labels, (screen_image.shape[1], screen_image.shape[0]),
                                   interpolation=cv2.INTER_NEAREST)
    col_a, col_b, col_c = st.columns(3)
    col_a.image(screen_image, caption=f"Original — {cur.name}", width="stretch")
    col_b.image(viz.overlay(screen_image, screen_labels, mode=overlay_mode, thickness=2),
                caption="Overlay", width="stretch")
    if third is not None:
        col_c.image(third[0], caption=third[1], width="stretch")
    else:
        n = int(screen_labels.max()) if screen_labels.size else 0
        caption = label_caption or ("Mask (white = foreground)" if n <= 1 else f"Labels ({n} colours)")
        picture = viz.colorize(screen_labels, colors=BLACK_WHITE) if n <= 1 \
            else viz.colorize(screen_labels)
        col_c.image(picture, caption=caption, width="stretch")
    summary_row(cur, result)
    download_row(cur, result, key=key, labels=drawn, overlay_mode=overlay_mode)


def summary_row(cur: Current, result: SegmentationResult) -> None:
    """Run time, foreground share, region count, and scores when there is a ground truth."""
    cells = st.columns(6 if cur.has_truth else 3)
    cells[0].metric("Run time", format_seconds(result.seconds))
    if note := _loading_note(result):
        cells[0].caption(f"{note} (first run only)")
    if result.mask is not None:
        cells[1].metric("Foreground", f"{100 * float(np.count_nonzero(result.mask)) / result.mask.size:.1f}%")
        count = result.info.get("count")
        if count is None:  # a plain mask: count its connected objects
            count = to_instances(result.mask)[1]
        cells[2].metric("Objects", f"{count}")
    else:  # clusters or classes: no foreground; every label counts, 0 included
        counts = np.bincount(result.labels.ravel())
        present = np.flatnonzero(counts)
        cells[1].metric("Labels", f"{present.size}")
        cells[2].metric("Largest label", f"{100 * counts.max() / result.labels.size:.1f}%")
    if cur.has_truth:
        scores = segcore.metrics.evaluate(cur.truth, result)
        cells[3].metric("IoU", f"{scores.iou:.3f}")
        cells[4].metric("Dice", f"{scores.dice:.3f}")
        cells[5].metric("Pixel accuracy", f"{scores.pixel_accuracy:.3f}")
        if scores.match != "none":
            st.caption(f"Scored against '{cur.truth_name}' after matching labels to ground-truth classes "
                       f"({scores.match}): {_mapping_text(scores.mapping)}.")


def _mapping_text(mapping: dict[int, int]) -> str:
    parts = [f"label {p} → {'foreground' if t else 'background'}" for p, t in sorted(mapping.items())]
    return ", ".join(parts[:8]) + (" …" if len(parts) > 8 else "")


def _loading_note(result: SegmentationResult) -> str:
    """Says how much of the run time was the one-off model load (a first U-Net run), if it matters."""
    loading = float(result.info.get("model_load_seconds", 0.0))
    return f"incl. {format_seconds(loading)} loading the model" if loading >= 0.5 else ""


def run_time_text(result: SegmentationResult) -> str:
    """The run time for a caption, with the model-loading part when there was one."""
    note = _loading_note(result)
    return format_seconds(result.seconds) + (f" ({note})" if note else "")


def download_row(cur: Current, result: SegmentationResult, *, key: str, labels: np.ndarray | None = None,
                 overlay_mode: str = "fill") -> None:
    drawn = result.labels if labels is None else labels
    stem = cur.name.rsplit(".", 1)[0].replace(" ", "_")[:40]
    col_a, col_b, _ = st.columns([1, 1, 2])
    col_a.download_button("Download mask (PNG)", data=functools.partial(_mask_png, drawn),
                          file_name=f"{stem}_{result.method}_mask.png", mime="image/png", key=f"{key}_dl_mask",
                          on_click="ignore", icon=":material/download:")
    col_b.download_button("Download overlay (PNG)", data=functools.partial(_overlay_png, cur.image, drawn, overlay_mode),
                          file_name=f"{stem}_{result.method}_overlay.png", mime="image/png",
                          key=f"{key}_dl_overlay", on_click="ignore", icon=":material/download:")


def _mask_png(labels: np.ndarray) -> bytes:
    return viz.to_png(viz.mask_image(labels))


def _overlay_png(image: np.ndarray, labels: np.ndarray, mode: str) -> bytes:
    return viz.to_png(viz.overlay(image, labels, mode=mode, thickness=2))


def how_it_works(method: str, *, expanded: bool = False) -> None:
    """The method's idea, steps, maths, strengths and weaknesses."""
    text = TEXTS[method]
    with st.expander(f"How it works: {text.title}", expanded=expanded, icon=":material/school:"):
        st.markdown(f"**{text.idea}**")
        st.markdown("\n".join(f"{i}. {step}" for i, step in enumerate(text.steps, 1)))
        for formula in text.latex:
            st.latex(formula)
        good, bad = st.columns(2)
        good.markdown("**Strengths**\n" + "\n".join(f"- {s}" for s in text.strengths))
        bad.markdown("**Weaknesses**\n" + "\n".join(f"- {s}" for s in text.weaknesses))
        if text.try_this:
            st.markdown("**Try this**\n" + "\n".join(f"- {s}" for s in text.try_this))


def show_code(*functions: Callable, call: str | None = None) -> None:
    """The segcore source that ran, for students who want to read it."""
    with st.expander("Show the code", icon=":material/code:"):
        if call:
            st.markdown("The page makes this one call:")
            st.code(call, language="python")
        for function in functions:
            module = inspect.getmodule(function)
            st.markdown(f"`{module.__name__}.{function.__name__}`")
            st.code(inspect.getsource(function), language="python", line_numbers=True)


def page_header(title: str, intro: str, cur: Current) -> None:
    st.title(title)
    st.caption(intro)
    notice = st.session_state.get("notice")
    if notice:
        st.info(notice, icon=":material/info:")
