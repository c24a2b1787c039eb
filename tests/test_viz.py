"""Tests of segcore.viz: colouring, boundaries, overlays, error maps, PNG bytes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage.segmentation import find_boundaries

from segcore.errors import InvalidMaskError, InvalidParameterError
from segcore.viz import (
    draw_points,
    FALSE_NEGATIVE,
    FALSE_POSITIVE,
    PALETTE,
    TRUE_POSITIVE,
    boundaries,
    colorize,
    downscale_for_display,
    error_map,
    heatmap,
    label_colors,
    mask_image,
    overlay,
    to_png,
)

MAGENTA = [255, 0, 255]
CYAN = [0, 200, 255]


def blocky_labels(rng: np.random.Generator, shape=(40, 50), n_labels=5) -> np.ndarray:
    """Label image of rectangles (a coarse random grid scaled up with nearest neighbour)."""
    coarse = rng.integers(0, n_labels + 1, (shape[0] // 5, shape[1] // 5)).astype(np.uint8)
    return cv2.resize(coarse, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)


def decode(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)


# --- colours ------------------------------------------------------------------


def test_label_colors_black_background_then_palette_cycling():
    colors = label_colors(25)
    assert colors.shape == (26, 3) and colors.dtype == np.uint8
    np.testing.assert_array_equal(colors[0], [0, 0, 0])
    np.testing.assert_array_equal(colors[1 : len(PALETTE) + 1], PALETTE)
    np.testing.assert_array_equal(colors[len(PALETTE) + 1], PALETTE[0])
    np.testing.assert_array_equal(label_colors(0), [[0, 0, 0]])


def test_colorize_paints_each_label_with_its_colour(rng):
    labels = blocky_labels(rng)
    painted = colorize(labels)
    assert painted.shape == labels.shape + (3,) and painted.dtype == np.uint8
    np.testing.assert_array_equal(painted, label_colors(int(labels.max()))[labels])
    assert colorize(np.array([[0, 1]]))[0, 1].tolist() == [230, 25, 75]


def test_colorize_background_and_custom_colours():
    labels = np.array([[0, 1, 2, 3]], dtype=np.uint16)
    painted = colorize(labels, colors=np.array([[9, 9, 9], [1, 2, 3]]), background=(10, 20, 30))
    # Missing colours are taken from the default palette; row 0 is replaced by the background.
    assert painted[0].tolist() == [[10, 20, 30], [1, 2, 3], PALETTE[1].tolist(), PALETTE[2].tolist()]


def test_colorize_bool_mask_uses_the_first_colour():
    painted = colorize(np.array([[False, True]]))
    assert painted[0].tolist() == [[0, 0, 0], PALETTE[0].tolist()]


# --- boundaries ---------------------------------------------------------------


def test_boundaries_equal_skimage_inner_boundaries(rng):
    labels = blocky_labels(rng, (45, 60), n_labels=4)
    expected = find_boundaries(labels, mode="inner", connectivity=2) & (labels > 0)
    np.testing.assert_array_equal(boundaries(labels), expected)


def test_boundaries_of_a_square_are_its_outline():
    mask = np.zeros((8, 8), dtype=bool)
    mask[2:6, 2:6] = True
    expected = mask.copy()
    expected[3:5, 3:5] = False
    np.testing.assert_array_equal(boundaries(mask), expected)


def test_thicker_boundaries_contain_the_thin_ones(rng):
    labels = blocky_labels(rng)
    thin, thick = boundaries(labels), boundaries(labels, thickness=3)
    assert np.all(thick[thin]) and thick.sum() > thin.sum()


# --- overlay ------------------------------------------------------------------


def test_overlay_fill_blends_inside_and_keeps_outside(rng):
    image = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    labels = blocky_labels(rng)
    out = overlay(image, labels, mode="fill", alpha=0.3)
    blended = cv2.addWeighted(image, 0.7, colorize(labels), 0.3, 0.0)
    inside = labels > 0
    np.testing.assert_array_equal(out[inside], blended[inside])
    np.testing.assert_array_equal(out[~inside], image[~inside])


def test_overlay_boundary_paints_only_the_outline(rng):
    image = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    labels = blocky_labels(rng)
    out = overlay(image, labels, mode="boundary")
    edge = boundaries(labels)
    np.testing.assert_array_equal(out[edge], colorize(labels)[edge])
    np.testing.assert_array_equal(out[~edge], image[~edge])


def test_overlay_both_outlines_over_the_fill(rng):
    image = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    labels = blocky_labels(rng)
    out = overlay(image, labels, mode="both", alpha=0.5)
    edge = boundaries(labels)
    inner = (labels > 0) & ~edge
    np.testing.assert_array_equal(out[edge], colorize(labels)[edge])
    np.testing.assert_array_equal(out[inner], cv2.addWeighted(image, 0.5, colorize(labels), 0.5, 0.0)[inner])


def test_overlay_on_a_gray_image_returns_rgb():
    gray = np.full((6, 7), 100, dtype=np.uint8)
    mask = np.zeros((6, 7), dtype=bool)
    out = overlay(gray, mask)
    assert out.shape == (6, 7, 3)
    np.testing.assert_array_equal(out, 100)


def test_overlay_shape_mismatch_is_a_mask_error():
    with pytest.raises(InvalidMaskError, match=r"labels are \(4, 5\) but the image is \(6, 7\)"):
        overlay(np.zeros((6, 7), np.uint8), np.zeros((4, 5), np.uint8))


def test_overlay_unknown_mode_names_the_choices():
    with pytest.raises(ValueError, match="unknown mode 'outline'; choose one of: fill, boundary, both"):
        overlay(np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint8), mode="outline")


def test_overlay_unknown_mode_is_an_invalid_parameter():
    with pytest.raises(InvalidParameterError):
        overlay(np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint8), mode="outline")


# --- error map ------------------------------------------------------------------


def test_error_map_colours():
    truth = np.array([[1, 1, 0, 0]])
    pred = np.array([[1, 0, 1, 0]])
    out = error_map(truth, pred)
    assert out.dtype == np.uint8 and out.shape == (1, 4, 3)
    assert out[0].tolist() == [[255, 255, 255], CYAN, MAGENTA, [0, 0, 0]]
    assert FALSE_POSITIVE.tolist() == MAGENTA and FALSE_NEGATIVE.tolist() == CYAN
    assert TRUE_POSITIVE.tolist() == [255, 255, 255]


def test_error_map_over_an_image_dims_it_and_keeps_error_colours():
    image = np.full((1, 4), 200, dtype=np.uint8)
    out = error_map(np.array([[5, 5, 0, 0]]), np.array([[True, False, True, False]]), image=image)
    # Background: image * 0.5; true positives: dimmed image mixed 60/40 with white.
    assert out[0, 3].tolist() == [100, 100, 100]
    assert out[0, 0].tolist() == [int(100 * 0.6 + 255 * 0.4)] * 3
    assert out[0, 1].tolist() == CYAN and out[0, 2].tolist() == MAGENTA


def test_error_map_size_mismatch():
    with pytest.raises(InvalidMaskError, match=r"differ in size: \(2, 2\) vs \(2, 3\)"):
        error_map(np.zeros((2, 2)), np.zeros((2, 3)))


def test_error_map_image_size_mismatch_is_a_mask_error():
    with pytest.raises(InvalidMaskError):
        error_map(np.zeros((4, 4)), np.zeros((4, 4)), image=np.zeros((5, 5), np.uint8))


# --- heatmap --------------------------------------------------------------------


def test_heatmap_equals_opencv_viridis_in_rgb(rng):
    values = rng.random((12, 9)).astype(np.float32)
    expected = cv2.cvtColor(cv2.applyColorMap(np.rint(values * 255).astype(np.uint8), cv2.COLORMAP_VIRIDIS),
                            cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(heatmap(values), expected)
    ends = heatmap(np.array([[0.0, 1.0]]))
    assert ends[0].tolist() == [[68, 1, 84], [253, 231, 37]]  # viridis: dark purple to yellow


def test_heatmap_scales_and_clips_to_vmin_vmax(rng):
    values = rng.random((5, 6)) * 10 + 10
    np.testing.assert_array_equal(heatmap(values, vmin=10, vmax=20), heatmap((values - 10) / 10))
    np.testing.assert_array_equal(heatmap(np.array([[-5.0, 7.0]])), heatmap(np.array([[0.0, 1.0]])))


def test_heatmap_other_colormap():
    out = heatmap(np.array([[0.0, 1.0]]), colormap=cv2.COLORMAP_JET)
    assert out[0, 1].tolist() == cv2.applyColorMap(np.array([[255]], np.uint8), cv2.COLORMAP_JET)[0, 0, ::-1].tolist()


# --- mask_image and PNG -----------------------------------------------------------


def test_mask_image_binary_becomes_0_255():
    for mask in (np.array([[True, False]]), np.array([[1, 0]], dtype=np.int64), np.zeros((2, 2), np.int32)):
        out = mask_image(mask)
        assert out.dtype == np.uint8
        np.testing.assert_array_equal(out, (mask > 0) * 255)


def test_mask_image_keeps_label_values():
    labels = np.array([[0, 1, 7]], dtype=np.int32)
    out = mask_image(labels)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, labels)
    big = np.array([[0, 256, 65535]], dtype=np.int32)
    out16 = mask_image(big)
    assert out16.dtype == np.uint16
    np.testing.assert_array_equal(out16, big)


def test_mask_image_does_not_wrap_labels_above_uint16():
    labels = np.array([[0, 70000]], dtype=np.int32)
    try:
        out = mask_image(labels)
    except ValueError:
        return
    np.testing.assert_array_equal(out.astype(np.int64), labels)


def test_png_round_trip_gray(rng):
    gray = rng.integers(0, 256, (9, 13), dtype=np.uint8)
    data = to_png(gray)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    np.testing.assert_array_equal(decode(data), gray)


def test_png_round_trip_keeps_rgb_order(rng):
    rgb = rng.integers(0, 256, (7, 5, 3), dtype=np.uint8)
    rgb[0, 0] = [255, 0, 0]
    decoded = decode(to_png(rgb))  # OpenCV decodes to BGR
    np.testing.assert_array_equal(decoded[..., ::-1], rgb)
    assert decoded[0, 0].tolist() == [0, 0, 255]


def test_png_round_trip_16_bit_labels():
    labels = np.array([[0, 300], [65535, 1]], dtype=np.uint16)
    decoded = decode(to_png(labels))
    assert decoded.dtype == np.uint16
    np.testing.assert_array_equal(decoded, labels)


def test_png_of_a_bool_mask_is_0_255():
    mask = np.array([[True, False, True]])
    np.testing.assert_array_equal(decode(to_png(mask)), [[255, 0, 255]])


# --- display ---------------------------------------------------------------------


def test_small_images_are_not_resized():
    image = np.zeros((100, 80, 3), np.uint8)
    assert downscale_for_display(image, max_side=100) is image


def test_large_photo_is_area_resized_to_max_side(rng):
    photo = rng.integers(0, 256, (300, 200, 3), dtype=np.uint8)
    out = downscale_for_display(photo, max_side=150)
    assert out.shape == (150, 100, 3)
    np.testing.assert_array_equal(out, cv2.resize(photo, (100, 150), interpolation=cv2.INTER_AREA))


@pytest.mark.parametrize("dtype", [np.uint16, np.int32, bool])
def test_large_label_images_keep_their_values(rng, dtype):
    labels = blocky_labels(rng, (400, 250), n_labels=3).astype(dtype)
    out = downscale_for_display(labels, max_side=100)
    assert out.shape == (100, 62) and out.dtype == np.dtype(dtype)
    # Nearest neighbour: no new label values appear between regions.
    assert set(np.unique(out).tolist()) <= set(np.unique(labels).tolist())
    np.testing.assert_array_equal(out, cv2.resize(labels, (62, 100), interpolation=cv2.INTER_NEAREST))


def test_draw_points_marks_each_point_and_leaves_the_input_alone():
    image = np.zeros((40, 60, 3), dtype=np.uint8)
    out = draw_points(image, [(10, 15), (30, 45)], size=9)
    assert not image.any()  # a copy is drawn on
    assert (out[10, 15] == 255).all() and (out[30, 45] == 255).all()  # white cross centres
    assert (out[0, 0] == 0).all()
    scaled = draw_points(np.zeros((20, 30, 3), np.uint8), [(10, 15)], scale=0.5, size=5)
    assert (scaled[5, 7] == 255).all()
