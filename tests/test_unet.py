"""Tests of the U-Net: model loading, inference (whole and tiled), the method, features, losses.

A tiny randomly initialised smp U-Net (timm's ``test_efficientnet`` encoder,
130k parameters, decoder of width 16) is written to a temporary folder in
smp's ``save_pretrained`` layout, so everything runs offline in seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("segmentation_models_pytorch")

import segcore  # noqa: E402
from segcore import metrics  # noqa: E402
from segcore.errors import InvalidParameterError  # noqa: E402
from segcore.methods.unet import apply_threshold  # noqa: E402
from segcore.methods.watershed import split_touching  # noqa: E402
from segcore.result import SegmentationResult  # noqa: E402
from segcore.synthetic import make_image, make_scene  # noqa: E402
from segcore.unet import inference  # noqa: E402
from segcore.unet.features import feature_maps  # noqa: E402
from segcore.unet.losses import LOSSES, make_loss  # noqa: E402
from segcore.unet.model import (  # noqa: E402
    BUNDLED_MODELS,
    InvalidCardError,
    LoadedModel,
    build_network,
    card_score_rows,
    load_model,
    read_card,
    resolve_device,
)
from segcore.unet.preprocess import (  # noqa: E402
    INVERT_ABOVE_MEDIAN,
    MIN_STD,
    gray_median,
    image_statistics,
    normalize,
)

TINY_ENCODER = "tu-test_efficientnet"
BUNDLED_WEIGHTS = BUNDLED_MODELS["nuclei"] / "model.safetensors"
CPU = torch.device("cpu")


def tiny_architecture(classes: int = 1) -> dict:
    return {"arch": "unet", "encoder_name": TINY_ENCODER, "decoder_channels": [16, 16, 16, 16, 16],
            "in_channels": 3, "classes": classes}


def save_tiny_model(folder: Path, classes: int = 1, card: dict | None = None) -> Path:
    torch.manual_seed(classes)
    network = build_network(tiny_architecture(classes))
    network.save_pretrained(str(folder))
    (folder / "card.json").write_text(json.dumps(card or {"normalization": "segcore", "threshold": 0.5}))
    return folder


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """One thread: on 2 busy cores, two torch threads wait on each other."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def binary_model(tmp_path_factory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("tiny") / "binary")


@pytest.fixture(scope="module")
def three_class_model(tmp_path_factory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("tiny") / "three", classes=3,
                           card={"normalization": "segcore"})


def pointwise_model(classes: int = 1) -> LoadedModel:
    """A 1x1 convolution: each output pixel depends only on its input pixel, so tiling must be exact."""
    torch.manual_seed(0)
    network = torch.nn.Conv2d(3, classes, kernel_size=1).eval()
    return LoadedModel(network=network, device=CPU, source="pointwise",
                       card={"normalization": "segcore", "classes": classes})


def reference_probabilities(folder: Path, image: np.ndarray) -> np.ndarray:
    """Sigmoid of the network on the reflect-padded, normalised image, computed here step by step."""
    network = load_model(str(folder), device="cpu").network
    rgb = segcore.to_rgb(image)
    h, w = rgb.shape[:2]
    stats = image_statistics(rgb)
    x = normalize(rgb, stats)
    x = np.pad(x, ((0, 0), (0, -h % 32), (0, -w % 32)), mode="reflect")
    with torch.inference_mode():
        logits = network(torch.from_numpy(np.ascontiguousarray(x[None])))
    return torch.sigmoid(logits)[0, 0, :h, :w].numpy()


# --- the method through segment() ---------------------------------------------------


@pytest.mark.parametrize("shape", [(37, 53), (37, 53, 3), (300, 517, 3)])
def test_segment_returns_maps_of_the_image_shape(binary_model, rng, shape):
    image = rng.integers(0, 256, shape, dtype=np.uint8)
    result = segcore.segment(image, "unet", model=str(binary_model), device="cpu", precision="fp32")
    h, w = shape[:2]
    probabilities = result.info["probabilities"]
    assert result.mask.shape == (h, w) and result.mask.dtype == bool
    assert result.labels.shape == (h, w) and result.labels.dtype == np.uint8
    np.testing.assert_array_equal(result.labels, result.mask)
    assert probabilities.shape == (h, w) and probabilities.dtype == np.float32
    assert 0.0 <= probabilities.min() and probabilities.max() <= 1.0
    np.testing.assert_array_equal(result.mask, probabilities > 0.5)
    assert result.info["instances"].shape == (h, w)
    assert result.info["count"] == int(result.info["instances"].max())
    assert result.info["device"] == "cpu" and result.info["precision"] == "fp32"
    assert result.info["class_names"] == ["background", "foreground"]
    assert result.info["normalization"] == "segcore"
    assert result.params["threshold"] == 0.5 and result.params["model"] == str(binary_model)


