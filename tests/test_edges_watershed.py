"""Edges (Canny) segmentation, watershed splitting, and to_instances / instance_sizes."""

from __future__ import annotations

import importlib.util

import cv2
import numpy as np
import pytest
from scipy import ndimage as ndi

from segcore import InvalidParameterError, segment, to_instances
from segcore.instances import instance_sizes
from segcore.methods.edges import edges
from segcore.methods.watershed import watershed


def _disc(shape, center, radius):
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    return (rows - center[0]) ** 2 + (cols - center[1]) ** 2 <= radius**2


def _iou(a, b):
    return np.count_nonzero(a & b) / np.count_nonzero(a | b)


def _best_iou(labels, truth):
    return max(_iou(labels == k, truth) for k in range(1, int(labels.max()) + 1))


def _noisy(image, sigma, random_state):
    rng = np.random.default_rng(random_state)
    return np.clip(image + rng.normal(0, sigma, image.shape), 0, 255).astype(np.uint8)


SHAPE = (160, 200)
SHAPES = [
    _disc(SHAPE, (45, 50), 28),
    _disc(SHAPE, (110, 150), 32),
    np.zeros(SHAPE, dtype=bool),
]
SHAPES[2][95:140, 25:75] = True


def _three_shapes(background=40.0, foreground=200.0, noise=8.0, random_state=0):
    image = np.full(SHAPE, background)
    for shape in SHAPES:
        image[shape] = foreground
    return _noisy(image, noise, random_state)


# --- to_instances / instance_sizes ---------------------------------------------------


@pytest.mark.parametrize("connectivity", [4, 8])
def test_to_instances_equals_scipy_label(connectivity, rng):
    structure = np.ones((3, 3)) if connectivity == 8 else None
    for _ in range(20):
        height, width = rng.integers(1, 80, size=2)
        mask = rng.random((height, width)) < rng.uniform(0.2, 0.8)
        labels, count = to_instances(mask, connectivity=connectivity)
        expected, expected_count = ndi.label(mask, structure=structure)
        assert count == expected_count
        assert np.array_equal(labels, expected)  # same raster numbering
        assert labels.dtype == np.uint8 or count > 255


def test_to_instances_accepts_integer_masks_and_uses_compact_types():
    mask = np.zeros((3, 600), dtype=np.int16)
    mask[1, ::2] = -3  # non-zero is foreground, whatever its sign: 300 dots
    labels, count = to_instances(mask, connectivity=4)
    assert count == 300
    assert labels.dtype == np.uint16
    assert labels[1, 0] == 1 and labels[1, 598] == 300
    empty, none = to_instances(np.zeros((4, 4), dtype=bool))
    assert none == 0 and empty.dtype == np.uint8 and not empty.any()


@pytest.mark.parametrize(
    "mask, connectivity, message",
    [
        (np.zeros((3, 3), dtype=np.float32), 8, "threshold a probability map"),
        (np.zeros((3, 3, 3), dtype=bool), 8, "2-D"),
        ([[1, 0]], 8, "numpy array"),
        (np.zeros((3, 3), dtype=bool), 6, "connectivity must be 4 or 8"),
        (np.zeros((3, 3), dtype=bool), 8.0, "connectivity must be 4 or 8"),
    ],
)
def test_to_instances_rejects_bad_input(mask, connectivity, message):
    with pytest.raises(InvalidParameterError, match=message):
        to_instances(mask, connectivity=connectivity)


def test_instance_sizes_counts_pixels_per_instance():
    labels = np.array([[0, 1, 1, 3], [0, 3, 1, 0]], dtype=np.uint8)
    assert np.array_equal(instance_sizes(labels), [3, 0, 2])
    assert instance_sizes(np.zeros((2, 2), dtype=np.uint8)).shape == (0,)
    with pytest.raises(InvalidParameterError, match="negative"):
        instance_sizes(np.array([[-1, 0]]))
    with pytest.raises(InvalidParameterError, match="integer"):
        instance_sizes(np.zeros((2, 2)))


# --- edges ---------------------------------------------------------------------------


