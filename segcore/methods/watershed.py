"""Watershed: split touching objects of a foreground mask at the ridges of its distance map.

The Euclidean distance of each foreground pixel to the background (``cv2.distanceTransform``,
exact, much faster than SciPy's) peaks at object centres; each local maximum
(``skimage.feature.peak_local_max``) seeds a region, and ``skimage.segmentation.watershed``
grows them downhill until they meet at the necks. Pixels outside the image are not
background. Every connected component becomes at least one instance (a sliver without a peak
is seeded at its distance maximum); a mask without background is one instance.
"""

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

    ``mask``: the foreground to split; None thresholds the image with Otsu and ``polarity``
    (``params["polarity"]`` is then resolved and ``info["threshold"]`` set). ``min_distance``:
    closest two seeds may be (larger splits less); ``footprint``: the neighbourhood a seed must
    dominate (default a square of side ``2 * min_distance + 1``); ``compactness``: 0 is the classic
    watershed, larger gives rounder regions. ``info`` has ``count``, ``markers`` (seed i lies in
    instance i + 1) and ``distance`` (float32 map).

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
    """``(labels, count)`` of a binary mask, touching objects split as :func:`watershed` does.

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