def test_fp32_probabilities_equal_a_step_by_step_forward_pass(binary_model, rng):
    image = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    result = segcore.segment(image, "unet", model=str(binary_model), device="cpu", precision="fp32")
    np.testing.assert_allclose(result.info["probabilities"], reference_probabilities(binary_model, image),
                               atol=1e-5)


def test_gray_input_equals_its_rgb_repeat(binary_model, rng):
    gray = rng.integers(0, 256, (40, 33), dtype=np.uint8)
    as_gray = segcore.segment(gray, "unet", model=str(binary_model), device="cpu", precision="fp32")
    as_rgb = segcore.segment(np.repeat(gray[..., None], 3, axis=2), "unet", model=str(binary_model),
                             device="cpu", precision="fp32")
    np.testing.assert_array_equal(as_gray.info["probabilities"], as_rgb.info["probabilities"])


def test_threshold_argument_overrides_the_card(binary_model, rng):
    image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    result = segcore.segment(image, "unet", model=str(binary_model), device="cpu", precision="fp32",
                             threshold=0.3, split_instances=False)
    np.testing.assert_array_equal(result.mask, result.info["probabilities"] > 0.3)
    assert result.params["threshold"] == 0.3
    assert "instances" not in result.info and "count" not in result.info


def test_card_threshold_is_the_default(tmp_path, rng):
    folder = save_tiny_model(tmp_path / "m", card={"normalization": "segcore", "threshold": 0.45})
    result = segcore.segment(rng.integers(0, 256, (32, 32), dtype=np.uint8), "unet", model=str(folder),
                             device="cpu", precision="fp32")
    assert result.params["threshold"] == 0.45
    np.testing.assert_array_equal(result.mask, result.info["probabilities"] > 0.45)


@pytest.mark.parametrize("kwargs, message", [
    ({"threshold": 0.0}, "threshold must be between 0 and 1"),
    ({"threshold": 1.5}, "threshold must be between 0 and 1"),
    ({"tile_size": 32}, "tile_size must be at least 64 pixels, got 32"),
    ({"precision": "int8"}, "precision must be auto, fp32, fp16 or bf16, got 'int8'"),
])
def test_bad_method_parameters(binary_model, kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        segcore.segment(np.zeros((32, 32), np.uint8), "unet", model=str(binary_model), device="cpu", **kwargs)


def test_multi_class_model_gives_labels_without_a_mask(three_class_model, rng):
    image = rng.integers(0, 256, (45, 70, 3), dtype=np.uint8)
    result = segcore.segment(image, "unet", model=str(three_class_model), device="cpu", precision="fp32")
    assert result.mask is None
    assert result.labels.dtype == np.uint8 and result.labels.shape == (45, 70)
    assert set(np.unique(result.labels).tolist()) <= {0, 1, 2}
    assert result.info["class_names"] == ["class 0", "class 1", "class 2"]
    probabilities = result.info["probabilities"]
    assert np.all(probabilities >= 1 / 3 - 1e-6) and np.all(probabilities <= 1)
    fractions = result.info["class_fractions"]
    assert fractions.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(fractions, np.bincount(result.labels.ravel(), minlength=3) / result.labels.size)
    assert "count" not in result.info


def test_multi_class_labels_are_the_argmax_of_the_softmax(three_class_model, rng):
    image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    loaded = load_model(str(three_class_model), device="cpu")
    probs = inference.predict_probabilities(loaded, image, precision="fp32")
    assert probs.shape == (3, 64, 64)
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-5)
    result = segcore.segment(image, "unet", model=str(three_class_model), device="cpu", precision="fp32")
    np.testing.assert_array_equal(result.labels, probs.argmax(axis=0))


def test_return_steps_gives_feature_maps(binary_model, rng):
    image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    result = segcore.segment(image, "unet", model=str(binary_model), device="cpu", return_steps=True)
    stages = [step["stage"] for step in result.info["steps"]]
    assert stages[0] == "input" and stages[-1] == "output" and "bottleneck" in stages


# --- inference: tiling, progress, precision --------------------------------------------


def test_tiled_probabilities_equal_one_pass_for_a_pointwise_network(rng):
    loaded = pointwise_model()
    image = rng.integers(0, 256, (200, 150, 3), dtype=np.uint8)
    whole = inference.predict_probabilities(loaded, image, tile_size=512, precision="fp32")
    tiled = inference.predict_probabilities(loaded, image, tile_size=64, precision="fp32")
    assert tiled.shape == whole.shape == (1, 200, 150)
    # Blending identical per-pixel predictions must give them back, corners included.
    np.testing.assert_allclose(tiled[0], whole[0], atol=1e-6)


