"""Start the dashboard for visitors: ``python -m ui.serve [streamlit options]`` (run_app.sh does this).

Checks the operator's settings first (an invalid value stops here with a
message naming the key), starts the background warm-up (:mod:`ui.warmup`)
so the first visitor finds the U-Net loaded, and runs ``streamlit run
app.py`` with the options the settings imply (``--server.maxUploadSize``
from ``max_upload_mb``) followed by the caller's own options.
"""

from __future__ import annotations

import sys

from ui.config import APP_ROOT, ConfigError, settings, streamlit_flags


def main(argv: list[str]) -> int:
    try:
        current = settings()
    except ConfigError as error:
        print(f"Segmentation lab: invalid configuration. {error}", file=sys.stderr)
        return 2
    # Streamlit first: its import peeks at half-imported modules (plotly checks pandas through
    # sys.modules), so the warm-up thread may import pandas only once Streamlit is in.
    from streamlit.web import cli

    from ui import warmup

    warmup.start()

    sys.argv = ["streamlit", "run", str(APP_ROOT / "app.py"), *streamlit_flags(current), *argv]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
