"""Tests of U-Net training (``python -m segcore.train``) and its data pipeline.

The smoke test trains a tiny network (timm's ``test_efficientnet`` encoder,
decoder width 16) for 2 epochs of 2 steps on six synthetic 64x64 images
written in the train/val folder layout, then resumes it to a third epoch;
those tests are marked ``slow`` (a few seconds of training in all).
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("segmentation_models_pytorch")

import segcore  # noqa: E402
from segcore.errors import InvalidParameterError  # noqa: E402
from segcore.synthetic import make_image  # noqa: E402
from segcore.unet.data import (  # noqa: E402
    MODALITY_WEIGHTS,
    Augmentation,
    Sample,
    augment,
    batch,
    load_split,
    sampling_weights,
)
from segcore.unet.model import load_model  # noqa: E402
from segcore.unet.train import LOG_FIELDS, learning_rate_factor, main, parse_args  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TINY_ENCODER = "tu-test_efficientnet"
MODALITIES = {"img0": "fluorescence", "img1": "fluorescence", "img2": "brightfield", "img3": "histology",
              "img4": "fluorescence", "img5": "fluorescence"}


def write_dataset(root: Path) -> Path:
    """Six synthetic 64x64 images: four for training, two for validation, masks as 0/255 PNG."""
    rows = []
    for split, seeds in (("train", range(4)), ("val", range(4, 6))):
        (root / split / "images").mkdir(parents=True)
        (root / split / "masks").mkdir(parents=True)
        for random_state in seeds:
            sample = make_image((64, 64), n_objects=3, radius=(6, 10), random_state=random_state)
            name = f"img{random_state}"
            cv2.imwrite(str(root / split / "images" / f"{name}.png"), sample.image[..., ::-1])
            cv2.imwrite(str(root / split / "masks" / f"{name}.png"), sample.mask.astype(np.uint8) * 255)
            rows.append({"id": name, "split": split, "modality": MODALITIES[name]})
    with (root / "index.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, ["id", "split", "modality"])
        writer.writeheader()
        writer.writerows(rows)
    return root


def train_args(data: Path, out: Path, epochs: int) -> list[str]:
    return ["--data", str(data), "--out", str(out), "--epochs", str(epochs), "--steps-per-epoch", "2",
            "--batch-size", "2", "--crop", "64", "--encoder", TINY_ENCODER,
            "--decoder-channels", "16,16,16,16,16", "--device", "cpu", "--amp", "off", "--threads", "1"]


def read_log(out: Path) -> tuple[list[str], list[dict[str, str]]]:
    with (out / "log.csv").open(newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def run(dataset, tmp_path_factory):
    """Train 2 epochs, then resume to 3; keeps copies of what the first run wrote."""
    previous_threads = torch.get_num_threads()  # --threads 1 changes torch's global setting
    out = tmp_path_factory.mktemp("run") / "out"
    args = train_args(dataset, out, epochs=2)
    try:
        first_code = main(args)
        first_log = read_log(out)
        first_card = json.loads((out / "best" / "card.json").read_text())
        resume_code = main(train_args(dataset, out, epochs=3) + ["--resume"])
    finally:
        torch.set_num_threads(previous_threads)
    return {"out": out, "args": args, "first_code": first_code, "first_log": first_log,
            "first_card": first_card, "resume_code": resume_code}


# --- the training command ---------------------------------------------------------------


@pytest.mark.slow
def test_training_writes_a_log_row_per_epoch(run):
    assert run["first_code"] == 0
    fields, rows = run["first_log"]
    assert fields == LOG_FIELDS
    assert [row["epoch"] for row in rows] == ["1", "2"]
    assert [row["step"] for row in rows] == ["2", "4"]
    for row in rows:
        assert 0.0 <= float(row["val_iou"]) <= 1.0 and 0.0 <= float(row["val_dice"]) <= 1.0
        assert float(row["val_iou"]) <= float(row["val_dice"]) + 1e-9  # IoU never exceeds Dice
        assert float(row["train_loss"]) > 0 and float(row["lr"]) > 0
        # Both validation images are fluorescence: that column is the overall mean.
        assert row["val_iou_fluorescence"] == row["val_iou"]
        assert row["val_iou_histology"] == "" and row["val_iou_brightfield"] == ""
    assert float(rows[0]["seconds"]) <= float(rows[1]["seconds"])


@pytest.mark.slow
def test_training_exports_the_best_epoch(run):
    best = run["out"] / "best"
    assert sorted(p.name for p in best.iterdir()) == ["card.json", "config.json", "model.safetensors"]
    from safetensors import safe_open

    with safe_open(str(best / "model.safetensors"), framework="pt") as weights:
        dtypes = {weights.get_tensor(key).dtype for key in weights.keys()}
    assert torch.float16 in dtypes and torch.float32 not in dtypes
    config = json.loads((best / "config.json").read_text())
    assert config["encoder_name"] == TINY_ENCODER and config["decoder_channels"] == [16] * 5


@pytest.mark.slow
def test_card_records_the_training(run):
    card = run["first_card"]
    _, rows = run["first_log"]
    training = card["training"]
    assert training["command"] == "python -m segcore.train " + " ".join(run["args"])
    assert card["normalization"] == "segcore" and card["classes"] == 1 and card["threshold"] == 0.5
    assert card["architecture"]["encoder_name"] == TINY_ENCODER
    assert training["train_images"] == 4 and training["val_images"] == 2
    assert training["steps_per_epoch"] == 2 and training["batch_size"] == 2 and training["crop"] == 64
    assert training["precision"] == "fp32" and training["device"] == "cpu"
    best_row = max(rows, key=lambda row: float(row["val_iou"]))
    assert training["best_epoch"] == int(best_row["epoch"])
    assert card["validation_during_training"]["val_iou"] == pytest.approx(float(best_row["val_iou"]), abs=1e-4)


@pytest.mark.slow
def test_output_folder_has_config_and_checkpoint(run):
    out = run["out"]
    assert (out / "last.pt").is_file()
    config = json.loads((out / "config.json").read_text())
    assert config["encoder"] == TINY_ENCODER and config["epochs"] == 3 and config["resume"] is True


@pytest.mark.slow
def test_resume_continues_to_the_next_epoch(run):
    assert run["resume_code"] == 0
    fields, rows = read_log(run["out"])
    assert fields == LOG_FIELDS
    assert [row["epoch"] for row in rows] == ["1", "2", "3"]
    assert rows[:2] == run["first_log"][1]  # the first two rows are kept as written
    assert rows[2]["step"] == "6"
    assert float(rows[2]["seconds"]) >= float(rows[1]["seconds"])


@pytest.mark.slow
def test_resumed_run_equals_an_uninterrupted_one(run, dataset, tmp_path):
    # 300 warm-up steps (the default) make the learning rate independent of
    # --epochs here, so three epochs at once must repeat the resumed run exactly.
    out = tmp_path / "straight"
    previous_threads = torch.get_num_threads()
    try:
        assert main(train_args(dataset, out, epochs=3)) == 0
    finally:
        torch.set_num_threads(previous_threads)
    _, straight = read_log(out)
    _, resumed = read_log(run["out"])
    for a, b in zip(straight, resumed):
        assert (a["train_loss"], a["val_iou"], a["lr"]) == (b["train_loss"], b["val_iou"], b["lr"])


@pytest.mark.slow
def test_exported_model_loads_and_segments(run):
    best = run["out"] / "best"
    loaded = load_model(str(best), device="cpu")
    assert loaded.classes == 1 and loaded.normalization == "segcore" and loaded.class_names == ["background", "nucleus"]
    assert all(p.dtype == torch.float32 for p in loaded.network.parameters())
    image = make_image((64, 64), n_objects=3, radius=(6, 10), random_state=9).image
    result = segcore.segment(image, "unet", model=str(best), device="cpu", precision="fp32")
    assert result.mask.shape == (64, 64) and result.params["model"] == str(best)
    assert result.info["class_names"] == ["background", "nucleus"]


def test_module_entry_point_shows_help():
    completed = subprocess.run([sys.executable, "-m", "segcore.train", "--help"], cwd=REPO, capture_output=True,
                               text=True, timeout=60)
    assert completed.returncode == 0
    assert "usage: python -m segcore.train" in completed.stdout and "--resume" in completed.stdout


def test_missing_data_folder_exits_with_a_message(tmp_path, capsys):
    assert main(["--data", str(tmp_path / "nothing"), "--out", str(tmp_path / "out"), "--device", "cpu"]) == 2
    assert "error: expected" in capsys.readouterr().err


def test_parse_args_reads_decoder_channels():
    config = parse_args(["--data", "d", "--out", "o", "--decoder-channels", "32,16,8,8,8", "--loss", "dice"])
    assert config.decoder_channels == [32, 16, 8, 8, 8] and config.loss == "dice"
    assert parse_args(["--data", "d", "--out", "o"]).decoder_channels is None  # the --init model's, else the default


def test_architecture_comes_from_the_init_model_unless_given(tmp_path):
    from segcore.unet.model import DEFAULT_ARCHITECTURE

    assert network_architecture(parse_args(["--data", "d", "--out", "o"])) == DEFAULT_ARCHITECTURE
    saved = tmp_path / "saved"
    saved.mkdir()
    (saved / "config.json").write_text(json.dumps(dict(DEFAULT_ARCHITECTURE, decoder_channels=[64, 32, 16, 16, 8])))
    from_init = network_architecture(parse_args(["--data", "d", "--out", "o", "--init", str(saved)]))
    assert from_init["decoder_channels"] == [64, 32, 16, 16, 8]
    assert from_init["encoder_name"] == DEFAULT_ARCHITECTURE["encoder_name"]
    given = network_architecture(parse_args(["--data", "d", "--out", "o", "--init", str(saved),
                                             "--decoder-channels", "96,48,24,16,8"]))
    assert given["decoder_channels"] == [96, 48, 24, 16, 8]
    bundled = json.loads((init_folder("bundled") / "config.json").read_text())
    assert network_architecture(quick_config(tmp_path / "o"))["decoder_channels"] == bundled["decoder_channels"]


def test_learning_rate_warms_up_then_decays_to_one_percent():
    assert learning_rate_factor(0, 100, 10) == pytest.approx(0.1)
    assert learning_rate_factor(9, 100, 10) == pytest.approx(1.0)
    assert learning_rate_factor(10, 100, 10) == pytest.approx(1.0)
    assert learning_rate_factor(55, 100, 10) == pytest.approx(0.01 + 0.99 * 0.5)
    assert learning_rate_factor(100, 100, 10) == pytest.approx(0.01)
    factors = [learning_rate_factor(s, 100, 10) for s in range(10, 101)]
    assert all(a >= b for a, b in zip(factors, factors[1:]))


# --- data -----------------------------------------------------------------------------------


def test_load_split_reads_pairs_and_modalities(dataset):
    train = load_split(dataset, "train")
    assert [s.name for s in train] == ["img0", "img1", "img2", "img3"]
    assert [s.modality for s in train] == ["fluorescence", "fluorescence", "brightfield", "histology"]
    expected = make_image((64, 64), n_objects=3, radius=(6, 10), random_state=0)
    np.testing.assert_array_equal(train[0].image, expected.image)
    np.testing.assert_array_equal(train[0].mask, expected.mask)
    assert train[0].mask.dtype == bool
    assert len(load_split(dataset, "val", limit=1)) == 1


def test_load_split_errors(tmp_path):
    with pytest.raises(InvalidParameterError, match="must name a folder with train/images and train/masks"):
        load_split(tmp_path, "train")
    (tmp_path / "train" / "images").mkdir(parents=True)
    (tmp_path / "train" / "masks").mkdir()
    cv2.imwrite(str(tmp_path / "train" / "images" / "lonely.png"), np.zeros((8, 8), np.uint8))
    with pytest.raises(InvalidParameterError, match="no image/mask pairs found"):
        load_split(tmp_path, "train")


def make_sample(modality: str = "fluorescence", size: int = 64, random_state: int = 0, clean: bool = False) -> Sample:
    degradation = {"noise": 0.0, "blur": 0.0} if clean else {}
    synthetic = make_image((size, size), n_objects=3, radius=(6, 10), random_state=random_state, **degradation)
    return Sample(f"s{random_state}", synthetic.image, synthetic.mask, modality)


def test_sampling_weights_sum_to_one_and_oversample_rare_modalities():
    samples = [make_sample("fluorescence"), make_sample("brightfield"), make_sample("histology"),
               make_sample("unknown"), make_sample("fluorescence", size=128)]
    weights = sampling_weights(samples)
    assert weights.sum() == pytest.approx(1.0)
    fluorescence = weights[0]
    assert weights[1] == pytest.approx(MODALITY_WEIGHTS["brightfield"] * fluorescence)
    assert weights[1] == pytest.approx(3 * fluorescence)
    assert weights[2] == pytest.approx(2 * fluorescence)
    assert weights[3] == pytest.approx(fluorescence)
    assert weights[4] == pytest.approx(2 * fluorescence)  # 4x the area, sqrt: 2x the weight


@pytest.mark.parametrize("size, crop", [(64, 32), (40, 64)])
def test_augment_shapes_and_types(size, crop):
    x, y = augment(make_sample(size=size), Augmentation(crop=crop), np.random.default_rng(0))
    assert x.shape == (3, crop, crop) and x.dtype == np.float32 and x.flags.c_contiguous
    assert y.shape == (crop, crop) and y.dtype == np.float32 and y.flags.c_contiguous
    assert set(np.unique(y).tolist()) <= {0.0, 1.0}
    assert np.isfinite(x).all()


def test_augment_is_deterministic_for_a_seed():
    sample, aug = make_sample(), Augmentation(crop=48)
    first = [augment(sample, aug, np.random.default_rng(7)) for _ in range(2)]
    np.testing.assert_array_equal(first[0][0], first[1][0])
    np.testing.assert_array_equal(first[0][1], first[1][1])
    other = augment(sample, aug, np.random.default_rng(8))
    assert not np.array_equal(first[0][0], other[0])


def test_augment_keeps_image_and_mask_aligned():
    # Flat bright objects on a dark background (not inverted), no photometric
    # change but normalisation, no zoom: the normalised crop thresholds back to its mask.
    sample = make_sample(clean=True)
    still = Augmentation(crop=48, scale=(1.0, 1.0), gamma=(1.0, 1.0), contrast=(1.0, 1.0), brightness=0.0,
                         p_invert=0.0, p_blur=0.0, noise_std=0.0)
    level = (0.45 * 255 - sample.stats.mean) / sample.stats.std  # halfway between the levels 0.2 and 0.7
    for random_state in range(6):
        x, y = augment(sample, still, np.random.default_rng(random_state))
        np.testing.assert_array_equal(x[0] > level, y > 0.5)


def test_augment_zoom_keeps_image_and_mask_aligned():
    sample = make_sample(clean=True)
    zoomed = Augmentation(crop=48, gamma=(1.0, 1.0), contrast=(1.0, 1.0), brightness=0.0, p_invert=0.0,
                          p_blur=0.0, noise_std=0.0)
    level = (0.45 * 255 - sample.stats.mean) / sample.stats.std
    for random_state in range(6):
        x, y = augment(sample, zoomed, np.random.default_rng(random_state))
        assert np.mean((x[0] > level) == (y > 0.5)) > 0.97  # only resampled edges may differ


def test_batch_shapes():
    samples = [make_sample(random_state=s) for s in range(3)]
    images, masks = batch(samples, sampling_weights(samples), 4, Augmentation(crop=32), np.random.default_rng(0))
    assert images.shape == (4, 3, 32, 32) and images.dtype == np.float32
    assert masks.shape == (4, 1, 32, 32) and masks.dtype == np.float32


# --- levers of the bundled model's second stage: border weights, stain jitter, EMA ------------


def test_border_weights_are_heaviest_in_the_gap_between_touching_nuclei():
    from segcore.unet.data import border_weights

    labels = np.zeros((40, 60), np.int32)
    labels[10:30, 10:28] = 1
    labels[10:30, 31:49] = 2  # a 3-pixel gap between the two nuclei
    weights = border_weights(labels, w0=10.0, sigma=5.0)
    assert np.all(weights[labels > 0] == 1.0)  # nuclei weigh 1
    gap = weights[20, 29]  # d1 = d2 = 2 in the middle of the gap
    assert gap == pytest.approx(1 + 10 * np.exp(-(2 + 2) ** 2 / 50), rel=1e-4)
    assert gap > weights[6, 29] > 1.0  # above the gap: both nuclei nearby, but farther
    assert weights[20, 5] == pytest.approx(1.0, abs=1e-6)  # beside one nucleus only: d2 is large
    assert weights[0, 59] == pytest.approx(1.0, abs=1e-3)  # far from both


def test_border_weights_of_a_single_nucleus_stay_one():
    from segcore.unet.data import border_weights

    labels = np.zeros((30, 30), np.int32)
    labels[10:20, 10:20] = 1
    assert np.all(border_weights(labels, w0=10.0) == 1.0)  # no second nucleus: no gap


def test_stain_jitter_changes_colour_but_not_structure():
    from segcore.unet.data import stain_jitter

    rng = np.random.default_rng(0)
    image = make_image((64, 64), n_objects=4, radius=(6, 10), random_state=1).image
    jittered = stain_jitter(image, 0.2, rng)
    assert jittered.shape == image.shape and jittered.dtype == np.uint8
    assert not np.array_equal(jittered, image)
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(float)
    gray_j = cv2.cvtColor(jittered, cv2.COLOR_RGB2GRAY).astype(float)
    assert np.corrcoef(gray.ravel(), gray_j.ravel())[0, 1] > 0.9


def test_augment_carries_the_loss_weights_with_the_mask():
    labels = np.zeros((64, 64), np.int32)
    labels[10:30, 10:28] = 1
    labels[10:30, 31:49] = 2
    sample = Sample("x", np.zeros((64, 64, 3), np.uint8), labels > 0, "histology")
    from segcore.unet.data import border_weights

    sample.weights = border_weights(labels, 5.0).astype(np.float16)
    rng = np.random.default_rng(3)
    for _ in range(5):
        _, target = augment(sample, Augmentation(crop=48, scale=(1.0, 1.0), stain=0.1), rng)
        assert target.shape == (2, 48, 48)
        mask, weights = target
        # Without zoom the crop is exact: weights above 1 sit only on background, wherever it landed.
        assert np.all(weights[mask > 0.5] <= 1.05)


@pytest.mark.slow
def test_training_with_ema_border_weights_and_stain_exports_the_average(dataset, tmp_path):
    out = tmp_path / "out"
    previous_threads = torch.get_num_threads()
    try:  # one epoch (so the exported epoch is the checkpointed one), large steps
        code = main(train_args(dataset, out, epochs=1) + ["--ema", "0.5", "--border-weight", "5", "--lr", "0.05",
                                                          "--warmup-steps", "1", "--stain", "0.1",
                                                          "--modality-weights", "histology=4"])
    finally:
        torch.set_num_threads(previous_threads)
    assert code == 0
    card = json.loads((out / "best" / "card.json").read_text())
    assert card["training"]["ema_decay"] == 0.5 and card["training"]["border_weight_w0"] == 5.0
    assert card["training"]["modality_weights"]["histology"] == 4.0
    state = torch.load(out / "last.pt", weights_only=True)
    assert int(state["ema"]["n_averaged"]) == 2  # 1 epoch x 2 steps
    from safetensors.torch import load_file

    exported = load_file(str(out / "best" / "model.safetensors"))
    average = {k.removeprefix("module."): v for k, v in state["ema"].items()}
    key = next(k for k in exported if exported[k].is_floating_point() and exported[k].numel() > 100)
    # What was exported is the average (to fp16 precision), not the last raw weights.
    assert torch.allclose(exported[key].float(), average[key].half().float())
    assert not torch.allclose(average[key], state["model"][key])
    assert load_model(out / "best").network is not None


# --- one training function: budget, stop, events, data folders ------------------------------

from segcore import datasets  # noqa: E402
from segcore.unet.data import holdout_region, samples_from_dataset, split_samples  # noqa: E402
from segcore.unet.model import BUNDLED_MODELS  # noqa: E402
from segcore.unet.train import (Finished, Started, Step, TrainingData, Validated, init_folder,  # noqa: E402
                                network_architecture, quick_config, train)
from tests import zips  # noqa: E402


def tiny_config(out: Path, **overrides):
    values = dict(encoder=TINY_ENCODER, decoder_channels=[16] * 5, crop=64, batch_size=2, steps_per_epoch=2,
                  device="cpu", amp="off", init=None, minutes=None, epochs=3)
    values.update(overrides)
    return quick_config(out, fine_tune=False, **values)


def tiny_data(n_train: int = 3, n_val: int = 1) -> TrainingData:
    samples = [make_sample(random_state=i) for i in range(n_train + n_val)]
    return TrainingData(samples[:n_train], samples[n_train:], "synthetic", {"method": "test"})


@pytest.mark.slow
def test_events_come_in_order_and_validation_has_a_preview(tmp_path):
    events = []
    best = train(tiny_config(tmp_path / "out", epochs=2), [], data=tiny_data(), callback=events.append)
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["Started", "Step", "Step", "Validated", "Step", "Step", "Validated", "Finished"]
    started, finished = events[0], events[-1]
    assert isinstance(started, Started) and (started.n_train, started.n_val, started.steps_per_epoch) == (3, 1, 2)
    steps = [e for e in events if isinstance(e, Step)]
    assert [s.step for s in steps] == [1, 2, 3, 4] and all(s.steps_per_second > 0 for s in steps)
    assert steps[-1].seconds_left is not None and steps[-1].seconds_left >= 0
    validated = [e for e in events if isinstance(e, Validated)]
    assert validated[0].preview.dtype == np.uint8 and validated[0].preview.shape == (64, 64)
    assert isinstance(finished, Finished) and finished.reason == "done" and finished.steps == 4
    assert finished.best["val_iou"] == best["val_iou"] == max(v.scores["val_iou"] for v in validated)
    assert finished.best_folder == tmp_path / "out" / "best"


@pytest.mark.slow
def test_stop_ends_the_run_after_one_last_validation_and_keeps_the_model(tmp_path):
    events = []
    steps_done = lambda: sum(isinstance(e, Step) for e in events)  # noqa: E731
    train(tiny_config(tmp_path / "out", epochs=1000, steps_per_epoch=5), [], data=tiny_data(),
          callback=events.append, stop=lambda: steps_done() >= 3)
    finished = events[-1]
    assert finished.reason == "stopped" and finished.steps == 3
    assert [type(e).__name__ for e in events[-2:]] == ["Validated", "Finished"]  # the partial epoch is scored
    assert load_model(finished.best_folder, device="cpu").network is not None


@pytest.mark.slow
def test_a_stop_before_any_step_leaves_no_model_and_no_error(tmp_path):
    import threading

    stop = threading.Event()
    stop.set()
    events = []
    train(tiny_config(tmp_path / "out"), [], data=tiny_data(), callback=events.append, stop=stop)
    assert events[-1].reason == "stopped" and events[-1].steps == 0 and events[-1].best_folder is None


@pytest.mark.slow
def test_time_budget_stops_the_run_and_keeps_the_best(dataset, tmp_path):
    out = tmp_path / "out"
    previous_threads = torch.get_num_threads()
    try:  # 0.003 minutes: the budget is spent after the first steps, long before 1000 epochs
        code = main(train_args(dataset, out, epochs=1000) + ["--minutes", "0.003"])
    finally:
        torch.set_num_threads(previous_threads)
    assert code == 0
    _, rows = read_log(out)
    assert 1 <= len(rows) < 1000
    card = json.loads((out / "best" / "card.json").read_text())
    assert card["training"]["time_budget_minutes"] == 0.003
    assert load_model(out / "best", device="cpu").network is not None


def test_minutes_must_be_positive():
    with pytest.raises(SystemExit):
        parse_args(["--data", "d", "--out", "o", "--minutes", "0"])
    assert parse_args(["--data", "d", "--out", "o", "--minutes", "2"]).minutes == 2.0


@pytest.mark.slow
def test_a_failing_run_keeps_the_last_good_model(tmp_path):
    out = tmp_path / "out"

    def explode_after_first_validation(event):
        if isinstance(event, Validated):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        train(tiny_config(out, epochs=5), [], data=tiny_data(), callback=explode_after_first_validation)
    assert sorted(p.name for p in (out / "best").iterdir()) == ["card.json", "config.json", "model.safetensors"]
    assert not (out / "best.tmp").exists()
    assert load_model(out / "best", device="cpu").network is not None


def write_flat_dataset(root: Path, n: int = 6) -> Path:
    """images/ + masks/ with n synthetic pairs, one image without a mask and one empty mask."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for random_state in range(n):
        sample = make_image((64, 64), n_objects=3, radius=(6, 10), random_state=random_state)
        cv2.imwrite(str(root / "images" / f"c{random_state}.png"), sample.image[..., ::-1])
        mask = sample.mask if random_state else np.zeros_like(sample.mask)
        cv2.imwrite(str(root / "masks" / f"c{random_state}.png"), mask.astype(np.uint8) * 255)
    cv2.imwrite(str(root / "images" / "lonely.png"), np.zeros((8, 8), np.uint8))
    return root


