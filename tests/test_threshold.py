"""Tests of segcore.methods.threshold against OpenCV and scikit-image."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from skimage import filters

import segcore
from segcore import metrics
from segcore.compare import PRESETS
from segcore.errors import InvalidParameterError
from segcore.methods.threshold import (
    ALGORITHMS,
    DEFAULT_OFFSETS,
    GLOBAL_ALGORITHMS,
    LOCAL_ALGORITHMS,
    _multiotsu_levels,
    threshold,
    try_all,
)
from segcore.samples import load_sample
from segcore.synthetic import make_image


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
    # The cheatsheet's example: cv2.threshold(image, 127, 255, cv2.THRESH_BINARY).
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

CV_METHODS = {
    "local_mean": cv2.ADAPTIVE_THRESH_MEAN_C,
    "local_gaussian": cv2.ADAPTIVE_THRESH_GAUSSIAN_C,
}


@pytest.mark.parametrize("name", list(CV_METHODS))
@pytest.mark.parametrize("block_size", [3, 11, 35])
@pytest.mark.parametrize("offset", [0, 4, -3, 2.5, -1.25])
def test_local_opencv_methods(rng, name, block_size, offset):
    gray = smooth(rng)
    cv_method = CV_METHODS[name]
    bright = threshold(
        gray, algorithm=name, block_size=block_size, offset=offset, return_steps=True
    )
    # Bright objects stand out by more than offset: OpenCV's C is -offset.
    expected = cv2.adaptiveThreshold(gray, 255, cv_method, cv2.THRESH_BINARY, block_size, -offset)
    np.testing.assert_array_equal(bright.labels * 255, expected)
    bright_map = bright.info["threshold_map"]
    assert bright_map.dtype == np.float32
    np.testing.assert_array_equal(bright.mask, gray > bright_map)
    assert bright.info["threshold"] is None and bright.info["thresholds"] == []

    dark = threshold(
        gray, algorithm=name, block_size=block_size, offset=offset, polarity="dark",
        return_steps=True,
    )
    if float(offset).is_integer():
        inverse = cv2.adaptiveThreshold(
            gray, 255, cv_method, cv2.THRESH_BINARY_INV, block_size, offset
        )
        np.testing.assert_array_equal(dark.labels * 255, inverse)
    # OpenCV rounds a fractional C down for THRESH_BINARY_INV; ceil is the exact rule.
    inverse = cv2.adaptiveThreshold(
        gray, 255, cv_method, cv2.THRESH_BINARY_INV, block_size, math.ceil(offset)
    )
    np.testing.assert_array_equal(dark.labels * 255, inverse)
    dark_map = dark.info["threshold_map"]
    np.testing.assert_array_equal(dark.mask, gray <= dark_map)
    # Both maps are the same local mean T, plus and minus the offset.
    np.testing.assert_allclose(bright_map - dark_map, 2 * offset)
    # Dark with offset o is everything that is not bright with offset -o.
    flipped = threshold(gray, algorithm=name, block_size=block_size, offset=-offset)
    np.testing.assert_array_equal(dark.mask, ~flipped.mask)


def test_local_offset_by_hand():
    # Block 3 on one row (rows replicated): T = [100, 97, 97, 97, 100], the
    # rounded means of 100, 100, 90 around the dip.
    dip = np.array([[100, 100, 90, 100, 100]], dtype=np.uint8)

    def dark(offset):
        return threshold(dip, algorithm="local_mean", block_size=3, polarity="dark", offset=offset)

    np.testing.assert_array_equal(dark(7).labels, [[0, 0, 1, 0, 0]])  # 90 <= 97 - 7
    np.testing.assert_array_equal(dark(7.5).labels, [[0, 0, 0, 0, 0]])  # 90 > 89.5
    np.testing.assert_array_equal(dark(0).labels, [[1, 0, 1, 0, 1]])  # flat 100 <= 100
    np.testing.assert_array_equal(dark(-3).labels, [[1, 1, 1, 1, 1]])  # 100 <= 97 + 3
    # OpenCV's THRESH_BINARY_INV rounds C = 7.5 down to 7 and keeps the dip.
    cv_inverse = cv2.adaptiveThreshold(
        dip, 1, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 3, 7.5
    )
    np.testing.assert_array_equal(cv_inverse, [[0, 0, 1, 0, 0]])
    # The inverted row: a peak of 165 on 155, T = [155, 158, 158, 158, 155].
    peak = 255 - dip
    bright = threshold(peak, algorithm="local_mean", block_size=3, offset=6, return_steps=True)
    np.testing.assert_array_equal(bright.labels, [[0, 0, 1, 0, 0]])  # 165 > 158 + 6
    np.testing.assert_array_equal(bright.info["threshold_map"], [[161, 164, 164, 164, 161]])
    no_margin = threshold(peak, algorithm="local_mean", block_size=3, offset=7)
    np.testing.assert_array_equal(no_margin.labels, [[0, 0, 0, 0, 0]])  # 165 is not > 165


@pytest.mark.parametrize("name", ["sauvola", "niblack"])
@pytest.mark.parametrize(
    ("block_size", "k", "offset"), [(15, 0.2, 0.0), (7, 0.5, 3.0), (31, -0.1, -2)]
)
def test_sauvola_niblack_equal_skimage(rng, name, block_size, k, offset):
    gray = smooth(rng)
    local = getattr(filters, f"threshold_{name}")
    params = {"algorithm": name, "block_size": block_size, "k": k, "offset": offset}

    dark = threshold(gray, polarity="dark", return_steps=True, **params)
    level = local(gray, window_size=block_size, k=k) - offset
    np.testing.assert_array_equal(dark.mask, gray <= level)
    assert dark.info["threshold_map"].dtype == np.float32
    np.testing.assert_allclose(dark.info["threshold_map"], level, rtol=1e-6, atol=1e-4)

    # Bright objects: the same formula on the inverted image.
    bright = threshold(gray, polarity="bright", return_steps=True, **params)
    inverted = 255 - gray
    level_inverted = local(inverted, window_size=block_size, k=k) - offset
    np.testing.assert_array_equal(bright.mask, inverted <= level_inverted)
    bright_map = bright.info["threshold_map"]
    np.testing.assert_allclose(bright_map, 255 - level_inverted, rtol=1e-6, atol=1e-4)
    # Away from float32 rounding, the map reads like a global threshold.
    clear = np.abs(gray - bright_map.astype(np.float64)) > 1e-3
    np.testing.assert_array_equal(bright.mask[clear], (gray > bright_map)[clear])


@pytest.mark.parametrize("name", ["sauvola", "niblack"])
@pytest.mark.parametrize("offset", [None, 4, -2.5])
def test_bright_objects_give_the_mask_of_the_inverted_dark_image(rng, name, offset):
    given = {} if offset is None else {"offset": offset}
    fractions = []
    for gray in (smooth(rng), bimodal(rng, spread=10)):
        for k in (0.2, 0.6):
            params = {"algorithm": name, "block_size": 15, "k": k, **given}
            bright = threshold(gray, polarity="bright", **params)
            dark = threshold(255 - gray, polarity="dark", **params)
            np.testing.assert_array_equal(bright.mask, dark.mask)
            fractions.append(bright.info["foreground_fraction"])
    assert 0.05 < max(fractions) < 0.95


def test_default_offsets():
    assert DEFAULT_OFFSETS == {
        "local_mean": 5.0, "local_gaussian": 5.0, "sauvola": 0.0, "niblack": 5.0
    }


@pytest.mark.parametrize("name", LOCAL_ALGORITHMS)
def test_default_offset_is_resolved_in_params(rng, name):
    gray = smooth(rng)
    result = segcore.segment(gray, "threshold", algorithm=name)
    assert result.params["offset"] == DEFAULT_OFFSETS[name]
    explicit = segcore.segment(gray, "threshold", algorithm=name, offset=DEFAULT_OFFSETS[name])
    np.testing.assert_array_equal(result.mask, explicit.mask)
    assert segcore.segment(gray, "threshold", algorithm=name, offset=-1).params["offset"] == -1
    # Global algorithms take no offset.
    assert segcore.segment(gray, "threshold", algorithm="otsu").params["offset"] is None


@pytest.mark.parametrize("name", LOCAL_ALGORITHMS)
@pytest.mark.parametrize("polarity", ["bright", "dark"])
def test_larger_offset_gives_smaller_foreground(rng, name, polarity):
    gray = smooth(rng)
    masks = [
        threshold(gray, algorithm=name, polarity=polarity, block_size=11, offset=offset).mask
        for offset in (-10, -2, 0, 3, 10)
    ]
    for larger, smaller in zip(masks, masks[1:]):
        assert not (smaller & ~larger).any()
    assert masks[0].sum() > masks[-1].sum()


@pytest.mark.parametrize("name", LOCAL_ALGORITHMS)
@pytest.mark.parametrize("polarity", ["bright", "dark"])
def test_flat_noisy_background_stays_background(rng, name, polarity):
    flat = (90 + rng.integers(-2, 3, (30, 40))).astype(np.uint8)
    result = threshold(flat, algorithm=name, polarity=polarity, block_size=11)
    assert not result.mask.any()


@pytest.mark.parametrize("name", LOCAL_ALGORITHMS)
def test_bright_spots_on_flat_dark_background(name):
    # The scene that made the old Sauvola preset score IoU 0: flat background.
    scene = make_image((128, 128), noise=0.0, blur=1.0, random_state=0)
    result = segcore.segment(
        scene.image, "threshold", algorithm=name, polarity="auto", block_size=51
    )
    assert result.params["polarity"] == "bright"
    assert metrics.iou(scene.mask, result.mask) > 0.9
    inverted = segcore.segment(
        255 - scene.image, "threshold", algorithm=name, polarity="auto", block_size=51
    )
    assert inverted.params["polarity"] == "dark"
    assert metrics.iou(scene.mask, inverted.mask) > 0.9


def test_local_preset_succeeds_where_global_otsu_fails():
    image, truth = load_sample("synthetic_uneven")
    otsu = segcore.segment(image, "threshold", algorithm="otsu", polarity="auto")
    assert metrics.iou(truth, otsu.mask) < 0.3
    local = PRESETS["Local threshold (mean)"].run(image)
    assert local.params["polarity"] == "bright"
    assert metrics.iou(truth, local.mask) > 0.9


@pytest.mark.parametrize("name", LOCAL_ALGORITHMS)
def test_dark_text_on_unevenly_lit_page(name):
    page, _ = load_sample("page")
    dark = threshold(page, algorithm=name, polarity="dark")
    auto = threshold(page, algorithm=name, polarity="auto")
    assert auto.params["polarity"] == "dark"
    np.testing.assert_array_equal(auto.mask, dark.mask)
    # Text covers a small part of the page (12-17 % with the defaults).
    assert 0.08 < dark.info["foreground_fraction"] < 0.25


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


@pytest.mark.parametrize("name", LOCAL_ALGORITHMS)
def test_auto_polarity_for_local_comes_from_the_global_image(rng, name):
    minority = bimodal(rng)  # the bright rectangle is a quarter of the image
    auto = segcore.segment(minority, "threshold", algorithm=name, polarity="auto")
    assert auto.params["polarity"] == "bright"
    bright = threshold(minority, algorithm=name, polarity="bright")
    np.testing.assert_array_equal(auto.mask, bright.mask)
    inverted = 255 - minority
    auto_dark = segcore.segment(inverted, "threshold", algorithm=name, polarity="auto")
    assert auto_dark.params["polarity"] == "dark"
    dark = threshold(inverted, algorithm=name, polarity="dark")
    np.testing.assert_array_equal(auto_dark.mask, dark.mask)


def test_auto_polarity_for_local_does_not_flip_a_large_local_mask(rng):
    minority = bimodal(rng)
    # A negative offset makes the local bright mask most of the image; auto
    # follows the global Otsu split and keeps it as it is.
    bright = threshold(minority, algorithm="local_mean", offset=-30)
    assert bright.mask.mean() > 0.5
    auto = threshold(minority, algorithm="local_mean", offset=-30, polarity="auto")
    assert auto.params["polarity"] == "bright"
    np.testing.assert_array_equal(auto.mask, bright.mask)


def test_auto_polarity_through_segment(rng):
    minority = bimodal(rng)
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
