"""Thresholding: one number splits the image into foreground and background."""

from __future__ import annotations

import numpy as np
import streamlit as st

import segcore
from segcore.methods.threshold import DEFAULT_OFFSETS, GLOBAL_ALGORITHMS, LOCAL_ALGORITHMS, threshold
from ui import charts, display, runner, state

ALGORITHM_TITLES = {
    "otsu": "Otsu", "triangle": "Triangle", "li": "Li (minimum cross-entropy)", "yen": "Yen",
    "isodata": "Isodata (Ridler-Calvard)", "mean": "Mean", "minimum": "Minimum (valley between peaks)",
    "local_mean": "Local mean", "local_gaussian": "Local Gaussian", "sauvola": "Sauvola", "niblack": "Niblack",
}
MODES = {"Automatic": "auto", "Fixed value": "fixed", "Local (adaptive)": "local", "Multi-level": "multi"}

cur = state.current()
display.page_header("Thresholding", "Pixels brighter than a threshold T are foreground; the histogram shows "
                    "where T falls. Automatic methods read T off the histogram; local methods compute "
                    "one T per neighbourhood.", cur)

with st.container(border=True):
    c1, c2, c3 = st.columns([1.2, 1.4, 1])
    mode = MODES[c1.radio("Threshold", list(MODES), key="th_mode", horizontal=False)]
    params: dict = {}
    if mode == "auto":
        params["algorithm"] = c2.selectbox("Automatic method", GLOBAL_ALGORITHMS, key="th_algorithm",
                                           format_func=ALGORITHM_TITLES.get)
    elif mode == "fixed":
        params["algorithm"] = "fixed"
        params["value"] = c2.slider("Threshold value T", 0, 255, 127, key="th_value",
                                    help="Foreground is gray > T (bright objects) or gray ≤ T (dark objects).")
    elif mode == "local":
        params["algorithm"] = c2.selectbox("Local method", LOCAL_ALGORITHMS, key="th_local",
                                           format_func=ALGORITHM_TITLES.get)
        params["block_size"] = c2.slider("Block size (pixels, odd)", 3, 301, 35, step=2, key="th_block")
        params["offset"] = c2.slider("Offset (gray levels)", -50.0, 50.0, DEFAULT_OFFSETS[params["algorithm"]],
                                     step=1.0, key=f"th_offset_{params['algorithm']}",
                                     help="How far an object must stand out beyond its neighbourhood's threshold; "
                                          "positive shrinks the foreground and drops flat background.")
        if params["algorithm"] in ("sauvola", "niblack"):
            params["k"] = c2.slider("k (weight of the local standard deviation)", 0.0, 1.0, 0.2, step=0.05,
                                    key="th_k")
    else:
        params["algorithm"] = "multiotsu"
        params["classes"] = c2.slider("Classes", 2, 5, 3, key="th_classes")
    params["polarity"] = c3.radio("Objects are", ["bright", "dark", "auto"], key="th_polarity",
                                  format_func={"bright": "brighter", "dark": "darker",
                                               "auto": "the minority (auto)"}.get,
                                  help="'auto' takes the phase covering less than half the image as objects.")
    overlay_mode = display.overlay_choice("th_overlay")

result = runner.try_run(cur.image, cur.key, "threshold", **params, return_steps=params["algorithm"] == "otsu")
# Only the open tab runs (on_change="rerun"), so a slider change redraws one view.
tab_result, tab_watch, tab_all = st.tabs(["Result", "Watch it work", "Try all automatic methods"], key="th_tab",
                                         on_change="rerun")

if tab_result.open and result is not None:
    with tab_result:
        display.show_result(cur, result, key="th", overlay_mode=overlay_mode)
        used = result.info.get("thresholds") or []
        polarity = result.params["polarity"]
        if used:
            st.markdown(f"**Threshold{'s' if len(used) > 1 else ''}:** "
                        + ", ".join(f"{t:g}" for t in used) + f" · objects are **{polarity}**")
        else:
            st.markdown(f"**Local threshold** ({params['block_size']}×{params['block_size']} blocks) · "
                        f"objects are **{polarity}**")
        curve = result.info.get("otsu_curve")
        st.plotly_chart(
            charts.histogram_chart(result.info["histogram"], thresholds=used,
                                   curve=(curve["thresholds"], curve["between_class_variance"]) if curve else None),
            key="th_hist")

if tab_watch.open:
    with tab_watch:
        st.markdown("Move T and watch the mask follow. For every candidate T, Otsu's method computes the "
                    "**between-class variance** σ²_B(T) of the two groups it would create, and picks the T "
                    "where it is largest: the split that makes the two groups most different.")
        otsu = runner.run(cur.image, cur.key, "threshold", algorithm="otsu", polarity="bright", return_steps=True)
        otsu_t = int(otsu.info["threshold"])
        watch_t = st.slider("T", 0, 255, otsu_t, key="th_watch_value")
        fixed = runner.run(cur.image, cur.key, "threshold", algorithm="fixed", value=watch_t, polarity="bright")
        curve = otsu.info["otsu_curve"]
        variance = np.asarray(curve["between_class_variance"], dtype=float)
        left, right = st.columns([3, 2])
        fig = charts.histogram_chart(otsu.info["histogram"], thresholds=[watch_t],
                                     curve=(curve["thresholds"], variance),
                                     title=f"T = {watch_t}: σ²_B = {variance[watch_t]:.0f} "
                                           f"(Otsu's maximum {variance.max():.0f} at T = {otsu_t})")
        left.plotly_chart(fig, key="th_watch_hist")
        right.image(display.black_and_white(fixed.mask),
                    caption=f"gray > {watch_t}: {100 * fixed.info['foreground_fraction']:.1f}% foreground",
                    width="stretch")
        st.latex(r"\sigma_B^2(T) = \omega_0(T)\,\omega_1(T)\,\big(\mu_1(T) - \mu_0(T)\big)^2")
        st.caption("ω₀, ω₁: the fractions of pixels at or below T and above T; μ₀, μ₁: their mean gray levels.")

if tab_all.open:
    with tab_all:
        st.markdown("Every automatic method reads a different threshold off the same histogram "
                    "(like scikit-image's `try_all_threshold` or Fiji's *Auto Threshold → Try all*).")
        all_polarity = st.radio("Objects are", ["bright", "dark", "auto"], horizontal=True, key="th_all_polarity")
        results = runner.try_all_thresholds(cur.image, cur.key, all_polarity)
        columns = st.columns(4)
        for i, (name, res) in enumerate(results.items()):
            caption = f"{ALGORITHM_TITLES[name]}: T = {res.info['threshold']:g}"
            if cur.has_truth:
                caption += f" · IoU {segcore.metrics.iou(cur.truth, res.mask):.3f}"
            columns[i % 4].image(display.black_and_white(res.mask), caption=caption, width="stretch")
        missing = [ALGORITHM_TITLES[n] for n in GLOBAL_ALGORITHMS if n not in results]
        if missing:
            st.caption(f"{', '.join(missing)}: no threshold on this histogram (it needs two peaks).")

display.how_it_works("threshold")
display.show_code(threshold, call=f"segcore.segment(image, 'threshold', {', '.join(f'{k}={v!r}' for k, v in params.items())})")
