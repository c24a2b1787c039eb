"""Watershed: touching objects of a mask split into instances, and counted."""

from __future__ import annotations

import streamlit as st

from segcore import viz
from segcore.instances import instance_sizes, to_instances
from segcore.methods.watershed import watershed
from ui import charts, display, runner, state

cur = state.current()
display.page_header(
    "Watershed & instances",
    "Semantic segmentation says which pixels are objects; instance segmentation says which object each "
    "pixel belongs to. Watershed splits a foreground mask at the necks between touching objects.", cur)

with st.container(border=True):
    c1, c2, c3 = st.columns(3)
    polarity = c1.radio("Foreground from Otsu: objects are", ["auto", "bright", "dark"], key="ws_polarity",
                        format_func={"auto": "the minority (auto)", "bright": "brighter", "dark": "darker"}.get)
    min_distance = c2.slider("Minimum distance between object centres (pixels)", 1, 50, 5, key="ws_min_distance",
                             help="Larger values split less: centres closer than this stay one object.")
    compactness = c3.slider("Compactness", 0.0, 1.0, 0.0, step=0.01, key="ws_compactness",
                            help="0 is the classic watershed; larger values make rounder, more even regions.")
    overlay_mode = display.overlay_choice("ws_overlay")

result = runner.try_run(cur.image, cur.key, "watershed", polarity=polarity, min_distance=min_distance,
                        compactness=compactness)
if result is not None:
    display.show_result(cur, result, key="ws", overlay_mode=overlay_mode, label_caption="Instances")
    _, components = to_instances(result.mask)
    sizes = instance_sizes(result.labels)
    st.markdown(f"**{result.info['count']} objects** after splitting, from **{components}** connected "
                f"components of the mask (plain connected components cannot separate touching objects).")
    left, right = st.columns(2)
    distance = result.info["distance"]
    screen_distance = display.for_screen(distance)
    left.image(viz.draw_points(viz.heatmap(screen_distance, vmax=max(float(distance.max()), 1.0)),
                               result.info["markers"], scale=screen_distance.shape[1] / distance.shape[1], size=9),
               caption="Distance to the background (bright = object centre); + marks the peaks that seed "
                       "one object each", width="stretch")
    if sizes.size:
        right.plotly_chart(charts.size_histogram(sizes), key="ws_sizes")

display.how_it_works("watershed")
display.show_code(watershed, call=f"segcore.segment(image, 'watershed', polarity={polarity!r}, "
                                  f"min_distance={min_distance}, compactness={compactness})")
