"""Start the dashboard for visitors: ``python -m ui.serve [streamlit options]`` (run_app.sh does this).

Checks the operator's settings first (an invalid value stops here with a
message naming the key), starts the background warm-up (:mod:`ui.warmup`)
so the first visitor finds the U-Net loaded, and runs ``streamlit run
app.py`` with the options the settings imply (``--server.maxUploadSize``
from ``max_upload_mb``, ``--server.disconnectedSessionTTL`` from
``disconnected_session_seconds``) followed by the caller's own options. It
also tunes the allocator and starts the memory janitor (:mod:`ui.memory`).
"""

from __future__ import annotations

import sys

from ui.config import APP_ROOT, settings_or_report, streamlit_flags


def main(argv: list[str]) -> int:
    current = settings_or_report()
    if current is None:
        return 2
    from ui import memory

    memory.tune()  # before any thread allocates
    # Streamlit first: its import peeks at half-imported modules (plotly checks pandas through
    # sys.modules), so the warm-up thread may import pandas only once Streamlit is in.
    from streamlit.web import cli

    from ui import warmup

    warmup.start()
    memory.start_janitor()

    sys.argv = ["streamlit", "run", str(APP_ROOT / "app.py"), *streamlit_flags(current), *argv]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
