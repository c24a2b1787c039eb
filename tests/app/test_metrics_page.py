"""The Metrics page: the 6x6 worked example and the imbalance chart.

The worked example's numbers are checked against :mod:`segcore.metrics` on
masks built here from the slider positions (truth: a 3x3 square at rows and
columns 1..3; prediction: a ``mx_size`` square moved by ``mx_shift_x`` /
``mx_shift_y`` and cut at the border). The imbalance chart is checked against
the sample's own mask and the presets run directly.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image

from segcore import metrics
from segcore.compare import DEFAULT_PRESETS, PRESETS
from segcore.samples import DEFAULT_SAMPLE, SAMPLES, load_sample
from tests import files

EMPTY = "Empty prediction (marks nothing)"
BAR_METRICS = {"Pixel accuracy": "pixel_accuracy", "IoU": "iou", "Dice": "dice"}
NO_TRUTH = "This needs a ground truth: pick a synthetic sample or upload a mask in the sidebar."


def example_masks(shift_x: int, shift_y: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Truth and prediction of the worked example, cell by cell."""
    rows, cols = np.indices((6, 6))
    truth = (rows >= 1) & (rows <= 3) & (cols >= 1) & (cols <= 3)
    top, left = 1 + shift_y, 1 + shift_x
    pred = (rows >= top) & (rows < top + size) & (cols >= left) & (cols < left + size)
    return truth, pred


def latex_numbers(lab) -> dict[str, tuple[list[int], float]]:
    """The worked example's formulas by score: (integers in the fraction, the result)."""
    found = {}
    for element in lab.at.latex:
        text = element.value.strip().strip("$").strip()
        for name, key in (("IoU", "iou"), ("Dice", "dice"), ("Pixel\\ accuracy", "pixel_accuracy")):
            if text.startswith(rf"\mathrm{{{name}}} =") and "TP" in text:
                _, numbers, result = text.rsplit("=", 2)
                found[key] = ([int(n) for n in re.findall(r"\d+", numbers)], float(result))
    return found


def set_sliders(lab, shift_x: int, shift_y: int, size: int) -> None:
    lab.at.slider(key="mx_shift_x").set_value(shift_x)
    lab.at.slider(key="mx_shift_y").set_value(shift_y)
    lab.at.slider(key="mx_size").set_value(size).run()
    lab.assert_ok()


def bars(lab) -> dict[str, dict[str, float]]:
    """The imbalance chart as {metric title: {method: value}}."""
    figure = lab.charts()["mx_imbalance"]
    return {trace["name"]: dict(zip(trace["x"], lab.values(trace["y"]))) for trace in figure["data"]}


@pytest.fixture(scope="module")
def metrics_page(start_lab):
    """The page on the default sample; tests move the example's sliders but keep the sample."""
    lab = start_lab("metrics")
    lab.assert_ok()
    return lab


def test_defaults_show_the_example_the_formulas_and_the_imbalance_chart(metrics_page):
    metrics_page.assert_ok()
    at = metrics_page.at
    assert at.title[0].value == "Metrics explained"
    assert [s.value for s in at.subheader] == ["A worked example you can count",
                                               "Why pixel accuracy misleads on imbalanced images"]
    assert (at.slider(key="mx_shift_x").value, at.slider(key="mx_shift_y").value,
            at.slider(key="mx_size").value) == (1, 0, 3)
    assert {"mx_grid", "mx_imbalance"} <= set(metrics_page.charts())
    assert not at.info


@pytest.mark.parametrize(
    "shift_x, shift_y, size",
    [
        (1, 0, 3),  # the default: one column off, TP 6, FP 3, FN 3
        (0, 0, 3),  # perfect
        (-1, 2, 2),  # partly outside the truth
        (3, 3, 5),  # cut by the image border
        (-3, -3, 1),  # entirely outside the image: an empty prediction
        (0, 0, 5),  # covers the truth and more
    ],
)
def test_worked_example_numbers_equal_the_library(metrics_page, shift_x, shift_y, size):
    set_sliders(metrics_page, shift_x, shift_y, size)
    truth, pred = example_masks(shift_x, shift_y, size)
    tp = int(np.sum(truth & pred))
    fp = int(np.sum(pred & ~truth))
    fn = int(np.sum(truth & ~pred))
    tn = 36 - tp - fp - fn
    assert metrics_page.markdown_with("TP = ") == [f"TP = **{tp}**, FP = **{fp}**, FN = **{fn}**, TN = **{tn}** (36 cells)"]
    shown = latex_numbers(metrics_page)
    assert shown["iou"] == ([tp, tp, fp, fn], pytest.approx(metrics.iou(truth, pred), abs=5e-4))
    assert shown["dice"] == ([2 * tp, 2 * tp, fp, fn], pytest.approx(metrics.dice(truth, pred), abs=5e-4))
    assert shown["pixel_accuracy"] == ([tp, tn, 36], pytest.approx(metrics.pixel_accuracy(truth, pred), abs=5e-4))
    # printed with three decimals
    assert f"{metrics.iou(truth, pred):.3f}" in metrics_page.at.latex[3].value
    # the grid colours every cell by its kind: 0 TN, 1 FN, 2 FP, 3 TP
    (grid,) = metrics_page.charts()["mx_grid"]["data"]
    kind = np.select([truth & pred, pred, truth], [3, 2, 1], 0)
    np.testing.assert_array_equal(metrics_page.values(grid["z"]), kind)


