"""k-means, Gaussian mixture and elbow: exact agreement with scikit-learn and behaviour."""

from __future__ import annotations

import math
import time
import warnings

import cv2
import numpy as np
import pytest
from skimage import data
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from segcore import InvalidParameterError, segment
from segcore.methods import clustering
from segcore.methods.clustering import elbow, gmm, kmeans


def _downscale(image: np.ndarray, width: int, height: int) -> np.ndarray:
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def _synthetic(height: int = 40, width: int = 50) -> np.ndarray:
    """A smooth colour ramp with two noisy blobs: natural-ish, not piecewise flat."""
    rng = np.random.default_rng(7)
    rows, cols = np.mgrid[0:height, 0:width]
    image = np.stack([rows * 3.0 + 20, cols * 2.0 + 40, 90 + 0 * rows], axis=2)
    image[(rows - 12) ** 2 + (cols - 15) ** 2 < 64] = (220, 60, 50)
    image[(rows - 28) ** 2 + (cols - 36) ** 2 < 81] = (40, 70, 200)
    image += rng.normal(0, 6, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


IMAGES = {
    "astronaut": _downscale(data.astronaut(), 64, 64),
    "coffee": _downscale(data.coffee(), 64, 48),
    "synthetic": _synthetic(),
}


def _seed_recipe(image: np.ndarray, n_clusters: int, random_state: int) -> KMeans:
    """The cheatsheet's k-means, verbatim apart from the parameters."""
    pixels = image.reshape((-1, 3))
    return KMeans(n_clusters=n_clusters, random_state=random_state, n_init="auto").fit(pixels)


@pytest.mark.parametrize("name", sorted(IMAGES))
@pytest.mark.parametrize("n_clusters", [2, 3, 4])
@pytest.mark.parametrize("random_state", [0, 1])
def test_kmeans_defaults_equal_the_seed_recipe(name, n_clusters, random_state):
    image = IMAGES[name]
    km = _seed_recipe(image, n_clusters, random_state)
    result = segment(image, "kmeans", n_clusters=n_clusters, random_state=random_state)

    assert np.array_equal(result.labels, km.labels_.reshape(image.shape[:2]))
    assert np.array_equal(result.info["centers"], km.cluster_centers_)
    segmented = km.cluster_centers_[km.labels_].reshape(image.shape).astype(np.uint8)
    assert np.array_equal(result.info["segmented_image"], segmented)
    assert result.info["inertia"] == km.inertia_
    assert result.info["n_iter"] == km.n_iter_
    assert result.info["sampled"] is False
    assert result.labels.dtype == np.uint8
    assert result.params["sample_size"] is None
    assert result.params["features"] == "rgb"


def test_kmeans_is_exact_on_a_one_megapixel_image():
    image = cv2.resize(data.astronaut(), (1000, 1000), interpolation=cv2.INTER_CUBIC)
    km = _seed_recipe(image, 3, 0)
    result = kmeans(image, n_clusters=3, random_state=0)
    assert result.info["sampled"] is False
    assert np.array_equal(result.labels.ravel(), km.labels_)
    assert np.array_equal(result.info["centers"], km.cluster_centers_)
    segmented = km.cluster_centers_[km.labels_].reshape(image.shape).astype(np.uint8)
    assert np.array_equal(result.info["segmented_image"], segmented)


def test_gray_image_clusters_gray_values():
    gray = cv2.cvtColor(IMAGES["coffee"], cv2.COLOR_RGB2GRAY)
    km = KMeans(n_clusters=3, random_state=0, n_init="auto").fit(gray.reshape(-1, 1))
    result = segment(gray, "kmeans", n_clusters=3)
    assert result.info["feature_space"] == "gray"
    assert result.params["features"] == "gray"
    assert result.info["centers"].shape == (3, 1)
    assert np.array_equal(result.labels.ravel(), km.labels_)
    segmented = result.info["segmented_image"]
    assert segmented.shape == gray.shape
    assert np.array_equal(segmented, km.cluster_centers_[km.labels_, 0].reshape(gray.shape).astype(np.uint8))
    # A gray image's palette repeats the mean gray value in R, G and B.
    colors = result.info["center_colors"]
    assert np.array_equal(colors[:, 0], colors[:, 1]) and np.array_equal(colors[:, 0], colors[:, 2])


def test_gray_features_of_an_rgb_image_use_to_gray():
    image = IMAGES["astronaut"]
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    km = KMeans(n_clusters=3, random_state=0, n_init="auto").fit(gray.reshape(-1, 1))
    result = kmeans(image, n_clusters=3, features="gray")
    assert np.array_equal(result.labels.ravel(), km.labels_)
    # Gray centres are no colours: the painted image uses the mean colours.
    assert np.array_equal(result.info["segmented_image"], result.info["center_colors"][result.labels])


def test_lab_features_are_cv2_lab_of_float_rgb():
    image = IMAGES["coffee"]
    lab = cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_RGB2Lab).reshape(-1, 3)
    km = KMeans(n_clusters=3, random_state=0, n_init="auto").fit(lab.astype(np.float64))
    result = kmeans(image, n_clusters=3, features="lab")
    assert result.info["feature_space"] == "lab"
    assert np.array_equal(result.labels.ravel(), km.labels_)
    assert np.array_equal(result.info["centers"], km.cluster_centers_)
    assert 0 <= result.info["centers"][:, 0].min() and result.info["centers"][:, 0].max() <= 100


