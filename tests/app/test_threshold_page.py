"""The Thresholding page: modes, polarity, the histogram with its threshold lines, the three tabs.

Thresholds and foreground shares are compared with scikit-image and with
plain numpy on the same gray image.
"""

from __future__ import annotations

import numpy as np
import pytest
from skimage import filters

import segcore
from segcore.imageops import to_gray
from segcore.methods.threshold import GLOBAL_ALGORITHMS, try_all
from segcore.samples import DEFAULT_SAMPLE, SAMPLES, load_sample

IMAGE, TRUTH = load_sample(DEFAULT_SAMPLE)
GRAY = to_gray(IMAGE)
OTSU = int(filters.threshold_otsu(GRAY))


def percent(mask: np.ndarray) -> str:
    """How the page prints a foreground share."""
    return f"{100 * np.count_nonzero(mask) / mask.size:.1f}%"


def vlines(figure: dict) -> list[float]:
    return [shape["x0"] for shape in figure["layout"].get("shapes", []) if shape["type"] == "line"]


@pytest.fixture(scope="module")
def defaults(start_lab):
    """The page with its defaults (automatic Otsu, bright objects); tests only read it."""
    lab = start_lab("threshold")
    lab.assert_ok()
    return lab


def test_renders_images_metrics_and_charts(defaults):
    defaults.assert_ok()
    assert defaults.at.title[0].value == "Thresholding"
    captions = defaults.image_captions()
    assert captions[:3] == [f"Original — {SAMPLES[DEFAULT_SAMPLE].title}", "Overlay", "Mask (white = foreground)"]
    assert "th_hist" in defaults.charts()
    assert "th_watch_hist" not in defaults.charts()  # tabs are drawn only when opened
    assert list(defaults.metrics()) == ["Run time", "Foreground", "Objects", "IoU", "Dice", "Pixel accuracy"]
    assert defaults.at.radio(key="th_mode").value == "Automatic"
    assert defaults.at.selectbox(key="th_algorithm").value == "otsu"


def test_histogram_and_threshold_line_match_the_image(defaults):
    defaults.assert_ok()
    figure = defaults.charts()["th_hist"]
    bars = next(trace for trace in figure["data"] if trace["type"] == "bar")
    np.testing.assert_array_equal(defaults.values(bars["y"]), np.bincount(GRAY.ravel(), minlength=256))
    library = segcore.segment(IMAGE, "threshold", algorithm="otsu", polarity="bright")
    assert library.info["threshold"] == OTSU
    assert vlines(figure) == [OTSU]
    # Otsu's between-class variance curve peaks at the chosen threshold
    peak = next(trace for trace in figure["data"] if str(trace.get("name", "")).startswith("maximum at "))
    assert defaults.values(peak["x"]).tolist() == [OTSU]
    assert defaults.markdown_with("**Threshold:**") == [f"**Threshold:** {OTSU} · objects are **bright**"]


def test_metrics_equal_the_library_result(defaults):
    defaults.assert_ok()
    mask = GRAY > OTSU
    assert defaults.metrics()["Foreground"] == percent(mask)
    scores = segcore.metrics.evaluate(TRUTH, mask)
    assert defaults.metrics()["IoU"] == f"{scores.iou:.3f}"
    assert defaults.metrics()["Dice"] == f"{scores.dice:.3f}"


def test_every_automatic_method_reports_its_threshold(start_lab):
    lab = start_lab("threshold")
    for algorithm in GLOBAL_ALGORITHMS:
        lab.at.selectbox(key="th_algorithm").set_value(algorithm).run()
        lab.assert_ok()
        expected = segcore.segment(IMAGE, "threshold", algorithm=algorithm, polarity="bright")
        level = expected.info["threshold"]
        assert lab.markdown_with("**Threshold:**") == [f"**Threshold:** {level:g} · objects are **bright**"], algorithm
        assert vlines(lab.charts()["th_hist"]) == pytest.approx([level]), algorithm
        assert lab.metrics()["Foreground"] == percent(expected.mask), algorithm


