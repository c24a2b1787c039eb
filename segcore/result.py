"""The typed result every segmentation method returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class SegmentationResult:
    """What :func:`segcore.segment` returns: ``method``, ``labels``, ``mask``, ``params``, ``seconds``, ``info``.

    The meaning of each field and of the common ``info`` keys is in docs/glossary.md. ``labels``
    are uint8 where they fit: allocating large int32 images costs more than a threshold does.
    """

    method: str
    labels: np.ndarray
    mask: np.ndarray | None
    params: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        return self.labels.shape[:2]

    @property
    def n_labels(self) -> int:
        """Number of distinct non-zero labels (regions, clusters but the first, instances)."""
        values = np.unique(self.labels)
        return int(np.count_nonzero(values))

    @property
    def binary(self) -> np.ndarray:
        """A foreground mask: ``mask`` when the method has one, else ``labels > 0``."""
        return self.mask if self.mask is not None else self.labels > 0

    def __repr__(self) -> str:  # arrays would flood a notebook
        keys = ", ".join(sorted(self.info))
        return (
            f"SegmentationResult(method={self.method!r}, shape={self.shape}, "
            f"n_labels={self.n_labels}, seconds={self.seconds:.4f}, params={self.params!r}, "
            f"info keys=[{keys}])"
        )


def labels_dtype(max_label: int) -> np.dtype:
    """The smallest unsigned type that holds labels up to ``max_label``."""
    if max_label <= np.iinfo(np.uint8).max:
        return np.dtype(np.uint8)
    if max_label <= np.iinfo(np.uint16).max:
        return np.dtype(np.uint16)
    return np.dtype(np.int32)
