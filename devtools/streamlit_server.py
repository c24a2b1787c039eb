"""A Streamlit server of this app and the Chromium settings, for the browser tests and bench/.

:func:`start_app` runs ``streamlit run app.py`` on a free local port (output to a log file) and
waits until it answers; :func:`stop_app` stops that process, and only it. Chromium is Debian's
at /usr/lib/chromium/chromium (``apt-get install chromium``; never ``playwright install``).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
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