@pytest.mark.slow
def test_a_flat_folder_is_split_by_image_and_the_split_is_in_the_card(tmp_path, capsys):
    data = write_flat_dataset(tmp_path / "flat")
    out = tmp_path / "out"
    args = ["--data", str(data), "--out", str(out), "--epochs", "1", "--steps-per-epoch", "1", "--batch-size", "2",
            "--crop", "64", "--encoder", TINY_ENCODER, "--decoder-channels", "16,16,16,16,16", "--device", "cpu",
            "--amp", "off", "--val-fraction", "0.34", "--random-state", "3"]
    previous_threads = torch.get_num_threads()
    try:
        assert main(args) == 0
    finally:
        torch.set_num_threads(previous_threads)
    err = capsys.readouterr().err
    assert "skipped images/lonely.png" in err and "c0: the mask is empty" in err
    training = json.loads((out / "best" / "card.json").read_text())["training"]
    split = training["split"]
    assert split["method"] == "automatic, by image" and split["val_fraction"] == 0.34 and split["random_state"] == 3
    assert len(split["val_ids"]) == 2 and training["train_images"] == 4 and training["val_images"] == 2
    assert split["skipped"] == 1
    # The same random_state gives the same split.
    again = samples_from_dataset(datasets.find_pairs(data)).samples
    assert [s.name for s in split_samples(again, 0.34, 3)[1]] == split["val_ids"]


