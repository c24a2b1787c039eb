"""Clustering pixels: k-means and Gaussian mixtures (scikit-learn), plus an elbow curve.

Each pixel becomes a feature row (its colour in RGB, CIE Lab, HSV or gray,
optionally followed by its scaled position), the rows are clustered, and the
cluster index of every pixel is the label image.

On images up to :data:`KMEANS_FULL_FIT_LIMIT` pixels, :func:`kmeans` with its
defaults returns exactly what ``KMeans(n_clusters=K, random_state=R,
n_init="auto").fit(image.reshape(-1, 3))`` gives. Larger images are fitted on a
random sample of pixels and every pixel is then assigned to its nearest
centre, which is more than ten times faster at 12 Mpx for the same inertia.
"""

from __future__ import annotations

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
#: Pixels per chunk for the table-based assignment of plain pixel values (4
#: float32 arrays of this length at a time: 16 MB).
TABLE_ASSIGN_CHUNK = 1 << 20

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

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W) or (H, W, 3)
        Gray or RGB image, as checked by :func:`segcore.segment`.
    n_clusters : int, optional
        Number of clusters K, at least 1 and at most the number of pixels fitted.
    random_state : int, optional
        Seed (0 to 2**32 - 1) of the k-means++ initialisation and of the pixel
        sample.
    features : {"rgb", "lab", "hsv", "gray"}, optional
        Colour features of a pixel; see Notes. A gray image has one colour
        feature, its gray value, whether ``"rgb"`` or ``"gray"`` is asked for.
    spatial_weight : float, optional
        Weight (>= 0) of the pixel position appended to the colour features;
        0 clusters by colour alone. See Notes for the exact scaling.
    sample_size : "auto", int or None, optional
        ``"auto"`` fits on every pixel up to :data:`KMEANS_FULL_FIT_LIMIT`
        (2,000,000) pixels and on a random sample of
        :data:`KMEANS_SAMPLE_SIZE` (100,000) pixels above; an int forces a fit
        on a sample of that many pixels (all of them if the image has no more);
        None always fits on every pixel.
    max_iter : int, optional
        Maximum number of Lloyd iterations (>= 1), for the fit and the steps.
    return_steps : bool, optional
        Also record every Lloyd iteration in ``info["steps"]`` (images up to
        :data:`STEPS_PIXEL_LIMIT`, 1024 x 1024, pixels only).

    Returns
    -------
    SegmentationResult
        ``labels``: cluster index of each pixel (H, W) in scikit-learn's
        cluster order, uint8 for up to 256 clusters. ``mask``: for K = 2 the
        minority cluster (see Notes), else None. ``params``: ``features`` (the
        feature space used) and ``sample_size`` (the sample fitted, None for all
        pixels). ``info``:

        - ``"centers"``: (K, F) float64 cluster centres in the feature space;
        - ``"center_colors"``: (K, 3) uint8 mean RGB of each cluster's pixels
          (0 for an empty cluster), to paint a palette;
        - ``"counts"``: (K,) int64 pixels per cluster;
        - ``"inertia"``: sum of squared distances of all pixels to their
          centre, in the feature space;
        - ``"n_iter"``: Lloyd iterations of the (best) fit;
        - ``"sampled"``: whether the fit used a sample of pixels;
        - ``"feature_space"``: ``"rgb"``, ``"lab"``, ``"hsv"`` or ``"gray"``;
        - ``"order_by_brightness"``: cluster indices sorted by the mean gray
          value of their pixels, darkest first (to recolour consistently;
          labels are not renumbered). For RGB images the mean gray is the
          luma ``0.299 R + 0.587 G + 0.114 B`` of the mean colour, which is
          :func:`segcore.to_gray` without its per-pixel rounding;
        - ``"segmented_image"``: every pixel painted with its cluster's
          colour, same shape as ``image`` (see Notes);
        - ``"steps"`` (only with ``return_steps``): one dict per iteration,
          ``{"centers": (K, F) float64, "labels": (H, W), "inertia": float}``;
          step 0 holds the initial centres.

    Raises
    ------
    InvalidParameterError
        For a value outside the ranges above, more clusters than pixels, or
        ``return_steps`` on an image above 1024 x 1024 pixels.

    Notes
    -----
    Feature spaces (colour part of each pixel's feature row):

    - ``"rgb"``: R, G, B as 0..255 (passed to scikit-learn as uint8, which it
      converts to float64 itself, as the seed example does).
    - ``"lab"``: CIE L*a*b* from ``cv2.cvtColor`` on the RGB image as float32
      in 0..1: L* in 0..100, a* and b* roughly -100..100.
    - ``"hsv"``: hue is an angle, so 359 degrees and 1 degree must be close;
      it is encoded as the point ``(127.5 * S * cos H, 127.5 * S * sin H)`` of
      the colour wheel, followed by ``255 * V`` (S and V in 0..1 from
      ``cv2.cvtColor`` on float32). The wheel's diameter equals the value
      range, and unsaturated pixels, whose hue means nothing, sit near the
      axis.
    - ``"gray"``: the luma of :func:`segcore.to_gray`, 0..255.

    With ``spatial_weight`` w > 0, two columns ``row * s`` and ``col * s`` are
    appended, with ``s = w * R / hypot(H - 1, W - 1)`` and R the range of one
    colour feature (100 for ``"lab"``, 255 otherwise). At w = 1, the opposite
    corners of the image are as far apart as black and white in one channel;
    larger weights give more compact, blob-like clusters.

    Above the full-fit limit (or with an int ``sample_size``), the sample is
    drawn without replacement by ``numpy.random.default_rng(random_state)``,
    ``KMeans`` is fitted on it (see :func:`_fit_sample`)
    and every pixel is assigned to its
    nearest centre in chunks of :data:`ASSIGN_CHUNK` pixels, on one thread
    (see the comment in the code: faster on a busy machine, and the result
    does not depend on the core count). ``inertia`` is always measured over
    all pixels, so sampled and full fits compare.

    ``segmented_image`` follows the seed recipe: for an RGB image clustered
    in ``"rgb"``, ``centers[labels, :3].astype(np.uint8)`` (truncated
    centres); for a gray image clustered by gray value, the (H, W) equivalent;
    otherwise the centres are not colours and ``center_colors[labels]`` is
    used.

    For K = 2, ``mask`` is the cluster with fewer pixels: objects are the
    minority, as in :func:`segcore.methods.threshold.threshold` with automatic
    polarity. With exactly as many pixels in each, the brighter cluster is the
    foreground.

    Steps: step 0 uses the k-means++ centres that ``KMeans`` itself starts
    from. They come from ``sklearn.cluster.kmeans_plusplus`` with the same
    ``random_state``, applied like ``KMeans`` applies it: to the feature rows
    minus their mean (checked identical to ``KMeans``'s first iteration).
    Each later step moves every centre to the mean of its pixels (an empty
    cluster keeps its centre) and reassigns pixels. Steps always cover all
    pixels and stop once no pixel changes cluster, or after ``max_iter``
    centre updates. The inertia of successive steps never increases (Lloyd's
    algorithm). ``KMeans`` also stops early when its centres move less than
    its tolerance, so the last step can differ from ``labels`` in a few
    pixels; ``labels`` always stay scikit-learn's. Each step holds an (H, W)
    label image (1 MB per Mpx), hence the limit of 1024 x 1024 pixels:
    downscale larger images first.

    Examples
    --------
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
        from threadpoolctl import threadpool_limits

        # A sampled fit is many short parallel loops (Lloyd iterations on
        # 100k pixels, one prediction per chunk). On a busy machine every
        # loop waits for a core for each extra thread: one thread ran the
        # 12 Mpx benchmark 3-4x faster beside a training job, and costs
        # little on an idle machine. It also makes the result independent
        # of the core count.
        with threadpool_limits(limits=1):
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


def elbow(
    image: np.ndarray,
    *,
    k_values: Iterable[int] = range(1, 9),
    random_state: int = 0,
    features: str = "rgb",
    spatial_weight: float = 0.0,
    sample_size: int | None = 20_000,
) -> dict[int, float]:
    """Inertia of k-means for several K, to draw an elbow chart.

    Parameters
    ----------
    image : ndarray
        Gray or RGB image (any type :func:`segcore.check_image` accepts).
    k_values : iterable of int, optional
        The numbers of clusters to try, each at least 1.
    random_state : int, optional
        Seed of the pixel sample and of every fit.
    features, spatial_weight : optional
        Pixel features, as for :func:`kmeans`.
    sample_size : int or None, optional
        Pixels sampled (once, shared by every K) to keep the chart fast;
        None, or a size at least the pixel count, uses every pixel.

    Returns
    -------
    dict
        ``{k: inertia}`` in the order of ``k_values``. Each inertia is the
        sample's, scaled by ``n_pixels / sample_size`` to estimate the inertia
        over all pixels, so it compares with ``info["inertia"]`` of
        :func:`kmeans`.

    Raises
    ------
    InvalidParameterError
        For an empty ``k_values``, a K below 1 or above the sample size, or
        other values out of range.

    Notes
    -----
    Every K is fitted with :data:`ELBOW_N_INIT` k-means++
    initialisations (the best kept): the elbow is read from the shape of the
    curve, and a single unlucky initialisation would put a bump in it.

    Examples
    --------
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

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W) or (H, W, 3)
        Gray or RGB image, as checked by :func:`segcore.segment`.
    n_clusters : int, optional
        Number of Gaussians, at least 1 and at most the number of pixels fitted.
    covariance_type : {"full", "tied", "diag", "spherical"}, optional
        Shape of each Gaussian's covariance, as in scikit-learn.
    random_state : int, optional
        Seed (0 to 2**32 - 1) of the initialisation (a k-means) and the sample.
    features, spatial_weight : optional
        Pixel features, exactly as for :func:`kmeans`.
    sample_size : "auto", int or None, optional
        ``"auto"`` fits on every pixel up to :data:`GMM_SAMPLE_SIZE` (50,000)
        pixels and on a random sample of that many above; an int forces that
        sample size; None fits on every pixel (slow: EM on 1 Mpx takes tens of
        seconds here).

    Returns
    -------
    SegmentationResult
        ``labels``: the component of highest posterior probability for each
        pixel. ``mask``: for two components the minority one, as in
        :func:`kmeans`, else None. ``params``: ``features`` and
        ``sample_size`` used. ``info``: ``"centers"`` (K, F), ``"weights"`` (K,),
        ``"center_colors"`` (K, 3) uint8, ``"counts"`` (K,),
        ``"log_likelihood"`` (mean log-density per pixel of the pixels
        fitted: all of them, or the sample),
        ``"max_probability"`` ((H, W) float32 posterior of the chosen
        component, a confidence map), ``"n_iter"``, ``"converged"``,
        ``"sampled"``, ``"feature_space"`` and ``"order_by_brightness"``.

    Raises
    ------
    InvalidParameterError
        For a value outside the ranges above or more components than pixels.

    Notes
    -----
    Features are always given to scikit-learn as float64: ``GaussianMixture``
    converts uint8 when fitting but not when predicting, where its
    log-probabilities would then be computed in uint8 and wrap around.
    Labels are the argmax of ``predict_proba``, which is ``predict``'s
    answer, and give ``max_probability`` on the same pass over the pixels,
    in chunks of :data:`ASSIGN_CHUNK`. The log-likelihood is measured on
    the fitted pixels only (``GaussianMixture.score``), which spares a
    second pass over a large image; on a sample of 50,000 pixels it
    estimates the whole image's closely.

    Examples
    --------
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
    from threadpoolctl import threadpool_limits

    index = slice(None) if sample is None else _sample_indices(n_pixels, sample, random_state)
    flat_labels = np.empty(n_pixels, dtype=labels_dtype(n_clusters - 1))
    max_probability = np.empty(n_pixels, dtype=np.float32)
    # The mixture's matrix products are (n, F) x (F, F) with F <= 5: several
    # BLAS threads gain nothing there and, on a busy machine, spin-wait for a
    # core (measured 6x slower at 3 Mpx). Results are identical.
    with threadpool_limits(limits=1, user_api="blas"):
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
    """Feature rows of an image's pixels, computed for any subset on demand.

    Computing rows only for a sample or a chunk keeps a 12 Mpx image from
    needing its whole float64 feature matrix in memory.
    """

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
        """Feature rows (n, F) of the pixels at flat ``index``.

        Plain RGB or gray rows stay uint8 unless ``dtype`` asks otherwise,
        so scikit-learn does the conversion exactly as in the seed recipe.
        """
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
    """The feature rows k-means and the GMM cluster, for the pixels at flat ``index``.

    Use it to plot pixels in the same space as ``info["centers"]`` (e.g. a
    sample of pixels around the centres in a 3-D scatter).

    Returns
    -------
    ndarray of float64, shape (n, F)
        F = 1 (gray) or 3 (colour), plus 2 position columns when
        ``spatial_weight`` > 0.

    Examples
    --------
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
    """Each pixel painted with its cluster's colour: the seed recipe where centres are colours."""
    if pixel_features.colour_is_pixel:
        # centers[labels].astype(uint8) as in the seed, with the truncation
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
    if pixels is not None and np.dtype(label_type) == np.uint8:
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

    The squared distance to a centre is a sum over channels of a function of
    one uint8 value, so it is a 256-entry table per channel and centre, which
    OpenCV applies (``cv2.LUT``) far faster than a general distance
    computation. Distances are float32 here: a pixel almost exactly between
    two centres may go to either, which a sampled fit allows anyway.
    """
    n_clusters, n_channels = centers.shape
    levels = np.arange(256, dtype=np.float64)[:, None]
    tables = [((levels - c) ** 2).astype(np.float32).reshape(256, 1, n_channels) for c in centers]
    add_channels = np.ones((1, n_channels), dtype=np.float32)
    flat_labels = np.empty(len(pixels), dtype=np.uint8)
    counts = np.zeros(n_clusters, dtype=np.int64)
    sums = np.zeros((n_clusters, n_channels))
    sum_of_squares = 0.0
    for chunk in _chunks(len(pixels), TABLE_ASSIGN_CHUNK):
        values = pixels[chunk].reshape(-1, 1, n_channels)
        best = cv2.transform(cv2.LUT(values, tables[0]), add_channels).ravel()
        labels = np.zeros(len(best), dtype=np.uint8)
        for k in range(1, n_clusters):
            distance = cv2.transform(cv2.LUT(values, tables[k]), add_channels).ravel()
            labels[distance < best] = k  # strict: ties keep the lower label, as argmin does
            np.minimum(best, distance, out=best)
        flat_labels[chunk] = labels
        sum_of_squares += cv2.norm(values, cv2.NORM_L2SQR)  # integers, exact in float64
        chunk_counts = np.bincount(labels, minlength=n_clusters)
        counts += chunk_counts
        for k in np.flatnonzero(chunk_counts):
            member = (labels == k).view(np.uint8).reshape(-1, 1)
            sums[k] += np.asarray(cv2.mean(values, mask=member)[:n_channels]) * chunk_counts[k]
    return flat_labels, _inertia(sum_of_squares, counts, sums, centers), counts, sums


def _inertia(sum_of_squares: float, counts: np.ndarray, sums: np.ndarray, centers: np.ndarray) -> float:
    """Sum of squared distances to the assigned centres, from per-cluster statistics.

    sum_k sum_(x in k) |x - c_k|^2 = sum |x|^2 - 2 sum_k S_k . c_k + sum_k n_k |c_k|^2,
    with S_k the feature sums: no per-pixel centre lookup is needed, and the
    float64 sums keep it exact where float32 per-pixel distances would not.
    """
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


def _chunks(n_pixels: int, size: int = ASSIGN_CHUNK) -> Iterable[slice]:
    for start in range(0, n_pixels, size):
        yield slice(start, min(start + size, n_pixels))


def _sample_indices(n_pixels: int, sample: int, random_state: int) -> np.ndarray:
    """``sample`` distinct flat pixel indices, sorted for memory locality."""
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n_pixels, size=sample, replace=False))


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
