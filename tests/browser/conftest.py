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
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/lib/chromium/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# Tall enough that a page's results fit: Streamlit scrolls inside its own
# main element, so a screenshot shows only the viewport.
VIEWPORT = {"width": 1280, "height": 1700}
SERVER_START_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read().strip() == b"ok"
    except OSError:
        return False


class AppDidNotStart(RuntimeError):
    """The Streamlit server exited or did not answer in time; the message holds its log's end."""


def start_app(log_path: Path, *, extra_args: tuple[str, ...] = (), env: dict | None = None
              ) -> tuple[subprocess.Popen, str]:
    """Start ``streamlit run app.py`` on a free local port and wait until it answers.

    Returns the process and its base URL; stop it with :func:`stop_app`. The
    server's output goes to ``log_path``.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
               "--server.address", "127.0.0.1", "--server.port", str(port),
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", *extra_args]
    with open(log_path, "wb") as log:
        server = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + SERVER_START_SECONDS
    while not healthy(url):
        if server.poll() is not None or time.monotonic() > deadline:
            stop_app(server)
            raise AppDidNotStart(f"the Streamlit server did not start (exit code {server.poll()}); "
                                 f"its log:\n{log_path.read_text(errors='replace')[-4000:]}")
        time.sleep(0.25)
    return server, url


def stop_app(server: subprocess.Popen) -> None:
    """Stop a server from :func:`start_app`, and only it."""
    server.terminate()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(10)


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