@pytest.mark.slow
def test_init_bundled_names_the_shipped_model_and_fine_tunes_it(tmp_path):
    assert init_folder("bundled") == BUNDLED_MODELS["nuclei"] == init_folder("nuclei")
    assert init_folder("some/folder") == Path("some/folder")
    config = quick_config(tmp_path / "out", fine_tune=True, crop=64, batch_size=2, steps_per_epoch=1, epochs=1,
                          minutes=None, device="cpu", amp="off")
    assert config.init == "bundled" and network_architecture(config)["encoder_name"] == "tu-resnet10t"
    events = []
    best = train(config, [], data=tiny_data(2, 1), callback=events.append)
    assert 0 <= best["val_iou"] <= 1
    # Fine-tuning scores the bundled model before the first step: the start is a candidate for the best.
    first = next(e for e in events if isinstance(e, Validated))
    assert (first.epoch, first.step) == (0, 0) and best["val_iou"] >= first.scores["val_iou"]
    card = json.loads((tmp_path / "out" / "best" / "card.json").read_text())
    assert card["training"]["initialised_from"] == "bundled"


def test_split_samples_is_by_image_seeded_and_refuses_fewer_than_two():
    samples = [make_sample(random_state=i) for i in range(10)]
    train_set, val_set = split_samples(samples, 0.2, random_state=0)
    assert len(train_set) == 8 and len(val_set) == 2
    assert {s.name for s in train_set}.isdisjoint({s.name for s in val_set})
    assert [s.name for s in split_samples(samples, 0.2, random_state=0)[1]] == [s.name for s in val_set]
    assert [s.name for s in split_samples(samples, 0.2, random_state=1)[1]] != [s.name for s in val_set]
    assert [len(part) for part in split_samples(samples[:2], 0.9)] == [1, 1]  # one on each side at least
    with pytest.raises(InvalidParameterError, match="at least 2 usable image/mask pairs.*found 1"):
        split_samples(samples[:1])


