"""A real Streamlit server and Debian's Chromium for the browser tests.

``app_url`` starts ``streamlit run app.py`` once per test session on a free
local port (its log goes to a file under pytest's temporary folder, printed
when the server fails) and stops that process, and only it, at the end.
pytest-playwright's ``page`` fixture then drives Chromium at
/usr/lib/chromium/chromium (installed by ``apt-get install chromium``; never
``playwright install``, which downloads a browser and fails offline). Without
that file every test in this folder is skipped with the reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from devtools.streamlit_server import CHROMIUM, CHROMIUM_FLAGS, VIEWPORT, AppDidNotStart, start_app, stop_app

def pytest_collection_modifyitems(config, items):
    """Skip every browser test, with the reason, on a machine without Chromium."""
    if CHROMIUM.exists():
        return
    here = Path(__file__).parent
    skip = pytest.mark.skip(reason=f"Chromium not found at {CHROMIUM} (CI installs it: apt-get install chromium)")
    for item in items:
        if here in item.path.parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def app_url(tmp_path_factory) -> str:
    """Base URL of a Streamlit server running the dashboard for this test session."""
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    try:
        # a failing test shows the real error instead of the redacted one users see
        server, url = start_app(log_path, extra_args=("--client.showErrorDetails", "full"), env=env)
    except AppDidNotStart as error:
        pytest.fail(str(error))
    try:
        yield url
    finally:
        stop_app(server)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium, headless, with flags that keep it off the network and the GPU."""
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "headless": True,
            "args": CHROMIUM_FLAGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": VIEWPORT}


@pytest.fixture(scope="session")
def screenshot_dir() -> Path | None:
    """Where page screenshots go: the folder in $SEGCORE_SCREENSHOTS, or None (no screenshots)."""
    folder = os.environ.get("SEGCORE_SCREENSHOTS")
    if not folder:
        return None
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path