def test_hsv_features_treat_hue_as_circular():
    # Reds just below 360 degrees and just above 0 degrees, and a cyan: by
    # hue value the reds are 350 degrees apart, on the colour wheel 10.
    hsv = np.zeros((6, 10, 3), dtype=np.uint8)
    hsv[:, :4] = (176, 220, 220)  # OpenCV 8-bit hue is degrees / 2: 352 degrees
    hsv[:, 4:8] = (3, 220, 220)  # 6 degrees
    hsv[:, 8:] = (90, 220, 220)  # 180 degrees
    image = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    result = kmeans(image, n_clusters=2, features="hsv")
    labels = result.labels
    assert len(np.unique(labels[:, :8])) == 1
    assert labels[0, 0] != labels[0, 9]
    # The centres are (S cos H, S sin H) * 127.5 and V * 255.
    red = result.info["centers"][labels[0, 0]]
    assert red[0] > 100 and abs(red[1]) < 20 and abs(red[2] - 220) < 1
    # The cyan minority is the foreground mask.
    assert np.array_equal(result.mask, labels == labels[0, 9])


def test_spatial_weight_appends_scaled_positions():
    image = IMAGES["synthetic"]
    height, width = image.shape[:2]
    weight = 0.7
    scale = weight * 255 / math.hypot(height - 1, width - 1)
    rows, cols = np.divmod(np.arange(height * width), width)
    features = np.column_stack([image.reshape(-1, 3).astype(np.float64), rows * scale, cols * scale])
    km = KMeans(n_clusters=4, random_state=0, n_init="auto").fit(features)
    result = kmeans(image, n_clusters=4, spatial_weight=weight)
    assert result.info["centers"].shape == (4, 5)
    assert np.array_equal(result.labels.ravel(), km.labels_)
    # The painted image uses the colour part of the centres, as the seed does.
    assert np.array_equal(
        result.info["segmented_image"], km.cluster_centers_[km.labels_, :3].reshape(image.shape).astype(np.uint8)
    )


def test_large_spatial_weight_splits_a_flat_image_by_position():
    image = np.full((20, 40, 3), 128, dtype=np.uint8)
    result = kmeans(image, n_clusters=2, spatial_weight=10.0)
    labels = result.labels
    # Two bands of whole columns, split near the middle (KMeans may stop a
    # column early on its tolerance).
    assert np.all(labels == labels[0])
    assert np.count_nonzero(np.diff(labels[0].astype(int))) == 1
    assert abs(int(result.info["counts"][0]) - 400) <= 40