def test_samples_from_a_messy_zip_skip_bad_pairs_with_reasons():
    prepared = samples_from_dataset(datasets.read_zip(zips.messy_zip()))
    assert [s.name for s in prepared.samples] == ["cell00", "cell01", "cell02", "cell03"]
    reasons = dict(prepared.skipped)
    assert "refused" in reasons["../evil.png"] and "symbolic link" in reasons["images/link.png"]
    assert "notes.txt" in " ".join(reasons) and "small" in reasons and "broken" in reasons
    assert prepared.samples[0].image.shape == (40, 48, 3) and prepared.samples[0].mask.dtype == bool


def test_empty_and_full_masks_are_warned_but_used():
    entries = {"images/e.png": zips.png(np.zeros((20, 20), np.uint8)), "masks/e.png": zips.png(np.zeros((20, 20), np.uint8)),
               "images/f.png": zips.png(np.zeros((20, 20), np.uint8)),
               "masks/f.png": zips.png(np.full((20, 20), 255, np.uint8))}
    prepared = samples_from_dataset(datasets.read_zip(zips.make_zip(entries)))
    assert len(prepared.samples) == 2
    assert prepared.warnings == ["e: the mask is empty (no foreground)", "f: the mask is all foreground"]


def test_hostile_zips_are_refused_before_anything_is_read():
    with pytest.raises(datasets.ArchiveError, match="zip bomb"):
        datasets.read_zip(zips.bomb_zip())
    with pytest.raises(datasets.ArchiveError, match="zip bomb"):
        datasets.read_zip_files(zips.bomb_zip(), ["images/a.png"])
    with pytest.raises(datasets.ArchiveError, match="not a zip"):
        datasets.read_zip_files(b"hello", ["config.json"])


