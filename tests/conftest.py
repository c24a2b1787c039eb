"""Shared test fixtures."""

from __future__ import annotations

import os

# One OpenMP/BLAS thread per test process: on 2 cores, scikit-learn's threads
# otherwise wait on each other (and on anything else running) and tests slow
# down several times. Results do not depend on it.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest

from segcore.samples import SEED_GRID  # the cheatsheet's 4x4 region-growing example


@pytest.fixture
def seed_grid() -> np.ndarray:
    return SEED_GRID.copy()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
