"""Tests of the step-by-step figures of region growing and k-means in ui.animations."""

from __future__ import annotations

import base64
import io

import numpy as np
import plotly.io as pio
import pytest
from PIL import Image

import segcore
from segcore import viz
from segcore.samples import SEED_GRID, load_sample
from ui import animations


def decode(uri: str) -> np.ndarray:
    """The RGBA pixels of a data URI."""
    payload = uri.split(",", 1)[1]
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(payload))).convert("RGBA"))


def grid_growth():
    return segcore.segment(SEED_GRID, "region_growing", seeds=[(1, 1)], tolerance=2, criterion="neighbor",
                           return_steps=True)


# --- growth_animation -----------------------------------------------------------

def test_growth_animation_frames_follow_the_seed_document_example():
    result = grid_growth()
    fig = animations.growth_animation(SEED_GRID, result.info["steps"], waves=result.info["step_waves"],
                                  seeds=[(1, 1)])
    assert [frame.name for frame in fig.frames] == ["0", "1", "2", "3"]
    assert list(fig.data[3].y) == [1, 4, 7, 8]  # pixels in regions per wave
    assert [frame.data[1].y[0] for frame in fig.frames] == [1, 4, 7, 8]  # the moving marker
    assert [step.label for step in fig.layout.sliders[0].steps] == ["0", "1", "2", "3"]
    assert "wave 2: 7 in regions (+3 in white)" in fig.frames[2].layout.title.text
    colour = viz.label_colors(1)[1]
    for position, frame in enumerate(fig.frames):
        overlay = decode(frame.data[0].source)
        inside = result.info["steps"][position] > 0
        before = result.info["steps"][position - 1] > 0 if position else np.zeros_like(inside)
        new = inside & ~before
        assert (overlay[new] == [255, 255, 255, 255]).all()
        assert (overlay[before][:, :3] == colour).all() and (overlay[before][:, 3] == 150).all()
        assert (overlay[~inside][:, 3] == 0).all()
    # The figure opens at the first frame; the seed is drawn at its pixel.
    assert decode(fig.data[1].source).tolist() == decode(fig.frames[0].data[0].source).tolist()
    assert (fig.data[2].x[0], fig.data[2].y[0]) == (1.0, 1.0)


def test_growth_animation_colours_each_seed_and_keeps_gray_backgrounds():
    image = np.full((6, 6), 90, np.uint8)
    steps = [np.zeros((6, 6), np.uint8) for _ in range(2)]
    steps[0][0, 0] = 1
    steps[1][0, 0] = 1
    steps[1][5, 5] = 2
    fig = animations.growth_animation(image, steps)
    last = decode(fig.frames[1].data[0].source)
    assert last[0, 0, :3].tolist() == viz.label_colors(2)[1].tolist()
    assert last[5, 5].tolist() == [255, 255, 255, 255]  # label 2 is new in this frame
    background = decode(fig.data[0].source)
    assert background.shape[:2] == (6, 6) and abs(int(background[..., 0].mean()) - 90) <= 2


def test_growth_animation_shrinks_large_images_and_keeps_thin_waves():
    steps = [np.zeros((1000, 800), np.uint8) for _ in range(2)]
    steps[0][500, 400] = 1  # a single seed pixel
    steps[1][500, 400] = 1
    steps[1][:, 10] = 1  # a one-pixel-wide wave
    fig = animations.growth_animation(np.zeros((1000, 800, 3), np.uint8), steps, max_side=100)
    first, second = (decode(frame.data[0].source) for frame in fig.frames)
    assert first.shape[:2] == (100, 80)
    assert (first[..., 3] > 0).sum() >= 1  # the seed survives the shrink
    assert ((second[..., 3] == 255).sum(axis=1) == 1).all()  # the line is unbroken from top to bottom


def test_growth_animation_caps_frames_with_first_and_last():
    steps = [np.zeros((4, 4), np.uint8) for _ in range(30)]
    for i, step in enumerate(steps):
        step.flat[: i % 16 + 1] = 1
    fig = animations.growth_animation(np.zeros((4, 4), np.uint8), steps, max_frames=7)
    names = [int(frame.name) for frame in fig.frames]
    assert len(names) == 7 and names[0] == 0 and names[-1] == 29 and names == sorted(names)


def test_growth_animation_of_a_512_image_stays_small():
    image, _ = load_sample("synthetic_nuclei")
    image = np.tile(image, (2, 2, 1))  # 512 x 512
    result = segcore.segment(image, "region_growing", return_steps=True)
    fig = animations.growth_animation(image, result.info["steps"], waves=result.info["step_waves"])
    assert len(fig.frames) == len(result.info["steps"])
    assert len(pio.to_json(fig, validate=False)) < 3_000_000