def test_read_zip_files_takes_named_files_only_from_safe_entries():
    data = zips.add_symlink(zips.make_zip({"model/config.json": b"{}", "model/card.json": b"{}",
                                           "model/other.bin": b"x"}), "model/model.safetensors", "/etc/passwd")
    found = datasets.read_zip_files(data, ["config.json", "model.safetensors", "card.json"])
    assert found == {"config.json": b"{}", "card.json": b"{}"}  # the link is never read
    evil = zips.make_zip({"../config.json": b"{}", "model.safetensors": b"w"})
    assert datasets.read_zip_files(evil, ["config.json", "model.safetensors"]) == {"model.safetensors": b"w"}


def test_images_smaller_than_the_crop_are_padded():
    small = make_sample(size=20)
    image, mask = augment(small, Augmentation(crop=64), np.random.default_rng(0))
    assert image.shape == (3, 64, 64) and mask.shape == (64, 64)
    assert 0 < mask.mean() < 1


def test_holdout_region_keeps_a_strip_the_network_never_sees():
    sample = make_sample(size=64)
    wide = Sample("w", np.zeros((40, 100, 3), np.uint8), np.zeros((40, 100), bool))
    train_part, val_part = holdout_region(wide)
    assert train_part.image.shape == (40, 80, 3) and val_part.image.shape == (40, 20, 3)
    train_part, val_part = holdout_region(sample)
    assert train_part.mask.shape[1] + val_part.mask.shape[1] == 64
    np.testing.assert_array_equal(np.hstack([train_part.mask, val_part.mask]), sample.mask)
    with pytest.raises(InvalidParameterError, match="at least 16x16"):
        holdout_region(Sample("t", np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), bool)))


