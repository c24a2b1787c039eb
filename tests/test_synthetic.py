"""Tests of segcore.synthetic: exact scenes, degradations and their validation."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from segcore.errors import InvalidParameterError
from segcore.instances import to_instances
from segcore.synthetic import DEGRADATIONS, degrade, make_image, make_scene, with_level


def gray_of(sample) -> np.ndarray:
    """The single gray channel of a degraded image (all three channels are equal)."""
    image = sample.image
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    np.testing.assert_array_equal(image[..., 0], image[..., 1])
    np.testing.assert_array_equal(image[..., 0], image[..., 2])
    return image[..., 0]


def to_uint8(values: np.ndarray) -> np.ndarray:
    """The conversion degrade ends with: [0, 1] floats to rounded uint8."""
    return np.clip(np.rint(np.asarray(values, dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)


def pair_components(instances: np.ndarray) -> list[set[int]]:
    """For every connected component of the mask, the set of instance labels inside it."""
    components, count = to_instances(instances > 0, connectivity=8)
    return [set(np.unique(instances[components == c]).tolist()) for c in range(1, count + 1)]


def high_frequency_energy(gray: np.ndarray) -> float:
    """Spectral energy outside the central (low-frequency) quarter of the spectrum."""
    spectrum = np.abs(np.fft.fftshift(np.fft.fft2(gray.astype(np.float64) - gray.mean()))) ** 2
    h, w = gray.shape
    yy, xx = np.mgrid[0:h, 0:w]
    radius = np.hypot((yy - h // 2) / h, (xx - w // 2) / w)
    return float(spectrum[radius > 0.125].sum())


# --- make_scene ---------------------------------------------------------------


def test_same_arguments_give_the_same_scene_and_image():
    first = make_scene((64, 80), n_objects=5, radius=(4, 9), texture=0.2, random_state=3)
    second = make_scene((64, 80), n_objects=5, radius=(4, 9), texture=0.2, random_state=3)
    np.testing.assert_array_equal(first.intensity, second.intensity)
    np.testing.assert_array_equal(first.instances, second.instances)
    assert first.params == second.params
    noisy = [degrade(first, noise=0.1, illumination=0.3, blur=1.0, random_state=5) for _ in range(2)]
    np.testing.assert_array_equal(noisy[0].image, noisy[1].image)


def test_another_seed_gives_another_layout_and_another_noise():
    a = make_scene((64, 64), n_objects=4, radius=(5, 8), random_state=1)
    b = make_scene((64, 64), n_objects=4, radius=(5, 8), random_state=2)
    assert not np.array_equal(a.instances, b.instances)
    noise_a = degrade(a, noise=0.1, random_state=1)
    noise_b = degrade(a, noise=0.1, random_state=2)
    assert not np.array_equal(noise_a.image, noise_b.image)
    np.testing.assert_array_equal(noise_a.mask, noise_b.mask)


def test_scene_arrays_have_the_documented_types():
    scene = make_scene((40, 56), n_objects=3, radius=(4, 6), random_state=0)
    assert scene.intensity.shape == (40, 56) and scene.intensity.dtype == np.float32
    assert scene.instances.shape == (40, 56) and scene.instances.dtype == np.int32
    assert scene.mask.dtype == bool
    np.testing.assert_array_equal(scene.mask, scene.instances > 0)
    assert 0.0 <= scene.intensity.min() and scene.intensity.max() <= 1.0


@pytest.mark.parametrize("random_state", range(6))
@pytest.mark.parametrize("n_objects", [0, 1, 5])
def test_exact_number_of_instances_numbered_one_to_n(random_state, n_objects):
    scene = make_scene((96, 96), n_objects=n_objects, radius=(5, 9), random_state=random_state)
    values = np.unique(scene.instances)
    np.testing.assert_array_equal(values, np.arange(n_objects + 1))
    assert scene.params["n_objects"] == n_objects


def test_crowded_scene_reports_the_number_actually_placed():
    scene = make_scene((32, 32), n_objects=40, radius=(6, 8), random_state=0)
    placed = int(scene.instances.max())
    assert 0 < placed < 40
    assert scene.params["n_objects"] == placed
    np.testing.assert_array_equal(np.unique(scene.instances), np.arange(placed + 1))


@pytest.mark.parametrize("random_state", range(5))
def test_separate_objects_are_separate_components(random_state):
    scene = make_scene((96, 96), n_objects=5, radius=(5, 9), random_state=random_state)
    # Every component of the mask holds exactly one instance.
    assert sorted(pair_components(scene.instances), key=min) == [{k} for k in range(1, 6)]


def test_separate_objects_never_touch_in_crowded_scenes():
    # Seeds 31, 127, 139 and 169 of this configuration each merge two separate objects.
    for random_state in (31, 127, 139, 169):
        scene = make_scene((64, 64), n_objects=8, radius=(4, 8), random_state=random_state)
        _, count = to_instances(scene.mask)
        assert count == int(scene.instances.max()), f"seed {random_state}: {count} components"


@pytest.mark.parametrize("n_objects, expected", [(4, 4), (5, 6), (1, 2)])
def test_touching_rounds_the_count_up_to_pairs(n_objects, expected):
    scene = make_scene((128, 128), n_objects=n_objects, radius=(6, 9), touching=True,
                       eccentricity=0.0, random_state=0)
    np.testing.assert_array_equal(np.unique(scene.instances), np.arange(expected + 1))
    assert scene.params["n_objects"] == expected


@pytest.mark.parametrize("random_state", range(12))
def test_touching_discs_form_one_component_per_pair(random_state):
    scene = make_scene((96, 96), n_objects=4, radius=(6, 10), touching=True, eccentricity=0.0, random_state=random_state)
    n = int(scene.instances.max())
    assert n == 4
    # Pairs are drawn as consecutive labels (1, 2), (3, 4): each pair is one
    # connected component of the mask and still two instances.
    assert sorted(pair_components(scene.instances), key=min) == [{1, 2}, {3, 4}]


def test_touching_ellipses_always_overlap():
    cases = [((96, 96), (6, 10), 0.3, 9)] + [((64, 64), (5, 9), 0.6, s) for s in (0, 6, 9, 26)]
    for shape, radius, eccentricity, random_state in cases:
        scene = make_scene(shape, n_objects=4, radius=radius, touching=True, eccentricity=eccentricity,
                           random_state=random_state)
        assert sorted(pair_components(scene.instances), key=min) == [{1, 2}, {3, 4}], (
            f"seed {random_state}, eccentricity {eccentricity}")


@pytest.mark.parametrize("background, contrast", [(0.2, 0.5), (0.0, 1.0), (0.35, 0.1)])
def test_clean_levels_are_exact(background, contrast):
    scene = make_scene((64, 64), n_objects=4, radius=(5, 8), background=background, contrast=contrast,
                       random_state=2)
    assert scene.background == background and scene.contrast == contrast
    assert np.all(scene.intensity[~scene.mask] == np.float32(background))
    assert np.all(scene.intensity[scene.mask] == np.float32(background + contrast))
    gray = gray_of(degrade(scene))
    np.testing.assert_array_equal(np.unique(gray[~scene.mask]), [to_uint8(background)])
    np.testing.assert_array_equal(np.unique(gray[scene.mask]), [to_uint8(background + contrast)])


def test_dark_objects_are_below_the_background():
    scene = make_scene((64, 64), n_objects=3, radius=(5, 8), background=0.8, contrast=0.3,
                       dark_objects=True, random_state=1)
    assert np.all(scene.intensity[scene.mask] == np.float32(0.8 - 0.3))
    assert np.all(scene.intensity[~scene.mask] == np.float32(0.8))


def test_object_level_is_clipped_to_one():
    scene = make_scene((48, 48), n_objects=2, radius=(5, 7), background=0.8, contrast=0.5, random_state=0)
    assert np.all(scene.intensity[scene.mask] == 1.0)


def test_texture_varies_objects_only_and_within_its_amplitude():
    scene = make_scene((96, 96), n_objects=4, radius=(8, 12), background=0.2, contrast=0.4, texture=0.1,
                       random_state=4)
    inside = scene.intensity[scene.mask]
    assert np.all(scene.intensity[~scene.mask] == np.float32(0.2))
    assert inside.std() > 0.005
    assert np.all(np.abs(inside - 0.6) <= 0.1 + 1e-6)


# --- degrade ------------------------------------------------------------------


def test_no_degradation_is_the_clean_scene():
    scene = make_scene((48, 64), n_objects=3, radius=(4, 8), texture=0.2, random_state=8)
    np.testing.assert_array_equal(gray_of(degrade(scene)), to_uint8(scene.intensity))


@pytest.mark.parametrize("sigma", [0.02, 0.05, 0.1])
def test_noise_std_matches_the_request(sigma):
    flat = make_scene((128, 128), n_objects=0, background=0.5, random_state=0)
    gray = gray_of(degrade(flat, noise=sigma, random_state=3)).astype(np.float64)
    # 16k pixels: the sample std is within 2% of the truth, rounding adds 1/12 of a level².
    assert gray.std() == pytest.approx(sigma * 255, rel=0.03)
    assert gray.mean() == pytest.approx(0.5 * 255, abs=0.5)


def test_noise_is_added_to_the_scene():
    scene = make_scene((96, 96), n_objects=5, radius=(6, 10), background=0.3, contrast=0.3, random_state=6)
    gray = gray_of(degrade(scene, noise=0.04, random_state=7)).astype(np.float64)
    residual = gray - scene.intensity * 255.0
    assert residual.std() == pytest.approx(0.04 * 255, rel=0.05)
    assert abs(residual.mean()) < 0.3


@pytest.mark.parametrize("angle, axis, brighter_at_end", [(0, 1, True), (180, 1, False), (90, 0, True)])
def test_illumination_ramp_is_monotone_across_the_image(angle, axis, brighter_at_end):
    flat = make_scene((40, 60), n_objects=0, background=0.5, random_state=0)
    gray = gray_of(degrade(flat, illumination=0.4, illumination_angle=angle)).astype(int)
    # Constant along the other axis, monotone along the ramp, from 0.3 to 0.7 of the range.
    profile = gray.mean(axis=1 - axis)
    np.testing.assert_array_equal(gray, np.broadcast_to(np.expand_dims(profile, 1 - axis), gray.shape))
    steps = np.diff(profile)
    assert np.all(steps >= 0) if brighter_at_end else np.all(steps <= 0)
    low, high = sorted((profile[0], profile[-1]))
    assert low == pytest.approx(0.3 * 255, abs=1) and high == pytest.approx(0.7 * 255, abs=1)


def test_illumination_ramp_is_centred_for_any_angle():
    flat = make_scene((50, 50), n_objects=0, background=0.5, random_state=0)
    gray = gray_of(degrade(flat, illumination=0.6, illumination_angle=45)).astype(float)
    # From -0.3 to +0.3 of the range, corner to opposite corner.
    assert gray[0, 0] == pytest.approx(0.2 * 255, abs=1)
    assert gray[-1, -1] == pytest.approx(0.8 * 255, abs=1)
    assert np.all(np.diff(gray, axis=0) >= 0) and np.all(np.diff(gray, axis=1) >= 0)


def test_blur_is_a_gaussian_of_the_clean_intensity():
    scene = make_scene((64, 64), n_objects=4, radius=(5, 8), random_state=3)
    blurred = gray_of(degrade(scene, blur=2.0))
    np.testing.assert_array_equal(blurred, to_uint8(cv2.GaussianBlur(scene.intensity, (0, 0), 2.0)))


def test_blur_removes_high_frequencies_more_as_sigma_grows():
    scene = make_scene((64, 64), n_objects=6, radius=(4, 8), random_state=5)
    energies = [high_frequency_energy(gray_of(degrade(scene, blur=sigma))) for sigma in (0.0, 0.7, 1.5, 3.0)]
    assert all(a > b for a, b in zip(energies, energies[1:]))
    # How much survives depends on the layout's total edge length; at sigma 3
    # this scene keeps about 1%.
    assert energies[-1] < 0.02 * energies[0]


@pytest.mark.parametrize("target", [0.1, 0.25, 0.6])
def test_contrast_rescales_the_object_background_difference(target):
    scene = make_scene((64, 64), n_objects=3, radius=(5, 8), background=0.2, contrast=0.5, random_state=0)
    gray = gray_of(degrade(scene, contrast=target))
    np.testing.assert_array_equal(np.unique(gray[~scene.mask]), [to_uint8(0.2)])
    np.testing.assert_array_equal(np.unique(gray[scene.mask]), [to_uint8(0.2 + target)])


def test_contrast_of_dark_objects_stays_dark():
    scene = make_scene((64, 64), n_objects=3, radius=(5, 8), background=0.7, contrast=0.4,
                       dark_objects=True, random_state=0)
    gray = gray_of(degrade(scene, contrast=0.2))
    np.testing.assert_array_equal(np.unique(gray[scene.mask]), [to_uint8(0.5)])


def test_contrast_is_reached_when_the_scene_level_was_clipped():
    # background 0.6 + contrast 0.6 clips the objects to 1.0 (effective contrast 0.4).
    scene = make_scene((64, 64), n_objects=3, radius=(5, 8), background=0.6, contrast=0.6, random_state=0)
    gray = gray_of(degrade(scene, contrast=0.2))
    np.testing.assert_array_equal(np.unique(gray[scene.mask]), [to_uint8(0.8)])


def test_degrade_never_changes_mask_instances_or_the_scene():
    scene = make_scene((64, 64), n_objects=4, radius=(5, 8), touching=True, random_state=2)
    before = scene.intensity.copy()
    for kwargs in [{}, {"noise": 0.3, "random_state": 1}, {"illumination": 1.5, "illumination_angle": 30},
                   {"blur": 5.0}, {"contrast": 0.05}]:
        sample = degrade(scene, **kwargs)
        np.testing.assert_array_equal(sample.mask, scene.mask)
        np.testing.assert_array_equal(sample.instances, scene.instances)
        assert sample.mask.dtype == bool and sample.instances.dtype == np.int32
        assert not np.shares_memory(sample.instances, scene.instances)
    np.testing.assert_array_equal(scene.intensity, before)


def test_degrade_records_its_parameters():
    scene = make_scene((32, 32), n_objects=1, radius=(4, 5), random_state=0)
    params = degrade(scene, noise=0.1, blur=1.0, random_state=9).params
    assert params["noise"] == 0.1 and params["blur"] == 1.0 and params["noise_random_state"] == 9
    assert params["contrast"] == scene.contrast and params["n_objects"] == 1


def test_make_image_is_make_scene_then_degrade():
    sample = make_image((48, 48), noise=0.05, illumination=0.2, blur=1.0, random_state=4, n_objects=3,
                        radius=(4, 7))
    scene = make_scene((48, 48), n_objects=3, radius=(4, 7), random_state=4)
    expected = degrade(scene, noise=0.05, illumination=0.2, blur=1.0, random_state=4)
    np.testing.assert_array_equal(sample.image, expected.image)
    np.testing.assert_array_equal(sample.instances, expected.instances)


# --- sweeps and validation -------------------------------------------------------


def test_with_level_sets_one_degradation():
    assert with_level("noise", 0.1) == {"noise": 0.1}
    assert with_level("blur", 2) == {"blur": 2.0}


@pytest.mark.parametrize("name", list(DEGRADATIONS))
def test_every_degradation_accepts_its_whole_range(name):
    scene = make_scene((32, 32), n_objects=2, radius=(4, 6), random_state=0)
    spec = DEGRADATIONS[name]
    assert set(spec) >= {"title", "neutral", "range"}
    low, high = spec["range"]
    assert low <= spec["neutral"] <= high
    for level in (low, high, spec["neutral"]):
        sample = degrade(scene, **with_level(name, level))
        np.testing.assert_array_equal(sample.mask, scene.mask)


@pytest.mark.parametrize("name", list(DEGRADATIONS))
def test_neutral_level_leaves_the_default_scene_unchanged(name):
    scene = make_scene((32, 32), n_objects=2, radius=(4, 6), random_state=0)
    neutral = degrade(scene, **with_level(name, DEGRADATIONS[name]["neutral"]))
    np.testing.assert_array_equal(neutral.image, degrade(scene).image)


def test_with_level_unknown_name_lists_the_choices():
    with pytest.raises(InvalidParameterError, match="unknown degradation 'fog'.*noise.*illumination.*blur"):
        with_level("fog", 1.0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"shape": (8, 64)}, r"at least 16x16 pixels, got 8x64"),
        ({"n_objects": -1}, r"n_objects must be a whole number, zero or more, got -1"),
        ({"radius": (0.5, 4)}, r"radius must be at least 1 pixel"),
        ({"background": 1.5}, r"background must be between 0.0 and 1.0, got 1.5"),
        ({"contrast": -0.1}, r"contrast must be between 0.0 and 1.0, got -0.1"),
        ({"eccentricity": 0.95}, r"eccentricity must be between 0.0 and 0.9, got 0.95"),
        ({"texture": 2.0}, r"texture must be between 0.0 and 1.0, got 2.0"),
        ({"background": float("nan")}, r"background must be between 0.0 and 1.0, got nan"),
    ],
)
def test_make_scene_rejects_bad_values_with_the_allowed_range(kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        make_scene(**kwargs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"noise": -0.1}, r"noise must be between 0.0 and 1.0, got -0.1"),
        ({"illumination": 3}, r"illumination must be between 0.0 and 2.0, got 3"),
        ({"blur": 60}, r"blur must be between 0.0 and 50.0, got 60"),
        ({"contrast": 1.5}, r"contrast must be between 0.0 and 1.0, got 1.5"),
    ],
)
def test_degrade_rejects_bad_values_with_the_allowed_range(kwargs, message):
    scene = make_scene((16, 16), n_objects=0)
    with pytest.raises(InvalidParameterError, match=message):
        degrade(scene, **kwargs)


def test_make_scene_rejects_a_fractional_object_count():
    with pytest.raises(InvalidParameterError, match="n_objects"):
        make_scene((32, 32), n_objects=2.5, radius=(3, 4))
