"""Compare methods side by side on the current image, with scores when a ground truth exists."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import streamlit as st

import segcore
from segcore import viz
from segcore.compare import DEFAULT_PRESETS, PRESETS, agreement_matrix, rows_to_csv, score_rows
from ui import charts, display, runner, state, user_models

cur = state.current()
display.page_header(
    "Compare methods",
    "The current image segmented by several methods at once. With a ground-truth mask the methods are "
    "scored (IoU, Dice, pixel accuracy); without one, you see how much they agree with each other.",
    cur,
)

yours = user_models.presets()  # "Your model: <name>", trained on the training page in this session
if "cmp_methods" in st.session_state:  # a trained model whose files were swept is no longer offered
    st.session_state["cmp_methods"] = [m for m in st.session_state["cmp_methods"] if m in PRESETS or m in yours]
chosen = st.multiselect("Methods", list(PRESETS) + list(yours), default=list(DEFAULT_PRESETS), key="cmp_methods",
                        help="Each method runs with the parameters in its name; open its own page to tune it.")
overlay_mode = display.overlay_choice("cmp_overlay")
if not chosen:
    st.info("Pick at least one method above.")
    st.stop()

# --- side by side: each tile is drawn as soon as its result is ready -----------
screen = display.for_screen(cur.image)
per_row = 4 if len(chosen) > 3 else len(chosen) + 1 + (1 if cur.has_truth else 0)
n_tiles = len(chosen) + 1 + (1 if cur.has_truth else 0)
slots = [column.empty() for _ in range(0, n_tiles, per_row) for column in st.columns(per_row)]
slots[0].image(screen, caption=f"Original — {cur.name}", width="stretch")
if cur.has_truth:
    slots[1].image(viz.overlay(screen, display.labels_for_screen(cur.truth > 0), mode=overlay_mode, thickness=2,
                               colors=display.BLACK_WHITE), caption="Ground truth", width="stretch")
tile = dict(zip(chosen, slots[2 if cur.has_truth else 1:]))
pictures: dict[str, np.ndarray] = {}
for label in chosen:
    tile[label].caption(f"{label}: waiting…")


def tile_progress(label: str):
    """Shows which method is running in its own tile; the U-Net also reports its steps there."""
    tile[label].caption(f"{label}: running…")
    return lambda fraction, message: tile[label].progress(min(max(fraction, 0.0), 1.0), text=f"{label}: {message}")


def draw(label: str, result) -> None:
    labels = result.labels if result.mask is None else result.mask
    pictures[label] = viz.overlay(screen, display.labels_for_screen(labels), mode=overlay_mode, thickness=2)
    tile[label].image(pictures[label], caption=f"{label} · {display.run_time_text(result)}", width="stretch")


pictures_sent_at = time.perf_counter()
results, failures = runner.run_presets(cur.image, cur.key, chosen, on_result=draw, progress=tile_progress,
                                       presets=yours)
for label, message in failures.items():
    tile[label].error(f"{label}: {message}", icon=":material/error:")
if not results:
    st.stop()
scores = {row["method"]: row for row in score_rows(cur.truth, results)} if cur.has_truth else {}
for label in scores:  # the captions get their scores once every method is done
    tile[label].image(pictures[label], caption=f"{label} · {display.run_time_text(results[label])} · "
                      f"IoU {scores[label]['iou']:.3f}", width="stretch")

display.let_pictures_paint(pictures_sent_at)  # the tiles first, then the table and charts
# --- scores -------------------------------------------------------------------
if cur.has_truth:
    st.subheader("Scores against the ground truth")
    rows = list(scores.values())
    if any(row["matched"] for row in rows):
        st.caption("Methods that output clusters or several regions were matched to the ground-truth classes "
                   "first (oracle matching: the best one-to-one assignment of labels to classes, as if someone "
                   "who knew the answer had named the clusters). Binary methods are scored as they are.")
    table = pd.DataFrame(rows)[["method", "iou", "dice", "pixel_accuracy", "precision", "recall", "mean_iou", "seconds"]]
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%.3f") for c in table.columns[1:-1]}
                 | {"seconds": st.column_config.NumberColumn("seconds", format="%.3f")})
    left, right = st.columns([3, 2])
    left.plotly_chart(charts.metrics_bar_chart(rows), key="cmp_bars")
    right.plotly_chart(charts.seconds_chart(rows), key="cmp_seconds")
    if int(np.max(cur.truth)) > 1 and len(np.unique(cur.truth)) > 2:
        st.markdown("**Per-class IoU** (multi-class ground truth)")
        st.dataframe(pd.DataFrame({r["method"]: r["per_class_iou"] for r in rows}).T, width="stretch")

    st.subheader("Where each method is wrong")
    st.caption("Magenta: false positives (marked foreground, truly background). Cyan: false negatives "
               "(missed foreground). Dimmed: correct.")
    columns = st.columns(min(4, len(results)))
    screen_truth = display.labels_for_screen(cur.truth > 0)
    for i, (label, result) in enumerate(results.items()):
        matched = segcore.metrics.match_labels(cur.truth > 0, result.labels) if result.mask is None else result.mask
        columns[i % len(columns)].image(
            viz.error_map(screen_truth, display.labels_for_screen(np.asarray(matched) > 0), image=screen),
            caption=label, width="stretch")
    st.download_button("Download the scores (CSV)", rows_to_csv(rows), file_name="segmentation_scores.csv",
                       mime="text/csv", key="cmp_csv", icon=":material/download:", on_click="ignore")
else:
    st.subheader("Agreement between methods")
    st.caption("No ground truth for this image: upload a mask in the sidebar to score the methods. Meanwhile, "
               "the IoU between every two methods shows where they agree.")
    matrix, names = agreement_matrix(results)
    st.plotly_chart(charts.agreement_heatmap(matrix, names), key="cmp_agreement")
    reference = st.selectbox("Treat one method as the reference", ["(none)"] + names, key="cmp_reference")
    if reference != "(none)":
        rows = score_rows(results[reference].binary, {n: r for n, r in results.items() if n != reference})
        st.plotly_chart(charts.metrics_bar_chart(rows, title=f"Scores against {reference}"), key="cmp_ref_bars")
        st.download_button("Download the scores (CSV)", rows_to_csv(rows), file_name="segmentation_agreement.csv",
                           mime="text/csv", key="cmp_csv", icon=":material/download:", on_click="ignore")
    st.plotly_chart(charts.seconds_chart([{"method": n, "seconds": r.seconds} for n, r in results.items()]),
                    key="cmp_seconds")