# --- growing a trained decoder wider (segcore.unet.grow) ----------------------------------------


def _tiny_network(widths: list[int]):
    from segcore.unet.model import DEFAULT_ARCHITECTURE, build_network

    torch.manual_seed(len(widths) + sum(widths))
    return build_network(dict(DEFAULT_ARCHITECTURE, encoder_name=TINY_ENCODER, decoder_channels=widths))


def test_grown_decoder_computes_what_the_narrow_one_did_then_learns():
    from segcore.unet.grow import grow_decoder

    narrow = _tiny_network([16, 8, 8, 4, 4])
    with torch.no_grad():  # make the running statistics non-trivial, as after training
        narrow.train()(torch.rand(4, 3, 64, 64))
    wide = _tiny_network([24, 16, 8, 8, 4])
    assert grow_decoder(wide, narrow.state_dict()) == [16, 8, 8, 4, 4]
    x = torch.rand(2, 3, 64, 64)
    for mode in ("eval", "train"):
        with torch.no_grad():
            expected, grown = getattr(narrow, mode)()(x), getattr(wide, mode)()(x)
        assert torch.allclose(expected, grown, atol=1e-5), mode
    # The new channels are live: one optimiser step moves the output away from the narrow model's.
    wide.train()
    optimizer = torch.optim.SGD(wide.parameters(), lr=0.1)
    torch.nn.functional.binary_cross_entropy_with_logits(wide(x), torch.ones_like(expected)).backward()
    new_rows = wide.decoder.blocks[0].conv2[0].weight.grad[16:]
    optimizer.step()
    assert new_rows.abs().sum() == 0  # zero outgoing weights: no gradient into new rows at first
    assert wide.decoder.blocks[1].conv1[0].weight.grad[:, 16:24].abs().sum() > 0  # but into their outputs


