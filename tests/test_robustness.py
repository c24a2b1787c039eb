"""Tests of segcore.robustness: sweeps over one degradation, scored against the exact truth.

Every score a sweep reports is recomputed here independently: the same scene
drawn with :func:`segcore.synthetic.make_scene`, degraded with
:func:`segcore.synthetic.degrade` (same random_state), segmented with the preset and
scored with :func:`segcore.metrics.evaluate`. Scenes are 128x128 or smaller
except where the cheatsheet's claims are checked on the default scene.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from segcore import metrics
from segcore.compare import PRESETS, Preset
from segcore.errors import InvalidParameterError, SegcoreError
from segcore.robustness import DEFAULT_SWEEP_PRESETS, MAX_RUNS, SweepResult, levels_between, sweep
from segcore.synthetic import DEGRADATIONS, degrade, make_scene
from segcore.unet.model import BUNDLED_MODELS

SHAPE = (128, 128)
SMALL_SCENE = {"n_objects": 5, "radius": (6, 10)}
QUICK = ["Otsu threshold", "Local threshold (mean)", "Region growing (auto seeds)", "K-means (K=2)"]
SCORES = ("iou", "dice", "pixel_accuracy")
BUNDLED_WEIGHTS = BUNDLED_MODELS["nuclei"] / "model.safetensors"


def degraded(shape, scene, baseline, degradation, level, random_state):
    """The image and mask a sweep should see at ``level``, built without the sweep."""
    clean = make_scene(shape, random_state=random_state, **scene)
    return degrade(clean, random_state=random_state, **{**baseline, degradation: level})


def rows_by_key(result: SweepResult) -> dict[tuple[str, float], dict]:
    return {(row["method"], row["level"]): row for row in result.rows}


def iou_curve(result: SweepResult, method: str) -> list[float]:
    return [row["iou"] for row in result.rows if row["method"] == method]


@pytest.fixture(scope="module")
def noise_sweep() -> tuple[SweepResult, dict]:
    settings = dict(shape=SHAPE, scene=SMALL_SCENE, baseline={"blur": 1.0, "illumination": 0.2}, random_state=3)
    return sweep(QUICK, "noise", [0.0, 0.1, 0.25], **settings), settings


# --- rows, images and scores -----------------------------------------------------


def test_one_row_per_method_and_level_in_order(noise_sweep):
    result, _ = noise_sweep
    assert result.degradation == "noise"
    assert result.methods == QUICK
    assert result.levels == [0.0, 0.1, 0.25]
    assert [(r["method"], r["level"]) for r in result.rows] == [
        (method, level) for level in (0.0, 0.1, 0.25) for method in QUICK]
    for row in result.rows:
        assert set(row) == {"method", "level", "iou", "dice", "pixel_accuracy", "seconds"}
        assert row["seconds"] >= 0
    assert result.seconds >= sum(row["seconds"] for row in result.rows)


def test_scores_equal_evaluate_on_the_independently_degraded_image(noise_sweep):
    result, settings = noise_sweep
    rows = rows_by_key(result)
    for level in result.levels:
        sample = degraded(settings["shape"], settings["scene"], settings["baseline"], "noise", level,
                          settings["random_state"])
        np.testing.assert_array_equal(result.images[level], sample.image)
        for method in QUICK:
            run = PRESETS[method].run(sample.image)
            expected = metrics.evaluate(sample.mask, run)
            row = rows[(method, level)]
            assert (row["iou"], row["dice"], row["pixel_accuracy"]) == (
                expected.iou, expected.dice, expected.pixel_accuracy), (method, level)
            np.testing.assert_array_equal(result.masks[(method, level)], run.binary)


def test_images_masks_and_truth_are_kept_for_every_level(noise_sweep):
    result, settings = noise_sweep
    assert list(result.images) == result.levels
    assert set(result.masks) == {(method, level) for method in QUICK for level in result.levels}
    for image in result.images.values():
        assert image.shape == (*SHAPE, 3) and image.dtype == np.uint8
    for mask in result.masks.values():
        assert mask.shape == SHAPE and mask.dtype == bool
    clean = make_scene(SHAPE, random_state=settings["random_state"], **SMALL_SCENE)
    np.testing.assert_array_equal(result.truth, clean.mask)
    assert result.truth.any() and not result.truth.all()


def test_without_a_baseline_only_the_swept_degradation_is_applied():
    result = sweep(["Otsu threshold"], "blur", [0.0, 2.0], shape=(64, 64), scene=SMALL_SCENE, random_state=1)
    sharp, blurred = (result.images[level].astype(int) for level in (0.0, 2.0))
    assert not np.array_equal(sharp, blurred)
    assert np.abs(np.diff(blurred, axis=1)).max() < np.abs(np.diff(sharp, axis=1)).max()
    assert set(np.unique(sharp)) == {round(0.2 * 255), round(0.7 * 255)}  # no noise or ramp without a baseline


def test_swept_degradation_overrides_the_baseline_entry():
    baseline = {"noise": 0.3, "blur": 1.5}
    result = sweep(["Otsu threshold"], "noise", [0.0, 0.05], shape=(64, 64), scene=SMALL_SCENE,
                   baseline=baseline, random_state=2)
    for level in result.levels:
        expected = degraded((64, 64), SMALL_SCENE, {"blur": 1.5}, "noise", level, 2)
        np.testing.assert_array_equal(result.images[level], expected.image)
    # had the baseline's noise=0.3 been kept, level 0 would look different
    with_baseline_noise = degraded((64, 64), SMALL_SCENE, {"noise": 0.3}, "blur", 1.5, 2)
    assert not np.array_equal(result.images[0.0], with_baseline_noise.image)


def test_baseline_is_applied_to_every_level():
    baseline = {"illumination": 0.6}
    result = sweep(["Otsu threshold"], "blur", [0.0, 1.0], shape=(64, 64), scene=SMALL_SCENE,
                   baseline=baseline, random_state=0)
    for level in result.levels:
        expected = degraded((64, 64), SMALL_SCENE, baseline, "blur", level, 0)
        np.testing.assert_array_equal(result.images[level], expected.image)
    left, right = result.images[0.0][:, :8].mean(), result.images[0.0][:, -8:].mean()
    assert right > left + 100  # the ramp brightens the right side


@pytest.mark.parametrize("degradation", list(DEGRADATIONS))
def test_every_degradation_sweeps_its_documented_range(degradation):
    low, high = DEGRADATIONS[degradation]["range"]
    result = sweep(["Otsu threshold"], degradation, [low, high], shape=(48, 48), scene={"n_objects": 2,
                                                                                        "radius": (5, 8)})
    assert [row["level"] for row in result.rows] == [low, high]
    assert all(0.0 <= row["iou"] <= 1.0 for row in result.rows)


# --- determinism ----------------------------------------------------------------------------


def test_same_arguments_give_the_same_sweep():
    args = (["Otsu threshold", "K-means (K=2)"], "noise", [0.05, 0.2])
    first = sweep(*args, shape=(64, 64), scene=SMALL_SCENE, random_state=5)
    second = sweep(*args, shape=(64, 64), scene=SMALL_SCENE, random_state=5)
    drop_time = [{k: v for k, v in row.items() if k != "seconds"} for row in first.rows]
    assert drop_time == [{k: v for k, v in row.items() if k != "seconds"} for row in second.rows]
    for level in first.levels:
        np.testing.assert_array_equal(first.images[level], second.images[level])
    for key, mask in first.masks.items():
        np.testing.assert_array_equal(mask, second.masks[key])


def test_another_seed_draws_another_scene():
    first = sweep(["Otsu threshold"], "noise", [0.1], shape=(64, 64), scene=SMALL_SCENE, random_state=0)
    second = sweep(["Otsu threshold"], "noise", [0.1], shape=(64, 64), scene=SMALL_SCENE, random_state=1)
    assert not np.array_equal(first.truth, second.truth)
    assert not np.array_equal(first.images[0.1], second.images[0.1])


# --- progress -------------------------------------------------------------------------------


def test_progress_is_reported_once_per_run_and_ends_at_one():
    calls = []
    sweep(["Otsu threshold", "Local threshold (mean)"], "contrast", [0.5, 0.3, 0.1], shape=(48, 48),
          scene=SMALL_SCENE, progress=lambda fraction, message: calls.append((fraction, message)))
    assert [fraction for fraction, _ in calls] == pytest.approx([n / 6 for n in range(1, 7)])
    assert calls[-1][0] == 1.0
    assert calls[0][1] == "Otsu threshold at contrast = 0.5 (1 of 6)"
    assert calls[-1][1] == "Local threshold (mean) at contrast = 0.1 (6 of 6)"


# --- a method that fails ----------------------------------------------------------------------


def test_a_method_failing_at_one_level_is_recorded_and_the_sweep_goes_on(monkeypatch):
    scene = {"n_objects": 3, "radius": (5, 8)}
    bad_image = degraded((48, 48), scene, {}, "noise", 0.2, 0).image
    real_run = Preset.run

    def run_failing_on_one_image(self, image, **extra):
        if self.label == "K-means (K=2)" and np.array_equal(image, bad_image):
            raise SegcoreError("the clusters did not separate")
        return real_run(self, image, **extra)

    monkeypatch.setattr(Preset, "run", run_failing_on_one_image)
    calls = []
    result = sweep(["Otsu threshold", "K-means (K=2)"], "noise", [0.0, 0.2, 0.3], shape=(48, 48), scene=scene,
                   progress=lambda fraction, message: calls.append(fraction))
    rows = rows_by_key(result)
    failed = rows[("K-means (K=2)", 0.2)]
    assert failed["error"] == "the clusters did not separate"
    assert all(math.isnan(failed[key]) for key in (*SCORES, "seconds"))
    assert ("K-means (K=2)", 0.2) not in result.masks
    assert 0.2 in result.images  # the picture is kept even when a method fails on it
    others = [row for key, row in rows.items() if key != ("K-means (K=2)", 0.2)]
    assert len(others) == 5 and not any("error" in row for row in others)
    assert not any(math.isnan(row["iou"]) for row in others)
    assert len(calls) == 6 and calls[-1] == 1.0
    # the mean over levels leaves the failed level out
    kmeans = [rows[("K-means (K=2)", level)]["iou"] for level in (0.0, 0.3)]
    assert result.mean_scores()["K-means (K=2)"] == pytest.approx(np.mean(kmeans))


def test_a_preset_invalid_for_the_scene_fails_at_every_level_without_aborting(monkeypatch):
    # a seed point beyond a 48x48 image: every run raises InvalidParameterError
    outside = Preset("Region growing (seed at 100, 100)", "region_growing", {"seeds": [(100, 100)]})
    monkeypatch.setitem(PRESETS, outside.label, outside)
    result = sweep([outside.label, "Otsu threshold"], "noise", [0.0, 0.1], shape=(48, 48), scene=SMALL_SCENE)
    failed = [row for row in result.rows if row["method"] == outside.label]
    assert len(failed) == 2
    for row in failed:
        assert "outside the image" in row["error"] and "(row 100, col 100)" in row["error"]
        assert math.isnan(row["iou"]) and math.isnan(row["dice"])
    means = result.mean_scores()
    assert math.isnan(means[outside.label])
    assert means["Otsu threshold"] == pytest.approx(np.mean(iou_curve(result, "Otsu threshold")))


# --- refused arguments ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "methods, degradation, levels, message",
    [
        (["Otsu threshold"], "fog", [0.1], r"unknown degradation 'fog'; choose one of noise, illumination, blur, "
                                           r"contrast"),
        ([], "noise", [0.1], r"choose at least one method to sweep"),
        (["Otsu threshold"], "noise", [], r"a sweep needs at least one level"),
        (["Otsu"], "noise", [0.1], r"unknown preset 'Otsu'; presets are: Otsu threshold, .*U-Net \(nuclei\)"),
        (["Otsu threshold"] * 3, "noise", levels_between(0, 0.4, MAX_RUNS // 3 + 1),
         rf"{3 * (MAX_RUNS // 3 + 1)} runs is too many for one sweep \(at most {MAX_RUNS}\); "
         "use fewer methods or levels"),
    ],
)
def test_bad_arguments_are_refused_with_a_helpful_message(methods, degradation, levels, message):
    with pytest.raises(InvalidParameterError, match=message):
        sweep(methods, degradation, levels, shape=(32, 32), scene={"radius": (3, 5)})


def test_too_many_runs_are_refused_before_any_work(monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("the sweep drew a scene before refusing")

    monkeypatch.setattr("segcore.robustness.make_scene", no_work)
    with pytest.raises(InvalidParameterError, match="too many"):
        sweep(DEFAULT_SWEEP_PRESETS, "noise", levels_between(0, 0.4, MAX_RUNS // len(DEFAULT_SWEEP_PRESETS) + 1))


def test_exactly_max_runs_is_allowed():
    result = sweep(["Otsu threshold"], "noise", levels_between(0.0, 0.4, MAX_RUNS), shape=(16, 16),
                   scene={"n_objects": 1, "radius": (3, 4)})
    assert len(result.rows) == MAX_RUNS
    assert len(result.images) == MAX_RUNS  # levels rounded to 4 decimals are still distinct


def test_a_level_outside_the_degradations_range_is_refused():
    with pytest.raises(InvalidParameterError, match=r"noise must be between 0.0 and 1.0, got 1.5"):
        sweep(["Otsu threshold"], "noise", [0.1, 1.5], shape=(32, 32), scene={"radius": (3, 5)})


def test_repeated_levels_are_refused():
    with pytest.raises(InvalidParameterError, match="level"):
        sweep(["Otsu threshold"], "noise", [0.1, 0.1], shape=(32, 32), scene={"radius": (3, 5)})


def test_objects_too_large_for_the_image_are_refused_with_a_message():
    with pytest.raises(InvalidParameterError, match="radius"):
        sweep(["Otsu threshold"], "noise", [0.1], shape=(32, 32))


# --- levels_between and mean_scores -----------------------------------------------------------


def test_levels_between_spaces_levels_evenly_and_rounds_them():
    assert levels_between(0, 0.4, 8) == [0.0, 0.0571, 0.1143, 0.1714, 0.2286, 0.2857, 0.3429, 0.4]
    assert levels_between(0.05, 0.6, 2) == [0.05, 0.6]
    assert levels_between(1, 0, 3) == [1.0, 0.5, 0.0]
    levels = levels_between(0, 6, 5)
    assert levels == [0.0, 1.5, 3.0, 4.5, 6.0]
    assert all(type(v) is float for v in levels)


@pytest.mark.parametrize("count", [1, 0, -3])
def test_levels_between_needs_two_levels(count):
    with pytest.raises(InvalidParameterError, match=rf"a sweep needs at least 2 levels, got {count}"):
        levels_between(0, 1, count)


def test_levels_between_refuses_a_fractional_count():
    with pytest.raises(InvalidParameterError, match="2.5"):
        levels_between(0, 1, 2.5)


def test_mean_scores_average_each_method_over_levels(noise_sweep):
    result, _ = noise_sweep
    for metric in SCORES:
        means = result.mean_scores(metric)
        assert list(means) == QUICK
        for method in QUICK:
            values = [row[metric] for row in result.rows if row["method"] == method]
            assert means[method] == pytest.approx(np.mean(values))
    assert result.mean_scores() == result.mean_scores("iou")


def test_mean_scores_of_hand_made_rows():
    result = SweepResult(degradation="noise", levels=[0.0, 0.1], methods=["a", "b", "c"], rows=[
        {"method": "a", "level": 0.0, "iou": 0.25}, {"method": "a", "level": 0.1, "iou": 0.75},
        {"method": "b", "level": 0.0, "iou": float("nan")}, {"method": "b", "level": 0.1, "iou": 0.5},
    ])
    means = result.mean_scores()
    assert means["a"] == 0.5 and means["b"] == 0.5
    assert math.isnan(means["c"])  # no rows at all


# --- the cheatsheet's strengths and weaknesses, as data ------------------------------------


def test_uneven_light_breaks_a_global_threshold_but_not_a_local_one():
    """Thresholding "doesn't work well with complex images": one T cannot serve both sides of a ramp."""
    result = sweep(["Otsu threshold", "Local threshold (mean)"], "illumination", [0.0, 0.8])
    rows = rows_by_key(result)
    assert rows[("Otsu threshold", 0.0)]["iou"] > 0.9
    assert rows[("Otsu threshold", 0.8)]["iou"] < 0.5
    assert rows[("Local threshold (mean)", 0.0)]["iou"] > 0.8
    assert rows[("Local threshold (mean)", 0.8)]["iou"] > 0.8


def test_otsu_falls_as_noise_grows():
    """Thresholding is "sensitive to noise": every step of noise costs IoU."""
    result = sweep(["Otsu threshold"], "noise", levels_between(0.0, 0.4, 5), shape=SHAPE)
    curve = iou_curve(result, "Otsu threshold")
    assert curve[0] > 0.95
    assert all(later < earlier for earlier, later in zip(curve, curve[1:])), curve
    assert curve[-1] < 0.7


@pytest.mark.slow
@pytest.mark.skipif(not BUNDLED_WEIGHTS.is_file(), reason=f"bundled U-Net weights not found at {BUNDLED_WEIGHTS}")
def test_unet_is_more_robust_to_noise_than_a_threshold():
    """U-Net: "robust to noise" — it looks at neighbourhoods, a threshold at single pixels."""
    # Nuclei-sized objects, slightly blurred like micrographs: the model was trained on those
    # (on a flat, sharp-edged scene of large discs it scores far lower even without noise).
    result = sweep(["Otsu threshold", "U-Net (nuclei)"], "noise", [0.0, 0.2], shape=SHAPE,
                   scene={"radius": (6, 10)}, baseline={"blur": 1.0})
    rows = rows_by_key(result)
    assert rows[("U-Net (nuclei)", 0.0)]["iou"] > 0.8
    assert rows[("U-Net (nuclei)", 0.2)]["iou"] > rows[("Otsu threshold", 0.2)]["iou"] + 0.2