@pytest.mark.parametrize("polarity", ["bright objects", "dark objects"])
def test_edges_find_two_discs_and_a_square(polarity):
    image = _three_shapes()
    if polarity == "dark objects":
        image = 255 - image
    result = segment(image, "edges")
    assert result.info["count"] == 3
    assert result.labels.max() == 3
    for shape in SHAPES:
        assert _best_iou(result.labels, shape) > 0.9
    assert np.array_equal(result.mask, result.labels > 0)
    assert result.info["edges"].dtype == bool and result.info["edges"].shape == SHAPE


def test_edges_automatic_thresholds_are_otsu_and_half():
    image = _three_shapes()
    smoothed = cv2.GaussianBlur(image, (0, 0), sigmaX=1.0)
    otsu, _ = cv2.threshold(smoothed, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    result = segment(image, "edges")
    assert result.params["high"] == otsu == result.info["high"]
    assert result.params["low"] == otsu / 2 == result.info["low"]
    expected = cv2.Canny(smoothed, otsu / 2, otsu, L2gradient=True) > 0
    assert np.array_equal(result.info["edges"], expected)
    only_high = edges(image, high=100.0)
    assert only_high.params["low"] == 50.0


def test_edges_with_given_thresholds_and_no_blur():
    image = _three_shapes(noise=0)
    result = edges(image, sigma=0, low=100, high=300)
    assert np.array_equal(result.info["edges"], cv2.Canny(image, 100, 300, L2gradient=True) > 0)
    assert result.info["count"] == 3


def test_edges_closing_bridges_gaps_in_a_contour():
    # A thin ring with two 3-pixel gaps: the contour must be closed before filling.
    image = np.zeros((80, 80), dtype=np.uint8)
    cv2.circle(image, (40, 40), 25, 255, 1)
    image[14:17, 39:42] = 0
    image[39:42, 64:67] = 0
    disc = _disc((80, 80), (40, 40), 25)
    closed = edges(image, sigma=0, low=50, high=100, closing=5, min_size=0)
    assert closed.info["count"] == 1
    assert _iou(closed.mask, disc) > 0.9
    unclosed = edges(image, sigma=0, low=50, high=100, closing=0, min_size=0)
    assert _best_iou(unclosed.labels, disc) < 0.5


def test_edges_without_fill_keep_curves_and_min_size_drops_specks():
    image = _three_shapes()
    curves = edges(image, fill=False)
    filled = edges(image)
    assert curves.mask.sum() < filled.mask.sum() / 3
    assert not (curves.mask & ~filled.mask).any()
    speck = image.copy()
    speck[5:8, 180:183] = 255  # a 3x3 dot: its region is far below 30 pixels
    assert edges(speck).info["count"] == 3
    assert edges(speck, min_size=0).info["count"] == 4
    # Dropping regions keeps labels consecutive.
    labels = edges(speck).labels
    assert set(np.unique(labels)) == {0, 1, 2, 3}


def test_edges_of_a_flat_image_find_nothing():
    result = edges(np.full((30, 30), 77, dtype=np.uint8))
    assert result.info["count"] == 0
    assert not result.mask.any() and not result.info["edges"].any()


@pytest.mark.parametrize(
    "params, message",
    [
        ({"sigma": -1}, "sigma must be a number >= 0"),
        ({"low": -5}, "low must be a number >= 0"),
        ({"low": 200, "high": 100}, r"low \(200.0\) must not exceed high \(100.0\)"),
        ({"closing": 2.5}, "closing must be an integer >= 0"),
        ({"min_size": -1}, "min_size must be an integer >= 0"),
        ({"fill": "yes"}, "fill must be True or False"),
    ],
)
def test_edges_reject_bad_parameters(params, message):
    with pytest.raises(InvalidParameterError, match=message):
        segment(_three_shapes(), "edges", **params)


# --- watershed -----------------------------------------------------------------------


def test_watershed_splits_two_touching_discs():
    shape = (100, 140)
    left, right = _disc(shape, (50, 48), 30), _disc(shape, (50, 92), 30)
    mask = left | right
    assert to_instances(mask)[1] == 1  # one blob before the split
    result = segment(np.zeros(shape, np.uint8), "watershed", mask=mask)
    assert result.info["count"] == 2
    assert result.info["markers"] == [(50, 48), (50, 92)]
    assert np.array_equal(result.mask, mask)
    assert _iou(result.labels == 1, left) > 0.8
    assert _iou(result.labels == 2, right) > 0.8
    assert result.info["distance"].dtype == np.float32
    assert result.info["distance"][50, 48] == pytest.approx(31, abs=1)


def test_watershed_of_separate_discs_counts_components():
    shape = (120, 160)
    mask = np.zeros(shape, dtype=bool)
    for center, radius in [((20, 20), 10), ((30, 80), 15), ((90, 40), 20), ((85, 120), 12), ((60, 150), 5)]:
        mask |= _disc(shape, center, radius)
    mask[115:, 100:104] = True  # a thin sliver on the border
    labels, count = to_instances(mask)
    result = watershed(np.zeros(shape, np.uint8), mask=mask)
    assert result.info["count"] == count == 6
    # Each component is exactly one instance.
    for k in range(1, count + 1):
        assert len(np.unique(result.labels[labels == k])) == 1


def test_watershed_min_distance_controls_splitting():
    shape = (100, 140)
    mask = _disc(shape, (50, 58), 30) | _disc(shape, (50, 82), 30)  # centres 24 apart
    assert watershed(np.zeros(shape, np.uint8), mask=mask, min_distance=5).info["count"] == 2
    assert watershed(np.zeros(shape, np.uint8), mask=mask, min_distance=30).info["count"] == 1


def test_watershed_accepts_integer_masks_and_compactness():
    shape = (100, 140)
    mask = (_disc(shape, (50, 48), 30) | _disc(shape, (50, 92), 30)).astype(np.uint8) * 255
    loose = watershed(np.zeros(shape, np.uint8), mask=mask)
    compact = watershed(np.zeros(shape, np.uint8), mask=mask, compactness=0.5, footprint=np.ones((9, 9)))
    assert loose.info["count"] == compact.info["count"] == 2
    assert np.array_equal(compact.mask, mask > 0)


def test_watershed_edge_cases():
    empty = watershed(np.zeros((20, 20), np.uint8), mask=np.zeros((20, 20), dtype=bool))
    assert empty.info["count"] == 0 and empty.info["markers"] == [] and not empty.labels.any()
    full = watershed(np.zeros((20, 30), np.uint8), mask=np.ones((20, 30), dtype=bool))
    assert full.info["count"] == 1 and np.all(full.labels == 1)
    assert full.info["markers"] == [(10, 15)]
    assert full.info["distance"][0, 0] == 1 and full.info["distance"].max() == 10


@pytest.mark.parametrize(
    "params, message",
    [
        ({"mask": np.zeros((5, 5), dtype=bool)}, r"mask has shape \(5, 5\) but the image is 30 x 40"),
        ({"mask": np.zeros((30, 40), dtype=np.float64)}, "mask must hold bool or integer"),
        ({"mask": [[True]]}, "mask must be a numpy array"),
        ({"min_distance": 0}, "min_distance must be an integer >= 1"),
        ({"compactness": -1.0}, "compactness must be a number >= 0"),
        ({"polarity": "up"}, "unknown polarity 'up'; choose one of: bright, dark, auto"),
        ({"footprint": np.zeros((3, 3))}, "footprint must be a non-empty 2-D array"),
    ],
)
def test_watershed_rejects_bad_parameters(params, message):
    with pytest.raises(InvalidParameterError, match=message):
        segment(np.zeros((30, 40), np.uint8), "watershed", **params)


@pytest.mark.skipif(
    importlib.util.find_spec("segcore.methods.threshold") is None,
    reason="the threshold method (written in parallel) is not there yet",
)
def test_watershed_thresholds_the_image_when_no_mask_is_given():
    shape = (100, 140)
    objects = _disc(shape, (50, 48), 30) | _disc(shape, (50, 92), 30)
    image = _noisy(np.where(objects, 60.0, 210.0), 5, 1)  # dark objects, bright background
    result = segment(image, "watershed")
    assert result.params["polarity"] == "dark"
    assert result.info["count"] == 2
    assert _iou(result.mask, objects) > 0.95
