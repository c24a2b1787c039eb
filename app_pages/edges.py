"""Edge-based segmentation: Canny edges, closed and filled into regions."""

from __future__ import annotations

import numpy as np
import streamlit as st

from segcore import viz
from segcore.methods.edges import edges
from ui import display, runner, state

cur = state.current()
display.page_header("Edges (Canny)", "Boundaries are where the intensity changes sharply. Canny finds thin, "
                    "connected edges; closing small gaps and filling what they enclose turns them into regions.",
                    cur)

with st.container(border=True):
    c1, c2, c3 = st.columns(3)
    sigma = c1.slider("Smoothing σ (pixels)", 0.0, 5.0, 1.0, step=0.25, key="ed_sigma",
                      help="Gaussian blur before the gradient: more smoothing, fewer noise edges.")
    automatic = c1.toggle("Automatic hysteresis thresholds", value=True, key="ed_auto",
                          help="High = Otsu's threshold of the smoothed image, low = half of it.")
    low = high = None
    if not automatic:
        low, high = c2.slider("Hysteresis thresholds (low, high)", 0, 500, (50, 150), key="ed_thresholds")
    closing = c2.slider("Close gaps up to (pixels)", 0, 15, 3, key="ed_closing")
    min_size = c3.slider("Drop regions smaller than (pixels)", 0, 2000, 30, step=10, key="ed_min_size")
    fill = c3.toggle("Fill enclosed regions", value=True, key="ed_fill")
    overlay_mode = display.overlay_choice("ed_overlay")

result = runner.try_run(cur.image, cur.key, "edges", sigma=sigma, low=low, high=high, closing=closing,
                        min_size=min_size, fill=fill)
if result is not None:
    display.show_result(cur, result, key="ed", overlay_mode=overlay_mode, label_caption="Regions")
    st.markdown(f"**{result.info['count']} regions** · hysteresis thresholds used: low "
                f"{result.info['low']:.0f}, high {result.info['high']:.0f}")
    left, right = st.columns(2)
    left.image(display.black_and_white(result.info["edges"]),
               caption="Canny edge map (before closing and filling)", width="stretch")
    right.image(viz.overlay(display.for_screen(cur.image), display.labels_for_screen(result.info["edges"]),
                            mode="fill", alpha=1.0, colors=np.array([[0, 0, 0], [255, 60, 60]])),
                caption="Edges over the image", width="stretch")

display.how_it_works("edges")
display.show_code(edges, call=f"segcore.segment(image, 'edges', sigma={sigma}, low={low}, high={high}, "
                               f"closing={closing}, min_size={min_size}, fill={fill})")