def test_tiled_probabilities_are_right_at_the_image_corners(rng):
    loaded = pointwise_model()
    image = rng.integers(0, 256, (200, 150, 3), dtype=np.uint8)
    whole = inference.predict_probabilities(loaded, image, tile_size=512, precision="fp32")
    tiled = inference.predict_probabilities(loaded, image, tile_size=64, precision="fp32")
    np.testing.assert_allclose(tiled, whole, atol=1e-6)


def test_tiled_unet_agrees_with_one_pass(binary_model):
    loaded = load_model(str(binary_model), device="cpu")
    image = make_image((200, 150), n_objects=6, radius=(8, 14), random_state=1).image
    whole = inference.predict_probabilities(loaded, image, tile_size=512, precision="fp32")[0]
    tiled = inference.predict_probabilities(loaded, image, tile_size=64, precision="fp32")[0]
    # The tiny network's receptive field is wider than a 64-pixel tile, so each
    # tile sees its own zero padding and exact agreement is impossible; blended
    # tiles must still track the one-pass map closely: nearly perfectly
    # correlated, with a typical difference far below the map's own spread.
    assert np.corrcoef(whole.ravel(), tiled.ravel())[0, 1] > 0.95
    assert np.abs(whole - tiled).mean() < 0.2 * whole.std()
    # segment() passes tile_size through to the same tiled pass.
    result = segcore.segment(image, "unet", model=str(binary_model), device="cpu", precision="fp32", tile_size=64)
    np.testing.assert_array_equal(result.info["probabilities"], tiled)


def test_progress_of_a_whole_image_pass():
    calls = []
    inference.predict_probabilities(pointwise_model(), np.zeros((40, 40), np.uint8), precision="fp32",
                                    progress=lambda fraction, message: calls.append((fraction, message)))
    assert [fraction for fraction, _ in calls] == [0.0, 1.0]


def test_progress_over_tiles_rises_to_one():
    calls = []
    inference.predict_probabilities(pointwise_model(), np.zeros((200, 150), np.uint8), tile_size=64,
                                    batch_size=2, precision="fp32",
                                    progress=lambda fraction, message: calls.append((fraction, message)))
    fractions = [fraction for fraction, _ in calls]
    # 200 rows -> starts 0, 32, 64, 96, 128, 136; 150 columns -> 0, 32, 64, 86: 24 tiles, 12 batches.
    assert len(fractions) == 12
    assert all(0 < a < b for a, b in zip(fractions, fractions[1:]))
    assert fractions[-1] == 1.0 and calls[-1][1] == "tile 24 of 24"


def test_progress_through_segment_is_not_a_parameter(binary_model):
    calls = []
    result = segcore.segment(np.zeros((32, 32), np.uint8), "unet", model=str(binary_model), device="cpu",
                             progress=lambda fraction, message: calls.append(fraction))
    assert calls[-1] == 1.0
    assert "progress" not in result.params


def test_tiles_are_rounded_to_the_stride_and_thin_images_padded(rng):
    loaded = pointwise_model(classes=2)
    image = rng.integers(0, 256, (20, 300, 3), dtype=np.uint8)  # thinner than a tile
    tiled = inference.predict_probabilities(loaded, image, tile_size=100, precision="fp32")
    whole = inference.predict_probabilities(loaded, image, tile_size=512, precision="fp32")
    assert tiled.shape == (2, 20, 300)
    np.testing.assert_allclose(tiled.sum(axis=0), 1.0, atol=1e-5)
    np.testing.assert_allclose(tiled, whole, atol=1e-6)


def test_resolve_precision():
    assert inference.resolve_precision(CPU, "fp32") == "fp32"
    assert inference.resolve_precision(CPU, "bf16") == "bf16"
    assert inference.resolve_precision(torch.device("cuda"), "auto") == "fp16"
    assert inference.resolve_precision(torch.device("mps"), "auto") == "fp32"
    try:
        native_bf16 = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        native_bf16 = False
    assert inference.resolve_precision(CPU, "auto") == ("bf16" if native_bf16 else "fp32")
    with pytest.raises(InvalidParameterError, match="precision must be"):
        inference.resolve_precision(CPU, "half")


def test_bf16_probabilities_are_close_to_fp32(binary_model, rng):
    image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    loaded = load_model(str(binary_model), device="cpu")
    fp32 = inference.predict_probabilities(loaded, image, precision="fp32")
    bf16 = inference.predict_probabilities(loaded, image, precision="bf16")
    assert not np.array_equal(fp32, bf16)  # the autocast really ran
    assert np.abs(fp32 - bf16).max() < 0.05  # bf16 keeps 8 mantissa bits