@pytest.mark.parametrize("steps, message", [([], "empty"), ([np.zeros((3, 3))], "size of the image")])
def test_growth_animation_refuses_bad_steps(steps, message):
    with pytest.raises(ValueError, match=message):
        animations.growth_animation(np.zeros((2, 2), np.uint8), steps)


# --- kmeans_animation -------------------------------------------------------------

def kmeans_steps(image, **params):
    result = segcore.segment(image, "kmeans", return_steps=True, **params)
    steps = result.info["steps"]
    return (np.array([s["labels"].ravel() for s in steps]), np.array([s["centers"] for s in steps]),
            [s["labels"] for s in steps], [s["inertia"] for s in steps])


def test_kmeans_animation_three_features():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)
    labels, centers, pictures, inertias = kmeans_steps(image, n_clusters=3)
    colours = np.array([[10, 20, 30], [200, 0, 0], [0, 200, 0]], np.uint8)
    fig = animations.kmeans_animation(image.reshape(-1, 3), labels, centers, pictures, inertias, colors=colours)
    assert fig.data[0].type == "scatter3d" and len(fig.data[0].x) == 120
    assert len(fig.frames) == len(inertias)
    for index, frame in enumerate(fig.frames):
        assert np.array_equal(frame.data[0].marker.color, labels[index])
        np.testing.assert_allclose(frame.data[2].x, centers[index][:, 0])
        assert decode(frame.data[3].source)[..., :3].tolist() == colours[pictures[index]].tolist()
        assert frame.data[4].y[0] == pytest.approx(inertias[index])
        # the path of each centre so far: index + 1 points and a gap per centre
        assert len(frame.data[1].x) == 3 * (index + 2)
    assert list(fig.data[4].y) == pytest.approx(inertias)
    assert fig.layout.scene.xaxis.title.text == "R"


def test_kmeans_animation_one_feature_is_a_2d_strip():
    image = np.repeat(np.array([[0, 10, 200, 210]], np.uint8), 3, axis=0)
    labels, centers, pictures, inertias = kmeans_steps(image, n_clusters=2)
    fig = animations.kmeans_animation(image.reshape(-1, 1), labels, centers, pictures, inertias,
                                  axis_names=("gray level",))
    assert fig.data[0].type == "scatter"
    assert list(fig.data[0].x) == [0, 10, 200, 210] * 3
    assert np.all(np.abs(fig.data[0].y) <= 1)  # the spread
    assert fig.layout.xaxis.title.text == "gray level"


def test_kmeans_animation_refuses_mismatched_steps():
    with pytest.raises(ValueError, match="same"):
        animations.kmeans_animation(np.zeros((2, 3)), np.zeros((2, 2), int), np.zeros((1, 2, 3)),
                                [np.zeros((1, 2), int)] * 2, [1.0, 0.5])


# --- show_frame -----------------------------------------------------------------

def test_show_frame_opens_the_animation_at_a_frame():
    result = grid_growth()
    fig = animations.growth_animation(SEED_GRID, result.info["steps"])
    shown = animations.show_frame(fig, "2")
    assert shown.layout.sliders[0].active == 2
    assert shown.data[1].source == fig.frames[2].data[0].source
    assert shown.data[4].y == (7,)
    assert shown.layout.title.text == fig.frames[2].layout.title.text
    assert fig.layout.sliders[0].active == 0  # the original is untouched
    with pytest.raises(ValueError, match="no frame '9'"):
        animations.show_frame(fig, "9")


def test_show_frame_keeps_marker_settings():
    image = np.array([[[0, 0, 0], [5, 5, 5], [250, 250, 250], [255, 255, 255]]], np.uint8)
    labels, centers, pictures, inertias = kmeans_steps(image, n_clusters=2)
    fig = animations.kmeans_animation(image.reshape(-1, 3), labels, centers, pictures, inertias)
    last = fig.frames[-1].name
    shown = animations.show_frame(fig, last)
    assert np.array_equal(shown.data[0].marker.color, labels[int(last)])
    assert shown.data[0].marker.size == fig.data[0].marker.size


# --- value_grid -------------------------------------------------------------------

def test_value_grid_cells():
    region = np.zeros((4, 4), bool)
    region[1, 1] = True
    new = np.zeros((4, 4), bool)
    new[0, 1] = new[1, 0] = True
    fig = animations.value_grid(SEED_GRID, region=region, new=new, seed=(1, 1), title="Wave 1")
    z = np.asarray(fig.data[0].z)
    assert z[1, 1] == 1 and z[0, 1] == 2 and z[1, 0] == 2 and z.sum() == 5
    assert fig.data[0].text[1][2] == "16"
    (shape,) = fig.layout.shapes
    assert (shape.x0, shape.x1, shape.y0, shape.y1) == (0.5, 1.5, 0.5, 1.5)
    assert fig.layout.yaxis.autorange == "reversed"
