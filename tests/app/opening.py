"""Opening the app straight on one page, for page tests that drive AppTest themselves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "app.py"


def open_page(page: str, sample: str | None = None) -> AppTest:
    """The app opened on ``page`` (e.g. "app_pages/kmeans.py"), default sample unless ``sample`` is given."""
    at = AppTest.from_file(str(APP), default_timeout=90)
    # The first run shows the default page; with no methods chosen the Compare page stops at once.
    at.session_state["cmp_methods"] = []
    at.run()
    if sample is not None:
        at.sidebar.selectbox(key="sample_name").set_value(sample).run()
    at.switch_page(page).run()
    assert not at.exception
    return at


def open_page_with(page: str, image: np.ndarray, name: str) -> AppTest:
    """``page`` on an image of our own, put where the sidebar would put an upload."""
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.session_state["cmp_methods"] = []
    at.run()
    for key, value in {"image": image, "original_image": image, "image_key": f"test-{name}", "image_name": name,
                       "truth": None, "original_truth": None, "truth_name": None}.items():
        at.session_state[key] = value
    at.switch_page(page).run()
    assert not at.exception
    return at
