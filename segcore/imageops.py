"""Small array helpers shared by every method: checking inputs, gray conversion."""

from __future__ import annotations

import cv2
import numpy as np

from .errors import InvalidImageError


def check_image(image: np.ndarray) -> np.ndarray:
    """``image`` as a C-contiguous uint8 (H, W) or (H, W, 3) array, or :class:`InvalidImageError`.

    uint8 is used as is, bool becomes 0/255, other integers and floats are stretched from their
    own min..max (as :func:`segcore.load_image` does for 16-bit and float files).

    >>> check_image(np.zeros((2, 3), dtype=bool)).dtype
    dtype('uint8')
    """
    if not isinstance(image, np.ndarray):
        raise InvalidImageError(
            f"expected a numpy array for the image, got {type(image).__name__}; "
            "load files with segcore.load_image first"
        )
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise InvalidImageError(
            f"expected a gray (H, W) or RGB (H, W, 3) image, got an array of shape {image.shape}"
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise InvalidImageError(f"the image is empty (shape {image.shape})")
    if image.dtype == np.uint8:
        return np.ascontiguousarray(image)
    if image.dtype == bool:
        return image.astype(np.uint8) * 255
    if not (np.issubdtype(image.dtype, np.integer) or np.issubdtype(image.dtype, np.floating)):
        raise InvalidImageError(f"unsupported pixel type {image.dtype}")
    return rescale_to_uint8(image)


def rescale_to_uint8(values: np.ndarray) -> np.ndarray:
    """Map the real range of ``values`` (min..max, NaN ignored) onto 0..255.

    A constant array has no range to stretch: floats in 0..1 map to
    ``value * 255`` and anything else is clipped to 0..255, so a plain white
    image stays white and a plain black one stays black.
    """
    if values.dtype in (np.uint16, np.int16, np.uint8, np.int8) and values.size:
        return _rescale_small_ints(values)
    data = values.astype(np.float32, copy=False)
    finite = np.isfinite(data)
    if not finite.any():
        raise InvalidImageError("the image holds no finite pixel values")
    lo = float(data[finite].min())
    hi = float(data[finite].max())
    if hi == lo:
        is_unit_float = np.issubdtype(values.dtype, np.floating) and 0.0 <= lo <= 1.0
        level = int(round(lo * 255)) if is_unit_float else int(np.clip(round(lo), 0, 255))
        return np.full(data.shape, level, dtype=np.uint8)
    out = (np.where(finite, data, lo) - lo) * (255.0 / (hi - lo))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _rescale_small_ints(values: np.ndarray) -> np.ndarray:
    """:func:`rescale_to_uint8` for 8/16-bit integers through a lookup table (no float image)."""
    lo, hi = int(values.min()), int(values.max())
    if hi == lo:
        return np.full(values.shape, int(np.clip(lo, 0, 255)), dtype=np.uint8)
    levels = np.arange(lo, hi + 1, dtype=np.float64)
    table = np.rint((levels - lo) * (255.0 / (hi - lo))).astype(np.uint8)
    return table[values.astype(np.int32, copy=False) - lo] if lo else table[values]


def to_gray(image: np.ndarray) -> np.ndarray:
    """Luma of an RGB image as uint8, identical to ``cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)``.

    A gray image is returned unchanged (no copy).

    Examples
    --------
    >>> to_gray(np.array([[[255, 0, 0]]], dtype=np.uint8))
    array([[76]], dtype=uint8)
    """
    image = check_image(image)
    if image.ndim == 2:
        return image
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def to_rgb(image: np.ndarray) -> np.ndarray:
    """An (H, W, 3) uint8 view of a gray or RGB image (gray is repeated)."""
    image = check_image(image)
    if image.ndim == 3:
        return image
    return np.repeat(image[:, :, None], 3, axis=2)