def test_fp16_on_cpu_runs_float16():
    assert inference._autocast(CPU, "fp16").fast_dtype == torch.float16


# --- re-thresholding and instances -------------------------------------------------------


def probability_result(probability: np.ndarray, threshold: float = 0.5) -> SegmentationResult:
    mask = probability > threshold
    return SegmentationResult("unet", mask.view(np.uint8), mask, params={"threshold": threshold, "min_distance": 3},
                              info={"probabilities": probability})


def test_apply_threshold_rethresholds_and_counts_objects():
    scene = make_scene((96, 96), n_objects=4, radius=(7, 10), touching=True, eccentricity=0.0, random_state=1)
    # A probability map that is 0.8 on objects and 0.2 elsewhere.
    probability = np.where(scene.mask, 0.8, 0.2).astype(np.float32)
    result = apply_threshold(probability_result(probability, 0.9), 0.5)
    np.testing.assert_array_equal(result.mask, scene.mask)
    np.testing.assert_array_equal(result.labels, scene.mask)
    # Two overlapping pairs: two components, split into four nuclei.
    assert result.info["count"] == 4
    expected, count = split_touching(scene.mask, min_distance=3)
    np.testing.assert_array_equal(result.info["instances"], expected)
    assert result.params["threshold"] == 0.5 and result.params["split_instances"] is True


def test_apply_threshold_without_splitting_drops_instances():
    base = probability_result(np.array([[0.2, 0.5, 0.9]], dtype=np.float32))
    base.info.update(instances=np.zeros((1, 3), np.uint8), count=0)
    result = apply_threshold(base, 0.3, split_instances=False)
    np.testing.assert_array_equal(result.mask, [[False, True, True]])
    assert "instances" not in result.info and "count" not in result.info
    assert "instances" in base.info  # the original result is untouched


def test_apply_threshold_refusals():
    with pytest.raises(InvalidParameterError, match="between 0 and 1"):
        apply_threshold(probability_result(np.zeros((2, 2), np.float32)), 1.0)
    multi_class = SegmentationResult("unet", np.zeros((2, 2), np.uint8), None, info={"probabilities": np.ones((2, 2))})
    with pytest.raises(InvalidParameterError, match="only a binary U-Net result"):
        apply_threshold(multi_class, 0.5)


# --- loading models --------------------------------------------------------------------------


def test_loading_is_cached_per_source_and_device(binary_model):
    first = load_model(str(binary_model), device="cpu")
    assert load_model(binary_model, device="cpu") is first
    assert first.classes == 1 and first.normalization == "segcore" and first.threshold == 0.5
    assert not first.network.training


def test_card_merges_config_and_card(binary_model):
    card = read_card(binary_model)
    assert card["classes"] == 1 and card["normalization"] == "segcore"
    assert card["architecture"]["encoder_name"] == TINY_ENCODER


def test_a_safetensors_file_with_its_config_loads_the_same_network(binary_model, rng):
    from_file = load_model(str(binary_model / "model.safetensors"), device="cpu")
    from_folder = load_model(str(binary_model), device="cpu")
    image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    np.testing.assert_array_equal(inference.predict_probabilities(from_file, image, precision="fp32"),
                                  inference.predict_probabilities(from_folder, image, precision="fp32"))


def test_missing_folder(tmp_path):
    with pytest.raises(InvalidParameterError, match="neither a bundled model .*nuclei"):
        load_model(str(tmp_path / "no_such_model"), device="cpu")