def test_growing_refuses_a_narrower_decoder_or_another_encoder():
    from segcore.unet.grow import grow_decoder
    from segcore.unet.model import DEFAULT_ARCHITECTURE, build_network

    wide = _tiny_network([24, 16, 8, 8, 4])
    with pytest.raises(InvalidParameterError, match="narrower"):
        grow_decoder(_tiny_network([16, 8, 8, 4, 4]), wide.state_dict())
    other = build_network(dict(DEFAULT_ARCHITECTURE, encoder_name="resnet18", decoder_channels=[32, 16, 8, 8, 4]))
    with pytest.raises(InvalidParameterError, match="another encoder"):
        grow_decoder(other, wide.state_dict())


def test_init_grows_a_saved_model_into_a_wider_decoder(dataset, tmp_path, capsys):
    previous_threads = torch.get_num_threads()
    narrow, wide = tmp_path / "narrow", tmp_path / "wide"
    try:
        assert main(train_args(dataset, narrow, epochs=1)) == 0
        args = train_args(dataset, wide, epochs=1) + ["--init", str(narrow / "best"), "--validate-first"]
        args[args.index("--decoder-channels") + 1] = "24,16,16,16,16"
        assert main(args) == 0
    finally:
        torch.set_num_threads(previous_threads)
    assert "decoder grown from widths [16, 16, 16, 16, 16]" in capsys.readouterr().err
    assert load_model(wide / "best").network.decoder.blocks[0].conv2[0].out_channels == 24
