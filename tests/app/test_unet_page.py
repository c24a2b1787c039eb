"""The U-Net page: the bundled model on the default sample, its widgets and tabs.

The bundled model will be replaced by a better one, so scores are checked
against a sane range (IoU above 0.8 on the default synthetic sample) and
against the library run on the same image, never against fixed numbers.
"""

from __future__ import annotations

import numpy as np
import pytest

import segcore
from segcore.methods.unet import apply_threshold
from segcore.samples import DEFAULT_SAMPLE, SAMPLES, load_sample
from segcore.unet.model import DEFAULT_MODEL
from ui import models, runner

IMAGE, TRUTH = load_sample(DEFAULT_SAMPLE)
@pytest.fixture(autouse=True)
def fresh_method_cache():
    """Each test meets the page as a freshly started server does: no cached U-Net run yet,
    so whether the page's first run is a cache hit does not depend on test order."""
    runner.clear()


@pytest.fixture(scope="module")
def library_result() -> segcore.SegmentationResult:
    """What the page shows by default, computed by the library: default threshold, split nuclei."""
    base = segcore.segment(IMAGE, "unet", model=DEFAULT_MODEL, device="auto", split_instances=False)
    return apply_threshold(base, models.default_threshold(DEFAULT_MODEL), split_instances=True)


def percent(mask: np.ndarray) -> str:
    return f"{100 * np.count_nonzero(mask) / mask.size:.1f}%"


def test_renders_the_default_sample(start_lab, library_result):
    lab = start_lab("unet")
    lab.assert_ok()
    assert lab.at.title[0].value == "U-Net"
    threshold = models.default_threshold(DEFAULT_MODEL)
    assert lab.at.slider(key="unet_threshold").value == pytest.approx(threshold)
    captions = lab.image_captions()
    assert captions[:3] == [f"Original — {SAMPLES[DEFAULT_SAMPLE].title}", "Overlay",
                            "Probability of nucleus (dark blue 0 → yellow 1)"]
    assert f"Mask: probability > {threshold:.2f}" in captions
    assert "Instances (one colour per nucleus)" in captions
    assert 0.8 < lab.metric_number("IoU") <= 1.0
    assert lab.metrics()["IoU"] == f"{segcore.metrics.evaluate(TRUTH, library_result).iou:.3f}"
    assert lab.metrics()["Foreground"] == percent(library_result.mask)
    count = library_result.info["count"]
    assert count > 0
    assert lab.markdown_with("nuclei** found") == [
        f"**{count} nuclei** found (the mask split at the ridges of its distance transform)."]


def test_device_choice_offers_the_cpu_and_runs_there(start_lab):
    lab = start_lab("unet")
    device = lab.at.selectbox(key="unet_device")
    assert device.value == "auto"
    assert device.options[0] == "auto" and "cpu" in device.options
    device.set_value("cpu").run()
    lab.assert_ok()
    model_line = [c.value for c in lab.at.caption if c.value.startswith("Model: ")]
    assert len(model_line) == 1 and "device **cpu**" in model_line[0]


def test_inside_the_network_and_model_card_tabs(start_lab):
    lab = start_lab("unet")
    lab.assert_ok()
    assert [tab.label for tab in lab.at.tabs][:3] == ["Result", "Inside the network", "Model card"]
    feature_maps = [c for c in lab.image_captions() if c.startswith("ch ")]
    assert feature_maps, "no feature maps in 'Inside the network'"
    tables = [frame.value for frame in lab.at.dataframe]
    (scores,) = [t for t in tables if "method" in t.columns and "IoU" in t.columns]
    assert list(scores["method"])[0] == "this model"
    assert 0.5 < float(scores["IoU"].iloc[0]) <= 1.0
    (training,) = lab.at.table
    assert "best epoch" in training.value.index


def test_threshold_slider_changes_the_mask(start_lab):
    lab = start_lab("unet")
    shares = {}
    for threshold in (0.2, 0.8):
        lab.at.slider(key="unet_threshold").set_value(threshold).run()
        lab.assert_ok()
        shares[threshold] = lab.metric_number("Foreground")
        assert f"Mask: probability > {threshold:.2f}" in lab.image_captions()
    assert shares[0.2] > shares[0.8]


def test_count_toggle_hides_the_nuclei_count(start_lab):
    lab = start_lab("unet")
    lab.at.toggle(key="unet_split").set_value(False).run()
    lab.assert_ok()
    assert not lab.markdown_with("nuclei** found")


def test_a_second_visitor_sees_the_page(start_lab):
    start_lab("unet").assert_ok()
    second = start_lab("unet")
    second.assert_ok()
