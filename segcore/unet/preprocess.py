"""Input normalisation shared by training and inference.

The bundled nuclei model sees every image the same way:

1. as RGB float32 (gray images repeat their channel);
2. inverted (``255 - x``) when the median gray level is above 100, so that
   nuclei are bright on a dark background whatever the modality: brightfield
   and H&E images have light backgrounds and dark nuclei, fluorescence the
   opposite. Pooling the modalities this way lets the few brightfield images
   borrow from the many fluorescence ones;
3. standardised with the whole image's mean and standard deviation (one pair
   for all channels, so colour ratios survive). Statistics come from the whole
   image, never from a tile, so tiles of a large image agree with each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..imageops import to_gray, to_rgb

#: In DSB2018 the median gray level of every fluorescence image is at most 44 and that of every
#: H&E or brightfield image at least 104; at 127 one val H&E image (median 122) was left
#: uninverted and scored IoU 0.821 against 0.842 inverted (docs/unet_experiments.md).
INVERT_ABOVE_MEDIAN = 100
MIN_STD = 1.0  # a flat image would otherwise divide by ~0


@dataclass(frozen=True)
class Normalization:
    """How one image is normalised: whether it was inverted, and its statistics."""

    inverted: bool
    mean: float
    std: float


def gray_median(image: np.ndarray) -> float:
    """Median gray level from the 256-bin histogram (O(1) memory, fast on 12 Mpx)."""
    hist = cv2.calcHist([to_gray(image)], [0], None, [256], [0, 256]).ravel()
    cumulative = np.cumsum(hist)
    return float(np.searchsorted(cumulative, cumulative[-1] / 2.0))


def image_statistics(image: np.ndarray, *, invert: str | bool = "auto") -> Normalization:
    """Decide the inversion (``invert="auto"``: median gray above :data:`INVERT_ABOVE_MEDIAN`) and measure mean/std of the RGB image."""
    if invert == "auto":
        inverted = gray_median(image) > INVERT_ABOVE_MEDIAN
    else:
        inverted = bool(invert)
    rgb = to_rgb(image)
    mean, std = cv2.meanStdDev(rgb.reshape(-1, 1))
    mean_value = float(mean[0, 0])
    if inverted:
        mean_value = 255.0 - mean_value
    return Normalization(inverted=inverted, mean=mean_value, std=max(float(std[0, 0]), MIN_STD))


def normalize(image: np.ndarray, stats: Normalization) -> np.ndarray:
    """Apply ``stats`` to an RGB/gray uint8 image (or a tile of it): (3, H, W) float32."""
    rgb = to_rgb(image).astype(np.float32)
    if stats.inverted:
        rgb = 255.0 - rgb
    rgb -= stats.mean
    rgb *= 1.0 / stats.std
    return np.ascontiguousarray(rgb.transpose(2, 0, 1))
