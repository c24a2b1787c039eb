"""Helpers shared by the benchmark scripts: test images, timing, the machine's description."""

from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Any, Callable

import cv2
import numpy as np
from skimage import data


def natural_image(width: int, height: int) -> np.ndarray:
    """A smooth natural image at any size: the astronaut, resized, plus mild noise."""
    resized = cv2.resize(data.astronaut(), (width, height), interpolation=cv2.INTER_CUBIC)
    noise = np.random.default_rng(0).integers(-4, 5, resized.shape)
    return np.clip(resized.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def gradient_image(width: int, height: int) -> np.ndarray:
    """A smooth colour gradient with uniform noise (+-12): no real clusters, many local minima."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    ramps = np.stack([x / (width - 1), y / (height - 1), 1 - (x + y) / (width + height - 2)], axis=-1)
    noise = np.random.default_rng(0).uniform(-12, 12, ramps.shape)
    return np.clip(255 * ramps + noise, 0, 255).astype(np.uint8)


def timed(func: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median wall time of ``repeats`` calls and the last call's result."""
    seconds = []
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = func()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), result


def machine() -> str:
    """One line naming the machine, for the results table."""
    name = " ".join(part for part in (platform.machine(), platform.processor()) if part)
    return f"{name}, {os.cpu_count()} CPUs"
