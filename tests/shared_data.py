"""Where the development data lives, for tests that need it.

The DSB2018 copy sits beside the checkout (``../shared``, read-only in CI); a
user's machine has none, so tests that need it skip with the reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SEGCORE_SHARED", REPO.parent / "shared"))
DSB2018 = SHARED / "data" / "dsb2018"

needs_dsb2018 = pytest.mark.skipif(
    not (DSB2018 / "val" / "images").is_dir(),
    reason=f"DSB2018 data not found at {DSB2018} (set SEGCORE_SHARED to the folder holding data/dsb2018)",
)
