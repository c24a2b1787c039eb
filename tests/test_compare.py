"""Tests of segcore.compare: presets, score rows, agreement matrix, CSV."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from segcore import metrics
from segcore.compare import (
    DEFAULT_PRESETS,
    PRESETS,
    agreement_matrix,
    get_preset,
    rows_to_csv,
    run_presets,
    score_rows,
)
from segcore.errors import InvalidParameterError
from segcore.result import SegmentationResult
from segcore.synthetic import make_image
from segcore.unet.model import BUNDLED_MODELS

BUNDLED_WEIGHTS = BUNDLED_MODELS["nuclei"] / "model.safetensors"
UNET_PRESET = "U-Net (nuclei)"


def preset_param(label: str):
    if PRESETS[label].method == "unet":
        return pytest.param(label, marks=[pytest.mark.slow, pytest.mark.skipif(
            not BUNDLED_WEIGHTS.is_file(), reason=f"bundled U-Net weights not found at {BUNDLED_WEIGHTS}")])
    return label


@pytest.fixture(scope="module")
def scene():
    sample = make_image((96, 96), n_objects=5, radius=(7, 11), noise=0.04, blur=1.0, random_state=2)
    return sample.image, sample.mask


@pytest.fixture(scope="module")
def results(scene):
    """Three quick presets run once for the scoring tests."""
    image, _ = scene
    results, failures = run_presets(image, ["Otsu threshold", "K-means (K=2)", "Region growing (auto seeds)"])
    assert not failures
    return results


@pytest.mark.parametrize("label", [preset_param(label) for label in PRESETS])
def test_every_preset_runs_through_segment(scene, label):
    image, truth = scene
    preset = PRESETS[label]
    assert preset.label == label
    result = preset.run(image)
    assert isinstance(result, SegmentationResult)
    assert result.method == preset.method
    assert result.labels.shape == truth.shape
    for key, value in preset.params.items():
        if value == "auto" or key == "model":  # resolved to the choice made / the model's source
            assert result.params[key] != "auto"
        else:
            assert result.params[key] == value
    # A clean bright-on-dark scene: every preset finds the objects.
    scores = metrics.evaluate(truth, result)
    assert scores.recall > 0.95 and scores.iou > 0.85


def test_preset_extra_parameters_override(scene):
    image, _ = scene
    result = get_preset("Otsu threshold").run(image, polarity="dark")
    assert result.params["polarity"] == "dark"


def test_defaults_are_presets():
    assert set(DEFAULT_PRESETS) <= set(PRESETS)
    assert UNET_PRESET in PRESETS


def test_unknown_preset_lists_presets():
    with pytest.raises(InvalidParameterError, match="unknown preset 'Magic'; presets are: Otsu threshold, "):
        get_preset("Magic")
    with pytest.raises(InvalidParameterError, match="unknown preset"):
        run_presets(np.zeros((16, 16), np.uint8), ["Magic"])


def test_run_presets_reports_progress_in_order(scene):
    image, _ = scene
    calls = []
    labels = ["Otsu threshold", "K-means (K=2)"]
    shown = []
    results, failures = run_presets(image, labels, progress=lambda fraction, message: calls.append((fraction, message)),
                                    on_result=lambda label, result: shown.append((label, result)))
    assert list(results) == labels and not failures
    assert calls == [(0.0, "running Otsu threshold"), (0.5, "running K-means (K=2)"), (1.0, "done")]
    assert [(label, result) for label, result in shown] == list(results.items())


def test_run_presets_reports_a_failing_method_and_runs_the_others(scene):
    image, _ = scene

    def run(preset):
        if preset.method == "kmeans":
            raise InvalidParameterError("refused for this test")
        return preset.run(image)

    results, failures = run_presets(image, ["K-means (K=2)", "Otsu threshold"], run=run)
    assert list(results) == ["Otsu threshold"]
    assert failures == {"K-means (K=2)": "refused for this test"}


def test_score_rows_equal_evaluate(scene, results):
    _, truth = scene
    rows = score_rows(truth, results)
    assert [row["method"] for row in rows] == list(results)
    for row, result in zip(rows, results.values()):
        expected = metrics.evaluate(truth, result, match="oracle")
        for key in ("iou", "dice", "pixel_accuracy", "precision", "recall", "mean_iou"):
            assert row[key] == getattr(expected, key)
        assert row["per_class_iou"] == expected.per_class_iou.tolist()
        assert row["seconds"] == result.seconds
        assert row["matched"] == (expected.match != "none")
    # Otsu gives a binary mask (scored as it is); region growing gives labels (matched).
    assert rows[0]["matched"] is False


def test_score_rows_pass_the_matching(scene, results):
    _, truth = scene
    rows = score_rows(truth, results, match="majority")
    for row, result in zip(rows, results.values()):
        assert row["iou"] == metrics.evaluate(truth, result, match="majority").iou


def test_agreement_matrix_is_symmetric_iou(results):
    matrix, names = agreement_matrix(results)
    assert names == list(results)
    assert matrix.shape == (3, 3)
    np.testing.assert_array_equal(matrix, matrix.T)
    np.testing.assert_array_equal(np.diag(matrix), 1.0)
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            if i != j:
                assert matrix[i, j] == metrics.iou(results[a].binary, results[b].binary)


def test_agreement_matrix_of_known_masks():
    def result(mask):
        mask = np.array(mask, dtype=bool)
        return SegmentationResult("threshold", mask.view(np.uint8), mask)

    matrix, names = agreement_matrix({"a": result([[1, 1, 0, 0]]), "b": result([[1, 0, 0, 0]]),
                                      "c": result([[0, 0, 1, 1]])})
    np.testing.assert_array_equal(matrix, [[1.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 1.0]])


def test_rows_to_csv_parses_back(scene, results):
    _, truth = scene
    rows = score_rows(truth, results)
    text = rows_to_csv(rows)
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert len(parsed) == len(rows)
    assert list(parsed[0]) == list(rows[0])
    for row, back in zip(rows, parsed):
        assert back["method"] == row["method"]
        assert float(back["iou"]) == pytest.approx(row["iou"], rel=1e-5)
        assert back["matched"] == str(row["matched"])
        per_class = [float(v) for v in back["per_class_iou"].split(";")]
        assert per_class == pytest.approx(row["per_class_iou"], abs=5e-5)


def test_rows_to_csv_columns_and_empty():
    rows = [{"method": "a, with comma", "iou": 1 / 3, "dice": 0.5}]
    text = rows_to_csv(rows, columns=["method", "iou"])
    assert text.splitlines() == ["method,iou", '"a, with comma",0.333333']
    assert rows_to_csv([]) == ""
