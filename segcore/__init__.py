"""segcore: image segmentation on numpy arrays.

The library behind the dashboard, usable on its own from a notebook or the
command line (``python -m segcore --help``). It knows nothing of Streamlit.

>>> import segcore
>>> image = segcore.load_image("photo.jpg")                  # doctest: +SKIP
>>> result = segcore.segment(image, "threshold", algorithm="otsu")  # doctest: +SKIP
>>> segcore.metrics.iou(truth, result.mask)                  # doctest: +SKIP
"""

from __future__ import annotations

from . import metrics
from .errors import (
    InvalidImageError,
    InvalidMaskError,
    InvalidParameterError,
    SegcoreError,
    UnknownMethodError,
)
from .imageops import check_image, to_gray, to_rgb
from .instances import to_instances
from .loading import MAX_PIXELS, load_image, load_mask
from .registry import METHODS, MethodSpec, get_method, list_methods, register, segment
from .result import SegmentationResult

__all__ = [
    "MAX_PIXELS",
    "METHODS",
    "InvalidImageError",
    "InvalidMaskError",
    "InvalidParameterError",
    "MethodSpec",
    "SegcoreError",
    "SegmentationResult",
    "UnknownMethodError",
    "check_image",
    "get_method",
    "list_methods",
    "load_image",
    "load_mask",
    "metrics",
    "register",
    "segment",
    "to_gray",
    "to_instances",
    "to_rgb",
]

__version__ = "0.1.0"
