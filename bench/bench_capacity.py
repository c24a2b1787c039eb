"""Capacity: N sessions at once against one server, spoken to in Streamlit's own protocol.

Run: .venv/bin/python bench/bench_capacity.py [--sessions 1 5 10] [--rounds 1]

A browser per visitor would measure the browsers (on 2 cores ten Chromiums
starve the server), so each visitor here is a WebSocket client that sends
what the page sends (``BackMsg.rerun_script`` with the page and the widget
states) and reads what the server answers, until ``script_finished``. For
each N the script starts a fresh server (``python -m ui.serve``), waits for
its warm-up, then:

- **landing**: N new sessions open the default page (Compare methods, the
  default sample, four methods) at the same moment;
- **slider**: each of them opens Thresholding (Fixed value) and moves the
  threshold slider one step, all at the same moment (a value no one had
  before, so the first of them computes it and the others share it).

Reported per N: server CPU seconds per session for each step (the server
process's user + system time over the step, divided by N) and the time from
sending to ``script_finished`` (median and max over the sessions: what the
server took to settle the page, measured at its door on the same machine).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.common import machine  # noqa: E402
from tests.browser.conftest import free_port, healthy, stop_app  # noqa: E402

TIMEOUT_S = 300


class Session:
    """One visitor: a WebSocket session that reruns pages and collects the widgets it was sent."""

    def __init__(self, url: str) -> None:
        self.url = url.replace("http://", "ws://") + "/_stcore/stream"
        self.widgets: dict[str, object] = {}  # widget label -> the element's proto (for its id)
        self.pages: dict[str, str] = {}  # url pathname -> page_script_hash

    async def __aenter__(self) -> "Session":
        self.socket = await websockets.connect(self.url, subprotocols=["streamlit"], max_size=None)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.socket.close()

    async def run(self, page: str = "", widgets: list | None = None) -> float:
        """Rerun ``page`` (its url pathname; "" the default) with these widget states; seconds to script_finished."""
        message = BackMsg()
        state = message.rerun_script
        state.query_string = ""
        state.page_script_hash = self.pages.get(page, "")
        if widgets:
            state.widget_states.widgets.extend(widgets)
        started = time.perf_counter()
        await self.socket.send(message.SerializeToString())
        while True:
            raw = await asyncio.wait_for(self.socket.recv(), TIMEOUT_S)
            forward = ForwardMsg()
            forward.ParseFromString(raw)
            kind = forward.WhichOneof("type")
            if kind == "navigation":
                self.pages = {p.url_pathname: p.page_script_hash for p in forward.navigation.app_pages}
            elif kind == "delta" and forward.delta.WhichOneof("type") == "new_element":
                element = forward.delta.new_element
                inner = getattr(element, element.WhichOneof("type"))
                if hasattr(inner, "label") and hasattr(inner, "id"):
                    self.widgets[inner.label] = inner
            elif kind == "script_finished":
                return time.perf_counter() - started


def widget_state(proto, **value):
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    state = WidgetState(id=proto.id)
    for field, v in value.items():
        if field == "double_array_value":
            state.double_array_value.data.extend(v)
        else:
            setattr(state, field, v)
    return state


async def open_threshold_fixed(session: Session) -> list:
    """Open Thresholding and switch it to "Fixed value"; returns the widget states of that page."""
    await session.run("threshold")
    radio = session.widgets["Threshold"]
    states = [widget_state(radio, int_value=list(radio.options).index("Fixed value"))]
    await session.run("threshold", states)
    return states


async def slider_step(session: Session, states: list, value: float) -> float:
    slider = session.widgets["Threshold value T"]
    return await session.run("threshold", states + [widget_state(slider, double_array_value=[value])])


async def round_for(url: str, n: int, server: psutil.Process, slider_value: float) -> dict[str, list[float]]:
    sessions = [Session(url) for _ in range(n)]
    for session in sessions:
        await session.__aenter__()
    try:
        cpu0 = sum(server.cpu_times()[:2])
        landing = await asyncio.gather(*(s.run() for s in sessions))
        cpu1 = sum(server.cpu_times()[:2])
        states = await asyncio.gather(*(open_threshold_fixed(s) for s in sessions))
        cpu2 = sum(server.cpu_times()[:2])
        slider = await asyncio.gather(*(slider_step(s, st, slider_value) for s, st in zip(sessions, states)))
        cpu3 = sum(server.cpu_times()[:2])
    finally:
        for session in sessions:
            await session.__aexit__()
    return {"landing": list(landing), "landing_cpu": [(cpu1 - cpu0) / n],
            "slider": list(slider), "slider_cpu": [(cpu3 - cpu2) / n]}


def start_server(folder: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    with open(folder / "server.log", "wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "ui.serve", "--server.headless", "true",
                                   "--server.address", "127.0.0.1", "--server.port", str(port),
                                   "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                                  cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env)
    while not healthy(url):
        if server.poll() is not None:
            raise SystemExit((folder / "server.log").read_text())
        time.sleep(0.2)
    return server, url


def wait_for_warmup(server: psutil.Process) -> None:
    """Until the server's CPU use has been near zero for 2 s (the warm-up thread is done)."""
    quiet_since = time.monotonic()
    last = sum(server.cpu_times()[:2])
    while time.monotonic() - quiet_since < 2.0:
        time.sleep(0.5)
        now = sum(server.cpu_times()[:2])
        if now - last > 0.05:
            quiet_since = time.monotonic()
        last = now


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 5, 10])
    args = parser.parse_args()
    print(f"{machine()}; one server per N, warmed up; all N sessions send at the same moment")
    print(f"{'N':>3} {'landing CPU s/session':>22} {'landing settle med/max s':>25} "
          f"{'slider CPU s/session':>21} {'slider settle med/max s':>24}")
    with tempfile.TemporaryDirectory() as folder:
        for n in args.sessions:
            server, url = start_server(Path(folder))
            try:
                process = psutil.Process(server.pid)
                wait_for_warmup(process)
                got = asyncio.run(round_for(url, n, process, slider_value=131.0))
            finally:
                stop_app(server)
            print(f"{n:3d} {got['landing_cpu'][0]:22.3f} "
                  f"{statistics.median(got['landing']):12.2f} / {max(got['landing']):5.2f}     "
                  f"{got['slider_cpu'][0]:21.3f} {statistics.median(got['slider']):11.2f} / {max(got['slider']):5.2f}",
                  flush=True)


if __name__ == "__main__":
    main()
