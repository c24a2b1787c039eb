"""Drawing the step-by-step data that segcore computes ("Watch it work" views)."""

from __future__ import annotations

import cv2
import numpy as np
import streamlit as st

from . import runner
from .state import Current

TILE = 150  # display size of one feature map, pixels


def _tile(array: np.ndarray, size: int = TILE) -> np.ndarray:
    """Enlarge a small map with nearest neighbour so its pixels stay visible."""
    h, w = array.shape[:2]
    scale = size / max(h, w)
    out = cv2.resize(array, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_NEAREST)
    if out.ndim == 2:
        out = cv2.applyColorMap(out, cv2.COLORMAP_MAGMA)[:, :, ::-1]
    return out


@runner.cached_view
def _feature_maps(image_key: str, model: str, device: str, _image: np.ndarray):
    from segcore.unet.features import feature_maps
    from segcore.unet.model import load_model

    return feature_maps(load_model(model, device=device), _image)


def unet_feature_maps(cur: Current, model: str, device: str) -> None:
    """The U shape: encoder levels going down on the left, decoder levels coming up on
    the right, each joined to its partner by a skip connection."""
    import segcore

    st.markdown(
        "The **encoder** (left, top to bottom) halves the size at each level and widens the features: it sees "
        "more context but less detail. The **bottleneck** is the coarsest view. The **decoder** (right, bottom "
        "to top) doubles the size at each level; the **skip connections** (→) hand it the encoder's map of the "
        "same size, which is how fine boundaries come back. Shown per level: the 4 channels that vary most "
        "over this image (bright = strong activation).")
    try:
        with st.spinner("Computing feature maps…"):
            steps = _feature_maps(cur.key, model, device, cur.image)
    except segcore.SegcoreError as error:
        st.error(str(error), icon=":material/error:")
        return
    encoder = [s for s in steps if s["stage"] == "encoder"]
    decoder = {s["level"]: s for s in steps if s["stage"] == "decoder"}
    bottleneck = next(s for s in steps if s["stage"] == "bottleneck")
    first, last = steps[0], steps[-1]

    def maps_row(container, step, n=4):
        cols = container.columns(n)
        for col, channel, fmap in zip(cols, step["channel_ids"], step["maps"][:n]):
            col.image(_tile(fmap), caption=f"ch {channel}", width="stretch")

    top = st.columns([2, 0.4, 2])
    top[0].markdown(f"**{first['title']}**")
    top[0].image(_tile(np.moveaxis(first["maps"], 0, 2), 260), width=260)
    top[2].markdown(f"**{last['title']}** (after the last decoder level)")
    top[2].image(_tile(last["maps"][0], 260), width=260)
    for enc in encoder:
        partner = decoder.get(enc["skip_to"])
        row = st.columns([2, 0.4, 2])
        row[0].markdown(f"**{enc['title']}** · {enc['channels']} channels · {enc['size'][1]}×{enc['size'][0]}")
        maps_row(row[0], enc)
        row[1].markdown("<div style='text-align:center;font-size:2em;margin-top:2em'>→</div>"
                        "<div style='text-align:center;font-size:0.8em'>skip</div>", unsafe_allow_html=True)
        if partner is not None:
            row[2].markdown(f"**{partner['title']}** · {partner['channels']} channels")
            maps_row(row[2], partner)
    mid = st.columns([1, 2, 1])
    mid[1].markdown(f"**{bottleneck['title']}** · {bottleneck['channels']} channels · "
                    f"{bottleneck['size'][1]}×{bottleneck['size'][0]}")
    maps_row(mid[1], bottleneck)
    last_decoder = decoder[max(decoder)]
    st.markdown(f"**{last_decoder['title']}** (no skip: the input itself is not concatenated)")
    maps_row(st, last_decoder)