def test_the_default_example_is_the_one_in_the_text(metrics_page):
    set_sliders(metrics_page, 1, 0, 3)
    shown = latex_numbers(metrics_page)
    assert shown == {"iou": ([6, 6, 3, 3], 0.5), "dice": ([12, 12, 3, 3], 0.667),
                     "pixel_accuracy": ([6, 24, 36], 0.833)}


def test_empty_prediction_bar_has_accuracy_one_minus_the_foreground_and_iou_zero(metrics_page):
    metrics_page.assert_ok()
    image, truth = load_sample(DEFAULT_SAMPLE)
    fraction = np.count_nonzero(truth) / truth.size
    chart = bars(metrics_page)
    assert list(chart) == list(BAR_METRICS)
    assert list(chart["IoU"]) == [EMPTY, *DEFAULT_PRESETS]
    assert chart["Pixel accuracy"][EMPTY] == pytest.approx(1 - fraction, abs=1e-12)
    assert chart["IoU"][EMPTY] == 0.0 and chart["Dice"][EMPTY] == 0.0
    assert metrics_page.markdown_with("A 'method' that marks nothing") == [
        f"In **{SAMPLES[DEFAULT_SAMPLE].title}**, objects cover **{100 * fraction:.1f}%** of the pixels. A "
        f"'method' that marks nothing at all is right about every background pixel: its pixel accuracy is "
        f"**{1 - fraction:.3f}**, while its IoU and Dice are 0. Below, that empty prediction next to the "
        "methods of the Compare page:"]
    # the other bars are the presets scored directly
    for label in DEFAULT_PRESETS:
        scores = metrics.evaluate(truth, PRESETS[label].run(image))
        for title, key in BAR_METRICS.items():
            assert chart[title][label] == pytest.approx(getattr(scores, key), abs=1e-12), (label, key)
    # the point of the chart: useless and useful predictions are close in pixel accuracy, not in IoU
    assert chart["Pixel accuracy"][EMPTY] > 0.9
    assert min(chart["IoU"][label] for label in DEFAULT_PRESETS) > 0.8
    table = metrics_page.dataframe()
    assert list(table["method"]) == [EMPTY, *DEFAULT_PRESETS]
    assert table["pixel_accuracy"].iloc[0] == pytest.approx(1 - fraction, abs=1e-12)


def test_imbalance_chart_follows_the_sample_and_the_compare_pages_methods(start_lab):
    lab = start_lab("metrics")
    lab.at.session_state["cmp_methods"] = ["Otsu threshold", "Local threshold (mean)"]
    lab.choose_sample("synthetic_uneven")
    lab.assert_ok()
    image, truth = load_sample("synthetic_uneven")
    fraction = np.count_nonzero(truth) / truth.size
    chart = bars(lab)
    assert list(chart["IoU"]) == [EMPTY, "Otsu threshold", "Local threshold (mean)"]
    assert chart["Pixel accuracy"][EMPTY] == pytest.approx(1 - fraction, abs=1e-12)
    assert chart["IoU"][EMPTY] == 0.0
    for label in ("Otsu threshold", "Local threshold (mean)"):
        scores = metrics.evaluate(truth, PRESETS[label].run(image))
        assert chart["IoU"][label] == pytest.approx(scores.iou, abs=1e-12)
    # uneven light: the global threshold's IoU collapses while its pixel accuracy stays well above 0.5
    assert chart["IoU"]["Otsu threshold"] < 0.5 < chart["Pixel accuracy"]["Otsu threshold"]


def test_without_ground_truth_the_chart_is_replaced_by_a_hint(start_lab):
    lab = start_lab("metrics")
    lab.choose_sample("coins")
    lab.assert_ok()
    assert [info.value for info in lab.at.info] == [NO_TRUTH]
    assert "mx_imbalance" not in lab.charts()
    assert "mx_grid" in lab.charts()  # the worked example needs no image
    assert latex_numbers(lab)["iou"] == ([6, 6, 3, 3], 0.5)


def test_removing_the_mask_shows_the_hint(start_lab):
    lab = start_lab("metrics")
    assert "mx_imbalance" in lab.charts()
    lab.remove_mask()
    lab.assert_ok()
    assert [info.value for info in lab.at.info] == [NO_TRUTH]
    assert "mx_imbalance" not in lab.charts()


def test_an_all_background_mask_is_described_as_the_chart_shows_it(start_lab):
    empty_mask = io.BytesIO()
    Image.fromarray(np.zeros((256, 256), dtype=np.uint8)).save(empty_mask, format="PNG")
    lab = start_lab("metrics")
    lab.at.session_state["cmp_methods"] = ["Otsu threshold"]
    lab.use_uploads().upload_mask(files.Upload("empty_mask.png", empty_mask.getvalue(), "image/png"))
    lab.assert_ok()
    assert "Ground truth: empty_mask.png" in lab.summary()
    chart = bars(lab)
    assert chart["IoU"][EMPTY] == 1.0  # nothing to find, nothing found
    (paragraph,) = lab.markdown_with("A 'method' that marks nothing")
    assert "IoU and Dice are 0" not in paragraph
