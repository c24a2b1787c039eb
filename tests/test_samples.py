"""Tests of segcore.samples: every gallery image loads offline, as a fresh copy."""

from __future__ import annotations

import numpy as np
import pytest

from segcore.errors import InvalidParameterError
from segcore.samples import DEFAULT_SAMPLE, SAMPLES, get_sample, load_sample
from segcore.synthetic import make_image


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Fail loudly if a sample tries to download (scikit-image fetches missing data with pooch)."""
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("a sample tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_sample_loads_offline_as_rgb_uint8(name):
    image, mask = load_sample(name)
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert min(image.shape[:2]) >= 64
    assert image.flags.writeable
    if mask is not None:
        assert mask.shape == image.shape[:2]
        assert mask.dtype == np.uint8
        assert set(np.unique(mask).tolist()) == {0, 1}


def test_entries_describe_themselves():
    for name, sample in SAMPLES.items():
        assert sample.name == name
        assert sample.title and sample.description
    assert get_sample("coins").title == "Coins"


def test_default_sample_has_a_mask():
    assert DEFAULT_SAMPLE in SAMPLES
    image, mask = load_sample()
    assert mask is not None and mask.any() and not mask.all()
    np.testing.assert_array_equal(image, load_sample(DEFAULT_SAMPLE)[0])


def test_synthetic_samples_carry_exact_ground_truth():
    names = [n for n in SAMPLES if n.startswith("synthetic_")]
    assert len(names) == 4
    for name in names:
        assert load_sample(name)[1] is not None
    image, mask = load_sample("synthetic_nuclei")
    expected = make_image((256, 256), n_objects=14, radius=(8, 16), noise=0.06, blur=1.0, random_state=7)
    np.testing.assert_array_equal(image, expected.image)
    np.testing.assert_array_equal(mask, expected.mask)


def test_horse_mask_is_the_silhouette():
    image, mask = load_sample("horse")
    gray = image[..., 0].astype(float)
    # The horse is drawn darker (90) than the background (170) before the noise.
    assert 0.1 < mask.mean() < 0.5
    assert gray[mask == 1].mean() == pytest.approx(90, abs=3)
    assert gray[mask == 0].mean() == pytest.approx(170, abs=3)


def test_loading_returns_copies():
    image, mask = load_sample("synthetic_touching")
    original_image, original_mask = image.copy(), mask.copy()
    image[:] = 0
    mask[:] = 1
    again_image, again_mask = load_sample("synthetic_touching")
    np.testing.assert_array_equal(again_image, original_image)
    np.testing.assert_array_equal(again_mask, original_mask)
    assert not np.shares_memory(again_image, image)


def test_unknown_sample_lists_the_names():
    with pytest.raises(InvalidParameterError, match="unknown sample 'lena'; samples are: .*synthetic_nuclei.*coins"):
        load_sample("lena")
