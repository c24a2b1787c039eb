"""Watershed: split touching objects of a foreground mask at the ridges of its distance map."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from scipy import ndimage as ndi

from ..checks import as_mask, check_choice, check_int, check_number
from ..errors import InvalidParameterError
from ..instances import to_instances
from ..result import SegmentationResult, labels_dtype
from .threshold import POLARITIES



def watershed(
    image: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    min_distance: int = 5,
    footprint: np.ndarray | None = None,
    polarity: str = "auto",
    compactness: float = 0.0,
) -> SegmentationResult:
    """Split the foreground into one instance per object, even where objects touch.

    The Euclidean distance of every foreground pixel to the background is
    highest at object centres; each local maximum seeds a region, and the
    regions grow downhill on that map (a watershed of the negated distance)
    until they meet at the necks between objects.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W) or (H, W, 3)
        Gray or RGB image, as checked by :func:`segcore.segment`. Only used to
        find the foreground when ``mask`` is None.
    mask : ndarray of bool or int, shape (H, W), or None, optional
        Foreground to split (non-zero = foreground). None thresholds the
        image with Otsu's method (``segment(image, "threshold",
        algorithm="otsu", polarity=polarity)``).
    min_distance : int, optional
        Smallest distance in pixels (>= 1) between two seeds: larger values
        split less. Objects whose centres are closer stay merged.
    footprint : ndarray of bool, shape (h, w), or None, optional
        Neighbourhood in which a seed must be the maximum, passed to
        ``skimage.feature.peak_local_max``; None uses a square of side
        ``2 * min_distance + 1``.
    polarity : {"auto", "bright", "dark"}, optional
        Which side of Otsu's threshold is foreground when ``mask`` is None:
        ``"auto"`` takes the minority side (objects are the minority).
    compactness : float, optional
        Compactness (>= 0) of ``skimage.segmentation.watershed``: 0 is the
        classic watershed; larger values give rounder, more even regions.

    Returns
    -------
    SegmentationResult
        ``labels``: instances 1..N, numbered in raster order of their seeds,
        0 for background. ``mask``: ``labels > 0``. ``params``:
        ``polarity`` resolved to ``"bright"`` or ``"dark"`` when the
        image was thresholded. ``info``: ``"count"`` (N), ``"markers"`` (list
        of N ``(row, col)`` seeds; seed i is in instance i + 1),
        ``"distance"`` (float32 (H, W) distance map) and, when the image was
        thresholded, ``"threshold"`` (Otsu's threshold on the gray image).

    Raises
    ------
    InvalidParameterError
        For a mask of another shape or type, or a value outside the ranges
        above.

    Notes
    -----
    The distance map is ``cv2.distanceTransform`` with the exact Euclidean
    metric (``DIST_MASK_PRECISE``), much faster than SciPy's. Pixels outside
    the image do not count as background, so an object cut by the border has
    its ridge on the border. Seeds are found per connected component, and a
    component without a local maximum far enough from the others (a thin
    sliver) gets one at its distance maximum, so every component becomes at
    least one instance. A mask without any background pixel is one instance
    (its distance map, measured to the image edge, is only informative).

    Examples
    --------
    >>> rows, cols = np.mgrid[0:40, 0:70]
    >>> two_discs = ((rows - 20) ** 2 + (cols - 22) ** 2 < 15 ** 2) | (
    ...     (rows - 20) ** 2 + (cols - 47) ** 2 < 15 ** 2)
    >>> result = watershed(np.zeros((40, 70), np.uint8), mask=two_discs)
    >>> result.info["count"], result.info["markers"]
    (2, [(20, 22), (20, 47)])
    """
    min_distance = check_int("min_distance", min_distance, minimum=1)
    compactness = check_number("compactness", compactness, low=0)
    check_choice("polarity", polarity, POLARITIES)
    if footprint is not None:
        footprint = np.asarray(footprint)
        if footprint.ndim != 2 or footprint.size == 0 or not footprint.any():
            raise InvalidParameterError(
                "footprint must be a non-empty 2-D array with some True values, "
                f"got shape {footprint.shape}"
            )
        footprint = footprint.astype(bool)

    params: dict[str, Any] = {}
    info: dict[str, Any] = {}
    if mask is None:
        from ..registry import segment

        thresholded = segment(image, "threshold", algorithm="otsu", polarity=polarity)
        foreground = thresholded.mask
        params["polarity"] = thresholded.params["polarity"]
        info["threshold"] = thresholded.info.get("threshold")
    else:
        foreground = as_mask(mask, shape=image.shape[:2])

    labels, markers, distance = _split(foreground, min_distance, footprint, compactness)
    info.update({"count": len(markers), "markers": markers, "distance": distance})
    return SegmentationResult(
        method="watershed", labels=labels, mask=labels > 0, params=params, info=info
    )


def split_touching(mask: np.ndarray, *, min_distance: int = 5) -> tuple[np.ndarray, int]:
    """Instances of a binary mask, touching objects split as :func:`watershed` does.

    For callers that already have a mask (the U-Net's nuclei count).

    Returns
    -------
    labels : ndarray of int, shape (H, W)
        0 = background, 1..count = objects.
    count : int

    Examples
    --------
    >>> mask = np.zeros((9, 20), dtype=bool)
    >>> mask[2:7, 2:7] = mask[2:7, 12:17] = True
    >>> split_touching(mask, min_distance=2)[1]
    2
    """
    min_distance = check_int("min_distance", min_distance, minimum=1)
    labels, markers, _ = _split(as_mask(mask), min_distance, None, 0.0)
    return labels, len(markers)


def _split(foreground: np.ndarray, min_distance: int, footprint: np.ndarray | None,
           compactness: float) -> tuple[np.ndarray, list[tuple[int, int]], np.ndarray]:
    """(instances, markers, distance map) of a bool foreground."""
    if foreground.all():
        padded = np.pad(foreground, 1).view(np.uint8)
        distance = cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
        height, width = foreground.shape
        return np.ones(foreground.shape, dtype=np.uint8), [(height // 2, width // 2)], distance
    distance = cv2.distanceTransform(foreground.view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    markers = _seeds(distance, foreground, min_distance, footprint)
    return _flood(distance, foreground, markers, compactness), markers, distance


def _seeds(
    distance: np.ndarray, foreground: np.ndarray, min_distance: int, footprint: np.ndarray | None
) -> list[tuple[int, int]]:
    """Local maxima of the distance map, at least one per component, in raster order."""
    from skimage.feature import peak_local_max

    components, count = to_instances(foreground, connectivity=8)
    if count == 0:
        return []
    peaks = peak_local_max(
        distance,
        min_distance=min_distance,
        footprint=footprint,
        labels=components,
        exclude_border=False,
    )
    seeded = np.zeros(count + 1, dtype=bool)
    seeded[components[tuple(peaks.T)]] = True
    missing = np.flatnonzero(~seeded[1:]) + 1
    if missing.size:
        extra = ndi.maximum_position(distance, components, index=missing)
        extra_peaks = np.array(extra, dtype=peaks.dtype).reshape(-1, 2)
        peaks = np.concatenate([peaks.reshape(-1, 2), extra_peaks])
    order = np.lexsort((peaks[:, 1], peaks[:, 0]))
    return [(int(row), int(col)) for row, col in peaks[order]]


def _flood(
    distance: np.ndarray,
    foreground: np.ndarray,
    markers: list[tuple[int, int]],
    compactness: float,
) -> np.ndarray:
    """Watershed of the negated distance from numbered seeds, confined to the foreground."""
    from skimage.segmentation import watershed as skimage_watershed

    seeds = np.zeros(foreground.shape, dtype=np.int32)
    if markers:
        rows, cols = np.array(markers).T
        seeds[rows, cols] = np.arange(1, len(markers) + 1)
    labels = skimage_watershed(-distance, seeds, mask=foreground, compactness=compactness)
    return labels.astype(labels_dtype(len(markers)), copy=False)
