"""Shared test fixtures."""

from __future__ import annotations

import os
from pathlib import Path

# One OpenMP/BLAS thread per test process: on 2 cores, scikit-learn's threads
# otherwise wait on each other (and on anything else running) and tests slow
# down several times. Results do not depend on it.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
# The development data lives beside the checkout (read-only in CI); a user's
# machine has none, so tests that need it skip with the reason.
SHARED = Path(os.environ.get("SEGCORE_SHARED", REPO.parent / "shared"))
DSB2018 = SHARED / "data" / "dsb2018"

needs_dsb2018 = pytest.mark.skipif(
    not (DSB2018 / "val" / "images").is_dir(),
    reason=f"DSB2018 data not found at {DSB2018} (set SEGCORE_SHARED to the folder holding data/dsb2018)",
)

# The seed document's 4x4 region-growing example.
SEED_GRID = np.array(
    [[10, 12, 15, 20], [11, 13, 16, 21], [12, 14, 17, 22], [13, 15, 18, 23]], dtype=np.uint8
)


@pytest.fixture
def seed_grid() -> np.ndarray:
    return SEED_GRID.copy()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
