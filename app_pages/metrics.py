"""Metrics explained: IoU, Dice and pixel accuracy on a tiny worked example and on the current image."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from segcore import metrics
from segcore.compare import DEFAULT_PRESETS
from ui import charts, display, runner, state
from ui.texts import METRICS_TEXT

cur = state.current()
display.page_header("Metrics explained", "How a segmentation is scored against a ground truth, on an example "
                    "small enough to count by hand — and why one popular score can fool you.", cur)

for key in ("iou", "dice", "pixel_accuracy"):
    name, formula, meaning = METRICS_TEXT[key]
    left, right = st.columns([1, 2])
    left.markdown(f"**{name}**  \n{meaning}")
    right.latex(formula)

st.subheader("A worked example you can count")
st.markdown("The truth is a 3×3 object in a 6×6 image. Slide the prediction around and count the cells: "
            "**TP** (object, found), **FP** (background marked as object), **FN** (object missed), **TN** "
            "(background left alone).")
c1, c2, c3 = st.columns(3)
shift_x = c1.slider("Move the prediction right", -3, 3, 1, key="mx_shift_x")
shift_y = c2.slider("Move the prediction down", -3, 3, 0, key="mx_shift_y")
grow = c3.slider("Prediction size", 1, 5, 3, key="mx_size")
truth = np.zeros((6, 6), dtype=bool)
truth[1:4, 1:4] = True
pred = np.zeros((6, 6), dtype=bool)
top, left_col = 1 + shift_y, 1 + shift_x
pred[max(top, 0):max(top + grow, 0), max(left_col, 0):max(left_col + grow, 0)] = True
tp = int(np.count_nonzero(truth & pred))
fp = int(np.count_nonzero(pred & ~truth))
fn = int(np.count_nonzero(truth & ~pred))
tn = truth.size - tp - fp - fn
grid, numbers = st.columns([1, 1.3])
grid.plotly_chart(charts.confusion_grid(truth, pred), key="mx_grid")
with numbers:
    st.markdown(f"TP = **{tp}**, FP = **{fp}**, FN = **{fn}**, TN = **{tn}** (36 cells)")
    st.latex(rf"\mathrm{{IoU}} = \frac{{TP}}{{TP + FP + FN}} = \frac{{{tp}}}{{{tp} + {fp} + {fn}}} = "
             rf"{metrics.iou(truth, pred):.3f}")
    st.latex(rf"\mathrm{{Dice}} = \frac{{2\,TP}}{{2\,TP + FP + FN}} = \frac{{{2 * tp}}}{{{2 * tp} + {fp} + {fn}}} = "
             rf"{metrics.dice(truth, pred):.3f}")
    st.latex(rf"\mathrm{{Pixel\ accuracy}} = \frac{{TP + TN}}{{\text{{all}}}} = \frac{{{tp} + {tn}}}{{36}} = "
             rf"{metrics.pixel_accuracy(truth, pred):.3f}")
    st.caption("Dice is always at least IoU: Dice = 2·IoU / (1 + IoU). Both ignore TN; pixel accuracy counts "
               "them, which is where it goes wrong.")

st.subheader("Why pixel accuracy misleads on imbalanced images")
if not cur.has_truth:
    st.info("This needs a ground truth: pick a synthetic sample or upload a mask in the sidebar.")
else:
    fraction = float(np.count_nonzero(cur.truth)) / cur.truth.size
    empty = np.zeros(cur.shape, dtype=bool)
    empty_iou = metrics.iou(cur.truth, empty)
    note = (" (the mask has no objects: both masks are empty, which scores 1 by the `empty_score` rule — the "
            "trap shows on masks with a few small objects)" if fraction == 0 else "")
    st.markdown(f"In **{cur.name}**, objects cover **{100 * fraction:.1f}%** of the pixels. A 'method' that "
                f"marks nothing at all is right about every background pixel: its pixel accuracy is "
                f"**{1 - fraction:.3f}**, while its IoU and Dice are {empty_iou:g}{note}. Below, that empty "
                "prediction next to the methods of the Compare page:")
    chosen = st.session_state.get("cmp_methods") or list(DEFAULT_PRESETS)
    results, failures = runner.run_presets(cur.image, cur.key, list(chosen))
    rows = [{"method": "Empty prediction (marks nothing)", "pixel_accuracy": metrics.pixel_accuracy(cur.truth, empty),
             "iou": metrics.iou(cur.truth, empty), "dice": metrics.dice(cur.truth, empty)}]
    for label, result in results.items():
        scores = metrics.evaluate(cur.truth, result)
        rows.append({"method": label, "pixel_accuracy": scores.pixel_accuracy, "iou": scores.iou,
                     "dice": scores.dice})
    st.plotly_chart(charts.metrics_bar_chart(rows, metrics=("pixel_accuracy", "iou", "dice"),
                                             title="Pixel accuracy stays high even for a useless prediction"),
                    key="mx_imbalance")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%.3f")
                                for c in ("pixel_accuracy", "iou", "dice")})

with st.expander("Rules for empty masks and for clustering methods", icon=":material/rule:"):
    st.markdown(
        "- **Both masks empty** (nothing to find, nothing found): IoU and Dice are 1.0 by default "
        "(`empty_score=1.0`, a parameter of `segcore.metrics.iou` / `dice`). **One empty**: 0.0.\n"
        "- **Clusters and regions have no meaning by themselves**: k-means may call the nuclei 'cluster 0' on "
        "one image and 'cluster 1' on the next. Before scoring, segcore matches predicted labels to the "
        "ground-truth classes with the best one-to-one assignment (the Hungarian algorithm on the overlap "
        "counts) — an *oracle*, because it uses the answer to name the clusters. Binary methods (thresholds, "
        "U-Net) are scored as they are.")

display.show_code(metrics.iou, metrics.dice, metrics.pixel_accuracy,
                  call="segcore.metrics.evaluate(truth, result)  # all scores at once")