def test_fixed_value_changes_the_foreground(start_lab):
    lab = start_lab("threshold")
    lab.at.radio(key="th_mode").set_value("Fixed value").run()
    shares = {}
    for value in (50, 200):
        lab.at.slider(key="th_value").set_value(value).run()
        lab.assert_ok()
        shares[value] = lab.metrics()["Foreground"]
        assert shares[value] == percent(GRAY > value)
        assert vlines(lab.charts()["th_hist"]) == [value]
        assert lab.markdown_with("**Threshold:**") == [f"**Threshold:** {value} · objects are **bright**"]
    assert float(shares[50].rstrip("%")) > float(shares[200].rstrip("%"))


def test_dark_objects_invert_the_mask(start_lab):
    lab = start_lab("threshold")
    lab.at.radio(key="th_polarity").set_value("dark").run()
    lab.assert_ok()
    assert lab.metrics()["Foreground"] == percent(GRAY <= OTSU)
    assert lab.markdown_with("**Threshold:**") == [f"**Threshold:** {OTSU} · objects are **dark**"]


def test_multi_level_draws_one_line_per_threshold(start_lab):
    lab = start_lab("threshold")
    lab.at.radio(key="th_mode").set_value("Multi-level").run()
    lab.assert_ok()
    assert lab.at.slider(key="th_classes").value == 3
    expected = [int(t) for t in filters.threshold_multiotsu(GRAY, classes=3)]
    assert vlines(lab.charts()["th_hist"]) == expected
    assert lab.markdown_with("**Thresholds:**") == [
        f"**Thresholds:** {expected[0]}, {expected[1]} · objects are **bright**"]
    lab.at.slider(key="th_classes").set_value(4).run()
    lab.assert_ok()
    assert len(vlines(lab.charts()["th_hist"])) == 3


def test_local_methods_render_with_their_parameters(start_lab):
    lab = start_lab("threshold")
    lab.at.radio(key="th_mode").set_value("Local (adaptive)").run()
    lab.assert_ok()
    assert lab.markdown_with("**Local threshold**") == ["**Local threshold** (35×35 blocks) · objects are **bright**"]
    assert not [s for s in lab.at.slider if s.key == "th_k"]  # k only for Sauvola and Niblack
    lab.at.selectbox(key="th_local").set_value("sauvola").run()
    lab.at.slider(key="th_block").set_value(51).run()
    lab.assert_ok()
    assert lab.at.slider(key="th_k").value == 0.2
    assert lab.markdown_with("**Local threshold**") == ["**Local threshold** (51×51 blocks) · objects are **bright**"]
    assert vlines(lab.charts()["th_hist"]) == []  # no single global threshold to draw


def test_watch_it_work_follows_the_slider(start_lab):
    lab = start_lab("threshold").open_tab("th_tab", "Watch it work")
    assert lab.at.slider(key="th_watch_value").value == OTSU
    lab.at.slider(key="th_watch_value").set_value(60).run()
    lab.assert_ok()
    figure = lab.charts()["th_watch_hist"]
    assert vlines(figure) == [60]
    assert figure["layout"]["title"]["text"].startswith("T = 60: σ²_B = ")
    assert figure["layout"]["title"]["text"].endswith(f"at T = {OTSU})")
    assert f"gray > 60: {percent(GRAY > 60)} foreground" in lab.image_captions()


def test_try_all_tab_shows_every_automatic_threshold(start_lab):
    defaults = start_lab("threshold").open_tab("th_tab", "Try all automatic methods")
    defaults.assert_ok()
    expected = try_all(IMAGE, polarity="bright")
    titles = {"otsu": "Otsu", "triangle": "Triangle", "li": "Li (minimum cross-entropy)", "yen": "Yen",
              "isodata": "Isodata (Ridler-Calvard)", "mean": "Mean", "minimum": "Minimum (valley between peaks)"}
    captions = [c for c in defaults.image_captions() if ": T = " in c]
    # the pictures fill four columns, so the page lists them column by column
    assert sorted(captions) == sorted(
        f"{titles[name]}: T = {result.info['threshold']:g} · IoU {segcore.metrics.iou(TRUTH, result.mask):.3f}"
        for name, result in expected.items())


def test_objects_metric_counts_the_connected_objects_of_the_mask(defaults):
    expected = segcore.segment(IMAGE, "threshold", algorithm="otsu")
    assert defaults.metrics()["Objects"] == str(segcore.to_instances(expected.mask)[1])
