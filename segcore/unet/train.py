"""Train a binary U-Net on a folder of images and masks (``python -m segcore.train``).

Reproducible: a fixed ``random_state`` drives crop sampling, augmentation and the network's
initialisation. Every epoch appends a row to ``OUT/log.csv`` (training loss,
validation IoU/Dice overall and per modality, learning rate, wall time) and
saves ``OUT/last.pt``; the best epoch by validation IoU is exported to
``OUT/best/`` in smp's ``save_pretrained`` layout (fp16 safetensors) with a
``card.json``. ``--resume`` continues from ``OUT/last.pt``.

``--minutes M`` bounds the training's wall time: counted from the end of the
setup (reading the data, building the network), checked between steps (a
step is not started unless it should end within the budget); when it is
spent, one last validation pass runs (if any step came after the previous
one) and the run ends, keeping the best export. A stop
request (:func:`train`'s ``stop``) ends a run the same way. ``best/`` and
``last.pt`` are replaced atomically, so a run that fails or is stopped
never loses the last good model.

The data folder is either ``train/`` + ``val/`` (each with ``images/`` and
``masks/``) or one flat dataset (``images/`` + ``masks/``, or ``name.png`` +
``name_mask.png``; see :mod:`segcore.datasets`) split by image at random
(``--val-fraction``, ``--random-state``); the split is recorded in the card.

:func:`train` is the one training loop: the command line and the dashboard's
training page both call it; the page passes its data in memory
(:class:`TrainingData`) and follows the run through typed events
(:class:`Started`, :class:`Step`, :class:`Validated`, :class:`Finished`).

Example (the bundled model's command is in its card)::

    python -m segcore.train --data ../shared/data/dsb2018 --out runs/nuclei --epochs 60
    python -m segcore.train --data my_cells/ --out runs/mine --init bundled --minutes 2
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import platform
import shlex
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import InvalidParameterError, SegcoreError
from .data import (MODALITY_WEIGHTS, Augmentation, Sample, batch, load_split, samples_from_dataset,
                   sampling_weights, split_prepared)
from .grow import grow_decoder
from .losses import LOSSES, make_loss
from .model import (BUNDLED_MODELS, CARD_FILE, DEFAULT_ARCHITECTURE, LoadedModel, build_network, read_json_object,
                    resolve_device)

LOG_FIELDS = [
    "epoch", "step", "lr", "train_loss", "val_iou", "val_dice",
    "val_iou_fluorescence", "val_iou_histology", "val_iou_brightfield", "seconds",
]


@dataclass
class TrainConfig:
    data: str
    out: str
    encoder: str | None = None  # None: the --init model's, else DEFAULT_ARCHITECTURE's
    decoder_channels: list[int] | None = None  # likewise
    loss: str = "bce+dice"
    epochs: int = 60
    steps_per_epoch: int = 0  # 0: one pass's worth of crops (ceil(n_train / batch_size))
    batch_size: int = 8
    crop: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 300
    random_state: int = 0
    device: str = "auto"
    amp: str = "auto"
    threshold: float = 0.5
    threads: int = 0
    limit_train: int | None = None
    limit_val: int | None = None
    resume: bool = False
    init: str | None = None
    ema: float = 0.0
    border_weight: float = 0.0
    stain: float = 0.0
    modality_weights: dict[str, float] = field(default_factory=dict)
    minutes: float | None = None  # wall-clock budget; None: run all epochs
    val_fraction: float = 0.2  # share of the images that validate, for a flat (unsplit) data folder
    augment: bool = True  # False: plain random crops with flips and 90-degree turns only
    class_name: str = "nucleus"  # the foreground's name in the card
    validate_first: bool = False  # score the starting weights too (fine-tuning: the start may stay the best)


# --- events: what a caller of train() sees while it runs --------------------------------------


@dataclass(frozen=True)
class Started:
    n_train: int
    n_val: int
    device: str
    precision: str
    steps_per_epoch: int
    split: dict[str, Any]


@dataclass(frozen=True)
class Step:
    step: int  # optimiser steps so far (this run and the ones it resumed)
    epoch: int
    loss: float
    lr: float
    seconds: float  # wall time of this run so far
    steps_per_second: float  # over the last few steps, validation excluded
    seconds_left: float | None  # to the time budget, else an estimate for the planned steps


@dataclass(frozen=True)
class Validated:
    epoch: int
    step: int
    train_loss: float
    scores: dict[str, float]  # val_iou, val_dice and val_iou_<modality>
    improved: bool
    seconds: float
    preview: np.ndarray | None  # (h, w) uint8 probability x 255 of the first validation image, at most 256 px
    preview_name: str


@dataclass(frozen=True)
class Finished:
    best: dict[str, Any]
    reason: str  # "done" (all epochs), "time" (budget spent) or "stopped"
    seconds: float
    steps: int
    best_folder: Path | None  # None when no validation pass ever ran


Event = Started | Step | Validated | Finished


@dataclass
class TrainingData:
    """Samples to train and validate on, with where they came from (recorded in the card)."""

    train: list[Sample]
    val: list[Sample]
    source: str
    split: dict[str, Any]


def load_data(config: TrainConfig) -> TrainingData:
    """The data of ``config.data``: ``train/`` + ``val/``, or one flat dataset split by image."""
    from ..datasets import find_pairs

    root = Path(config.data)
    if (root / "train").is_dir() and (root / "val").is_dir():
        train_set = load_split(root, "train", limit=config.limit_train, border_weight=config.border_weight)
        val_set = load_split(root, "val", limit=config.limit_val)
        return TrainingData(train_set, val_set, str(root), {"method": "the folder's train/ and val/"})
    if not root.is_dir() or not (any(root.glob("*.*")) or (root / "images").is_dir()):
        raise InvalidParameterError(
            f"expected {root}/train and {root}/val (each with images/ and masks/), or one dataset folder "
            f"({root}/images + {root}/masks, or name.png + name_mask.png files)")
    prepared = samples_from_dataset(find_pairs(root), border_weight=config.border_weight)
    for name, reason in prepared.skipped:
        print(f"skipped {name}: {reason}", file=sys.stderr)
    for warning in prepared.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    train_set, val_set, split = split_prepared(prepared, config.val_fraction, config.random_state)
    return TrainingData(train_set[: config.limit_train], val_set[: config.limit_val], str(root), split)


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    parser = argparse.ArgumentParser(
        prog="python -m segcore.train",
        description="Train a binary U-Net (segmentation-models-pytorch) on images + masks.",
    )
    parser.add_argument("--data", required=True,
                        help="folder with train/{images,masks} and val/{images,masks}, or one dataset folder "
                             "(images/ + masks/, or name.png + name_mask.png) split by --val-fraction")
    parser.add_argument("--out", required=True, help="output folder (log.csv, last.pt, best/)")
    parser.add_argument("--encoder", default=None,
                        help=f"smp encoder name (default: the --init model's, else {DEFAULT_ARCHITECTURE['encoder_name']})")
    parser.add_argument("--decoder-channels", default=None,
                        help="comma-separated decoder widths (default: the --init model's, else "
                             + ",".join(map(str, DEFAULT_ARCHITECTURE["decoder_channels"]))
                             + "); wider than the --init model's grows its decoder")
    parser.add_argument("--loss", choices=LOSSES, default="bce+dice")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--steps-per-epoch", type=int, default=0,
                        help="optimiser steps per epoch (0: ceil(training images / batch size))")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--crop", type=int, default=256, help="training crop size in pixels")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--warmup-steps", type=int, default=300)
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, mps")
    parser.add_argument("--amp", choices=("auto", "bf16", "fp16", "off"), default="auto",
                        help="mixed precision (auto: bf16 where the hardware has it)")
    parser.add_argument("--threshold", type=float, default=0.5, help="probability threshold for validation")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--limit-train", type=int, default=None, help="use only the first N training images")
    parser.add_argument("--limit-val", type=int, default=None, help="use only the first N validation images")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    parser.add_argument("--init", default=None, metavar="MODEL_DIR",
                        help="start from the weights of a saved model (save_pretrained folder, or 'bundled' "
                             "for the shipped nuclei model) to fine-tune it")
    parser.add_argument("--minutes", type=float, default=None,
                        help="wall-clock budget: stop after M minutes (checked between steps) plus one "
                             "validation pass, keeping the best model")
    parser.add_argument("--val-fraction", type=float, default=0.2,
                        help="share of the images held out for validation when --data is one flat dataset "
                             "(by image, seeded; default %(default)s)")
    parser.add_argument("--no-augment", dest="augment", action="store_false",
                        help="plain random crops (flips and 90-degree turns only), no colour or zoom changes")
    parser.add_argument("--validate-first", action="store_true",
                        help="score the starting weights before the first step (with --init: the start may stay the best)")
    parser.add_argument("--class-name", default="nucleus", help="the foreground's name in the card")
    parser.add_argument("--ema", type=float, default=0.0, metavar="DECAY",
                        help="validate and export an exponential moving average of the weights "
                             "(e.g. 0.999; 0: off)")
    parser.add_argument("--border-weight", type=float, default=0.0, metavar="W0",
                        help="U-Net paper border weighting: background between touching nuclei weighs "
                             "up to 1 + W0 in the cross-entropy (e.g. 5; 0: off)")
    parser.add_argument("--stain", type=float, default=0.0,
                        help="H&E stain jitter in HED space for histology crops (e.g. 0.1; 0: off)")
    parser.add_argument("--modality-weights", default="", metavar="NAME=W,...",
                        help="crop sampling weight per modality, over the defaults "
                             + ", ".join(f"{k}={v:g}" for k, v in MODALITY_WEIGHTS.items()))
    args = parser.parse_args(argv)
    values = vars(args)
    if values["decoder_channels"] is not None:
        values["decoder_channels"] = [int(v) for v in str(values["decoder_channels"]).split(",") if v]
    values["modality_weights"] = _parse_weights(values["modality_weights"])
    if values["minutes"] is not None and values["minutes"] <= 0:
        parser.error("--minutes must be positive")
    return TrainConfig(**values)


def _parse_weights(text: str) -> dict[str, float]:
    weights = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, value = item.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            raise SystemExit(f"--modality-weights: {item!r} is not NAME=NUMBER") from None
    return weights


def _amp_dtype(device, amp: str):
    import torch

    if amp == "off":
        return None
    if amp == "fp16":
        return torch.float16
    if amp == "bf16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu":
        try:
            return torch.bfloat16 if torch.ops.mkldnn._is_mkldnn_bf16_supported() else None
        except (AttributeError, RuntimeError):
            return None
    return None


def cosine_factor(progress: float) -> float:
    """The cosine decay from 1 (progress 0) to 1% of the peak (progress 1)."""
    return 0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * progress))


def learning_rate_factor(step: int, total: int, warmup: int) -> float:
    """Linear warm-up, then cosine decay to 1% of the peak."""
    if step < warmup:
        return (step + 1) / warmup
    return cosine_factor(min(1.0, (step - warmup) / max(1, total - warmup)))


# Encoders that train fast enough on a CPU for a few-minute run, fastest first (bench/bench_train.py
# measures them); tu-resnet10t is the bundled model's, the only one that can be fine-tuned from it.
CPU_ENCODERS = ("tu-mobilenetv3_small_100", "tu-mobilenetv3_large_100", "tu-resnet10t")


def quick_config(out: str | Path, *, data: str = "(in memory)", fine_tune: bool = True, **overrides: Any
                 ) -> TrainConfig:
    """Settings for a short run (the training page's defaults; the benchmarks use them too).

    Two minutes of batch-4 256-pixel crops, a validation pass every 10
    steps, a short warm-up; fine-tuning starts from the bundled model with a
    learning rate 7x lower than training from scratch, so the first steps do
    not undo what it knows, and scores the bundled model first: when no
    step beats it on the validation images, the result is the bundled model.
    """
    values: dict[str, Any] = dict(
        data=str(data), out=str(out), epochs=100_000, steps_per_epoch=10, batch_size=4, crop=256,
        lr=3e-4 if fine_tune else 2e-3, warmup_steps=10, minutes=2.0, init="bundled" if fine_tune else None,
        loss="bce+dice", validate_first=fine_tune,
    )
    values.update(overrides)
    return TrainConfig(**values)


def init_folder(init: str) -> Path:
    """The folder ``--init`` names: ``bundled`` (or a bundled model's name) or a path."""
    if init == "bundled":
        return BUNDLED_MODELS["nuclei"]
    return BUNDLED_MODELS.get(init, Path(init))


def network_architecture(config: TrainConfig) -> dict[str, Any]:
    """The network to build: the ``--init`` model's (its ``config.json``), else the default, with
    ``config.encoder`` and ``config.decoder_channels`` over it where set."""
    architecture = dict(DEFAULT_ARCHITECTURE)
    if config.init:
        saved = init_folder(config.init) / "config.json"
        if saved.is_file():
            known = read_json_object(saved)
            architecture.update({k: known[k] for k in ("encoder_name", "decoder_channels") if k in known})
    if config.encoder:
        architecture["encoder_name"] = config.encoder
    if config.decoder_channels:
        architecture["decoder_channels"] = list(config.decoder_channels)
    return architecture


def _load_initial_weights(network, folder: Path) -> None:
    """Copy a saved model's weights (fp16 or fp32 safetensors) into ``network``."""
    from safetensors.torch import load_file

    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise InvalidParameterError(f"--init {folder}: no model.safetensors there")
    state = load_file(str(weights))
    try:
        network.load_state_dict(state)
    except RuntimeError:
        try:  # a wider decoder than the saved model's: grow it, keeping what it computes
            old = grow_decoder(network, state)
        except InvalidParameterError as error:
            raise InvalidParameterError(f"--init {folder}: the weights do not fit this architecture ({error})") from error
        print(f"--init {folder}: decoder grown from widths {old}", file=sys.stderr)


PREVIEW_SIDE = 256


def validate(network, device, samples: list[Sample], threshold: float, precision: str,
             preview: list | None = None) -> dict[str, Any]:
    """Mean per-image foreground IoU and Dice on whole validation images, and per modality.

    With a list as ``preview``, the first image's probabilities (uint8, at
    most :data:`PREVIEW_SIDE` pixels on a side) are appended to it.
    """
    import cv2

    from ..metrics import dice, iou
    from .inference import predict_probabilities

    loaded = LoadedModel(network=network, device=device, source="training",
                         card={"normalization": "segcore", "classes": 1})
    network.eval()
    per_modality: dict[str, list[float]] = {}
    ious, dices = [], []
    for index, sample in enumerate(samples):
        probs = predict_probabilities(loaded, sample.image, precision=precision)[0]
        pred = probs > threshold
        ious.append(iou(sample.mask, pred))
        dices.append(dice(sample.mask, pred))
        per_modality.setdefault(sample.modality, []).append(ious[-1])
        if index == 0 and preview is not None:
            scale = min(1.0, PREVIEW_SIDE / max(probs.shape))
            small = probs if scale == 1.0 else cv2.resize(
                probs, (max(1, round(probs.shape[1] * scale)), max(1, round(probs.shape[0] * scale))),
                interpolation=cv2.INTER_AREA)
            preview.append(np.clip(small * 255.0 + 0.5, 0, 255).astype(np.uint8))
    network.train()
    scores = {"val_iou": float(np.mean(ious)), "val_dice": float(np.mean(dices))}
    for modality, values in per_modality.items():
        scores[f"val_iou_{modality}"] = float(np.mean(values))
    return scores


def export(network, folder: Path, card: dict[str, Any]) -> None:
    """Write ``folder`` in smp's save_pretrained layout with fp16 weights, plus ``card.json``.

    Halving the weights halves the file; loading casts them back to float32.
    The files are written to a sibling folder first and swapped in, so a
    crash mid-write leaves the previous export whole.
    """
    import shutil

    from safetensors.torch import save_file

    staging = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    network.save_pretrained(str(staging))
    state = {k: v.detach().to("cpu") for k, v in network.state_dict().items()}
    state = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in state.items()}
    save_file(state, str(staging / "model.safetensors"), metadata={"format": "pt"})
    (staging / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n")
    readme = staging / "README.md"  # smp writes a generic hub card; ours is card.json + the repo README
    if readme.is_file():
        readme.unlink()
    previous = folder.with_name(folder.name + ".old")
    shutil.rmtree(previous, ignore_errors=True)
    if folder.exists():
        folder.replace(previous)
    staging.replace(folder)
    shutil.rmtree(previous, ignore_errors=True)


class _Schedule:
    """The learning-rate factor: warm-up then cosine, over steps or over the time budget.

    With a budget, the warm-up ends after ``warmup`` steps or 5% of the
    budget, whichever comes first, and the cosine follows the share of the
    budget spent (:meth:`tick` updates it between steps).
    """

    def __init__(self, total_steps: int, warmup: int, budget_s: float | None) -> None:
        self.total, self.warmup, self.budget = total_steps, warmup, budget_s
        self.spent = 0.0

    def tick(self, seconds: float) -> None:
        self.spent = seconds

    def __call__(self, step: int) -> float:
        if self.budget is None:
            return learning_rate_factor(step, self.total, self.warmup)
        share = min(1.0, self.spent / self.budget)
        if step < self.warmup and share < 0.05:
            return max((step + 1) / self.warmup, share / 0.05)
        return cosine_factor(min(1.0, max(0.0, (share - 0.05) / 0.95)))


def _should_stop(stop) -> bool:
    if stop is None:
        return False
    return bool(stop.is_set() if hasattr(stop, "is_set") else stop())


def train(config: TrainConfig, argv: list[str] | None = None, *, data: TrainingData | None = None,
          callback: Callable[[Event], None] | None = None, stop=None) -> dict[str, Any]:
    """Run training as configured; returns the best validation scores.

    ``data``: samples in memory (else read from ``config.data``).
    ``callback(event)``: called with each :class:`Started`, :class:`Step`,
    :class:`Validated` and :class:`Finished` event, in the training thread.
    ``stop``: a ``threading.Event`` or a function returning True to end the
    run early (checked between steps; the run then validates once and keeps
    the best model, as when ``config.minutes`` is spent).
    """
    import torch
    from tqdm import tqdm

    started = time.perf_counter()
    budget_s = None if config.minutes is None else config.minutes * 60.0
    emit = callback or (lambda event: None)
    if config.threads:
        torch.set_num_threads(config.threads)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    device = resolve_device(config.device)
    amp_dtype = _amp_dtype(device, config.amp)
    precision = {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[amp_dtype]

    if data is None:
        print(f"loading data from {config.data} ...", file=sys.stderr)
        data = load_data(config)
    train_set, val_set = data.train, data.val
    if not train_set or not val_set:
        raise InvalidParameterError("training needs at least one training and one validation image")
    weights = sampling_weights(train_set, config.modality_weights)
    steps_per_epoch = config.steps_per_epoch or math.ceil(len(train_set) / config.batch_size)
    total_steps = config.epochs * steps_per_epoch
    print(f"{len(train_set)} training and {len(val_set)} validation images; "
          f"{steps_per_epoch} steps per epoch on {device} ({precision})", file=sys.stderr)

    torch.manual_seed(config.random_state)
    architecture = network_architecture(config)
    network = build_network(architecture)
    if config.init:
        _load_initial_weights(network, init_folder(config.init))
    network = network.to(device)
    if device.type == "cpu":
        network = network.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(network.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    schedule = _Schedule(total_steps, config.warmup_steps, budget_s)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype is torch.float16)
    loss_fn = make_loss(config.loss)
    rng = np.random.default_rng(config.random_state)
    if config.augment:
        aug = Augmentation(crop=config.crop, stain=config.stain)
    else:  # crops, flips and 90-degree turns only (augment() always does those)
        aug = Augmentation(crop=config.crop, scale=(1.0, 1.0), gamma=(1.0, 1.0), contrast=(1.0, 1.0),
                           brightness=0.0, p_invert=0.0, p_gray=0.0, p_channel_shuffle=0.0, p_blur=0.0,
                           noise_std=0.0)
    # The average of the weights over the last ~1/(1 - decay) steps: validated
    # and exported instead of the raw weights, it smooths out the noise of the
    # last steps (torch's own EMA helper).
    averaged = None
    if config.ema > 0:
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        averaged = AveragedModel(network, multi_avg_fn=get_ema_multi_avg_fn(config.ema), use_buffers=True)

    start_epoch, best, elapsed_before = 0, {"val_iou": -1.0}, 0.0
    checkpoint_path = out / "last.pt"
    if config.resume and checkpoint_path.is_file():
        state = torch.load(checkpoint_path, map_location=device, weights_only=True)
        network.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        if averaged is not None and "ema" in state:
            averaged.load_state_dict(state["ema"])
        rng.bit_generator.state = json.loads(state["numpy_rng"])
        torch.set_rng_state(state["torch_rng"])
        start_epoch, best, elapsed_before = state["epoch"], json.loads(state["best"]), state["elapsed"]
        print(f"resuming after epoch {start_epoch} (best val IoU {best['val_iou']:.4f})", file=sys.stderr)

    log_path = out / "log.csv"
    if start_epoch == 0:
        with log_path.open("w", newline="") as handle:
            csv.DictWriter(handle, LOG_FIELDS).writeheader()
    (out / "config.json").write_text(json.dumps(asdict(config), indent=2) + "\n")
    emit(Started(len(train_set), len(val_set), str(device), precision, steps_per_epoch, dict(data.split)))

    def run_seconds() -> float:
        return time.perf_counter() - started

    def seconds_left(step: int, rate: float) -> float | None:
        if budget_s is not None:
            return max(0.0, budget_s - training_seconds())
        return (total_steps - step) / rate if rate > 0 else None

    reason = "done"
    step = start_epoch * steps_per_epoch
    step_times: list[float] = []

    def validate_and_keep(epoch: int, losses: list[float]) -> None:
        """One validation pass: log row, best/ export when improved, last.pt, a Validated event."""
        nonlocal best
        judged = network if averaged is None else averaged.module
        preview: list[np.ndarray] = []
        scores = validate(judged, device, val_set, config.threshold, precision, preview=preview)
        elapsed = elapsed_before + time.perf_counter() - started
        row = {"epoch": epoch, "step": step, "lr": scheduler.get_last_lr()[0],
               "train_loss": float(np.mean(losses)) if losses else float("nan"), "seconds": round(elapsed, 1),
               **scores}
        with log_path.open("a", newline="") as handle:
            csv.DictWriter(handle, LOG_FIELDS, extrasaction="ignore").writerow(
                {k: (f"{v:.5f}" if isinstance(v, float) else v) for k, v in row.items()})
        improved = scores["val_iou"] > best["val_iou"]
        print(f"epoch {epoch}: loss {row['train_loss']:.4f}  val IoU {scores['val_iou']:.4f}  "
              f"Dice {scores['val_dice']:.4f}  ({elapsed / 60:.1f} min){'  *best*' if improved else ''}",
              file=sys.stderr, flush=True)
        if improved:
            best = {**scores, "epoch": epoch}
            export(judged, out / "best", _card(config, architecture, best, elapsed, device, precision,
                                                 len(train_set), len(val_set), steps_per_epoch, argv, data))
        torch.save({
            "model": network.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(),
            "numpy_rng": json.dumps(rng.bit_generator.state), "torch_rng": torch.get_rng_state(),
            "epoch": epoch, "best": json.dumps(best), "elapsed": elapsed,
            **({"ema": averaged.state_dict()} if averaged is not None else {}),
        }, checkpoint_path.with_suffix(".tmp"))
        checkpoint_path.with_suffix(".tmp").replace(checkpoint_path)  # a kill mid-write keeps the last one
        emit(Validated(epoch, step, row["train_loss"], scores, improved, run_seconds(),
                       preview[0] if preview else None, val_set[0].name))

    # The budget counts from here: reading the data and building the network are not training.
    budget_start = time.perf_counter()

    def training_seconds() -> float:
        return time.perf_counter() - budget_start

    if config.validate_first and start_epoch == 0:
        validate_and_keep(0, [])
    network.train()
    for epoch in range(start_epoch + 1, config.epochs + 1):
        losses = []
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch}/{config.epochs}", file=sys.stderr,
                   leave=False, dynamic_ncols=True, disable=callback is not None)
        for _ in bar:
            if _should_stop(stop):
                reason = "stopped"
                break
            # A step is not started unless it should end within the budget.
            if budget_s is not None and training_seconds() + (np.mean(step_times) if step_times else 0.0) > budget_s:
                reason = "time"
                break
            step_start = time.perf_counter()
            schedule.tick(training_seconds())
            images, masks = batch(train_set, weights, config.batch_size, aug, rng)
            x = torch.from_numpy(images).to(device)
            y = torch.from_numpy(masks).to(device)
            pixel_weights = y[:, 1:2] if y.shape[1] == 2 else None
            y = y[:, :1]
            if device.type == "cpu":
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
                logits = network(x)
            loss = loss_fn(logits, y, pixel_weights)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            if averaged is not None:
                averaged.update_parameters(network)
            losses.append(loss.item())
            step += 1
            step_times = (step_times + [time.perf_counter() - step_start])[-10:]
            rate = len(step_times) / sum(step_times)
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
            emit(Step(step, epoch, losses[-1], scheduler.get_last_lr()[0], run_seconds(), rate,
                      seconds_left(step, rate)))
        bar.close()
        if not losses:  # stopped or out of time right after the previous validation
            break

        validate_and_keep(epoch, losses)
        if reason != "done":
            break
    best_folder = out / "best" if (out / "best" / "model.safetensors").is_file() else None
    emit(Finished(dict(best), reason, run_seconds(), step, best_folder))
    return best


def _card(config: TrainConfig, architecture: dict[str, Any], best: dict[str, Any], elapsed: float, device,
          precision: str, n_train: int, n_val: int, steps_per_epoch: int, argv: list[str] | None,
          data: TrainingData | None = None) -> dict[str, Any]:
    command = "python -m segcore.train " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    return {
        "task": f"binary segmentation (foreground = {config.class_name})",
        "class_names": ["background", config.class_name],
        "classes": 1,
        "threshold": config.threshold,
        "normalization": "segcore",
        "architecture": architecture,
        "training": {
            "command": command,
            "data": data.source if data is not None else str(config.data),
            "split": data.split if data is not None else None,
            "train_images": n_train,
            "val_images": n_val,
            "epochs_planned": config.epochs,
            "best_epoch": best["epoch"],
            "steps_per_epoch": steps_per_epoch,
            "batch_size": config.batch_size,
            "crop": config.crop,
            "loss": config.loss,
            "optimizer": f"AdamW lr={config.lr} weight_decay={config.weight_decay}, "
                         f"{config.warmup_steps} warm-up steps then cosine decay",
            "random_state": config.random_state,
            "initialised_from": config.init,
            "time_budget_minutes": config.minutes,
            "augmentation": config.augment,
            "ema_decay": config.ema or None,
            "border_weight_w0": config.border_weight or None,
            "stain_jitter": config.stain or None,
            "modality_weights": {**MODALITY_WEIGHTS, **config.modality_weights},
            "device": str(device),
            "precision": precision,
            "wall_time_s_to_best": round(elapsed, 1),
            "machine": f"{platform.processor() or platform.machine()}, {__import__('os').cpu_count()} CPUs",
        },
        "validation_during_training": {k: round(v, 4) for k, v in best.items() if k.startswith("val_")},
    }


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    try:
        best = train(config, argv)
    except SegcoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if best["val_iou"] < 0:
        print("error: the run ended before its first validation pass; nothing was exported", file=sys.stderr)
        return 1
    print(json.dumps(best, indent=2))
    return 0
