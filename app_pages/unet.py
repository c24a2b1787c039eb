"""U-Net: a pretrained network predicts a probability per pixel; a threshold makes the mask."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

import segcore
from segcore import viz
from segcore.methods.unet import apply_threshold, unet
from ui import display, models, runner, state, teaching

cur = state.current()
display.page_header(
    "U-Net",
    "A convolutional encoder-decoder with skip connections. The bundled model was trained by this project "
    "on the 2018 Data Science Bowl nuclei images (fluorescence, brightfield and H&E histology); it runs "
    "offline, on the GPU when there is one.",
    cur,
)

with st.container(border=True):
    c1, c2, c3 = st.columns([1.6, 1, 1.2])
    with c1:
        model = models.model_picker()
    with c2:
        devices = models.devices()
        device = st.selectbox("Device", ["auto"] + devices, key="unet_device",
                              help="'auto' uses a CUDA GPU when present, else Apple MPS, else the CPU.")
        split = st.toggle("Count nuclei", value=True, key="unet_split",
                          help="Split touching nuclei at the ridges of the mask's distance transform and count them.")
    with c3:
        threshold = st.slider("Probability threshold", 0.05, 0.95, models.default_threshold(model), step=0.05,
                              key="unet_threshold", help="Pixels with a probability above this are foreground.")
        overlay_mode = display.overlay_choice("unet_overlay")

if model is None:
    st.stop()

bar = st.progress(0.0, text="Running the U-Net…")
try:
    base = runner.run(cur.image, cur.key, "unet", model=model, device=device, split_instances=False,
                      progress=lambda f, m: bar.progress(min(max(f, 0.0), 1.0), text=f"U-Net: {m}"))
except segcore.SegcoreError as error:
    bar.empty()
    st.error(f"The U-Net could not run: {error}", icon=":material/error:")
    st.stop()
bar.empty()

binary = base.mask is not None
result = apply_threshold(base, threshold, split_instances=split) if binary else base
tab_result, tab_inside, tab_card = st.tabs(["Result", "Inside the network", "Model card"])

with tab_result:
    st.caption(f"Model: **{base.info['model']}** · device **{base.info['device']}** · precision "
               f"**{base.info['precision']}** · input normalisation: {base.info['normalization']}")
    if binary:
        drawn = result.info.get("instances", result.labels)
        display.show_result(cur, result, key="unet", labels=drawn, overlay_mode=overlay_mode,
                            third=(viz.heatmap(display.for_screen(result.info["probabilities"])),
                                   "Probability of nucleus (dark blue 0 → yellow 1)"),
                            label_caption="Nuclei")
        if split:
            st.markdown(f"**{result.info['count']} nuclei** found (the mask split at the ridges of its distance "
                        "transform).")
        screen_mask = display.labels_for_screen(result.mask)
        left, right = st.columns(2)
        left.image(viz.colorize(screen_mask, colors=np.array([[0, 0, 0], [255, 255, 255]])),
                   caption=f"Mask: probability > {threshold:.2f}", width="stretch")
        if split:
            right.image(viz.colorize(display.labels_for_screen(result.info["instances"])),
                        caption="Instances (one colour per nucleus)", width="stretch")
    else:
        names = base.info["class_names"]
        display.show_result(cur, result, key="unet", overlay_mode=overlay_mode, label_caption="Classes")
        colors = viz.label_colors(len(names))
        # Class names come from the model's files (maybe a visitor's): shown as table text, never as HTML.
        legend = pd.DataFrame({"class": [str(name) for name in names]})
        st.dataframe(legend.style.apply(lambda column: [
            f"background-color: rgb{tuple(int(v) for v in colors[i])}; color: {'white' if i == 0 else 'black'}"
            for i in range(len(column))]), hide_index=True)

with tab_inside:
    teaching.unet_feature_maps(cur, model, device)

with tab_card:
    models.model_card(model)

display.how_it_works("unet")
display.show_code(unet, apply_threshold,
                  call=f"segcore.segment(image, 'unet', model={model!r}, threshold={threshold}, device={device!r})")