def _brute_force_assignment(features: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, float]:
    distances = ((features[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
    labels = distances.argmin(axis=1)
    return labels, float(distances.min(axis=1).sum())


def test_sampled_fit_assigns_every_pixel_to_its_nearest_centre():
    image = _downscale(data.astronaut(), 100, 100)
    result = kmeans(image, n_clusters=5, sample_size=2_000)
    assert result.info["sampled"] is True
    assert result.params["sample_size"] == 2_000
    labels, inertia = _brute_force_assignment(image.reshape(-1, 3).astype(np.float64), result.info["centers"])
    assert np.array_equal(result.labels.ravel(), labels)
    assert result.info["inertia"] == pytest.approx(inertia, rel=1e-9)
    # The sampled fit's inertia over all pixels is as good as the full fit's.
    full = kmeans(image, n_clusters=5)
    assert result.info["inertia"] <= 1.01 * full.info["inertia"]


def test_sampled_fit_in_chunks_matches_one_pass(monkeypatch):
    image = IMAGES["coffee"]
    whole = kmeans(image, n_clusters=3, sample_size=500, features="lab", spatial_weight=0.5)
    monkeypatch.setattr(clustering, "ASSIGN_CHUNK", 1000)
    chunked = kmeans(image, n_clusters=3, sample_size=500, features="lab", spatial_weight=0.5)
    assert np.array_equal(whole.labels, chunked.labels)
    assert chunked.info["inertia"] == pytest.approx(whole.info["inertia"], rel=1e-12)


@pytest.mark.parametrize("gray", [False, True])
def test_table_assignment_of_plain_pixels_is_exact_and_chunk_independent(monkeypatch, gray):
    # RGB (or gray) values as features take the lookup-table path; its labels,
    # inertia and cluster statistics must be those of a float64 brute force.
    image = _downscale(data.astronaut(), 120, 90)
    if gray:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    calls = []
    by_tables = clustering._assign_nearest_by_tables
    monkeypatch.setattr(clustering, "_assign_nearest_by_tables",
                        lambda *args: calls.append(1) or by_tables(*args))
    whole = kmeans(image, n_clusters=4, sample_size=1_500)
    assert calls, "plain pixel values should take the lookup-table path"
    monkeypatch.setattr(clustering, "TABLE_ASSIGN_CHUNK", 1_000)
    chunked = kmeans(image, n_clusters=4, sample_size=1_500)
    pixels = image.reshape(image.shape[0] * image.shape[1], -1).astype(np.float64)
    labels, inertia = _brute_force_assignment(pixels, whole.info["centers"])
    for result in (whole, chunked):
        assert np.array_equal(result.labels.ravel(), labels)
        assert result.info["inertia"] == pytest.approx(inertia, rel=1e-9)
        assert result.info["counts"].tolist() == np.bincount(labels, minlength=4).tolist()


def test_auto_sampling_starts_above_the_full_fit_limit(monkeypatch):
    image = IMAGES["astronaut"]  # 4096 pixels
    assert kmeans(image, n_clusters=2).info["sampled"] is False
    monkeypatch.setattr(clustering, "KMEANS_FULL_FIT_LIMIT", 4095)
    monkeypatch.setattr(clustering, "KMEANS_SAMPLE_SIZE", 1000)
    result = kmeans(image, n_clusters=2)
    assert result.info["sampled"] is True
    assert result.params["sample_size"] == 1000


def test_sample_size_at_least_the_pixel_count_fits_all_pixels():
    image = IMAGES["astronaut"]
    result = kmeans(image, n_clusters=3, sample_size=image.shape[0] * image.shape[1])
    assert result.info["sampled"] is False
    assert np.array_equal(result.labels.ravel(), _seed_recipe(image, 3, 0).labels_)


def test_sample_size_none_never_samples(monkeypatch):
    monkeypatch.setattr(clustering, "KMEANS_FULL_FIT_LIMIT", 10)
    assert kmeans(IMAGES["coffee"], n_clusters=2, sample_size=None).info["sampled"] is False


def test_summary_counts_colours_and_brightness_order():
    image = IMAGES["synthetic"]
    result = kmeans(image, n_clusters=4)
    labels = result.labels.ravel()
    pixels = image.reshape(-1, 3)
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).ravel()
    counts = np.array([np.count_nonzero(labels == k) for k in range(4)])
    assert np.array_equal(result.info["counts"], counts)
    means = np.array([pixels[labels == k].mean(axis=0) for k in range(4)])
    assert np.array_equal(result.info["center_colors"], np.rint(means).astype(np.uint8))
    mean_gray = np.array([gray[labels == k].mean() for k in range(4)])
    assert np.array_equal(result.info["order_by_brightness"], np.argsort(mean_gray))
    # The order uses the luma of the mean colour, within rounding of the mean gray.
    assert np.allclose(means @ [0.299, 0.587, 0.114], mean_gray, atol=0.5)
    assert result.mask is None


@pytest.mark.parametrize(
    "image, features",
    [
        (_downscale(data.astronaut(), 100, 100), "rgb"),
        (cv2.cvtColor(_downscale(data.astronaut(), 100, 100), cv2.COLOR_RGB2GRAY), "rgb"),
        (_downscale(data.astronaut(), 100, 100), "lab"),
    ],
)
def test_sampled_fit_summary_matches_its_labels(image, features):
    result = kmeans(image, n_clusters=4, features=features, sample_size=1_500)
    labels = result.labels.ravel()
    pixels = image.reshape(len(labels), -1).astype(np.float64)
    counts = np.bincount(labels, minlength=4)
    assert np.array_equal(result.info["counts"], counts)
    means = np.array([pixels[labels == k].mean(axis=0) for k in range(4)])
    colors = np.rint(np.repeat(means, 3 // pixels.shape[1], axis=1)).astype(np.uint8)
    assert np.array_equal(result.info["center_colors"], colors)


def test_gray_image_with_positions_paints_gray_centres():
    gray = cv2.cvtColor(IMAGES["coffee"], cv2.COLOR_RGB2GRAY)
    result = kmeans(gray, n_clusters=3, spatial_weight=0.5)
    centers = result.info["centers"]
    assert centers.shape == (3, 3)  # gray, row, col
    expected = centers[result.labels, 0].astype(np.uint8)
    assert np.array_equal(result.info["segmented_image"], expected)


def test_more_than_256_clusters_use_uint16_labels():
    image = np.random.default_rng(1).integers(0, 256, (30, 40, 3)).astype(np.uint8)
    km = _seed_recipe(image, 300, 0)
    result = kmeans(image, n_clusters=300)
    assert result.labels.dtype == np.uint16
    assert np.array_equal(result.labels.ravel(), km.labels_)
    segmented = km.cluster_centers_[km.labels_].reshape(image.shape).astype(np.uint8)
    assert np.array_equal(result.info["segmented_image"], segmented)


def test_two_clusters_mask_the_minority():
    image = np.full((10, 10, 3), 30, dtype=np.uint8)
    image[2:5, 2:5] = 240  # a small bright object
    result = kmeans(image, n_clusters=2)
    expected = np.zeros((10, 10), dtype=bool)
    expected[2:5, 2:5] = True
    assert np.array_equal(result.mask, expected)
    # A dark object on a bright background is still the minority.
    result = kmeans(255 - image, n_clusters=2)
    assert np.array_equal(result.mask, expected)
    assert np.array_equal(result.binary, expected)


def test_two_equal_clusters_make_the_brighter_the_foreground():
    image = np.zeros((4, 4), dtype=np.uint8)
    image[:, 2:] = 200
    result = kmeans(image, n_clusters=2)
    assert np.array_equal(result.mask, image == 200)


def test_more_clusters_than_colours_warns_but_works():
    image = np.zeros((6, 6, 3), dtype=np.uint8)
    image[:3] = 255
    with pytest.warns(ConvergenceWarning):
        result = kmeans(image, n_clusters=3)
    assert result.info["counts"].sum() == 36
    assert len(np.unique(result.labels)) == 2


# --- step by step -------------------------------------------------------------------


@pytest.mark.parametrize("features", ["rgb", "lab"])
@pytest.mark.parametrize("random_state", [0, 1])
def test_steps_start_from_kmeans_own_initial_centres(features, random_state):
    image = IMAGES["coffee"]
    result = kmeans(image, n_clusters=4, random_state=random_state, features=features, return_steps=True)
    rows = clustering._PixelFeatures(image, features, 0.0).rows()
    # One Lloyd iteration of KMeans moves its k-means++ centres to the means of
    # their pixels: exactly our step 1.
    one_step = KMeans(n_clusters=4, random_state=random_state, n_init="auto", max_iter=1).fit(rows)
    steps = result.info["steps"]
    assert np.allclose(steps[1]["centers"], one_step.cluster_centers_, rtol=0, atol=1e-9)
    assert np.array_equal(steps[1]["labels"].ravel(), one_step.labels_)


@pytest.mark.parametrize("name", sorted(IMAGES))
@pytest.mark.parametrize("n_clusters", [2, 3, 5])
def test_steps_inertia_never_increases_and_ends_converged(name, n_clusters):
    image = IMAGES[name]
    result = kmeans(image, n_clusters=n_clusters, return_steps=True, features="hsv", spatial_weight=0.3)
    steps = result.info["steps"]
    inertias = np.array([step["inertia"] for step in steps])
    assert np.all(np.diff(inertias) <= 0)
    assert len(steps) >= 2
    assert np.array_equal(steps[-1]["labels"], steps[-2]["labels"])
    rows = clustering._PixelFeatures(image, "hsv", 0.3).rows(dtype=np.float64)
    for step in (steps[0], steps[-1]):
        assert step["labels"].shape == image.shape[:2]
        assert step["labels"].dtype == np.uint8
        assert step["centers"].shape == (n_clusters, 5)
        labels, inertia = _brute_force_assignment(rows, step["centers"])
        assert np.array_equal(step["labels"].ravel(), labels)
        assert step["inertia"] == pytest.approx(inertia, rel=1e-12)
    # Same start, same algorithm: the end state is scikit-learn's up to its
    # earlier tolerance-based stop.
    assert np.mean(steps[-1]["labels"] == result.labels) > 0.95


def test_steps_stop_at_max_iter():
    steps = kmeans(IMAGES["astronaut"], n_clusters=6, max_iter=2, return_steps=True).info["steps"]
    assert len(steps) == 3


def test_steps_are_refused_above_one_megapixel():
    image = np.zeros((1025, 1024), dtype=np.uint8)
    with pytest.raises(InvalidParameterError, match="downscale first"):
        kmeans(image, n_clusters=2, return_steps=True)


# --- elbow ---------------------------------------------------------------------------


def test_elbow_on_all_pixels_equals_kmeans_inertia():
    image = IMAGES["synthetic"][:20, :25]
    curve = elbow(image, k_values=[1, 3, 2], sample_size=None)
    assert list(curve) == [1, 3, 2]
    pixels = image.reshape(-1, 3).astype(np.float64)
    assert curve[1] == pytest.approx(((pixels - pixels.mean(axis=0)) ** 2).sum(), rel=1e-9)
    best_of_three = KMeans(n_clusters=3, random_state=0, n_init=3).fit(image.reshape(-1, 3))
    assert curve[3] == pytest.approx(best_of_three.inertia_, rel=1e-12)
    assert curve[1] > curve[2] > curve[3]


def test_elbow_sample_estimates_the_whole_image():
    image = _downscale(data.astronaut(), 48, 48)
    sampled = elbow(image, k_values=range(1, 5), sample_size=600)
    full = elbow(image, k_values=range(1, 5), sample_size=None)
    values = list(sampled.values())
    assert all(a > b for a, b in zip(values, values[1:]))
    for k in full:
        assert sampled[k] == pytest.approx(full[k], rel=0.15)


def test_elbow_rejects_bad_k_values():
    with pytest.raises(InvalidParameterError, match="empty"):
        elbow(IMAGES["coffee"], k_values=[])
    with pytest.raises(InvalidParameterError, match="k_values"):
        elbow(IMAGES["coffee"], k_values=[0, 2])
    with pytest.raises(InvalidParameterError, match="more than the 100 pixels"):
        elbow(IMAGES["coffee"], k_values=[101], sample_size=100)


# --- Gaussian mixture ----------------------------------------------------------------


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_gmm_labels_are_scikit_learn_predictions(covariance_type):
    image = IMAGES["synthetic"]
    rows = image.reshape(-1, 3).astype(np.float64)
    model = GaussianMixture(n_components=3, covariance_type=covariance_type, random_state=0).fit(rows)
    result = segment(image, "gmm", n_clusters=3, covariance_type=covariance_type)
    assert np.array_equal(result.labels.ravel(), model.predict(rows))
    assert np.allclose(result.info["centers"], model.means_)
    assert np.allclose(result.info["weights"], model.weights_)
    assert result.info["log_likelihood"] == pytest.approx(model.score(rows), rel=1e-9)
    probabilities = model.predict_proba(rows).max(axis=1).reshape(image.shape[:2])
    assert result.info["max_probability"].dtype == np.float32
    assert np.allclose(result.info["max_probability"], probabilities, atol=1e-6)
    assert result.mask is None
    assert result.info["sampled"] is False


def test_gmm_two_components_mask_the_minority():
    rng = np.random.default_rng(3)
    image = rng.normal(50, 4, (30, 30))
    image[5:12, 8:20] = rng.normal(180, 4, (7, 12))
    image = np.clip(image, 0, 255).astype(np.uint8)
    result = gmm(image, n_clusters=2)
    expected = np.zeros((30, 30), dtype=bool)
    expected[5:12, 8:20] = True
    assert np.array_equal(result.mask, expected)
    assert result.info["feature_space"] == "gray"


def test_gmm_samples_large_images(monkeypatch):
    monkeypatch.setattr(clustering, "GMM_SAMPLE_SIZE", 1_000)
    monkeypatch.setattr(clustering, "ASSIGN_CHUNK", 1_500)
    image = IMAGES["astronaut"]
    result = gmm(image, n_clusters=3, features="lab")
    assert result.info["sampled"] is True
    assert result.params["sample_size"] == 1_000
    rows = clustering._PixelFeatures(image, "lab", 0.0).rows(dtype=np.float64)
    sample = clustering._sample_indices(rows.shape[0], 1_000, 0)
    model = GaussianMixture(n_components=3, random_state=0).fit(rows[sample])
    assert np.array_equal(result.labels.ravel(), model.predict(rows))
    # The log-likelihood is the sample's, an estimate of the whole image's.
    assert result.info["log_likelihood"] == pytest.approx(model.score(rows[sample]), rel=1e-9)
    assert result.info["log_likelihood"] == pytest.approx(model.score(rows), abs=0.1)
    assert np.all((result.info["max_probability"] > 0.3) & (result.info["max_probability"] <= 1))


# --- parameter checks ----------------------------------------------------------------


@pytest.mark.parametrize(
    "params, message",
    [
        ({"n_clusters": 0}, "n_clusters must be an integer >= 1"),
        ({"n_clusters": 2.5}, "n_clusters must be an integer"),
        ({"n_clusters": 5000}, "more than the 3072 pixels"),
        ({"random_state": -1}, "random_state"),
        ({"random_state": None}, "random_state"),
        ({"features": "luv"}, "unknown features 'luv'; choose one of: rgb, lab, hsv, gray"),
        ({"spatial_weight": -0.5}, "spatial_weight must be a number >= 0"),
        ({"spatial_weight": float("nan")}, "spatial_weight"),
        ({"sample_size": "half"}, "sample_size must be 'auto'"),
        ({"sample_size": 0}, "sample_size must be an integer >= 1"),
        ({"n_clusters": 20, "sample_size": 10}, "more than the 10 pixels"),
        ({"max_iter": 0}, "max_iter must be an integer >= 1"),
        ({"return_steps": "yes"}, "return_steps must be True or False"),
    ],
)
def test_kmeans_rejects_bad_parameters(params, message):
    with pytest.raises(InvalidParameterError, match=message):
        segment(IMAGES["coffee"], "kmeans", **params)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"n_clusters": 0}, "n_clusters must be an integer >= 1"),
        ({"covariance_type": "round"}, "unknown covariance_type 'round'; choose one of: full"),
        ({"features": "xyz"}, "unknown features 'xyz'; choose one of"),
    ],
)
def test_gmm_rejects_bad_parameters(params, message):
    with pytest.raises(InvalidParameterError, match=message):
        segment(IMAGES["coffee"], "gmm", **params)


