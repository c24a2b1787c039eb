#!/usr/bin/env bash
# Set everything up and start the dashboard: `bash run_app.sh`
# (extra arguments go to `streamlit run`, e.g. `bash run_app.sh --server.port 8600`).
#
# Creates .venv with Python 3.11 when it is missing, installs the pinned
# runtime requirements (nothing is downloaded at start-up: the U-Net weights
# ship in segcore/models/), then serves the app and prints its address.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

if [[ ! -x .venv/bin/python ]]; then
    python3.11 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt

# ui.serve checks the operator's settings (lab.toml or $SEGLAB_CONFIG), warms the
# U-Net up in the background and runs `streamlit run app.py` with the upload
# limit from the settings.
exec .venv/bin/python -m ui.serve "$@"
