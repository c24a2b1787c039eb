"""The Edges (Canny) and Watershed pages: results, counts and charts against the library."""

from __future__ import annotations

import numpy as np
import pytest

import segcore
from segcore.instances import instance_sizes, to_instances
from segcore.samples import DEFAULT_SAMPLE, SAMPLES, load_sample

IMAGE, TRUTH = load_sample(DEFAULT_SAMPLE)
TOUCHING, _ = load_sample("synthetic_touching")


def edges_line(result: segcore.SegmentationResult) -> str:
    """The page's summary line for an edges result."""
    info = result.info
    return f"**{info['count']} regions** · hysteresis thresholds used: low {info['low']:.0f}, high {info['high']:.0f}"


def objects_line(result: segcore.SegmentationResult) -> str:
    """The page's summary line for a watershed result."""
    _, components = to_instances(result.mask)
    return (f"**{result.info['count']} objects** after splitting, from **{components}** connected components "
            "of the mask (plain connected components cannot separate touching objects).")


# ------------------------------------------------------------------ edges


@pytest.fixture(scope="module")
def edges_page(start_lab):
    lab = start_lab("edges")
    lab.assert_ok()
    return lab


def test_edges_page_renders_the_default_sample(edges_page):
    edges_page.assert_ok()
    assert edges_page.at.title[0].value == "Edges (Canny)"
    captions = edges_page.image_captions()
    assert captions[:3] == [f"Original — {SAMPLES[DEFAULT_SAMPLE].title}", "Overlay", "Regions"]
    assert "Canny edge map (before closing and filling)" in captions
    assert "Edges over the image" in captions
    expected = segcore.segment(IMAGE, "edges")
    assert edges_page.markdown_with("regions** · hysteresis") == [edges_line(expected)]
    assert edges_page.metrics()["IoU"] == f"{segcore.metrics.evaluate(TRUTH, expected).iou:.3f}"
    assert edges_page.metrics()["Objects"] == str(expected.info["count"])


def test_edges_sigma_changes_the_result(start_lab):
    lab = start_lab("edges")
    lines = {}
    for sigma in (0.5, 3.0):
        lab.at.slider(key="ed_sigma").set_value(sigma).run()
        lab.assert_ok()
        expected = segcore.segment(IMAGE, "edges", sigma=sigma)
        lines[sigma] = lab.markdown_with("regions** · hysteresis")
        assert lines[sigma] == [edges_line(expected)], sigma
        assert lab.metrics()["IoU"] == f"{segcore.metrics.evaluate(TRUTH, expected).iou:.3f}", sigma
    assert lines[0.5] != lines[3.0]


def test_edges_manual_hysteresis_thresholds(start_lab):
    lab = start_lab("edges")
    assert not [s for s in lab.at.slider if s.key == "ed_thresholds"]
    lab.at.toggle(key="ed_auto").set_value(False).run()
    lab.assert_ok()
    assert lab.at.slider(key="ed_thresholds").value == (50, 150)
    lab.at.slider(key="ed_thresholds").set_value((20, 60)).run()
    lab.assert_ok()
    expected = segcore.segment(IMAGE, "edges", low=20, high=60)
    assert lab.markdown_with("regions** · hysteresis") == [edges_line(expected)]
    assert "low 20, high 60" in lab.markdown_with("regions** · hysteresis")[0]


def test_edges_without_filling(start_lab):
    lab = start_lab("edges")
    lab.at.toggle(key="ed_fill").set_value(False).run()
    lab.assert_ok()
    expected = segcore.segment(IMAGE, "edges", fill=False)
    assert lab.markdown_with("regions** · hysteresis") == [edges_line(expected)]
    assert lab.metrics()["Foreground"] == f"{100 * np.count_nonzero(expected.binary) / expected.binary.size:.1f}%"


# ------------------------------------------------------------------ watershed


@pytest.fixture(scope="module")
def watershed_page(start_lab):
    lab = start_lab("watershed")
    lab.assert_ok()
    return lab


def test_watershed_page_renders_the_default_sample(watershed_page):
    watershed_page.assert_ok()
    assert watershed_page.at.title[0].value == "Watershed & instances"
    captions = watershed_page.image_captions()
    assert captions[:3] == [f"Original — {SAMPLES[DEFAULT_SAMPLE].title}", "Overlay", "Instances"]
    assert "Distance to the background (bright = object centre); + marks the peaks that seed one object each" in captions
    expected = segcore.segment(IMAGE, "watershed")
    assert watershed_page.markdown_with("objects** after splitting") == [objects_line(expected)]
    assert watershed_page.metrics()["Objects"] == str(expected.info["count"])


def test_watershed_size_histogram_holds_the_object_sizes(watershed_page):
    watershed_page.assert_ok()
    figure = watershed_page.charts()["ws_sizes"]
    (histogram,) = figure["data"]
    assert histogram["type"] == "histogram"
    expected = segcore.segment(IMAGE, "watershed")
    np.testing.assert_array_equal(np.sort(watershed_page.values(histogram["x"])),
                                  np.sort(instance_sizes(expected.labels)))
    assert figure["layout"]["title"]["text"] == "Object sizes"


def test_watershed_min_distance_changes_the_count_of_touching_objects(start_lab):
    lab = start_lab("watershed").choose_sample("synthetic_touching")
    counts = {}
    for min_distance in (1, 20):
        lab.at.slider(key="ws_min_distance").set_value(min_distance).run()
        lab.assert_ok()
        expected = segcore.segment(TOUCHING, "watershed", min_distance=min_distance)
        counts[min_distance] = int(lab.metrics()["Objects"])
        assert counts[min_distance] == expected.info["count"], min_distance
        assert lab.markdown_with("objects** after splitting") == [objects_line(expected)], min_distance
    assert counts[1] > counts[20]  # centres closer than the minimum distance merge


@pytest.mark.parametrize("polarity", ["bright", "dark"])
def test_watershed_polarity_and_compactness(start_lab, polarity):
    lab = start_lab("watershed")
    lab.at.radio(key="ws_polarity").set_value(polarity).run()
    lab.at.slider(key="ws_compactness").set_value(0.5).run()
    lab.assert_ok()
    expected = segcore.segment(IMAGE, "watershed", polarity=polarity, compactness=0.5)
    assert lab.markdown_with("objects** after splitting") == [objects_line(expected)]
