"""The dashboard's entry point: page navigation and the shared image picker.

Run with ``streamlit run app.py``. Each page in ``app_pages/`` is a thin
shell over :mod:`segcore`; this file only wires them together and makes sure
a sample image is selected on a fresh start, so every page shows results at
once. (The folder is not called ``pages/``: Streamlit would treat that as its
older file-based multipage layout and could run a page without this file.)
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui import state, warmup
from ui.config import ConfigError, settings

st.set_page_config(page_title="Segmentation lab", page_icon=":material/biotech:", layout="wide")
try:
    settings()
except ConfigError as error:  # the operator's file is wrong: say so instead of serving with other values
    st.error(f"This server's configuration is invalid, so the lab does not start. {error}", icon=":material/error:")
    st.stop()
warmup.start()  # no-op after the first run (and when ui.serve started it with the server)

PAGES = Path(__file__).parent / "app_pages"

navigation = st.navigation(
    {
        "Overview": [
            st.Page(PAGES / "compare.py", title="Compare methods", icon=":material/dashboard:", default=True),
            st.Page(PAGES / "evaluate.py", title="Evaluate a dataset", icon=":material/fact_check:"),
        ],
        "Methods": [
            st.Page(PAGES / "threshold.py", title="Thresholding", icon=":material/contrast:"),
            st.Page(PAGES / "region_growing.py", title="Region growing", icon=":material/grain:"),
            st.Page(PAGES / "kmeans.py", title="K-means clustering", icon=":material/palette:"),
            st.Page(PAGES / "unet.py", title="U-Net", icon=":material/neurology:"),
            st.Page(PAGES / "train.py", title="Train a U-Net", icon=":material/model_training:"),
            st.Page(PAGES / "edges.py", title="Edges (Canny)", icon=":material/draw:"),
            st.Page(PAGES / "watershed.py", title="Watershed & instances", icon=":material/water_drop:"),
        ],
        "Teaching lab": [
            st.Page(PAGES / "robustness.py", title="Robustness lab", icon=":material/science:"),
            st.Page(PAGES / "metrics.py", title="Metrics explained", icon=":material/functions:"),
        ],
    }
)

state.init_state()
state.keep_page_settings()
state.sidebar()
navigation.run()
