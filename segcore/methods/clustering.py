"""Clustering pixels: k-means and Gaussian mixtures (scikit-learn), plus an elbow curve.

Each pixel becomes a feature row, the rows are clustered, and a pixel's cluster index is its
label. Rules shared by :func:`kmeans`, :func:`gmm` and :func:`elbow`:

- ``features``: ``"rgb"`` (0..255, passed to scikit-learn as uint8, as the cheatsheet's
  example does), ``"lab"`` (CIE L*a*b* from OpenCV on float RGB in 0..1), ``"hsv"`` (hue is
  an angle, so it becomes the point ``127.5 * S * (cos H, sin H)`` of the colour wheel,
  followed by ``255 * V``) or ``"gray"`` (:func:`segcore.to_gray`). A gray image has one
  feature, its gray value, for ``"rgb"`` or ``"gray"``.
- ``spatial_weight`` w > 0 appends ``(row, col) * w * R / hypot(H - 1, W - 1)``, R the range
  of one colour feature (100 for Lab, else 255): at w = 1 opposite corners are as far apart as
  black and white in one channel.
- Sampling: up to :data:`KMEANS_FULL_FIT_LIMIT` pixels, :func:`kmeans` with its defaults is
  exactly ``KMeans(n_clusters=K, random_state=R, n_init="auto").fit(pixels)``. Above, it fits
  a stratified random sample (``numpy.random.default_rng(random_state)``, see
  :func:`_sample_indices` and :func:`_fit_sample`) and
  assigns every pixel to its nearest centre; ``info["inertia"]`` is always over all pixels.
- For K = 2, ``mask`` is the cluster with fewer pixels (objects are the minority, as with
  automatic polarity); with a tie, the brighter one.
- ``segmented_image`` follows the cheatsheet's recipe ``centers[labels].astype(np.uint8)``
  where the centres are colours (RGB, or gray on a gray image), else paints ``center_colors``.
- Result keys (``centers``, ``center_colors``, ``counts``, ``order_by_brightness``): see
  docs/glossary.md.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Iterable

import cv2
import numpy as np

from ..checks import check_bool, check_choice, check_int, check_number
from ..errors import InvalidParameterError
from ..imageops import check_image, to_gray, to_rgb
from ..result import SegmentationResult, labels_dtype

#: :func:`kmeans` with ``sample_size="auto"`` fits on every pixel up to this many.
KMEANS_FULL_FIT_LIMIT = 2_000_000
#: Pixels in the random sample a k-means fit uses above the full-fit limit.
KMEANS_SAMPLE_SIZE = 100_000
#: k-means++ starts tried for a sampled fit, each fitted on a subsample of
#: :data:`KMEANS_START_SAMPLE` pixels; the best is then refined on the whole
#: sample. Five keep a smooth gradient at K=8 within 0.1% of the full fit's
#: inertia where three 100k-pixel starts were 1.1% worse (bench_kmeans.py).
KMEANS_SAMPLE_N_INIT = 5
KMEANS_START_SAMPLE = 20_000
#: k-means++ starts per K of :func:`elbow` (the best kept).
ELBOW_N_INIT = 3
#: Largest image (1024 x 1024) for which ``return_steps=True`` is allowed: every
#: step keeps a full label image.
STEPS_PIXEL_LIMIT = 1024 * 1024
#: :func:`gmm` with ``sample_size="auto"`` fits on every pixel up to this many,
#: else on a random sample of this size; EM costs tens of times what k-means does.
GMM_SAMPLE_SIZE = 50_000
#: Pixels per chunk when assigning all pixels after a sampled fit (bounds memory).
ASSIGN_CHUNK = 1 << 18
#: Pixels per chunk for the table-based assignment of plain pixel values: at
#: 64k (about 1 MB of float32 work arrays, cache-sized) a 4 Mpx K=8 assignment
#: took 0.23-0.26 s against 0.37-0.39 s in 1M-pixel chunks.
TABLE_ASSIGN_CHUNK = 1 << 16
#: Colour-cube cells of 2**3 = 8 levels a side for the nearest-centre table: at 4 levels the
#: table cost more than it saved (0.073 s against 0.034 s for K=3 at 4 Mpx).
CELL_BITS = 3
#: The table's mark for a cell that straddles a region border (so K <= 255 there).
BORDER_CELL = 255

FEATURE_SPACES = ("rgb", "lab", "hsv", "gray")
#: Weights of :func:`segcore.to_gray` (cv2 RGB2GRAY), for the mean gray of a cluster.
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])
COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def kmeans(
    image: np.ndarray,
    *,
    n_clusters: int = 3,
    random_state: int = 0,
    features: str = "rgb",
    spatial_weight: float = 0.0,
    sample_size: int | str | None = "auto",
    max_iter: int = 300,
    return_steps: bool = False,
) -> SegmentationResult:
    """Cluster pixels into ``n_clusters`` groups with k-means (scikit-learn ``KMeans``).

    ``sample_size``: ``"auto"``, an int (fit on that many random pixels), or None (every pixel).
    ``return_steps`` records every Lloyd iteration in ``info["steps"]`` (``centers``,
    ``labels``, ``inertia``; step 0 holds KMeans's own k-means++ start), for images up to
    :data:`STEPS_PIXEL_LIMIT` pixels. The steps stop once no pixel changes cluster, so the last
    may differ from ``labels`` (scikit-learn also stops on its tolerance) in a few pixels.
    ``info`` also has ``inertia``, ``n_iter``, ``sampled``, ``feature_space`` and
    ``segmented_image``.

    >>> img = np.array([[[0, 0, 0], [10, 0, 0], [200, 200, 200], [210, 200, 200]]],
    ...                dtype=np.uint8)
    >>> result = kmeans(img, n_clusters=2)
    >>> result.info["counts"]
    array([2, 2])
    >>> result.info["center_colors"]
    array([[205, 200, 200],
           [  5,   0,   0]], dtype=uint8)
    >>> result.mask  # a tie: the brighter cluster is the foreground
    array([[False, False,  True,  True]])
    """
    n_clusters = check_int("n_clusters", n_clusters, minimum=1)
    random_state = _check_random_state(random_state)
    max_iter = check_int("max_iter", max_iter, minimum=1)
    return_steps = check_bool("return_steps", return_steps)
    pixel_features = _PixelFeatures(image, features, spatial_weight)
    n_pixels = pixel_features.n_pixels
    sample = _resolve_sample_size(
        sample_size, n_pixels, full_fit_limit=KMEANS_FULL_FIT_LIMIT, auto_size=KMEANS_SAMPLE_SIZE
    )
    _check_enough_pixels("n_clusters", n_clusters, n_pixels if sample is None else sample)
    if return_steps and n_pixels > STEPS_PIXEL_LIMIT:
        raise InvalidParameterError(
            f"step-by-step k-means is for images up to 1 Mpx (1024 x 1024 = {STEPS_PIXEL_LIMIT} "
            f"pixels); this one has {n_pixels}: downscale first"
        )

    from sklearn.cluster import KMeans

    label_type = labels_dtype(n_clusters - 1)
    if sample is None:
        model = KMeans(
            n_clusters=n_clusters, random_state=random_state, n_init="auto", max_iter=max_iter
        ).fit(pixel_features.rows())
        flat_labels = model.labels_.astype(label_type)
        inertia = float(model.inertia_)
        summary = _ClusterSummary(image, flat_labels, n_clusters)
    else:
        # A sampled fit is many short parallel loops (Lloyd iterations on
        # 100k pixels, one prediction per chunk). On a busy machine every
        # loop waits for a core for each extra thread: one thread ran the
        # 12 Mpx benchmark 3-4x faster beside a training job, and costs
        # little on an idle machine. It also makes the result independent
        # of the core count.
        with _thread_pools().limit(limits=1):
            model = _fit_sample(
                pixel_features.rows(_sample_indices(n_pixels, sample, random_state)),
                n_clusters, random_state, max_iter,
            )
            flat_labels, inertia, counts, feature_sums = _assign_nearest(
                model, pixel_features, label_type
            )
        # In "rgb" (or "gray" on a gray image) the first features are the
        # pixel values, so their sums already give the mean colours.
        colour_sums = (
            feature_sums[:, : pixel_features.n_colours] if pixel_features.colour_is_pixel else None
        )
        summary = _ClusterSummary(
            image, flat_labels, n_clusters, counts=counts, colour_sums=colour_sums
        )

    centers = model.cluster_centers_
    labels = flat_labels.reshape(image.shape[:2])
    info: dict[str, Any] = {
        "centers": centers,
        "center_colors": summary.center_colors,
        "counts": summary.counts,
        "inertia": inertia,
        "n_iter": int(model.n_iter_),
        "sampled": sample is not None,
        "feature_space": pixel_features.space,
        "order_by_brightness": summary.order_by_brightness,
        "segmented_image": _segmented_image(labels, centers, summary, pixel_features),
    }
    if return_steps:
        info["steps"] = _lloyd_steps(
            pixel_features, n_clusters, random_state, max_iter, image.shape[:2]
        )
    return SegmentationResult(
        method="kmeans",
        labels=labels,
        mask=summary.minority_mask(labels),
        params={"features": pixel_features.space, "sample_size": sample},
        info=info,
    )


def warm_up() -> None:
    """Import scikit-learn's clustering (about 1.3 s here, once per process).

    :func:`segcore.segment` calls it before its clock starts, so a first run's ``seconds`` is the
    algorithm's (0.06 s for K=2 on the 256x256 default sample), not the import's.
    """
    import sklearn.cluster  # noqa: F401
    import sklearn.mixture  # noqa: F401


def elbow(
    image: np.ndarray,
    *,
    k_values: Iterable[int] = range(1, 9),
    random_state: int = 0,
    features: str = "rgb",
    spatial_weight: float = 0.0,
    sample_size: int | None = 20_000,
) -> dict[int, float]:
    """``{k: inertia}`` of k-means for each K of ``k_values``, to draw an elbow chart.

    One sample of ``sample_size`` pixels (None: all) serves every K; each inertia is scaled by
    ``n_pixels / sample_size``, so it compares with ``kmeans(...).info["inertia"]``.

    >>> img = np.array([[0, 0, 100, 100, 250, 250]], dtype=np.uint8)
    >>> {k: round(v, 1) for k, v in elbow(img, k_values=[1, 2, 3]).items()}
    {1: 63333.3, 2: 10000.0, 3: 0.0}
    """
    image = check_image(image)
    random_state = _check_random_state(random_state)
    ks = [check_int("each of k_values", k, minimum=1) for k in k_values]
    if not ks:
        raise InvalidParameterError("k_values is empty: give at least one number of clusters")
    pixel_features = _PixelFeatures(image, features, spatial_weight)
    n_pixels = pixel_features.n_pixels
    if sample_size is None:
        sample = None
    else:
        sample = check_int("sample_size", sample_size, minimum=1)
        sample = sample if sample < n_pixels else None
    if sample is None:
        rows = pixel_features.rows()
        scale = 1.0
    else:
        rows = pixel_features.rows(_sample_indices(n_pixels, sample, random_state))
        scale = n_pixels / sample
    _check_enough_pixels("k_values", max(ks), len(rows))

    from sklearn.cluster import KMeans

    return {
        k: float(
            KMeans(n_clusters=k, random_state=random_state, n_init=ELBOW_N_INIT)
            .fit(rows)
            .inertia_
        )
        * scale
        for k in ks
    }


def gmm(
    image: np.ndarray,
    *,
    n_clusters: int = 3,
    covariance_type: str = "full",
    random_state: int = 0,
    features: str = "rgb",
    spatial_weight: float = 0.0,
    sample_size: int | str | None = "auto",
) -> SegmentationResult:
    """Cluster pixels with a Gaussian mixture (scikit-learn ``GaussianMixture``).

    ``sample_size="auto"`` fits on at most :data:`GMM_SAMPLE_SIZE` pixels (EM costs tens of
    times what k-means does). Labels are each pixel's most probable component; ``info`` has
    ``centers`` (the means), ``weights``, ``max_probability`` (the chosen component's posterior,
    a confidence map), ``log_likelihood`` (mean per fitted pixel), ``n_iter`` and ``converged``.
    Features go to scikit-learn as float64: it would compute uint8 log-probabilities when
    predicting.

    >>> rng = np.random.default_rng(0)
    >>> img = np.concatenate([rng.normal(60, 5, 300), rng.normal(190, 5, 100)])
    >>> img = np.clip(img, 0, 255).astype(np.uint8).reshape(20, 20)
    >>> result = gmm(img, n_clusters=2)
    >>> int(result.mask.sum())
    100
    """
    n_clusters = check_int("n_clusters", n_clusters, minimum=1)
    random_state = _check_random_state(random_state)
    check_choice("covariance_type", covariance_type, COVARIANCE_TYPES)
    pixel_features = _PixelFeatures(image, features, spatial_weight)
    n_pixels = pixel_features.n_pixels
    sample = _resolve_sample_size(
        sample_size, n_pixels, full_fit_limit=GMM_SAMPLE_SIZE, auto_size=GMM_SAMPLE_SIZE
    )
    _check_enough_pixels("n_clusters", n_clusters, n_pixels if sample is None else sample)

    from sklearn.mixture import GaussianMixture

    index = slice(None) if sample is None else _sample_indices(n_pixels, sample, random_state)
    flat_labels = np.empty(n_pixels, dtype=labels_dtype(n_clusters - 1))
    max_probability = np.empty(n_pixels, dtype=np.float32)
    # The mixture's matrix products are (n, F) x (F, F) with F <= 5: several
    # BLAS threads gain nothing there and, on a busy machine, spin-wait for a
    # core (measured 6x slower at 3 Mpx). Results are identical.
    with _thread_pools().limit(limits=1, user_api="blas"):
        fitted_rows = pixel_features.rows(index, dtype=np.float64)
        model = GaussianMixture(
            n_components=n_clusters, covariance_type=covariance_type, random_state=random_state
        ).fit(fitted_rows)
        log_likelihood = float(model.score(fitted_rows))
        for chunk in _chunks(n_pixels):
            probabilities = model.predict_proba(pixel_features.rows(chunk, dtype=np.float64))
            flat_labels[chunk] = probabilities.argmax(axis=1)
            max_probability[chunk] = probabilities.max(axis=1)

    summary = _ClusterSummary(image, flat_labels, n_clusters)
    labels = flat_labels.reshape(image.shape[:2])
    return SegmentationResult(
        method="gmm",
        labels=labels,
        mask=summary.minority_mask(labels),
        params={"features": pixel_features.space, "sample_size": sample},
        info={
            "centers": model.means_,
            "weights": model.weights_,
            "center_colors": summary.center_colors,
            "counts": summary.counts,
            "log_likelihood": log_likelihood,
            "max_probability": max_probability.reshape(image.shape[:2]),
            "n_iter": int(model.n_iter_),
            "converged": bool(model.converged_),
            "sampled": sample is not None,
            "feature_space": pixel_features.space,
            "order_by_brightness": summary.order_by_brightness,
        },
    )


class _PixelFeatures:
    """Feature rows of an image's pixels for any subset, so a 12 Mpx image never needs them all."""

    def __init__(self, image: np.ndarray, features: str, spatial_weight: float) -> None:
        check_choice("features", features, FEATURE_SPACES)
        spatial_weight = check_number("spatial_weight", spatial_weight, low=0)
        height, width = image.shape[:2]
        gray_features = features == "gray" or (features == "rgb" and image.ndim == 2)
        self.space = "gray" if gray_features else features
        #: Whether the colour features are the image's own pixel values (RGB of
        #: an RGB image, gray of a gray one): centres are then colours.
        self.colour_is_pixel = self.space == "rgb" or (self.space == "gray" and image.ndim == 2)
        self.n_colours = 1 if gray_features else 3
        self.n_pixels = height * width
        self._width = width
        self._pixels = (to_gray(image) if gray_features else to_rgb(image)).reshape(self.n_pixels, -1)
        colour_range = 100.0 if self.space == "lab" else 255.0
        self._position_scale = (
            float(spatial_weight) * colour_range / max(math.hypot(height - 1, width - 1), 1.0)
        )

    def plain_pixels(self) -> np.ndarray | None:
        """The (N, C) uint8 pixel values when they are the features as they are, else None."""
        plain = self.colour_is_pixel and self._position_scale == 0
        return self._pixels if plain and self._pixels.dtype == np.uint8 else None

    def rows(self, index: slice | np.ndarray = slice(None), dtype: type | None = None) -> np.ndarray:
        """Feature rows (n, F) of the pixels at flat ``index`` (plain RGB or gray stay uint8)."""
        colours = self._pixels[index]
        if self.space == "lab":
            colours = _convert_float(colours, cv2.COLOR_RGB2Lab)
        elif self.space == "hsv":
            hsv = _convert_float(colours, cv2.COLOR_RGB2HSV)
            hue = np.deg2rad(hsv[:, 0])
            radius = 127.5 * hsv[:, 1]
            colours = np.column_stack([radius * np.cos(hue), radius * np.sin(hue), 255.0 * hsv[:, 2]])
        if self._position_scale > 0:
            flat = np.arange(*index.indices(self.n_pixels)) if isinstance(index, slice) else index
            row, col = np.divmod(flat, self._width)
            colours = np.column_stack(
                [colours.astype(np.float64), row * self._position_scale, col * self._position_scale]
            )
        return colours if dtype is None else colours.astype(dtype, copy=False)


def pixel_features(image: np.ndarray, *, features: str = "rgb", spatial_weight: float = 0.0,
                   index: slice | np.ndarray = slice(None)) -> np.ndarray:
    """The (n, F) float64 feature rows k-means and the mixture cluster, for the pixels at flat ``index``.

    >>> img = np.array([[[255, 0, 0], [0, 0, 255]]], dtype=np.uint8)
    >>> pixel_features(img).tolist()
    [[255.0, 0.0, 0.0], [0.0, 0.0, 255.0]]
    """
    return _PixelFeatures(image, features, spatial_weight).rows(index, dtype=np.float64)


def _convert_float(rgb: np.ndarray, code: int) -> np.ndarray:
    """cv2 colour conversion of (n, 3) uint8 RGB rows via float32 in 0..1, as float64."""
    as_float = (rgb.astype(np.float32) / np.float32(255.0)).reshape(-1, 1, 3)
    return cv2.cvtColor(as_float, code).reshape(-1, 3).astype(np.float64)


class _ClusterSummary:
    """Per-cluster pixel counts, mean colours and mean gray values."""

    def __init__(
        self,
        image: np.ndarray,
        flat_labels: np.ndarray,
        n_clusters: int,
        *,
        counts: np.ndarray | None = None,
        colour_sums: np.ndarray | None = None,
    ) -> None:
        if counts is None or colour_sums is None:
            # bincount casts labels to intp and weights to float64 at every
            # call, and is much slower on strided weights: convert once each.
            label_index = flat_labels.astype(np.intp)
        if counts is None:
            counts = np.bincount(label_index, minlength=n_clusters)
        self.counts = counts.astype(np.int64)
        if colour_sums is None:
            channels = image.reshape(len(flat_labels), -1)
            colour_sums = np.stack(
                [
                    np.bincount(
                        label_index, weights=channels[:, c].astype(np.float64), minlength=n_clusters
                    )
                    for c in range(channels.shape[1])
                ],
                axis=1,
            )
        means = colour_sums / np.maximum(self.counts, 1)[:, None]
        if means.shape[1] == 1:
            self.mean_gray = means[:, 0]
            means = np.repeat(means, 3, axis=1)
        else:
            # The luma of the mean colour: to_gray's weights without its
            # per-pixel rounding, which saves a pass over the image.
            self.mean_gray = means @ LUMA_WEIGHTS
        self.center_colors = np.rint(means).astype(np.uint8)
        self.order_by_brightness = np.argsort(self.mean_gray, kind="stable")

    def minority_mask(self, labels: np.ndarray) -> np.ndarray | None:
        """For two clusters, the one with fewer pixels (a tie: the brighter); else None."""
        if len(self.counts) != 2:
            return None
        if self.counts[0] != self.counts[1]:
            foreground = int(np.argmin(self.counts))
        else:
            foreground = int(self.mean_gray[1] >= self.mean_gray[0])
        return labels == foreground


def _segmented_image(
    labels: np.ndarray, centers: np.ndarray, summary: _ClusterSummary, pixel_features: _PixelFeatures
) -> np.ndarray:
    """Each pixel painted with its cluster's colour: the cheatsheet's recipe where centres are colours."""
    if pixel_features.colour_is_pixel:
        # centers[labels].astype(uint8) as in the cheatsheet's example, with the truncation
        # done once per cluster instead of once per pixel.
        palette = centers[:, : pixel_features.n_colours].astype(np.uint8)
    else:
        palette = summary.center_colors
    return _paint(labels, palette)


def _paint(labels: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """``palette[labels]`` for a (K, 3) palette, or ``palette[labels, 0]`` for (K, 1)."""
    if labels.dtype == np.uint8:
        # OpenCV's table lookups are several times faster than fancy indexing.
        table = np.zeros((256, 1, palette.shape[1]), dtype=np.uint8)
        table[: len(palette), 0] = palette
        if palette.shape[1] == 3:
            return cv2.applyColorMap(labels, table)
        return cv2.LUT(labels, table[:, 0, 0])
    painted = np.take(palette, labels, axis=0)
    return painted if palette.shape[1] == 3 else painted[:, :, 0]


def _fit_sample(rows: np.ndarray, n_clusters: int, random_state: int, max_iter: int) -> Any:
    """KMeans on a pixel sample: the best of several starts on a subsample, refined on all rows.

    Trying starts on 20k pixels instead of 100k makes five of them cheaper than
    three were, and more starts are what keeps clear of poor local minima.
    """
    from sklearn.cluster import KMeans

    starts = rows
    if len(rows) > KMEANS_START_SAMPLE >= n_clusters:
        pick = np.random.default_rng(random_state).choice(len(rows), KMEANS_START_SAMPLE, replace=False)
        starts = rows[np.sort(pick)]
    best = KMeans(
        n_clusters=n_clusters, random_state=random_state, n_init=KMEANS_SAMPLE_N_INIT, max_iter=max_iter
    ).fit(starts)
    if starts is rows:
        return best
    return KMeans(n_clusters=n_clusters, init=best.cluster_centers_, n_init=1, max_iter=max_iter).fit(rows)


def _assign_nearest(
    model: Any, pixel_features: _PixelFeatures, label_type: np.dtype
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Nearest-centre label of every pixel, the inertia over all pixels, and
    the pixel count and feature sums of each cluster."""
    centers = model.cluster_centers_
    pixels = pixel_features.plain_pixels()
    if pixels is not None and len(centers) < BORDER_CELL:
        return _assign_nearest_by_tables(centers, pixels)

    from sklearn import config_context

    n_clusters, n_features = centers.shape
    flat_labels = np.empty(pixel_features.n_pixels, dtype=label_type)
    counts = np.zeros(n_clusters, dtype=np.int64)
    sums = np.zeros((n_clusters, n_features))
    sum_of_squares = 0.0
    # Feature rows are finite by construction: skip scikit-learn's check.
    with config_context(assume_finite=True):
        for chunk in _chunks(pixel_features.n_pixels):
            rows = pixel_features.rows(chunk, dtype=np.float64)
            chunk_labels = model.predict(rows).astype(np.intp)
            flat_labels[chunk] = chunk_labels
            counts += np.bincount(chunk_labels, minlength=n_clusters)
            sum_of_squares += float(np.einsum("ij,ij->", rows, rows))
            # bincount is three times slower on strided weights: one
            # contiguous array per feature.
            columns = np.ascontiguousarray(rows.T)
            for f in range(n_features):
                sums[:, f] += np.bincount(chunk_labels, weights=columns[f], minlength=n_clusters)
    return flat_labels, _inertia(sum_of_squares, counts, sums, centers), counts, sums


def _assign_nearest_by_tables(
    centers: np.ndarray, pixels: np.ndarray
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """:func:`_assign_nearest` for uint8 pixel values as features (RGB or gray, no position).

    A cell of the colour cube (8 levels a side, or one gray level) whose corners all have the
    same nearest centre lies wholly in that centre's region (the regions are convex), so a
    32,768-entry table labels most pixels at once; only pixels in cells that straddle a border
    are measured against every centre (:func:`_nearest_by_distance_tables`). At 4 Mpx this
    took 0.034 s for K=3 and 0.067 s for K=8 against 0.079 s and 0.184 s measuring every pixel.
    """
    n_clusters, n_channels = centers.shape
    bits = CELL_BITS if n_channels == 3 else 0
    cell_labels = _cell_labels(centers, bits)
    side = 256 >> bits
    # cell index = sum over channels of (value >> bits) * side ** (C - 1 - c), exact in float32
    index_table = np.zeros((256, 1, n_channels), dtype=np.float32)
    for c in range(n_channels):
        index_table[:, 0, c] = (np.arange(256) >> bits) * side ** (n_channels - 1 - c)
    add_channels = np.ones((1, n_channels), dtype=np.float32)
    flat_labels = np.empty(len(pixels), dtype=np.uint8)
    for chunk in _chunks(len(pixels), TABLE_ASSIGN_CHUNK):
        values = pixels[chunk].reshape(-1, 1, n_channels)
        cells = cv2.transform(cv2.LUT(values, index_table), add_channels).ravel().astype(np.intp)
        labels = cell_labels.take(cells)
        straddling = np.flatnonzero(labels == BORDER_CELL)
        if len(straddling):
            labels[straddling] = _nearest_by_distance_tables(centers, values[straddling])
        flat_labels[chunk] = labels
    counts, sums, sum_of_squares = _cluster_sums(pixels, flat_labels, n_clusters)
    return flat_labels, _inertia(sum_of_squares, counts, sums, centers), counts, sums


def _cell_labels(centers: np.ndarray, bits: int) -> np.ndarray:
    """Nearest centre of every colour-cube cell of 2**bits levels a side, :data:`BORDER_CELL` where
    the cell's corners disagree (ties go to the lower label, as argmin does)."""
    n_channels = centers.shape[1]
    side, width = 256 >> bits, 1 << bits
    low = np.arange(side) * width
    ends = np.concatenate([low, low + width - 1]).astype(np.uint8)  # both extreme levels of each cell
    corner_values = np.stack(np.meshgrid(*[ends] * n_channels, indexing="ij"), axis=-1).reshape(-1, 1, n_channels)
    corner_labels = _nearest_by_distance_tables(centers, corner_values).reshape((2, side) * n_channels)
    corners = [corner_labels[tuple(x for end in ends_of_corner for x in (end, slice(None)))]
               for ends_of_corner in np.ndindex((2,) * n_channels)]
    labels = corners[0].copy()
    for other in corners[1:]:
        labels[other != corners[0]] = BORDER_CELL
    return labels.ravel()


def _nearest_by_distance_tables(centers: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Nearest-centre labels of (n, 1, C) uint8 values: a squared distance is a sum over channels
    of a function of one uint8 value, a 256-entry table per channel that ``cv2.LUT`` applies."""
    n_clusters, n_channels = centers.shape
    levels = np.arange(256, dtype=np.float64)[:, None]
    add_channels = np.ones((1, n_channels), dtype=np.float32)
    labels = np.zeros(len(values), dtype=np.uint8)
    best = None
    for k, center in enumerate(centers):
        table = ((levels - center) ** 2).astype(np.float32).reshape(256, 1, n_channels)
        distance = cv2.transform(cv2.LUT(values, table), add_channels).ravel()
        if best is None:
            best = distance
            continue
        np.copyto(labels, np.uint8(k), where=distance < best)  # strict: ties keep the lower label
        np.minimum(best, distance, out=best)
    return labels


def _cluster_sums(pixels: np.ndarray, labels: np.ndarray, n_clusters: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Pixel count and per-channel value sums of each cluster, and the sum of squared values,
    from one masked OpenCV pass per cluster."""
    # One row of N pixels: OpenCV's counting is per row, and N rows of one pixel cost 100x more.
    values = pixels.reshape(1, -1, pixels.shape[1])
    labels = labels.reshape(1, -1)
    counts = np.zeros(n_clusters, dtype=np.int64)
    sums = np.zeros((n_clusters, pixels.shape[1]))
    for k in range(n_clusters):
        member = cv2.compare(labels, k, cv2.CMP_EQ)
        counts[k] = cv2.countNonZero(member)
        if counts[k]:
            sums[k] = np.asarray(cv2.mean(values, mask=member)[: pixels.shape[1]]) * counts[k]
    return counts, sums, float(cv2.norm(values, cv2.NORM_L2SQR))


def _inertia(sum_of_squares: float, counts: np.ndarray, sums: np.ndarray, centers: np.ndarray) -> float:
    """Inertia from per-cluster statistics: sum |x|^2 - 2 sum_k S_k . c_k + sum_k n_k |c_k|^2."""
    value = sum_of_squares - 2.0 * float(np.sum(sums * centers)) + float(counts @ np.sum(centers**2, axis=1))
    return max(value, 0.0)


def _lloyd_steps(
    pixel_features: _PixelFeatures,
    n_clusters: int,
    random_state: int,
    max_iter: int,
    shape: tuple[int, int],
) -> list[dict[str, Any]]:
    """Lloyd's iterations from KMeans's own k-means++ start, one record per step."""
    from sklearn.cluster import kmeans_plusplus

    rows = pixel_features.rows(dtype=np.float64)
    # KMeans seeds k-means++ on mean-centred rows: do the same, so the same
    # random draws pick the same pixels.
    mean = rows.mean(axis=0)
    centred_centers, _ = kmeans_plusplus(rows - mean, n_clusters, random_state=random_state)
    centers = centred_centers + mean
    label_type = labels_dtype(n_clusters - 1)

    def assign(centers: np.ndarray) -> tuple[np.ndarray, float]:
        # Exact squared distances feature by feature (F is at most 5): no
        # cancellation, so the recorded inertia is trustworthy to the last bits.
        distances = np.zeros((len(rows), n_clusters))
        for f in range(rows.shape[1]):
            distances += (rows[:, f, None] - centers[None, :, f]) ** 2
        labels = distances.argmin(axis=1)
        return labels, float(np.take_along_axis(distances, labels[:, None], axis=1).sum())

    def record(centers: np.ndarray, labels: np.ndarray, inertia: float) -> dict[str, Any]:
        return {
            "centers": centers.copy(),
            "labels": labels.reshape(shape).astype(label_type),
            "inertia": inertia,
        }

    labels, inertia = assign(centers)
    steps = [record(centers, labels, inertia)]
    for _ in range(max_iter):
        counts = np.bincount(labels, minlength=n_clusters)
        filled = counts > 0
        centers = centers.copy()
        for f in range(rows.shape[1]):
            sums = np.bincount(labels, weights=rows[:, f], minlength=n_clusters)
            centers[filled, f] = sums[filled] / counts[filled]
        new_labels, inertia = assign(centers)
        steps.append(record(centers, new_labels, inertia))
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
    return steps


@functools.cache
def _thread_pools():
    """threadpoolctl's view of the loaded thread pools, found once (each lookup costs ~5 ms)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _chunks(n_pixels: int, size: int = ASSIGN_CHUNK) -> Iterable[slice]:
    for start in range(0, n_pixels, size):
        yield slice(start, min(start + size, n_pixels))


def _sample_indices(n_pixels: int, sample: int, random_state: int) -> np.ndarray:
    """``sample`` distinct flat pixel indices, one at random in each of ``sample`` equal runs of
    pixels (raster order), so sorted and spread over the whole image.

    A stratified draw costs 1 ms at 4 Mpx where ``choice(replace=False)`` plus a sort cost 11 ms.
    """
    rng = np.random.default_rng(random_state)
    starts = np.arange(sample + 1, dtype=np.int64) * n_pixels // sample
    widths = np.diff(starts)
    return starts[:-1] + (rng.random(sample) * widths).astype(np.int64)


def _resolve_sample_size(
    sample_size: int | str | None, n_pixels: int, *, full_fit_limit: int, auto_size: int
) -> int | None:
    """The number of pixels to fit on, or None for all of them."""
    if sample_size is None:
        return None
    if isinstance(sample_size, str):
        if sample_size != "auto":
            raise InvalidParameterError(
                f"sample_size must be 'auto', a positive int or None, got {sample_size!r}"
            )
        return auto_size if n_pixels > full_fit_limit else None
    sample = check_int("sample_size", sample_size, minimum=1)
    return sample if sample < n_pixels else None


def _check_enough_pixels(name: str, n_groups: int, n_rows: int) -> None:
    if n_groups > n_rows:
        raise InvalidParameterError(
            f"{name}={n_groups} is more than the {n_rows} pixels being clustered; "
            "use fewer clusters or a larger image or sample"
        )


def _check_random_state(value: Any) -> int:
    return check_int("random_state", value, minimum=0, maximum=2**32 - 1)
