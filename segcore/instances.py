"""Instances from a foreground mask: connected components and their sizes."""

from __future__ import annotations

import cv2
import numpy as np

from .checks import as_mask, check_connectivity
from .errors import InvalidParameterError
from .result import labels_dtype


def to_instances(mask: np.ndarray, *, connectivity: int = 8) -> tuple[np.ndarray, int]:
    """``(labels, count)``: the connected components of a foreground mask, numbered 1..count.

    Numbered in raster order of their first pixel, like ``scipy.ndimage.label`` (OpenCV's Wu
    algorithm keeps that order, its default 8-connected one does not); the dtype is the smallest
    that holds ``count``.

    >>> mask = np.eye(3, dtype=bool)
    >>> to_instances(mask)[1], to_instances(mask, connectivity=4)[1]
    (1, 3)
    """
    connectivity = check_connectivity(connectivity)
    foreground = as_mask(mask)
    n_with_background, labels = cv2.connectedComponentsWithAlgorithm(
        foreground.view(np.uint8), int(connectivity), cv2.CV_32S, cv2.CCL_WU
    )
    count = n_with_background - 1
    return labels.astype(labels_dtype(count), copy=False), count


def instance_sizes(labels: np.ndarray) -> np.ndarray:
    """Pixel count of each instance 1..N of a label image (N the largest label; a missing one counts 0).

    >>> instance_sizes(np.array([[0, 1, 1], [2, 0, 1]], dtype=np.uint8))
    array([3, 1])
    """
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer):
        raise InvalidParameterError(f"labels must be an integer array, got dtype {labels.dtype}")
    if labels.size and labels.min() < 0:
        raise InvalidParameterError("labels must not be negative (0 is background, 1..N instances)")
    if labels.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.bincount(labels.ravel())[1:].astype(np.int64, copy=False)