def test_segment_reports_every_parameter():
    result = segment(IMAGES["coffee"], "kmeans", n_clusters=2)
    assert result.method == "kmeans"
    assert result.params == {
        "n_clusters": 2,
        "random_state": 0,
        "features": "rgb",
        "spatial_weight": 0.0,
        "sample_size": None,
        "max_iter": 300,
        "return_steps": False,
    }
    assert result.seconds > 0


def test_run_time_starts_after_the_first_use_imports(monkeypatch):
    """A first run's seconds are the algorithm's: segment() runs the module's warm_up() first."""
    monkeypatch.setattr(clustering, "warm_up", lambda: time.sleep(0.5))  # stands for scikit-learn's import
    started = time.perf_counter()
    result = segment(IMAGES["coffee"], "kmeans", n_clusters=2)
    wall = time.perf_counter() - started
    assert wall >= 0.5
    assert result.seconds <= wall - 0.5


def test_no_warnings_on_ordinary_images():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kmeans(IMAGES["astronaut"], n_clusters=3, features="hsv", spatial_weight=0.2)
        gmm(IMAGES["coffee"], n_clusters=2)


@pytest.mark.parametrize("n_pixels, sample", [(4_096, 1_000), (1_000_003, 100_000), (10, 10), (7, 1)])
def test_sample_indices_are_distinct_sorted_and_one_per_run(n_pixels, sample):
    index = clustering._sample_indices(n_pixels, sample, random_state=3)
    assert len(index) == sample and np.all(np.diff(index) > 0)
    assert index[0] >= 0 and index[-1] < n_pixels
    # one pick in each of the `sample` equal runs of pixels
    run_starts = [run * n_pixels // sample for run in range(sample)]
    assert np.array_equal(np.searchsorted(run_starts, index, side="right") - 1, np.arange(sample))
    assert not np.array_equal(index, clustering._sample_indices(n_pixels, sample, random_state=4)) or sample == n_pixels
