"""Robustness lab: degrade a synthetic image step by step and watch each method's score fall."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

import segcore
from segcore import viz
from segcore.compare import PRESETS
from segcore.robustness import DEFAULT_SWEEP_PRESETS, levels_between, sweep
from segcore.synthetic import DEGRADATIONS, degrade, make_scene
from ui import charts, display, runner

EXPLANATIONS = {
    "noise": "Thresholds and k-means decide pixel by pixel, so noise flips isolated pixels to the wrong side "
             "(speckle). Region growing stops at noisy pixels or leaks through them. A U-Net looks at "
             "neighbourhoods and copes until the noise exceeds what it saw in training.",
    "illumination": "One global threshold cannot serve a bright side and a dark side at once: objects on the dark "
                    "side fall below it while background on the bright side rises above it. Local thresholds "
                    "compare each pixel with its own neighbourhood and survive.",
    "blur": "Blur widens and softens boundaries: masks grow or shrink depending on the threshold, small "
            "objects fade into the background and touching objects merge.",
    "contrast": "As objects approach the background level, every method loses them; the ones that "
                "assume two well-separated histogram peaks (Otsu, k-means) fail first.",
}

st.title("Robustness lab")
st.caption("A synthetic scene with an exact ground truth is degraded step by step — more noise, more uneven "
           "light, more blur or less contrast — and every chosen method is scored at each level. This makes "
           "the strengths and weaknesses of each method visible on the same images.")

with st.expander("The scene", expanded=False, icon=":material/tune:"):
    c1, c2, c3, c4 = st.columns(4)
    size = c1.select_slider("Image size", [128, 192, 256, 384], value=256, key="rb_size")
    n_objects = c1.slider("Objects", 1, 40, 12, key="rb_objects")
    radius = c2.slider("Object radius (pixels)", 3, 40, (8, 16), key="rb_radius")
    eccentricity = c2.slider("Elongation", 0.0, 0.9, 0.3, step=0.1, key="rb_eccentricity")
    contrast = c3.slider("Contrast", 0.05, 0.8, 0.5, step=0.05, key="rb_contrast")
    texture = c3.slider("Texture inside objects", 0.0, 0.5, 0.0, step=0.05, key="rb_texture")
    touching = c4.toggle("Touching pairs", value=False, key="rb_touching")
    dark = c4.toggle("Dark objects on light background", value=False, key="rb_dark")
    random_state = c4.number_input("Random seed", 0, 10_000, 0, key="rb_seed")
    st.markdown("**Baseline degradations** (the ones not being swept)")
    b1, b2, b3 = st.columns(3)
    base_noise = b1.slider("Noise", 0.0, 0.4, 0.03, step=0.01, key="rb_base_noise")
    base_light = b2.slider("Uneven illumination", 0.0, 1.0, 0.0, step=0.05, key="rb_base_light")
    base_blur = b3.slider("Blur σ", 0.0, 6.0, 1.0, step=0.25, key="rb_base_blur")

scene_params = {"n_objects": n_objects, "radius": tuple(radius), "eccentricity": eccentricity,
                "contrast": contrast, "texture": texture, "touching": touching, "dark_objects": dark,
                "background": 0.75 if dark else 0.2}
baseline = {"noise": base_noise, "illumination": base_light, "blur": base_blur}

with st.container(border=True):
    c1, c2, c3 = st.columns([1.2, 1.3, 2])
    degradation = c1.selectbox("Degradation to sweep", list(DEGRADATIONS), key="rb_degradation",
                               format_func=lambda d: DEGRADATIONS[d]["title"])
    low_default, high_default = DEGRADATIONS[degradation]["range"]
    span = c2.slider("From – to", float(0.0), float(max(high_default, 1.0) if degradation != "blur" else 8.0),
                     (float(low_default), float(high_default)), key=f"rb_span_{degradation}")
    n_levels = c2.slider("Levels", 2, 12, 8, key="rb_levels")
    methods = c3.multiselect("Methods", list(PRESETS), default=list(DEFAULT_SWEEP_PRESETS), key="rb_methods")

if not methods:
    st.info("Pick at least one method.")
    st.stop()
levels = levels_between(span[0], span[1], n_levels)


bar = st.progress(0.0, text="Running the sweep…")
try:
    result = runner.sweep(methods, degradation, levels, size=int(size), scene=scene_params, baseline=baseline,
                          random_state=int(random_state), progress=lambda f, m: bar.progress(min(f, 1.0), text=m))
except segcore.SegcoreError as error:
    bar.empty()
    st.error(str(error), icon=":material/error:")
    st.stop()
bar.empty()

metric = st.segmented_control("Score", ["iou", "dice"], default="iou", key="rb_metric",
                              format_func=charts.METRIC_TITLES.get) or "iou"
st.plotly_chart(
    charts.line_chart(result.rows, x="level", y=metric,
                      title=f"{charts.METRIC_TITLES[metric]} as {DEGRADATIONS[degradation]['title'].lower()} grows",
                      x_title=DEGRADATIONS[degradation]["title"]),
    key="rb_chart")
st.caption(f"{len(result.rows)} runs in {result.seconds:.1f} s. {EXPLANATIONS[degradation]}")
failed = [r for r in result.rows if r.get("error")]
if failed:
    st.warning(f"{len(failed)} run(s) failed, e.g. {failed[0]['method']} at {failed[0]['level']:g}: "
               f"{failed[0]['error']}", icon=":material/warning:")

st.subheader("What the methods see")
shown = sorted({levels[0], levels[len(levels) // 3], levels[(2 * len(levels)) // 3], levels[-1]})
columns = st.columns(len(shown))
for column, level in zip(columns, shown):
    column.image(result.images[level], caption=f"{degradation} = {level:g}", width="stretch")
    column.image(viz.overlay(result.images[level], result.truth, mode="boundary", thickness=1,
                             colors=np.array([[0, 0, 0], [0, 220, 0]])),
                 caption="ground truth outline", width="stretch")
for method in result.methods:
    columns = st.columns(len(shown))
    for column, level in zip(columns, shown):
        mask = result.masks.get((method, level))
        if mask is None:
            column.caption(f"{method}: failed")
            continue
        row = next(r for r in result.rows if r["method"] == method and r["level"] == level)
        column.image(viz.error_map(result.truth, mask, image=result.images[level]),
                     caption=f"{method} · IoU {row['iou']:.2f}", width="stretch")
st.caption("Magenta: false positives, cyan: missed foreground.")

table = pd.DataFrame(result.rows).pivot(index="level", columns="method", values=metric)
st.dataframe(table.style.format("{:.3f}"), width="stretch")
st.download_button("Download the sweep (CSV)", pd.DataFrame(result.rows).to_csv(index=False),
                   file_name=f"sweep_{degradation}.csv", mime="text/csv", key="rb_csv", on_click="ignore",
                   icon=":material/download:")

display.show_code(sweep, make_scene, degrade,
                  call=f"segcore.robustness.sweep({list(methods)!r}, {degradation!r}, {levels!r})")