def test_folder_without_config(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(InvalidParameterError, match="has no config.json"):
        load_model(str(tmp_path), device="cpu")


def test_folder_without_weights(tmp_path, binary_model):
    (tmp_path / "config.json").write_text((binary_model / "config.json").read_text())
    with pytest.raises(InvalidParameterError, match="has no model.safetensors .*never pickles"):
        load_model(str(tmp_path), device="cpu")


def test_bare_safetensors_without_config(tmp_path, binary_model):
    lonely = tmp_path / "weights.safetensors"
    lonely.write_bytes((binary_model / "model.safetensors").read_bytes())
    with pytest.raises(InvalidParameterError, match="bare state dict; put the model's smp config.json beside it"):
        load_model(str(lonely), device="cpu")


@pytest.mark.parametrize("name", ["model.pt", "model.pth", "model.ckpt"])
def test_pickle_checkpoints_are_refused(tmp_path, name):
    checkpoint = tmp_path / name
    checkpoint.write_bytes(b"\x80\x04not really a pickle")
    with pytest.raises(InvalidParameterError, match="pickle-based checkpoint; for safety only .safetensors"):
        load_model(str(checkpoint), device="cpu")


def test_other_files_are_not_models(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(InvalidParameterError, match="is not a model"):
        load_model(str(text), device="cpu")


def test_hub_id_offline_fails_fast_with_a_clear_message(monkeypatch):
    import huggingface_hub.constants

    # The Hub library reads HF_HUB_OFFLINE when imported; set both so no request is tried.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(InvalidParameterError) as caught:
        load_model("segcore-tests/no-such-model", device="cpu")
    message = str(caught.value)
    assert "Hugging Face Hub" in message and "HF_HUB_OFFLINE=1 is set" in message and "offline" in message
    assert "'segcore-tests/no-such-model'" in message


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_cuda_without_a_gpu_is_a_clear_error(binary_model):
    expected = "device 'cuda' was asked for but this machine has no usable CUDA GPU"
    with pytest.raises(InvalidParameterError, match=expected):
        load_model(str(binary_model), device="cuda")
    with pytest.raises(InvalidParameterError, match="no usable CUDA GPU"):
        segcore.segment(np.zeros((32, 32), np.uint8), "unet", model=str(binary_model), device="cuda")


def test_unknown_device_names_the_choices():
    with pytest.raises(InvalidParameterError, match="unknown device 'gpu0': use 'auto', 'cpu', 'cuda' or 'mps'"):
        resolve_device("gpu0")
    assert resolve_device("cpu") == CPU
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")


@pytest.mark.slow
@pytest.mark.skipif(not BUNDLED_WEIGHTS.is_file(), reason=f"bundled U-Net weights not found at {BUNDLED_WEIGHTS}")
def test_bundled_nuclei_model():
    from segcore.samples import load_sample

    loaded = load_model("nuclei", device="cpu")
    card = loaded.card
    assert loaded.normalization == "segcore" and loaded.classes == 1
    assert 0.0 < loaded.threshold < 1.0 and card["threshold"] == loaded.threshold
    assert card["training"]["command"].startswith("python -m segcore.train ")
    assert card["training"]["best_epoch"] >= 1
    assert 0.0 < card["validation_during_training"]["val_iou"] <= 1.0
    image, mask = load_sample("synthetic_nuclei")
    result = segcore.segment(image, "unet", device="cpu")
    assert result.params["model"] == "nuclei"
    assert metrics.iou(mask, result.mask) > 0.8


# --- preprocessing ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [25, 24])
def test_gray_median_is_the_lower_median(rng, size):
    gray = rng.integers(0, 256, (size, 1), dtype=np.uint8)
    assert gray_median(gray) == np.sort(gray.ravel())[(size - 1) // 2]


@pytest.mark.parametrize("level, inverted", [(INVERT_ABOVE_MEDIAN, False), (INVERT_ABOVE_MEDIAN + 1, True),
                                             (30, False), (220, True)])
def test_inversion_rule_at_the_median_limit(level, inverted):
    image = np.full((10, 10), level, dtype=np.uint8)
    image[0, :3] = 255 - level  # a few pixels of the other kind do not move the median
    assert image_statistics(image).inverted is inverted


def test_statistics_are_those_of_the_rgb_image(rng):
    image = rng.integers(0, 120, (20, 30, 3), dtype=np.uint8)
    stats = image_statistics(image)
    assert stats.inverted is False
    assert stats.mean == pytest.approx(image.mean(), rel=1e-9)
    assert stats.std == pytest.approx(image.std(), rel=1e-9)
    bright = 255 - image
    inverted = image_statistics(bright)
    assert inverted.inverted is True
    assert inverted.mean == pytest.approx(image.mean(), rel=1e-9)
    assert inverted.std == pytest.approx(image.std(), rel=1e-9)


def test_inversion_can_be_forced(rng):
    image = rng.integers(0, 100, (8, 8), dtype=np.uint8)
    assert image_statistics(image, invert=True).inverted is True
    assert image_statistics(255 - image, invert=False).inverted is False


def test_flat_image_std_is_clamped():
    assert image_statistics(np.full((5, 5), 40, np.uint8)).std == MIN_STD


def test_normalize_standardises_and_inverts(rng):
    image = rng.integers(150, 256, (16, 12, 3), dtype=np.uint8)
    stats = image_statistics(image)
    assert stats.inverted
    x = normalize(image, stats)
    assert x.shape == (3, 16, 12) and x.dtype == np.float32 and x.flags.c_contiguous
    expected = ((255.0 - image.astype(np.float64)) - stats.mean) / stats.std
    np.testing.assert_allclose(x, expected.transpose(2, 0, 1), atol=1e-5)
    assert x.mean() == pytest.approx(0.0, abs=1e-5) and x.std() == pytest.approx(1.0, abs=1e-5)
    # Tiles use the whole image's statistics.
    np.testing.assert_array_equal(normalize(image[4:8, 2:6], stats), x[:, 4:8, 2:6])


def test_normalize_gray_repeats_the_channel(rng):
    gray = rng.integers(0, 256, (6, 7), dtype=np.uint8)
    stats = image_statistics(gray)
    np.testing.assert_array_equal(normalize(gray, stats), normalize(np.repeat(gray[..., None], 3, 2), stats))


# --- feature maps ----------------------------------------------------------------------------


def test_feature_maps_levels_shapes_and_skips(binary_model, rng):
    loaded = load_model(str(binary_model), device="cpu")
    image = rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)
    steps = feature_maps(loaded, image, per_level=3)
    assert [s["stage"] for s in steps] == (["input"] + ["encoder"] * 4 + ["bottleneck"] + ["decoder"] * 5
                                           + ["output"])
    encoder_channels = loaded.network.encoder.out_channels  # [3, 16, 24, 32, 48, 64]
    by_level = {s["level"]: s for s in steps if s["stage"] in ("encoder", "bottleneck")}
    for level, step in by_level.items():
        assert step["size"] == (64 // 2 ** level, 96 // 2 ** level)
        assert step["channels"] == encoder_channels[level]
        assert step["maps"].shape == (3,) + step["size"] and step["maps"].dtype == np.uint8
        assert len(step["channel_ids"]) == 3
    decoders = {s["level"]: s for s in steps if s["stage"] == "decoder"}
    for level, step in decoders.items():
        assert step["size"] == (64 // 2 ** (5 - level), 96 // 2 ** (5 - level))
        assert step["channels"] == 16
    # The skip mapping both ways, and the sizes that concatenation needs.
    for level in range(1, 5):
        target = decoders[by_level[level]["skip_to"]]
        assert target["skip_from"] == level and target["size"] == by_level[level]["size"]
    assert decoders[5]["skip_from"] is None and "skip_to" not in by_level[5]
    assert steps[0]["maps"].shape == (3, 64, 96)
    np.testing.assert_array_equal(steps[0]["maps"], np.moveaxis(image, 2, 0))
    # The output is the probability map of an unpadded image (64x96 needs no padding).
    probabilities = inference.predict_probabilities(loaded, image, precision="fp32")[0]
    output = steps[-1]["maps"][0].astype(int)
    assert np.abs(output - np.rint(probabilities * 255)).max() <= 1


def test_feature_map_skips_match_what_the_decoder_receives(binary_model, rng):
    loaded = load_model(str(binary_model), device="cpu")
    received = []
    hooks = [block.register_forward_pre_hook(
        lambda _m, args, kwargs: received.append(kwargs.get("skip_connection")), with_kwargs=True)
        for block in loaded.network.decoder.blocks]
    try:
        steps = feature_maps(loaded, rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    finally:
        for hook in hooks:
            hook.remove()
    channels = loaded.network.encoder.out_channels  # distinct per level, so channels identify the level
    decoders = [s for s in steps if s["stage"] == "decoder"]
    for step, skip in zip(decoders, received):
        if step["skip_from"] is None:
            assert skip is None
        else:
            assert skip.shape[1] == channels[step["skip_from"]]


def test_feature_maps_downscale_large_images(binary_model, rng):
    loaded = load_model(str(binary_model), device="cpu")
    steps = feature_maps(loaded, rng.integers(0, 256, (300, 517), dtype=np.uint8), max_side=128)
    assert steps[0]["size"] == (74, 128) and steps[-1]["size"] == (74, 128)
    assert steps[-1]["maps"].shape == (1, 74, 128)


def test_feature_maps_need_a_unet():
    with pytest.raises(InvalidParameterError, match="only be shown for U-Net style models"):
        feature_maps(pointwise_model(), np.zeros((32, 32), np.uint8))


# --- losses ----------------------------------------------------------------------------------


def target_and_logits():
    target = torch.zeros(2, 1, 8, 8)
    target[:, :, 2:6, 2:6] = 1.0
    return target, (target * 2 - 1) * 20.0  # confident and right


def test_perfect_prediction_has_near_zero_losses():
    target, logits = target_and_logits()
    for name in ("dice", "iou", "bce", "bce+dice"):
        assert make_loss(name)(logits, target).item() < 1e-3


def test_wrong_prediction_has_dice_near_one():
    target, logits = target_and_logits()
    assert make_loss("dice")(-logits, target).item() > 0.99
    assert make_loss("iou")(-logits, target).item() > 0.99


def test_loss_values_match_their_formulas():
    torch.manual_seed(0)
    logits = torch.randn(2, 1, 6, 6)
    target = (torch.rand(2, 1, 6, 6) > 0.6).float()
    p = torch.sigmoid(logits)
    inter, total_p, total_g = (p * target).sum(), p.sum(), target.sum()
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, target)
    dice = 1 - 2 * inter / (total_p + total_g)  # smp's losses: no smoothing term
    iou = 1 - inter / (total_p + total_g - inter)
    assert make_loss("bce")(logits, target).item() == pytest.approx(bce.item(), rel=1e-6)
    assert make_loss("dice")(logits, target).item() == pytest.approx(dice.item(), rel=1e-6)
    assert make_loss("iou")(logits, target).item() == pytest.approx(iou.item(), rel=1e-6)
    combined = make_loss("bce+dice")(logits, target).item()
    assert combined == pytest.approx(make_loss("bce")(logits, target).item()
                                     + make_loss("dice")(logits, target).item(), rel=1e-6)


def test_losses_accept_half_logits_and_backpropagate():
    target, _ = target_and_logits()
    logits = torch.zeros(2, 1, 8, 8, dtype=torch.bfloat16, requires_grad=True)
    loss = make_loss("bce+dice")(logits, target)
    assert loss.dtype == torch.float32
    loss.backward()
    assert logits.grad is not None and torch.isfinite(logits.grad.float()).all()


def test_unknown_loss_lists_the_choices():
    assert LOSSES == ("bce", "dice", "bce+dice", "focal", "iou", "lovasz", "bce+lovasz")
    with pytest.raises(InvalidParameterError,
                       match="unknown loss 'hinge'; choose one of bce, dice, bce\\+dice, focal, iou, lovasz, "):
        make_loss("hinge")


def test_lovasz_is_zero_when_confidently_right_and_one_minus_iou_scaled_otherwise():
    target = torch.zeros(1, 1, 4, 4)
    target[0, 0, :2] = 1
    lovasz = make_loss("lovasz")
    assert lovasz((2 * target - 1) * 5, target).item() == 0.0
    # Undecided logits (0): every pixel's error is 1, so the loss is the whole Jaccard loss, 1.
    assert lovasz(torch.zeros_like(target), target).item() == pytest.approx(1.0)
    # Everything foreground with margin 1: background errors are 2, IoU is 0.5, loss 2 * (1 - 0.5).
    assert lovasz(torch.ones_like(target), target).item() == pytest.approx(1.0)
    assert make_loss("bce+lovasz")(torch.ones_like(target), target).item() == pytest.approx(
        torch.nn.functional.binary_cross_entropy_with_logits(torch.ones_like(target), target).item() + 1.0)


def test_focal_loss_discounts_easy_pixels():
    target = torch.zeros(1, 1, 4, 4)
    target[0, 0, 0, 0] = 1
    easy = (2 * target - 1) * 3  # every pixel right with a margin
    bce, focal = make_loss("bce"), make_loss("focal")
    assert 0 < focal(easy, target).item() < 0.1 * bce(easy, target).item()


def test_border_weights_scale_the_cross_entropy_term_only():
    torch.manual_seed(1)
    logits = torch.randn(1, 1, 6, 6)
    target = (torch.rand(1, 1, 6, 6) > 0.5).float()
    weight = torch.full_like(target, 2.0)
    assert make_loss("bce")(logits, target, weight).item() == pytest.approx(2 * make_loss("bce")(logits, target).item())
    both = make_loss("bce+dice")
    assert both(logits, target, weight).item() == pytest.approx(
        2 * make_loss("bce")(logits, target).item() + make_loss("dice")(logits, target).item(), rel=1e-6)


def test_model_load_time_is_reported_and_only_paid_once(tmp_path, rng):
    folder = save_tiny_model(tmp_path / "fresh")
    image = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    first = segcore.segment(image, "unet", model=str(folder), device="cpu")
    second = segcore.segment(image, "unet", model=str(folder), device="cpu")
    assert 0 < first.info["model_load_seconds"] <= first.seconds
    # The second call finds the model in the cache: no reading of the file.
    assert second.info["model_load_seconds"] < first.info["model_load_seconds"]


def test_card_score_rows_of_the_bundled_card():
    card = read_card(Path(BUNDLED_MODELS["nuclei"]))
    rows = card_score_rows(card)
    assert [row["method"] for row in rows][0] == "this model"
    assert rows[0]["IoU"] == card["evaluation"]["unet"]["iou"]
    assert any(name.startswith("fluorescence (") for name in rows[0])
    assert card_score_rows({"training": {}}) == []


# --- untrusted model files -------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ('{"threshold": "abc"}', "threshold must be a number between 0 and 1"),
    ('{"threshold": 5}', "threshold must be a number between 0 and 1"),
    ('{"threshold": 0}', "threshold must be a number between 0 and 1"),
    ('{"threshold": true}', "threshold must be a number between 0 and 1"),
    ("[1, 2]", "card.json must hold a JSON object"),
    ('"just text"', "card.json must hold a JSON object"),
    ("{not json", "card.json is not valid JSON"),
    ('{"classes": "three"}', "classes must be a whole number from 1 to 1000"),
    ('{"classes": 100000}', "classes must be a whole number from 1 to 1000"),
    ('{"class_names": "background"}', "class_names must be a list of at most"),
    ('{"class_names": [1, 2]}', "class_names must be a list of at most"),
    ('{"normalization": "whatever"}', "normalization must be one of segcore, imagenet"),
    ('{"training": [1]}', "training must be a JSON object"),
    ('{"evaluation": {"unet": {"iou": "high"}}}', "the scores in evaluation.unet must be numbers"),
    ('{"evaluation": {"unet": {"iou": 0.9, "per_modality_iou": {"x": 3}}}}', "per_modality_iou must map"),
])
def test_a_hostile_card_is_refused_with_a_message(tmp_path, binary_model, text, expected):
    folder = tmp_path / "hostile"
    folder.mkdir()
    for name in ("config.json", "model.safetensors"):
        (folder / name).write_bytes((binary_model / name).read_bytes())
    (folder / "card.json").write_text(text)
    with pytest.raises(InvalidCardError, match=expected):
        read_card(folder)
    with pytest.raises(InvalidParameterError, match=expected):  # never loaded with it
        load_model(str(folder), device="cpu")


@pytest.mark.parametrize("config, expected", [
    ("[1, 2]", "config.json must hold a JSON object"),
    ('{"classes": -1}', "config.json: classes must be a whole number"),
    ('{"classes": 2, "id2label": ["a", "b"]}', "id2label must map class numbers"),
    ('{"classes": 2, "class_names": {"0": "a"}}', "class_names must be a list"),
])
def test_a_hostile_config_is_refused_with_a_message(tmp_path, config, expected):
    (tmp_path / "config.json").write_text(config)
    with pytest.raises(InvalidCardError, match=expected):
        read_card(tmp_path)


def test_unknown_card_keys_are_ignored_and_html_names_stay_plain_text(tmp_path, binary_model):
    folder = tmp_path / "names"
    folder.mkdir()
    (folder / "config.json").write_text((binary_model / "config.json").read_text())
    names = ["background", "<script>alert(1)</script>", "<b>bold</b>"]
    (folder / "card.json").write_text(json.dumps({"class_names": names, "future_key": {"x": [1]}, "threshold": 0.4}))
    card = read_card(folder)
    assert card["class_names"] == names and card["threshold"] == 0.4 and card["future_key"] == {"x": [1]}


def test_concurrent_first_loads_of_one_model_load_it_once(tmp_path, monkeypatch):
    import threading

    from segcore.unet import model as model_module

    folder = save_tiny_model(tmp_path / "once")
    real_load = model_module._load
    calls, started, release = [], threading.Event(), threading.Event()

    def counting_load(*key):
        calls.append(key)
        started.set()
        release.wait(60)  # hold the first load until the second caller waits for it
        return real_load(*key)

    monkeypatch.setattr(model_module, "_load", counting_load)
    got = []
    threads = [threading.Thread(target=lambda: got.append(load_model(str(folder), device="cpu"))) for _ in range(2)]
    threads[0].start()
    assert started.wait(60)
    threads[1].start()
    cache_key = (str(folder), str(folder.resolve()), "cpu")
    while not model_module._MODELS.waiting(cache_key):
        threads[1].join(0.01)
        assert threads[1].is_alive()
    release.set()
    for thread in threads:
        thread.join(60)
    assert len(calls) == 1
    assert len(got) == 2 and got[0] is got[1]


def test_a_hub_repository_without_safetensors_is_refused_not_unpickled(monkeypatch):
    import huggingface_hub
    from huggingface_hub.errors import EntryNotFoundError

    asked = []

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", lambda repo_id, filename, **kw: (
        asked.append(filename) or (_ for _ in ()).throw(EntryNotFoundError(f"{filename} not in {repo_id}"))))
    with pytest.raises(InvalidParameterError, match="only safetensors weights are loaded, never pickles"):
        load_model("segcore-tests/pickles-only", device="cpu")
    assert asked and "pytorch_model.bin" not in asked
