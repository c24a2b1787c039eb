"""Instances from a foreground mask: connected components and their sizes."""

from __future__ import annotations

import cv2
import numpy as np

from .checks import as_mask, check_connectivity
from .errors import InvalidParameterError
from .result import labels_dtype


def to_instances(mask: np.ndarray, *, connectivity: int = 8) -> tuple[np.ndarray, int]:
    """Label the connected components of a foreground mask.

    Parameters
    ----------
    mask : ndarray of bool or int, shape (H, W)
        Foreground mask; for integer arrays every non-zero pixel is foreground.
    connectivity : {8, 4}, optional
        8 joins pixels that touch by a side or a corner, 4 only by a side.

    Returns
    -------
    labels : ndarray, shape (H, W)
        0 for background, 1..N for the components, numbered in raster order
        of their first pixel (the numbering of ``scipy.ndimage.label``). The
        dtype is the smallest that holds N (see
        :func:`segcore.result.labels_dtype`).
    count : int
        N, the number of components.

    Raises
    ------
    InvalidParameterError
        For a mask that is not a 2-D bool or integer array, or a
        connectivity other than 4 or 8.

    Notes
    -----
    OpenCV's default 8-connectivity algorithm numbers components in the
    order of its 2x2 block scan; Wu's algorithm (``cv2.CCL_WU``) runs as
    fast here and keeps raster order, so it is the one used.

    Examples
    --------
    >>> mask = np.array([[1, 0, 0],
    ...                  [0, 1, 0],
    ...                  [0, 0, 1]], dtype=bool)
    >>> labels, count = to_instances(mask)
    >>> count
    1
    >>> to_instances(mask, connectivity=4)[0]
    array([[1, 0, 0],
           [0, 2, 0],
           [0, 0, 3]], dtype=uint8)
    """
    connectivity = check_connectivity(connectivity)
    foreground = as_mask(mask)
    n_with_background, labels = cv2.connectedComponentsWithAlgorithm(
        foreground.view(np.uint8), int(connectivity), cv2.CV_32S, cv2.CCL_WU
    )
    count = n_with_background - 1
    return labels.astype(labels_dtype(count), copy=False), count


def instance_sizes(labels: np.ndarray) -> np.ndarray:
    """Pixel count of each instance 1..N of a label image.

    Parameters
    ----------
    labels : ndarray of int, shape (H, W)
        0 for background, 1..N for instances (as :func:`to_instances` gives).

    Returns
    -------
    ndarray of int64, shape (N,)
        Element ``i`` is the number of pixels labelled ``i + 1``; N is the
        largest label, so a label missing from the image counts 0.

    Raises
    ------
    InvalidParameterError
        For an array that is not integer or holds negative labels.

    Examples
    --------
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
