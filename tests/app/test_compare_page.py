"""The Compare page (the default page): tiles, scores, charts, and agreement without ground truth.

Every number the page shows is checked against the library computing it
afresh on the same image: :func:`segcore.metrics.evaluate` for the scores,
:func:`segcore.compare.agreement_matrix` for the heatmap.
"""

from __future__ import annotations

import numpy as np
import pytest

import segcore
from segcore.compare import DEFAULT_PRESETS, PRESETS, agreement_matrix
from segcore.samples import DEFAULT_SAMPLE, SAMPLES, load_sample
from tests import files
from ui import display

# Methods that run in milliseconds, for the tests that do not need the defaults.
QUICK_METHODS = [label for label, preset in PRESETS.items() if preset.method in ("threshold", "edges", "watershed")]
METRICS = {"IoU": "iou", "Dice": "dice", "Pixel accuracy": "pixel_accuracy"}


def library_results(image: np.ndarray, labels) -> dict[str, segcore.SegmentationResult]:
    return {label: PRESETS[label].run(image) for label in labels}


@pytest.fixture(scope="module")
def default_page(start_lab):
    """The Compare page as a fresh session shows it; tests only read it."""
    lab = start_lab()
    lab.assert_ok()
    return lab


@pytest.fixture(scope="module")
def default_scores() -> dict[str, segcore.metrics.Evaluation]:
    image, truth = load_sample(DEFAULT_SAMPLE)
    return {label: segcore.metrics.evaluate(truth, result)
            for label, result in library_results(image, DEFAULT_PRESETS).items()}


def test_tiles_show_the_image_the_truth_and_every_default_method(default_page, default_scores):
    default_page.assert_ok()
    assert default_page.at.title[0].value == "Compare methods"
    assert default_page.at.multiselect(key="cmp_methods").value == list(DEFAULT_PRESETS)
    captions = default_page.image_captions()
    title = SAMPLES[DEFAULT_SAMPLE].title
    assert captions[:2] == [f"Original — {title}", "Ground truth"]
    method_tiles = captions[2:2 + len(DEFAULT_PRESETS)]
    for label, caption in zip(DEFAULT_PRESETS, method_tiles):
        assert caption.startswith(f"{label} · ")
        assert caption.endswith(f" · IoU {default_scores[label].iou:.3f}")
    # "Where each method is wrong": one error map per method
    assert captions[2 + len(DEFAULT_PRESETS):] == list(DEFAULT_PRESETS)


def test_score_bars_equal_the_library_scores(default_page, default_scores):
    default_page.assert_ok()
    bars = default_page.charts()["cmp_bars"]
    assert bars["layout"]["title"]["text"] == "Scores against the ground truth"
    assert [trace["name"] for trace in bars["data"]] == list(METRICS)
    for trace in bars["data"]:
        assert trace["type"] == "bar"
        assert trace["x"] == list(DEFAULT_PRESETS)
        expected = [getattr(default_scores[label], METRICS[trace["name"]]) for label in DEFAULT_PRESETS]
        assert trace["y"] == pytest.approx(expected, abs=1e-9)
    unet_iou = default_scores["U-Net (nuclei)"].iou
    assert 0.8 < unet_iou <= 1.0


def test_score_table_equals_the_library_scores(default_page, default_scores):
    default_page.assert_ok()
    table = default_page.dataframe()
    assert list(table.columns) == ["method", "iou", "dice", "pixel_accuracy", "precision", "recall",
                                   "mean_iou", "seconds"]
    assert list(table["method"]) == list(DEFAULT_PRESETS)
    for column in ("iou", "dice", "pixel_accuracy", "precision", "recall", "mean_iou"):
        expected = [getattr(default_scores[label], column) for label in DEFAULT_PRESETS]
        assert list(table[column]) == pytest.approx(expected, abs=1e-9), column
    assert (table["seconds"] >= 0).all()


def test_run_time_chart_names_every_method(default_page):
    default_page.assert_ok()
    seconds = default_page.charts()["cmp_seconds"]
    (trace,) = seconds["data"]
    assert trace["orientation"] == "h"
    assert trace["y"] == list(DEFAULT_PRESETS)
    assert all(value >= 0 for value in trace["x"])


def test_uploaded_image_and_mask_get_a_score_table(start_lab):
    pair = files.synthetic_pair()
    lab = start_lab().use_uploads()
    lab.upload_image(files.Upload("cells.png", pair.image_png, "image/png"))
    lab.assert_ok()
    assert "Scores against the ground truth" not in lab.subheaders()
    lab.upload_mask(files.Upload("cells_mask.png", pair.mask_png, "image/png"))
    lab.assert_ok()
    assert lab.subheaders()[0] == "Scores against the ground truth"
    table = lab.dataframe()
    assert list(table["method"]) == list(DEFAULT_PRESETS)
    expected = {label: segcore.metrics.evaluate(pair.mask, result)
                for label, result in library_results(pair.image, DEFAULT_PRESETS).items()}
    assert list(table["iou"]) == pytest.approx([expected[m].iou for m in DEFAULT_PRESETS], abs=1e-9)
    assert list(table["dice"]) == pytest.approx([expected[m].dice for m in DEFAULT_PRESETS], abs=1e-9)
    assert lab.image_captions()[0] == "Original — cells.png"


