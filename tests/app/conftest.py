"""AppTest fixtures for the dashboard: a running app and a driver with the reads tests repeat.

``app`` is a fresh :class:`~streamlit.testing.v1.AppTest` of ``app.py``,
already run once (the Compare page with the default synthetic sample).
``lab`` wraps one in :class:`Lab`, which knows the sidebar's widget keys and
reads charts, metrics and captions in the form assertions need;
``start_lab(page)`` makes more, opened on a given page.

Exception boxes show the full error in tests (users see a redacted one), so
a failing ``Lab.assert_ok`` prints the real message and stack.

The page files live in ``app_pages/``, not ``pages/``: Streamlit reads a
``pages/`` folder beside the entry script as its old file-based multipage
layout until a run has called ``st.navigation``, so a deep link as a new
server's first request (and every AppTest run after the first) would run a
page file alone, without ``app.py``.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.util import patch_config_options

from tests.files import Upload
from ui import display

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "app.py"
PAGES_DIR = "app_pages"  # the folder app.py's st.Page entries point into
# No background warm-up (ui.warmup) in AppTests: each test decides what is cached.
os.environ["SEGLAB_WARMUP"] = "0"
# No browser paints the pictures in an AppTest: the pause before a session's first charts would only
# slow every test down (test_compare_page checks that the page takes it).
display.PAINT_PAUSE = 0.0
# Two slow cores, a training job beside the tests, and the U-Net's first import (~7 s).
TIMEOUT = 90


@pytest.fixture(scope="session", autouse=True)
def full_error_details():
    """Exception boxes carry the real message and stack in tests.

    The app's config hides error details from users (``client.showErrorDetails
    = "none"``), which would leave a failing test with a redacted message.
    """
    with patch_config_options({"client.showErrorDetails": "full"}):
        yield


def start_app(page: str | None = None) -> AppTest:
    """A fresh AppTest of the dashboard after its first run.

    ``page`` (e.g. "threshold" for ``app_pages/threshold.py``) opens that page
    directly, as a link to it would, instead of the Compare page; this skips
    the Compare page's four methods when a test does not need them.
    """
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    if page is not None:
        at.switch_page(f"{PAGES_DIR}/{page}.py")
    at.run()
    return at


@pytest.fixture
def app() -> AppTest:
    """A fresh AppTest of ``app.py``, already run: the Compare page on the default sample."""
    return start_app()


class Lab:
    """One AppTest session of the dashboard, with the sidebar's keys and typed reads.

    ``Lab()`` starts on the Compare page, ``Lab("edges")`` on ``app_pages/edges.py``.
    Actions run the script and return ``self``; reads never run it.
    """

    def __init__(self, page: str | None = None) -> None:
        self.at = start_app(page)

    # -- actions ---------------------------------------------------------------
    def run(self) -> Lab:
        self.at.run()
        return self

    def open(self, page: str) -> Lab:
        """Switch to ``app_pages/<page>.py`` (e.g. "threshold") and run it."""
        self.at.switch_page(f"{PAGES_DIR}/{page}.py").run()
        return self

    def open_tab(self, key: str, label: str) -> Lab:
        """Open a lazily drawn tab (``st.tabs(key=..., on_change="rerun")``) and run."""
        self.at.session_state[key] = label
        self.at.run()
        return self

    def choose_sample(self, name: str) -> Lab:
        """Pick a gallery sample by its key in :data:`segcore.samples.SAMPLES`."""
        self.at.sidebar.radio(key="image_source").set_value("Sample gallery").run()
        self.at.sidebar.selectbox(key="sample_name").set_value(name).run()
        return self

    def use_uploads(self) -> Lab:
        self.at.sidebar.radio(key="image_source").set_value("Upload").run()
        return self

    def upload_image(self, upload: Upload) -> Lab:
        self.at.sidebar.file_uploader(key="upload_image").set_value(upload.as_tuple()).run()
        return self

    def upload_mask(self, upload: Upload) -> Lab:
        self.at.sidebar.file_uploader(key="upload_mask").set_value(upload.as_tuple()).run()
        return self

    def remove_mask(self) -> Lab:
        self.at.sidebar.button(key="clear_mask").click().run()
        return self

    # -- reads -----------------------------------------------------------------
    def assert_ok(self) -> None:
        """No exception box anywhere on the page (with the app's own message if there is one)."""
        problems = [e.message + "\n" + "\n".join(e.stack_trace) for e in self.at.exception]
        assert not self.at.exception, "\n\n".join(problems)

    def charts(self) -> dict[str, dict]:
        """Plotly figures on the page by their widget key (e.g. "cmp_bars"), as the JSON spec."""
        figures = {}
        for element in self.at.get("plotly_chart"):
            key = element.proto.id.rsplit("-", 1)[-1]  # ids end with the user key
            figures[key] = json.loads(element.proto.spec)
        return figures

    @staticmethod
    def values(array) -> np.ndarray:
        """A figure's data array as numpy, whether the spec holds a list or a typed array.

        Plotly encodes numpy arrays as ``{"dtype": "f8", "bdata": <base64>, "shape": "4, 4"}``.
        """
        if isinstance(array, dict) and "bdata" in array:
            flat = np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"]))
            shape = array.get("shape")
            return flat.reshape([int(n) for n in str(shape).split(",")]) if shape else flat
        return np.asarray(array)

    def metrics(self) -> dict[str, str]:
        """``st.metric`` values by label, e.g. {"IoU": "0.949", "Foreground": "8.8%"}."""
        return {m.label: m.value for m in self.at.metric}

    def metric_number(self, label: str) -> float:
        """A metric as a number ("8.8%" -> 8.8, "0.949" -> 0.949)."""
        return float(self.metrics()[label].rstrip("%").split()[0])

    def image_captions(self) -> list[str]:
        return [caption for image in self.at.image for caption in image.captions]

    def image_count(self) -> int:
        return sum(len(image.value) for image in self.at.image)

    def summary(self) -> str:
        """The sidebar line naming the current image, its size and its ground truth."""
        lines = [m.value for m in self.at.sidebar.markdown if "Ground truth:" in m.value]
        assert len(lines) == 1, f"expected one image summary in the sidebar, found {lines}"
        return lines[0]

    def sidebar_errors(self) -> list[str]:
        return [e.value for e in self.at.sidebar.error]

    def errors(self) -> list[str]:
        """Every ``st.error`` on the page, sidebar included."""
        return [e.value for e in self.at.error]

    def markdown_with(self, text: str) -> list[str]:
        return [m.value for m in self.at.markdown if text in m.value]

    def subheaders(self) -> list[str]:
        return [s.value for s in self.at.subheader]

    def dataframe(self, index: int = 0):
        return self.at.dataframe[index].value

    def image(self):
        """The working image the pages segment (session state ``image``)."""
        return self.at.session_state["image"]

    def truth(self):
        """The ground truth the pages score against, or None."""
        return self.at.session_state["truth"]


@pytest.fixture
def lab() -> Lab:
    """A fresh :class:`Lab` on the Compare page with the default sample."""
    return Lab()


@pytest.fixture(scope="session")
def start_lab() -> Callable[[str | None], Lab]:
    """``start_lab("edges")``: a fresh :class:`Lab` opened on ``app_pages/edges.py`` (None: Compare).

    Session-scoped (it holds no state), so module-scoped fixtures can share one Lab.
    """
    return Lab
