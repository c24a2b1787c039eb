"""Tests of segcore.methods.threshold against OpenCV and scikit-image."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import filters

import segcore
from segcore.errors import InvalidParameterError
from segcore.methods.threshold import (
    ALGORITHMS,
    GLOBAL_ALGORITHMS,
    LOCAL_ALGORITHMS,
    _multiotsu_levels,
    threshold,
    try_all,
)


def bimodal(rng: np.random.Generator, shape=(40, 50), low=60, high=170, spread=25) -> np.ndarray:
    """Gray image: a bright rectangle on a darker background, with noise."""
    image = np.full(shape, low, dtype=np.float64)
    image[shape[0] // 4 : shape[0] // 2, shape[1] // 3 :] = high
    image += rng.normal(0, spread, shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def smooth(rng: np.random.Generator, shape=(48, 64)) -> np.ndarray:
    """Gray image of blurred noise, for local thresholds."""
    noise = rng.integers(0, 256, shape).astype(np.uint8)
    return cv2.GaussianBlur(noise, (0, 0), 2.0)


def skimage_threshold(name: str, gray: np.ndarray) -> float:
    return float(getattr(filters, f"threshold_{name}")(gray))


# --- fixed ----------------------------------------------------------------


@pytest.mark.parametrize("value", [127, 0, 254, 255, 90.5])
def test_fixed_equals_cv2_both_polarities(rng, value):
    gray = rng.integers(0, 256, (30, 40), dtype=np.uint8)
    bright = threshold(gray, algorithm="fixed", value=value, polarity="bright")
    dark = threshold(gray, algorithm="fixed", value=value, polarity="dark")
    _, expected_bright = cv2.threshold(gray, value, 255, cv2.THRESH_BINARY)
    _, expected_dark = cv2.threshold(gray, value, 255, cv2.THRESH_BINARY_INV)
    np.testing.assert_array_equal(bright.labels * 255, expected_bright)
    np.testing.assert_array_equal(dark.labels * 255, expected_dark)
    np.testing.assert_array_equal(bright.mask, gray > value)
    np.testing.assert_array_equal(dark.mask, gray <= value)
    assert bright.info["threshold"] == value
    assert bright.info["thresholds"] == [value]


def test_seed_document_example_t127_via_segment(rng):
    # The seed document: cv2.threshold(image, 127, 255, cv2.THRESH_BINARY).
    gray = rng.integers(0, 256, (64, 48), dtype=np.uint8)
    result = segcore.segment(gray, "threshold", algorithm="fixed", value=127)
    _, thresholded = cv2.threshold(gray, 127, 255, cv2.THRESH_BINARY)
    np.testing.assert_array_equal(result.mask, thresholded == 255)
    assert result.method == "threshold"
    assert result.params["algorithm"] == "fixed"
    assert result.params["polarity"] == "bright"
    assert result.seconds > 0


def test_colour_image_is_thresholded_on_its_gray(rng):
    rgb = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    for algorithm in ("fixed", "otsu", "local_mean"):
        np.testing.assert_array_equal(
            threshold(rgb, algorithm=algorithm).mask, threshold(gray, algorithm=algorithm).mask
        )


# --- global automatic -----------------------------------------------------


@pytest.mark.parametrize("name", GLOBAL_ALGORITHMS)
def test_global_thresholds_equal_skimage(rng, name):
    for trial in range(12):
        gray = bimodal(rng, low=int(rng.integers(20, 100)), high=int(rng.integers(130, 230)))
        if trial % 3 == 2:
            gray = rng.integers(0, 256, (25, 35), dtype=np.uint8)
        try:
            expected = skimage_threshold(name, gray)
        except RuntimeError:
            with pytest.raises(InvalidParameterError, match="no two peaks"):
                threshold(gray, algorithm=name)
            continue
        result = threshold(gray, algorithm=name)
        assert result.info["threshold"] == pytest.approx(expected, rel=1e-12)
        np.testing.assert_array_equal(result.mask, gray > expected)


def test_otsu_equals_opencv(rng):
    for _ in range(30):
        gray = bimodal(rng, spread=float(rng.uniform(5, 60)))
        level, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
        assert threshold(gray, algorithm="otsu").info["threshold"] == level


def test_global_threshold_types_and_histogram(rng):
    gray = bimodal(rng)
    for name in ("otsu", "triangle", "yen", "isodata"):
        assert isinstance(threshold(gray, algorithm=name).info["threshold"], int)
    for name in ("li", "mean"):
        assert isinstance(threshold(gray, algorithm=name).info["threshold"], float)
    result = threshold(gray)
    hist = result.info["histogram"]
    assert hist.dtype == np.int64 and hist.shape == (256,)
    np.testing.assert_array_equal(hist, np.bincount(gray.ravel(), minlength=256))
    assert result.info["foreground_fraction"] == pytest.approx(result.mask.mean())


def test_one_gray_level_gives_that_level_and_empty_foreground():
    flat = np.full((6, 7), 77, dtype=np.uint8)
    for name in ("otsu", "triangle", "li", "yen", "isodata", "mean"):
        result = threshold(flat, algorithm=name, polarity="auto")
        assert result.info["threshold"] == skimage_threshold(name, flat) == 77
        assert not result.mask.any()
        assert result.params["polarity"] == "bright"


def test_otsu_curve_argmax_is_threshold(rng):
    for _ in range(10):
        gray = bimodal(rng, spread=float(rng.uniform(5, 50)))
        result = threshold(gray, algorithm="otsu", return_steps=True)
        curve = result.info["otsu_curve"]
        np.testing.assert_array_equal(curve["thresholds"], np.arange(256))
        variance = curve["between_class_variance"]
        assert variance.shape == (256,)
        assert int(np.argmax(variance)) == result.info["threshold"]


def test_otsu_curve_values(rng):
    gray = bimodal(rng)
    variance = threshold(gray, return_steps=True).info["otsu_curve"]["between_class_variance"]
    values = gray.astype(np.float64).ravel()
    for level in range(256):
        above = values > level
        if above.all() or not above.any():
            assert variance[level] == 0
            continue
        weight = above.mean()
        gap = values[above].mean() - values[~above].mean()
        expected = weight * (1 - weight) * gap**2
        assert variance[level] == pytest.approx(expected, rel=1e-9)


def test_no_curve_without_return_steps(rng):
    assert "otsu_curve" not in threshold(bimodal(rng)).info
    assert "threshold_map" not in threshold(smooth(rng), algorithm="local_mean").info


def test_minimum_on_unimodal_histogram_raises_human_message():
    ramp = np.arange(256, dtype=np.uint8).reshape(16, 16)
    with pytest.raises(RuntimeError):
        filters.threshold_minimum(ramp)
    with pytest.raises(InvalidParameterError, match="no two peaks.*try otsu"):
        threshold(ramp, algorithm="minimum")


# --- multi-Otsu -----------------------------------------------------------


@pytest.mark.parametrize("classes", [2, 3, 4, 5])
def test_multiotsu_labels(rng, classes):
    # About 100 gray levels in use: scikit-image's search grows as levels**(classes - 1).
    levels = rng.integers(0, classes, (40, 40)) * (80 // classes) + 80
    gray = np.clip(levels + rng.normal(0, 6, (40, 40)), 0, 255).astype(np.uint8)
    expected = [int(t) for t in filters.threshold_multiotsu(gray, classes=classes)]
    result = threshold(gray, algorithm="multiotsu", classes=classes)
    assert result.info["thresholds"] == expected
    assert result.labels.dtype == np.uint8
    # Each class is (t[i-1], t[i]]: pixels equal to a threshold stay below it.
    np.testing.assert_array_equal(result.labels, np.digitize(gray, expected, right=True))
    assert result.labels.max() == classes - 1
    if classes == 2:
        np.testing.assert_array_equal(result.mask, result.labels == 1)
        assert result.info["threshold"] == threshold(gray, algorithm="otsu").info["threshold"]
    else:
        assert result.mask is None
        assert result.info["threshold"] is None
        assert result.info["foreground_fraction"] == pytest.approx(np.mean(result.labels > 0))


def natural_grays() -> dict[str, np.ndarray]:
    from skimage import data

    return {
        "camera": data.camera(),
        "coins": data.coins(),
        "astronaut": cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY),
    }


def skimage_multiotsu(hist: np.ndarray, classes: int) -> list[int]:
    thresholds = filters.threshold_multiotsu(hist=(hist, np.arange(256)), classes=classes)
    return [int(t) for t in thresholds]


@pytest.mark.parametrize("classes", [2, 3, 4])
def test_multiotsu_equals_skimage_on_natural_images(classes):
    for name, gray in natural_grays().items():
        hist = np.bincount(gray.ravel(), minlength=256)
        result = threshold(gray, algorithm="multiotsu", classes=classes)
        assert result.info["thresholds"] == skimage_multiotsu(hist, classes), name


def random_gray(rng: np.random.Generator, classes: int) -> np.ndarray:
    """Small gray image of one of several kinds: uniform, few levels, noisy levels, blurred."""
    shape = tuple(int(n) for n in rng.integers(3, 50, 2))
    kind = int(rng.integers(4))
    if kind == 0:
        low = int(rng.integers(0, 200))
        return rng.integers(low, 256, shape).astype(np.uint8)
    if kind == 1:  # a few isolated levels: gaps in the histogram
        levels = rng.choice(256, int(rng.integers(classes, 10)), replace=False)
        return levels[rng.integers(0, levels.size, shape)].astype(np.uint8)
    if kind == 2:
        levels = rng.choice(256, int(rng.integers(2, 6)), replace=False)
        noisy = levels[rng.integers(0, levels.size, shape)] + rng.normal(0, 8, shape)
        return np.clip(noisy, 0, 255).astype(np.uint8)
    return cv2.GaussianBlur(rng.integers(0, 256, shape, dtype=np.uint8), (0, 0), 1.5)


@pytest.mark.parametrize("classes", [2, 3, 4])
def test_multiotsu_equals_skimage_on_random_images(rng, classes):
    for _ in range(60):
        gray = random_gray(rng, classes)
        hist = np.bincount(gray.ravel(), minlength=256)
        if np.count_nonzero(hist) < classes:
            continue
        result = threshold(gray, algorithm="multiotsu", classes=classes)
        assert result.info["thresholds"] == skimage_multiotsu(hist, classes)


@pytest.mark.parametrize("classes", [2, 3, 4])
def test_multiotsu_equals_skimage_on_large_counts(rng, classes):
    # scikit-image sums counts in float32, which rounds once an image has
    # more than about 10**5 pixels; histograms stand in for such images.
    for _ in range(40):
        hist = np.zeros(256, dtype=np.int64)
        low = int(rng.integers(0, 200))
        width = int(rng.integers(classes + 1, 257 - low))
        in_use = rng.random(width) < rng.uniform(0.2, 1.0)
        hist[low : low + width] = np.round(rng.random(width) * in_use * 10 ** rng.uniform(2, 8))
        if np.count_nonzero(hist) < classes:
            continue
        assert _multiotsu_levels(hist, classes) == skimage_multiotsu(hist, classes)


def test_multiotsu_five_classes_equals_skimage(rng):
    # scikit-image's search grows as levels**4 here: keep to about 60 levels.
    grays = [
        (gray.astype(np.int64) * 60 // 256 + 80).astype(np.uint8)
        for gray in natural_grays().values()
    ]
    grays += [random_gray(rng, 5) // 4 + 100 for _ in range(4)]
    for gray in grays:
        hist = np.bincount(gray.ravel(), minlength=256)
        if np.count_nonzero(hist) < 5:
            continue
        result = threshold(gray, algorithm="multiotsu", classes=5)
        assert result.info["thresholds"] == skimage_multiotsu(hist, 5)
        np.testing.assert_array_equal(
            result.labels, np.digitize(gray, result.info["thresholds"], right=True)
        )


def test_multiotsu_as_many_levels_as_classes():
    # Every level but the last is a threshold, as scikit-image returns.
    gray = np.array([[3, 90, 90, 200, 250]], dtype=np.uint8)
    result = threshold(gray, algorithm="multiotsu", classes=4)
    assert result.info["thresholds"] == [3, 90, 200]
    np.testing.assert_array_equal(result.labels, [[0, 1, 1, 2, 3]])


def test_multiotsu_gaps_take_the_lowest_threshold():
    # Any threshold from 12 to 99, then from 100 to 199, splits the same way;
    # scikit-image keeps the lowest of each.
    gray = np.array([[10, 12, 12, 100, 100, 200, 200, 210]], dtype=np.uint8)
    result = threshold(gray, algorithm="multiotsu", classes=3)
    assert result.info["thresholds"] == [12, 100]
    np.testing.assert_array_equal(result.labels, [[0, 0, 0, 1, 1, 2, 2, 2]])


def test_multiotsu_keeps_skimage_first_bin_rule():
    # scikit-image scores a first class made of the lowest level alone as 0,
    # so it prefers 11 to 10 for the same split; segcore returns the same.
    gray = np.array([[10, 10, 200, 200, 220, 250]], dtype=np.uint8)
    hist = np.bincount(gray.ravel(), minlength=256)
    assert skimage_multiotsu(hist, 3) == [11, 220]
    result = threshold(gray, algorithm="multiotsu", classes=3)
    assert result.info["thresholds"] == [11, 220]
    np.testing.assert_array_equal(result.labels, [[0, 0, 1, 1, 1, 2]])


def test_multiotsu_two_classes_dark_mask(rng):
    gray = bimodal(rng)
    result = threshold(gray, algorithm="multiotsu", classes=2, polarity="dark")
    np.testing.assert_array_equal(result.mask, result.labels == 0)
    np.testing.assert_array_equal(result.mask, threshold(gray, polarity="dark").mask)


@pytest.mark.parametrize("classes", [1, 6, 2.5, "3"])
def test_multiotsu_bad_classes(rng, classes):
    with pytest.raises(InvalidParameterError, match="classes must be an integer from 2 to 5"):
        threshold(bimodal(rng), algorithm="multiotsu", classes=classes)


def test_multiotsu_too_few_levels():
    two_levels = np.array([[10, 10, 200, 200]], dtype=np.uint8)
    with pytest.raises(InvalidParameterError, match="only 2 gray level"):
        threshold(two_levels, algorithm="multiotsu", classes=3)


# --- local ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cv_method"),
    [
        ("local_mean", cv2.ADAPTIVE_THRESH_MEAN_C),
        ("local_gaussian", cv2.ADAPTIVE_THRESH_GAUSSIAN_C),
    ],
)
@pytest.mark.parametrize("block_size", [3, 11, 35])
@pytest.mark.parametrize("offset", [0, 4, -3, 2.5, -1.25])
def test_local_opencv_methods(rng, name, cv_method, block_size, offset):
    gray = smooth(rng)
    bright = threshold(
        gray, algorithm=name, block_size=block_size, offset=offset, return_steps=True
    )
    expected = cv2.adaptiveThreshold(gray, 255, cv_method, cv2.THRESH_BINARY, block_size, offset)
    np.testing.assert_array_equal(bright.labels * 255, expected)
    threshold_map = bright.info["threshold_map"]
    assert threshold_map.dtype == np.float32
    np.testing.assert_array_equal(bright.mask, gray > threshold_map)
    assert bright.info["threshold"] is None and bright.info["thresholds"] == []
    dark = threshold(gray, algorithm=name, block_size=block_size, offset=offset, polarity="dark")
    np.testing.assert_array_equal(dark.mask, ~bright.mask)
    if float(offset).is_integer():
        inverse = cv2.adaptiveThreshold(
            gray, 255, cv_method, cv2.THRESH_BINARY_INV, block_size, offset
        )
        np.testing.assert_array_equal(dark.labels * 255, inverse)


@pytest.mark.parametrize("name", ["sauvola", "niblack"])
@pytest.mark.parametrize(
    ("block_size", "k", "offset"), [(15, 0.2, 0.0), (7, 0.5, 3.0), (31, -0.1, -2)]
)
def test_sauvola_niblack_equal_skimage(rng, name, block_size, k, offset):
    gray = smooth(rng)
    local = getattr(filters, f"threshold_{name}")(gray, window_size=block_size, k=k)
    result = threshold(
        gray, algorithm=name, block_size=block_size, k=k, offset=offset, return_steps=True
    )
    np.testing.assert_array_equal(result.mask, gray > local - offset)
    np.testing.assert_allclose(result.info["threshold_map"], local - offset, rtol=1e-6)
    assert result.info["threshold_map"].dtype == np.float32


@pytest.mark.parametrize("block_size", [1, 2, 10, 0, -3, 7.0, "11", True])
def test_bad_block_size(rng, block_size):
    with pytest.raises(InvalidParameterError, match="odd integer of at least 3"):
        threshold(smooth(rng), algorithm="local_mean", block_size=block_size)


# --- polarity -------------------------------------------------------------


def test_auto_polarity_rule():
    # 3 of 4 pixels brighter than 127: bright is the majority, objects are dark.
    majority = np.array([[0, 200, 200, 200]], dtype=np.uint8)
    result = threshold(majority, algorithm="fixed", value=127, polarity="auto")
    assert result.params["polarity"] == "dark"
    np.testing.assert_array_equal(result.mask, [[True, False, False, False]])
    # Exactly half: bright is kept.
    half = np.array([[0, 0, 200, 200]], dtype=np.uint8)
    result = threshold(half, algorithm="fixed", value=127, polarity="auto")
    assert result.params["polarity"] == "bright"
    np.testing.assert_array_equal(result.mask, [[False, False, True, True]])
    assert result.info["foreground_fraction"] == 0.5


def test_auto_polarity_for_local_and_through_segment(rng):
    gray = smooth(rng)
    bright = threshold(gray, algorithm="local_mean", offset=20)  # most pixels
    assert bright.mask.mean() > 0.5
    auto = segcore.segment(gray, "threshold", algorithm="local_mean", offset=20, polarity="auto")
    assert auto.params["polarity"] == "dark"
    np.testing.assert_array_equal(auto.mask, ~bright.mask)
    minority = bimodal(rng)  # the bright rectangle is a quarter of the image
    assert segcore.segment(minority, "threshold", polarity="auto").params["polarity"] == "bright"
    inverted = segcore.segment(255 - minority, "threshold", polarity="auto")
    assert inverted.params["polarity"] == "dark"


# --- result layout --------------------------------------------------------


def test_labels_are_mask_bytes(rng):
    for algorithm in ("fixed", "otsu", "local_gaussian", "sauvola"):
        result = threshold(smooth(rng), algorithm=algorithm)
        assert result.labels.dtype == np.uint8 and result.mask.dtype == bool
        assert np.shares_memory(result.labels, result.mask)
        np.testing.assert_array_equal(result.labels, result.mask.astype(np.uint8))
        assert set(np.unique(result.labels)) <= {0, 1}


def test_exported_algorithm_names():
    assert GLOBAL_ALGORITHMS == ("otsu", "triangle", "li", "yen", "isodata", "mean", "minimum")
    assert LOCAL_ALGORITHMS == ("local_mean", "local_gaussian", "sauvola", "niblack")
    assert set(ALGORITHMS) == {"fixed", "multiotsu", *GLOBAL_ALGORITHMS, *LOCAL_ALGORITHMS}


# --- errors ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"algorithm": "otsuu"}, "unknown algorithm 'otsuu'; choose one of: fixed, otsu"),
        ({"polarity": "light"}, "unknown polarity 'light'; choose one of: bright, dark, auto"),
        ({"algorithm": "fixed", "value": 256}, "value must be a number from 0 to 255, got 256"),
        ({"algorithm": "fixed", "value": -1}, "value must be a number from 0 to 255"),
        ({"algorithm": "fixed", "value": float("nan")}, "value must be a number"),
        ({"algorithm": "fixed", "value": "127"}, "value must be a number"),
        ({"algorithm": "local_mean", "offset": float("inf")}, "offset must be a finite number"),
        ({"algorithm": "sauvola", "k": None}, "k must be a finite number"),
    ],
)
def test_bad_parameters(rng, params, message):
    with pytest.raises(InvalidParameterError, match=message):
        threshold(bimodal(rng), **params)


def test_unknown_parameter_through_segment(rng):
    with pytest.raises(InvalidParameterError, match="does not take 'thresh'"):
        segcore.segment(bimodal(rng), "threshold", thresh=3)


# --- try_all --------------------------------------------------------------


def test_try_all_runs_every_global_algorithm(rng):
    gray = bimodal(rng, spread=10)
    results = try_all(gray, polarity="dark")
    assert tuple(results) == GLOBAL_ALGORITHMS
    for name, result in results.items():
        assert result.params["algorithm"] == name
        assert result.params["polarity"] == "dark"
        assert result.seconds > 0
        expected = threshold(gray, algorithm=name, polarity="dark")
        np.testing.assert_array_equal(result.mask, expected.mask)


def test_try_all_leaves_out_minimum_without_two_peaks():
    ramp = np.arange(256, dtype=np.uint8).reshape(16, 16)
    results = try_all(ramp)
    assert "minimum" not in results
    assert tuple(results) == tuple(name for name in GLOBAL_ALGORITHMS if name != "minimum")


def test_try_all_bad_polarity(rng):
    with pytest.raises(InvalidParameterError, match="unknown polarity"):
        try_all(bimodal(rng), polarity="both")