def test_without_ground_truth_methods_are_compared_with_each_other(start_lab):
    lab = start_lab()
    lab.at.multiselect(key="cmp_methods").set_value(QUICK_METHODS).run()
    lab.choose_sample("coins")
    lab.assert_ok()
    assert lab.subheaders() == ["Agreement between methods"]
    charts = lab.charts()
    assert set(charts) == {"cmp_agreement", "cmp_seconds"}
    (heatmap,) = charts["cmp_agreement"]["data"]
    assert heatmap["type"] == "heatmap"
    assert heatmap["x"] == heatmap["y"] == QUICK_METHODS
    results = library_results(load_sample("coins")[0], QUICK_METHODS)
    matrix, names = agreement_matrix(results)
    assert names == QUICK_METHODS
    np.testing.assert_allclose(lab.values(heatmap["z"]), matrix, atol=1e-9)
    assert "Scores against the ground truth" not in lab.subheaders()


def test_reference_method_scores_the_others_against_it(start_lab):
    lab = start_lab()
    lab.at.multiselect(key="cmp_methods").set_value(QUICK_METHODS).run()
    lab.choose_sample("coins")
    reference = lab.at.selectbox(key="cmp_reference")
    assert reference.value == "(none)" and reference.options == ["(none)"] + QUICK_METHODS
    chosen = QUICK_METHODS[0]
    reference.set_value(chosen).run()
    lab.assert_ok()
    bars = lab.charts()["cmp_ref_bars"]
    assert bars["layout"]["title"]["text"] == f"Scores against {chosen}"
    iou_trace = next(trace for trace in bars["data"] if trace["name"] == "IoU")
    others = QUICK_METHODS[1:]
    assert iou_trace["x"] == others
    results = library_results(load_sample("coins")[0], QUICK_METHODS)
    expected = [segcore.metrics.iou(results[chosen].binary, results[m].binary) for m in others]
    assert iou_trace["y"] == pytest.approx(expected, abs=1e-9)
    assert lab.at.get("download_button")  # the agreement scores as CSV


def test_removing_the_mask_switches_to_agreement(start_lab):
    lab = start_lab()
    lab.at.multiselect(key="cmp_methods").set_value(QUICK_METHODS[:2]).run()
    lab.remove_mask()
    lab.assert_ok()
    assert lab.subheaders() == ["Agreement between methods"]
    assert "Ground truth" not in lab.image_captions()
    heatmap = lab.charts()["cmp_agreement"]["data"][0]
    assert heatmap["x"] == QUICK_METHODS[:2]
    assert np.diag(lab.values(heatmap["z"])).tolist() == [1.0, 1.0]


def test_no_method_chosen_asks_for_one(start_lab):
    lab = start_lab()
    lab.at.multiselect(key="cmp_methods").set_value([]).run()
    lab.assert_ok()
    assert [i.value for i in lab.at.info] == ["Pick at least one method above."]
    assert not lab.charts()


@pytest.mark.parametrize("overlay", ["Outline", "Both"])
def test_overlay_modes_render(start_lab, overlay):
    lab = start_lab()
    lab.at.multiselect(key="cmp_methods").set_value(QUICK_METHODS[:1]).run()
    lab.at.segmented_control(key="cmp_overlay").set_value(overlay).run()
    lab.assert_ok()
    assert lab.image_captions()[:2] == [f"Original — {SAMPLES[DEFAULT_SAMPLE].title}", "Ground truth"]


def test_a_session_pauses_once_for_its_pictures_to_paint_before_the_first_charts(start_lab, monkeypatch):
    start_lab()  # every default result is now cached: the tiles are sent in milliseconds
    pauses: list[float] = []
    monkeypatch.setattr(display, "PAINT_PAUSE", 30.0)
    monkeypatch.setattr(display, "_sleep", pauses.append)
    lab = start_lab()
    lab.assert_ok()
    assert len(pauses) == 1 and 25.0 < pauses[0] <= 30.0  # the part of the pause not spent sending the tiles
    assert "Scores against the ground truth" in lab.subheaders()  # and the charts follow it
    lab.choose_sample(next(name for name in SAMPLES if name != DEFAULT_SAMPLE))
    lab.assert_ok()
    assert len(pauses) == 1  # later runs find the chart code loaded in the browser
