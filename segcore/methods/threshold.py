"""Thresholding: foreground is every pixel brighter (or darker) than a threshold.

The threshold is a value you choose (``"fixed"``), one value from the gray-level histogram
(:data:`GLOBAL_ALGORITHMS`, as scikit-image's ``threshold_<name>``), several values that split
the histogram into classes (``"multiotsu"``), or a value per pixel from its neighbourhood
(:data:`LOCAL_ALGORITHMS`). Rules:

- Convention: bright foreground is ``gray > t``, dark is ``gray <= t``, exactly
  ``cv2.threshold(gray, t, 255, THRESH_BINARY[_INV])``. An image of one gray level gets that
  level as threshold (empty bright foreground), as in scikit-image.
- ``polarity="auto"``: the objects are the minority phase (more than half the pixels above
  the threshold: dark objects). Local algorithms decide it from the global Otsu split, since a
  local mask on a flat background is noise.
- Multi-Otsu labels a pixel with the number of thresholds strictly below it (a pixel equal to
  a threshold stays in the lower class); with two classes ``mask`` follows ``polarity``, with
  more it is None. The thresholds equal scikit-image's ``threshold_multiotsu``, ties included.
- Local algorithms keep a pixel that stands out by more than ``offset`` gray levels beyond its
  neighbourhood's threshold ``T``: bright is ``gray > T + offset``, dark ``gray <= T - offset``,
  so a positive offset keeps a flat background out for either polarity (OpenCV's ``C`` is
  subtracted for both). ``local_mean`` / ``local_gaussian``: ``T`` is the rounded local mean of
  ``cv2.adaptiveThreshold``, whose result they equal. ``sauvola`` / ``niblack``: scikit-image's
  formulas (made for dark text); bright objects are the dark objects of ``255 - gray``, so
  ``k`` means the same for both polarities.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from ..checks import check_choice, check_int, check_number, is_int, is_number
from ..errors import InvalidParameterError
from ..imageops import to_gray
from ..result import SegmentationResult

__all__ = [
    "ALGORITHMS",
    "DEFAULT_OFFSETS",
    "GLOBAL_ALGORITHMS",
    "LOCAL_ALGORITHMS",
    "POLARITIES",
    "threshold",
    "try_all",
]

#: Automatic algorithms that choose one threshold for the whole image.
GLOBAL_ALGORITHMS = ("otsu", "triangle", "li", "yen", "isodata", "mean", "minimum")
#: Algorithms that compute a threshold per pixel from a block around it.
LOCAL_ALGORITHMS = ("local_mean", "local_gaussian", "sauvola", "niblack")
#: Every value ``algorithm`` accepts, in menu order.
ALGORITHMS = ("fixed", *GLOBAL_ALGORITHMS, "multiotsu", *LOCAL_ALGORITHMS)
#: Every value ``polarity`` accepts.
POLARITIES = ("bright", "dark", "auto")
#: The ``offset`` each local algorithm uses when none is given, in gray levels.
DEFAULT_OFFSETS = {"local_mean": 5.0, "local_gaussian": 5.0, "sauvola": 0.0, "niblack": 5.0}

_LEVELS = np.arange(256)
# cv2.calcHist counts in float32, exact only up to 2**24 per bin.
_CALCHIST_MAX_PIXELS = 2**24


def threshold(
    image: np.ndarray,
    *,
    algorithm: str = "otsu",
    value: float = 127,
    polarity: str = "bright",
    classes: int = 3,
    block_size: int = 35,
    offset: float | None = None,
    k: float = 0.2,
    return_steps: bool = False,
) -> SegmentationResult:
    """Split the image into foreground and background with a threshold (see the module's rules).

    ``value`` is the threshold of ``"fixed"`` (0..255); ``classes`` the class count of
    ``"multiotsu"`` (2..5); ``block_size`` (odd, >= 3), ``offset`` (None: :data:`DEFAULT_OFFSETS`)
    and ``k`` belong to the local algorithms. ``return_steps`` adds ``info["otsu_curve"]`` (the
    between-class variance for every ``t``, for ``"otsu"``) or ``info["threshold_map"]`` (the
    effective per-pixel threshold, read like a global ``t``). ``info`` always has ``threshold``,
    ``thresholds``, ``histogram`` (256 counts) and ``foreground_fraction``.

    >>> img = np.array([[10, 20, 200, 210]], dtype=np.uint8)
    >>> result = threshold(img, algorithm="otsu")
    >>> result.info["threshold"], result.mask
    (20, array([[False, False,  True,  True]]))
    >>> threshold(img, algorithm="fixed", value=15, polarity="auto").params
    {'polarity': 'dark'}
    >>> spot = np.array([[20, 20, 20, 80, 20, 20, 20]], dtype=np.uint8)
    >>> threshold(spot, algorithm="local_mean", block_size=3, polarity="auto").labels
    array([[0, 0, 0, 1, 0, 0, 0]], dtype=uint8)
    """
    check_choice("algorithm", algorithm, ALGORITHMS)
    check_choice("polarity", polarity, POLARITIES)
    gray = to_gray(image)
    hist = _histogram(gray)
    info: dict[str, Any] = {"histogram": hist}

    params: dict[str, Any] = {}
    if algorithm in LOCAL_ALGORITHMS:
        _check_block_size(block_size)
        if offset is None:
            offset = DEFAULT_OFFSETS[algorithm]
            params["offset"] = offset
        offset = check_number("offset", offset)
        k = check_number("k", k)
        # The global histogram decides, not the local mask: on a flat
        # background that mask is noise, and flipping noise is no answer.
        resolved = _resolve_polarity(polarity, _count_above_otsu(hist), gray.size)
        labels = _local_threshold(
            gray, algorithm, resolved, block_size, offset, k, return_steps, info
        )
        info["threshold"] = None
        info["thresholds"] = []
        info["foreground_fraction"] = cv2.countNonZero(labels) / labels.size
    elif algorithm == "multiotsu":
        return _multiotsu(gray, hist, classes, polarity, info)
    else:
        if algorithm == "fixed":
            # Not check_number: a gray level reads better as "from 0 to 255" than "between".
            if not is_number(value) or not 0 <= value <= 255:
                raise InvalidParameterError(f"value must be a number from 0 to 255, got {value!r}")
            level = value
        else:
            level = _global_threshold(hist, algorithm, gray)
            if return_steps and algorithm == "otsu":
                info["otsu_curve"] = {
                    "thresholds": _LEVELS.copy(),
                    "between_class_variance": _between_class_variance(hist),
                }
        n_bright = _count_above(hist, level)
        resolved = _resolve_polarity(polarity, n_bright, gray.size)
        if resolved == "bright":
            cv_type, n_foreground = cv2.THRESH_BINARY, n_bright
        else:
            cv_type, n_foreground = cv2.THRESH_BINARY_INV, gray.size - n_bright
        # maxval 1 gives 0/1 bytes that are a valid bool array: no extra copy.
        _, labels = cv2.threshold(gray, level, 1, cv_type)
        info["threshold"] = level
        info["thresholds"] = [level]
        info["foreground_fraction"] = n_foreground / gray.size

    mask = labels.view(bool)
    params["polarity"] = resolved
    return SegmentationResult(
        method="threshold", labels=labels, mask=mask, params=params, info=info
    )


def try_all(image: np.ndarray, *, polarity: str = "bright") -> dict[str, SegmentationResult]:
    """Every algorithm of :data:`GLOBAL_ALGORITHMS` through :func:`segcore.segment`, like ``try_all_threshold``.

    An algorithm that finds no threshold on this image (``"minimum"`` without two peaks) is left out.

    >>> img = np.array([[10, 20, 30, 200, 210, 220]], dtype=np.uint8)
    >>> try_all(img)["otsu"].info["threshold"]
    30
    """
    from ..registry import segment

    check_choice("polarity", polarity, POLARITIES)
    results = {}
    for name in GLOBAL_ALGORITHMS:
        try:
            results[name] = segment(image, "threshold", algorithm=name, polarity=polarity)
        except _NoThresholdError:
            continue
    return results


class _NoThresholdError(InvalidParameterError):
    """The algorithm finds no threshold on this histogram (not a bad parameter value)."""


def _histogram(gray: np.ndarray) -> np.ndarray:
    """The 256 gray-level counts of ``gray`` as int64."""
    if gray.size <= _CALCHIST_MAX_PIXELS:
        # Several times faster than np.bincount on large images.
        counts = cv2.calcHist([gray], [0], None, [256], [0, 256])
        return counts.ravel().astype(np.int64)
    return np.bincount(gray.ravel(), minlength=256).astype(np.int64)


def _count_above(hist: np.ndarray, level: float) -> int:
    """Number of pixels with ``gray > level``."""
    first = min(max(math.floor(level) + 1, 0), 256)
    return int(hist[first:].sum())


def _resolve_polarity(polarity: str, n_bright: int, n_pixels: int) -> str:
    """``"auto"`` becomes dark when the bright foreground is more than half the pixels."""
    if polarity != "auto":
        return polarity
    return "dark" if 2 * n_bright > n_pixels else "bright"


def _global_threshold(hist: np.ndarray, algorithm: str, gray: np.ndarray | None = None) -> int | float:
    """The threshold ``t`` (bright foreground is ``gray > t``) of a global algorithm."""
    present = np.flatnonzero(hist)
    if present.size == 1:
        # One gray level: nothing to separate. scikit-image returns that level.
        return int(present[0])
    if algorithm == "otsu":
        # Own code: the teaching view shows the whole criterion curve, and one
        # pass over 256 bins is the cost (scikit-image gives the same threshold).
        return int(np.argmax(_between_class_variance(hist)))
    if algorithm == "mean":
        return float(hist @ _LEVELS / hist.sum())
    from skimage import filters

    # Triangle and Li take the image (scikit-image has no hist= for them):
    # 57 ms and 100 ms at 4 Mpx here, where a histogram version took 0.2 ms;
    # small beside a page run, so the library's code is used.
    if algorithm == "triangle":
        return int(filters.threshold_triangle(gray))
    if algorithm == "li":
        return float(filters.threshold_li(gray))
    skimage_hist = (hist, _LEVELS)
    if algorithm == "yen":
        return int(filters.threshold_yen(hist=skimage_hist))
    if algorithm == "isodata":
        return int(filters.threshold_isodata(hist=skimage_hist))
    try:
        return int(filters.threshold_minimum(hist=skimage_hist))
    except RuntimeError:
        raise _NoThresholdError(
            "the histogram has no two peaks; the minimum method cannot choose a "
            "threshold — try otsu"
        ) from None


def _between_class_variance(hist: np.ndarray) -> np.ndarray:
    """Otsu's between-class variance for every split ``gray <= t`` / ``gray > t``.

    0 where one class is empty. Sums are exact int64, so equal splits (a gap
    in the histogram) get bit-identical values and argmax takes the lowest t,
    as OpenCV and scikit-image do.
    """
    n_low = np.cumsum(hist)
    sum_low = np.cumsum(hist * _LEVELS)
    n_total, sum_total = int(n_low[-1]), int(sum_low[-1])
    n_high = n_total - n_low
    sum_high = sum_total - sum_low
    # w_low * w_high * (mean_low - mean_high)**2 with the fractions multiplied out.
    cross = (sum_low * n_high - sum_high * n_low).astype(np.float64)
    both_sides = (n_low > 0) & (n_high > 0)
    variance = np.zeros(256)
    variance[both_sides] = cross[both_sides] ** 2 / (
        n_low[both_sides].astype(np.float64) * n_high[both_sides] * float(n_total) ** 2
    )
    return variance


def _multiotsu(
    gray: np.ndarray, hist: np.ndarray, classes: int, polarity: str, info: dict[str, Any]
) -> SegmentationResult:
    classes = check_int("classes", classes, minimum=2, maximum=5)
    n_levels = int(np.count_nonzero(hist))
    if n_levels < classes:
        raise _NoThresholdError(
            f"the image has only {n_levels} gray level(s); multi-Otsu cannot split it "
            f"into {classes} classes — use fewer classes"
        )
    levels = _multiotsu_levels(hist, classes)
    # Class of a gray value = number of thresholds strictly below it.
    lookup = np.searchsorted(levels, _LEVELS, side="left").astype(np.uint8)
    labels = cv2.LUT(gray, lookup)
    info["thresholds"] = levels
    if classes == 2:
        resolved = _resolve_polarity(polarity, _count_above(hist, levels[0]), gray.size)
        mask = labels == 1 if resolved == "bright" else labels == 0
        info["threshold"] = levels[0]
        info["foreground_fraction"] = np.count_nonzero(mask) / mask.size
    else:
        # Classes are ordered by brightness; there is no foreground to flip.
        resolved = polarity
        mask = None
        info["threshold"] = None
        info["foreground_fraction"] = cv2.countNonZero(labels) / labels.size
    return SegmentationResult(
        method="threshold", labels=labels, mask=mask, params={"polarity": resolved}, info=info
    )


def _multiotsu_levels(hist: np.ndarray, classes: int) -> list[int]:
    """The ``classes - 1`` thresholds of scikit-image's ``threshold_multiotsu(hist=...)``.

    Own code because scikit-image tries every tuple of thresholds: 0.12-0.7 s for 4 classes and
    22-28 s for 5 here (256x256 to 12 Mpx), where this takes 1-3 ms. A dynamic programme over the
    float32 class terms bounds the best score from any partial tuple; a depth-first search in
    scikit-image's order then scores only the tuples within rounding of the best, exactly as
    scikit-image does (float32 sums, first strict maximum wins).
    """
    present = np.flatnonzero(hist)
    if present.size == classes:
        # scikit-image skips the search: every level but the last is a threshold.
        return [int(level) for level in present[:-1]]
    low = int(present[0])
    counts = hist[low : int(present[-1]) + 1].astype(np.float32)
    n_bins = counts.size
    n_thresholds = classes - 1
    terms = _multiotsu_class_terms(counts)
    terms_wide = terms.astype(np.float64)
    # Threshold k ranges over k .. n_bins - classes + k, as in scikit-image's loops.
    slack = n_bins - classes
    # reachable[k][t]: the best float64 sum of the terms of the classes after
    # threshold k, given t_k = t.
    reachable = [np.empty(0)] * n_thresholds
    after_last = np.full(n_bins, -np.inf)
    after_last[: n_bins - 1] = terms_wide[1:, n_bins - 1]
    reachable[-1] = after_last
    above_diagonal = np.triu(np.ones((n_bins, n_bins), dtype=bool), 1)
    for k in range(n_thresholds - 2, -1, -1):
        next_best = reachable[k + 1].copy()
        next_best[slack + k + 2 :] = -np.inf
        # Row t, column u: class t+1..u, then the best continuation from t_(k+1) = u.
        joined = np.full((n_bins, n_bins), -np.inf)
        joined[:-1] = terms_wide[1:] + next_best
        joined[~above_diagonal] = -np.inf
        reachable[k] = joined.max(axis=1)

    def candidates(k: int, previous: int) -> np.ndarray:
        # A threshold on an empty bin scores exactly like the one just below
        # it, which scikit-image meets first and keeps; skip it unless the
        # bin below is taken (or is bin 0, whose first class scikit-image
        # scores as 0).
        start = np.arange(previous + 1, slack + k + 1)
        return start[(counts[start] > 0) | (start - 1 <= max(previous, 0))]

    def score(thresholds: list[Any]) -> Any:
        # scikit-image's float32 order: first and last class, then the middle ones.
        total = terms[0, thresholds[0]] + terms[thresholds[-1] + 1, n_bins - 1]
        for before, after in zip(thresholds, thresholds[1:]):
            total = total + terms[before + 1, after]
        return total

    greedy: list[int] = []
    previous = -1
    for k in range(n_thresholds):
        options = candidates(k, previous)
        gains = terms_wide[previous + 1, options] + reachable[k][options]
        previous = int(options[np.argmax(gains)])
        greedy.append(previous)
    floor = float(score(greedy))
    # Relative float32 rounding of a sum of `classes` non-negative terms, with room to spare.
    rounding = classes * 2.0**-23
    best_score = -np.inf
    best: list[int] = []

    def search(k: int, previous: int, prefix: float, chosen: list[int]) -> None:
        nonlocal best_score, best
        options = candidates(k, previous)
        bounds = prefix + terms_wide[previous + 1, options] + reachable[k][options]
        target = max(floor, best_score)
        options = options[bounds >= target * (1 - rounding)]
        if k < n_thresholds - 1:
            for t in options.tolist():
                search(k + 1, t, prefix + terms_wide[previous + 1, t], [*chosen, t])
        elif options.size:
            scores = np.asarray(score([*chosen, options]), dtype=np.float32)
            first_best = int(np.argmax(scores))
            if scores[first_best] > best_score:
                best_score = float(scores[first_best])
                best = [*chosen, int(options[first_best])]

    search(0, -1, 0.0, [])
    return [low + t for t in best]


def _multiotsu_class_terms(counts: np.ndarray) -> np.ndarray:
    """float32 (L, L) table: entry (i, j) is ``S**2 / P`` of the class of bins i..j, built as scikit-image does."""
    n_bins = counts.size
    zeroth = np.cumsum(counts, dtype=np.float32)
    weighted = np.arange(n_bins, dtype=np.float32) * counts
    weighted[0] = counts[0]
    first = np.cumsum(weighted, dtype=np.float32)
    zeroth_before = np.concatenate([np.zeros(1, np.float32), zeroth[:-1]])
    first_before = np.concatenate([np.zeros(1, np.float32), first[:-1]])
    class_count = zeroth - zeroth_before[:, None]
    class_moment = first - first_before[:, None]
    terms = np.zeros((n_bins, n_bins), dtype=np.float32)
    filled = np.triu(class_count > 0)
    np.divide(class_moment * class_moment, class_count, out=terms, where=filled)
    terms[0, 0] = 0
    return terms


def _count_above_otsu(hist: np.ndarray) -> int:
    """Number of pixels brighter than the global Otsu threshold."""
    return _count_above(hist, _global_threshold(hist, "otsu"))


def _local_threshold(
    gray: np.ndarray,
    algorithm: str,
    polarity: str,
    block_size: int,
    offset: float,
    k: float,
    return_steps: bool,
    info: dict[str, Any],
) -> np.ndarray:
    """0/1 uint8 foreground of a local algorithm for a ``"bright"`` or ``"dark"`` polarity."""
    block_size = int(block_size)
    bright = polarity == "bright"
    if algorithm in ("local_mean", "local_gaussian"):
        if algorithm == "local_mean":
            cv_method = cv2.ADAPTIVE_THRESH_MEAN_C
        else:
            cv_method = cv2.ADAPTIVE_THRESH_GAUSSIAN_C
        # THRESH_BINARY keeps gray > T - C, exactly for any real C. Bright
        # needs gray > T + offset (C = -offset); dark, gray <= T - offset, is
        # the complement of gray > T - offset (C = offset). THRESH_BINARY_INV
        # is not used: it rounds a fractional C down instead of up.
        c = -offset if bright else offset
        labels = cv2.adaptiveThreshold(gray, 1, cv_method, cv2.THRESH_BINARY, block_size, c)
        if not bright:
            np.bitwise_xor(labels, 1, out=labels)
        if return_steps:
            local_mean = _adaptive_local_mean(gray, algorithm, block_size)
            info["threshold_map"] = local_mean - np.float32(c)
        return labels
    from skimage.filters import threshold_niblack, threshold_sauvola

    # The formulas find dark objects (text on a page). Bright objects are the
    # dark objects of the inverted image, so k means the same for both.
    source = cv2.bitwise_not(gray) if bright else gray
    local = threshold_sauvola if algorithm == "sauvola" else threshold_niblack
    level_map = local(source, window_size=block_size, k=k) - offset
    labels = np.less_equal(source, level_map).view(np.uint8)
    if return_steps:
        # In gray levels of the original image: bright objects are gray >= 255 - level.
        info["threshold_map"] = (255 - level_map if bright else level_map).astype(np.float32)
    return labels


def _adaptive_local_mean(gray: np.ndarray, algorithm: str, block_size: int) -> np.ndarray:
    """float32 ``T(x, y)``: the rounded local mean, exactly as ``cv2.adaptiveThreshold`` has it."""
    border = cv2.BORDER_REPLICATE | cv2.BORDER_ISOLATED
    if algorithm == "local_mean":
        local_mean = cv2.boxFilter(gray, -1, (block_size, block_size), borderType=border)
    else:
        # OpenCV blurs in float32, then rounds to the image type.
        size = (block_size, block_size)
        blurred = cv2.GaussianBlur(gray.astype(np.float32), size, 0, borderType=border)
        local_mean = np.clip(np.rint(blurred), 0, 255)
    return local_mean.astype(np.float32)


def _check_block_size(block_size: Any) -> None:
    if not is_int(block_size) or block_size < 3 or block_size % 2 == 0:
        raise InvalidParameterError(
            f"block_size must be an odd integer of at least 3 (3, 5, 7, ...), got {block_size!r}"
        )
