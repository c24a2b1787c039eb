"""AppTest of the K-means page (app_pages/kmeans.py) and its helpers."""

from __future__ import annotations

import base64
import functools
import json

import cv2
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import segcore
from segcore.samples import load_sample
from ui import teaching_km as teach
from tests.app import opening

PAGE = "app_pages/kmeans.py"
open_page = functools.partial(opening.open_page, PAGE)
open_page_with = functools.partial(opening.open_page_with, PAGE)


def figures(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def titled(at: AppTest, text: str) -> dict:
    (spec,) = [f for f in figures(at) if text in str(f["layout"].get("title", ""))]
    return spec


def values(array) -> np.ndarray:
    """A spec array, whether plain JSON or plotly's typed-array encoding."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"]))
    return np.asarray(array)


def watch(at: AppTest) -> AppTest:
    at.session_state["km_tab"] = "Watch it work"
    return at.run()


def test_default_sample_shows_segmented_image_and_palette():
    at = open_page()
    image, _ = load_sample("synthetic_nuclei")
    expected = segcore.segment(image, "kmeans", n_clusters=3)
    palette = titled(at, "Clusters: mean colour")
    order = expected.info["order_by_brightness"]
    assert list(palette["data"][0]["x"]) == [f"cluster {k}" for k in order]
    assert list(values(palette["data"][0]["y"])) == expected.info["counts"][order].tolist()
    captions = [c for image in at.image for c in image.captions]
    assert any(c.startswith("Segmented") for c in captions) and any(c.startswith("Label view") for c in captions)
    assert any(f"inertia {expected.info['inertia']:,.0f}" in m.value for m in at.markdown)
    at.slider(key="km_k").set_value(4).run()
    assert len(titled(at, "Clusters: mean colour")["data"][0]["x"]) == 4
    assert not at.exception


def test_feature_spaces_spatial_weight_and_gaussian_mixture():
    at = open_page()
    at.selectbox(key="km_features").set_value("lab")
    at.slider(key="km_spatial").set_value(1.0).run()
    assert not at.exception
    at.toggle(key="km_gmm").set_value(True).run()
    assert not at.exception
    assert any("3 Gaussians" in m.value for m in at.markdown)
    assert len(titled(at, "Clusters: mean colour")["data"][0]["x"]) == 3


def test_elbow_chart_on_demand():
    at = open_page()
    assert not [f for f in figures(at) if "Elbow" in str(f["layout"].get("title", ""))]
    at.button(key="km_elbow").click().run()
    elbow = titled(at, "Elbow")
    assert list(elbow["data"][0]["x"]) == list(range(1, 13))
    inertia = list(elbow["data"][0]["y"])
    assert inertia[0] > inertia[2] > inertia[-1]
    assert list(elbow["data"][1]["x"]) == [3]  # the chosen K is marked
    at.slider(key="km_k").set_value(5).run()  # the chart stays, now marking K = 5
    assert list(titled(at, "Elbow")["data"][1]["x"]) == [5]
    assert not at.exception


def test_watch_tab_steps_through_the_iterations():
    at = watch(open_page())
    assert not at.exception
    spec = titled(at, "K-means, K = 3")
    assert spec["data"][0]["type"] == "scatter3d" and len(values(spec["data"][0]["x"])) == teach.SAMPLE_POINTS
    inertia = values(spec["data"][4]["y"])
    assert np.all(np.diff(inertia) <= 1e-6 * inertia[0])  # never increases
    names = [frame["name"] for frame in spec["frames"]]
    at.select_slider(key="km_watch_frame").set_value(names[-1]).run()
    moved = titled(at, "K-means, K = 3")
    assert moved["layout"]["sliders"][0]["active"] == len(names) - 1
    assert moved["data"][3]["source"] != spec["data"][3]["source"]
    assert any("Inertia never increases" in m.value for m in at.markdown)
    assert not at.exception


def test_watch_tab_gray_features_are_a_strip():
    at = open_page()
    at.selectbox(key="km_features").set_value("gray").run()
    watch(at)
    spec = titled(at, "K-means")
    assert spec["data"][0]["type"] == "scatter"
    assert spec["layout"]["xaxis"]["title"]["text"] == "gray level"
    assert not at.exception


def test_colour_sample_and_its_watch_view():
    at = open_page("coffee")  # 400 x 600: the watch view runs on a 512-wide copy
    assert not at.exception
    assert len(titled(at, "Clusters: mean colour")["data"][0]["x"]) == 3
    watch(at)
    assert not at.exception
    assert any("512×341 copy" in c.value for c in at.caption)


def test_a_two_megapixel_image_is_fitted_on_a_sample():
    image, _ = load_sample("synthetic_nuclei")
    big = cv2.resize(image, (1700, 1200), interpolation=cv2.INTER_LINEAR)  # 2.04 Mpx
    at = open_page_with(big, "big.png")
    assert not at.exception
    assert any("random sample of 100,000 of the 2,040,000 pixels" in c.value for c in at.caption)
    watch(at)
    assert not at.exception


@pytest.mark.parametrize("use_gmm", [False, True])
def test_ranked_labels_put_the_darkest_cluster_first(use_gmm):
    image = np.array([[[250, 250, 250], [0, 0, 0], [120, 120, 120], [0, 0, 10]]], np.uint8)
    method, size = ("gmm", "n_clusters") if use_gmm else ("kmeans", "n_clusters")
    result = segcore.segment(image, method, **{size: 3})
    assert teach.ranked_labels(result).tolist() == [[2, 0, 1, 0]]
    painted = teach.segmented_picture(result)
    assert painted.shape == image.shape
    assert painted[0, 0].tolist() == result.info["center_colors"][result.labels[0, 0]].tolist()


def test_a_tiny_flat_image_is_an_error_not_a_crash():
    flat = np.full((3, 3, 3), 90, np.uint8)
    at = open_page_with(flat, "tiny.png")
    assert not at.exception
    at.button(key="km_elbow").click().run()
    assert not at.exception
    assert any("Elbow chart" in e.value for e in at.error)  # K = 12 is more than 9 pixels
    at.slider(key="km_k").set_value(12).run()
    assert not at.exception and at.error
    watch(at)
    assert not at.exception
