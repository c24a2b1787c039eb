"""What the "Train a U-Net" page keeps and runs: its data, the background run, the results.

A run calls :func:`segcore.unet.train.train` (the command line's function)
in a background thread of the server, so the page stays responsive, the
visitor can visit other pages and come back, and Stop works. The thread
touches no Streamlit object: it fills a :class:`Job` from the training's
events, which the page reads when it redraws. One run per browser session
(the page offers no second Start while one runs) and at most
``max_trainings`` per server (:mod:`ui.capacity`), released when the run
ends, however it ends.

Session keys: ``tr_job`` (the current or last :class:`Job`), ``_tr_data``
(datasets read from uploaded zips, by digest), ``_tr_test_hook`` (tests
only: offers a tiny encoder that trains in a second).
"""

from __future__ import annotations

import hashlib
import itertools
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from segcore import datasets
from segcore.errors import SegcoreError
from segcore.synthetic import make_image
from segcore.unet.data import Sample, holdout_region, mask_warning, samples_from_dataset, split_prepared
from segcore.unet.model import DEFAULT_ARCHITECTURE
from segcore.unet.train import (CPU_ENCODERS, Finished, Started, Step, TrainingData, Validated, quick_config,
                                train)
from ui import capacity, user_models

JOB_KEY = "tr_job"
TEST_HOOK = "_tr_test_hook"
BUNDLED_ENCODER = DEFAULT_ARCHITECTURE["encoder_name"]
TEST_ENCODER = "tu-test_efficientnet"  # a 3-stage toy encoder; offered only when a test sets TEST_HOOK

SAMPLE, ZIP, CURRENT = "Bundled sample (DSB2018 nuclei)", "Upload a zip", "Current image and its mask"
LOSS_NAMES = {"bce+dice": "BCE + Dice", "bce": "Binary cross-entropy", "dice": "Dice", "focal": "Focal",
              "lovasz": "Lovász hinge"}
ENCODER_NAMES = {"tu-resnet10t": "ResNet-10t (the bundled model's)", "tu-mobilenetv3_small_100": "MobileNetV3 small",
                 "tu-mobilenetv3_large_100": "MobileNetV3 large", TEST_ENCODER: "test encoder (tiny)"}
_job_ids = itertools.count(1)


def encoders() -> list[str]:
    return list(CPU_ENCODERS) + ([TEST_ENCODER] if st.session_state.get(TEST_HOOK) else [])


def batch_size(crop: int) -> int:
    """Crops per step: 4 up to 256 pixels, then 2, so a step's memory stays about the same."""
    return 4 if crop <= 256 else 2


# ------------------------------------------------------------------ data


@dataclass
class Data:
    """Training data as the page shows it: the split samples and what was left out or looks odd."""

    name: str
    train: list[Sample]
    val: list[Sample]
    split: dict[str, Any]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    note: str = ""

    def preview(self, n_train: int = 4, n_val: int = 2) -> list[tuple[np.ndarray, str]]:
        """A few training and validation samples with their true outlines, for the page."""
        from ui.display import truth_thumbnail

        return ([(truth_thumbnail(s.image, s.mask), f"train · {s.modality}") for s in self.train[:n_train]]
                + [(truth_thumbnail(s.image, s.mask), f"validation · {s.modality}") for s in self.val[:n_val]])

    def for_training(self) -> TrainingData:
        return TrainingData(self.train, self.val, self.name, self.split)


def _split(name: str, prepared, val_fraction: float, random_state: int = 0) -> Data:
    train_set, val_set, split = split_prepared(prepared, val_fraction, random_state)
    return Data(name, train_set, val_set, split, prepared.skipped, prepared.warnings,
                f"{len(train_set)} images train and {len(val_set)} validate (chosen at random by image, "
                f"{val_fraction:.0%} held out, random_state {random_state}).")


@st.cache_resource(show_spinner=False, max_entries=1)
def _bundled_prepared():
    return samples_from_dataset(datasets.bundled_sample())


def bundled(val_fraction: float) -> Data:
    return _split("the bundled DSB2018 sample (30 images)", _bundled_prepared(), val_fraction)


def from_zip(name: str, data: bytes, val_fraction: float) -> Data:
    """The pairs of an uploaded zip (read with segcore.datasets' safe reader). Raises SegcoreError."""
    cache = st.session_state.setdefault("_tr_data", {})
    digest = hashlib.sha256(data).hexdigest()
    if digest not in cache:
        cache.clear()  # one uploaded dataset in memory per session
        cache[digest] = samples_from_dataset(datasets.read_zip(data))
    return _split(f"the uploaded zip {name}", cache[digest], val_fraction)


def from_current(image: np.ndarray, truth: np.ndarray, name: str) -> Data:
    """One image with its mask: train on crops of most of it, validate on a held-out strip."""
    whole = Sample(name, image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2), truth > 0)
    warnings = [odd] if (odd := mask_warning(whole.mask)) is not None else []
    train_part, val_part = holdout_region(whole)
    side = "right" if image.shape[1] >= image.shape[0] else "bottom"
    split = {"method": f"one image: the {side} 20% held out for validation"}
    return Data(f"the image {name}", [train_part], [val_part], split, [], warnings,
                f"One image: the network trains on crops of the left/top 80% and is validated on the {side} "
                "20%, which it never sees while training.")


def loss_lab_data(random_state: int = 0) -> Data:
    """Synthetic scenes with a few tiny objects (about 1% foreground): where BCE and Dice differ."""
    def scene(i: int) -> Sample:
        made = make_image((192, 192), n_objects=10, radius=(2, 4), contrast=0.3, noise=0.08, random_state=random_state + i)
        return Sample(f"tiny-objects-{i}", made.image, made.mask)

    train_set, val_set = [scene(i) for i in range(6)], [scene(6), scene(7)]
    fraction = float(np.mean([s.mask.mean() for s in train_set]))
    return Data("synthetic scenes with tiny objects", train_set, val_set, {"method": "6 train / 2 validation scenes"},
                note=f"Foreground is {fraction:.1%} of the pixels.")


# ------------------------------------------------------------------ runs


@dataclass
class Run:
    """One training inside a job: its settings and the events it sent so far."""

    label: str
    loss: str
    steps: list[tuple[int, float, float]] = field(default_factory=list)  # (step, seconds, loss)
    validations: list[Validated] = field(default_factory=list)
    started: Started | None = None
    last_step: Step | None = None
    finished: Finished | None = None

    def on_event(self, event) -> None:
        if isinstance(event, Step):
            self.steps.append((event.step, event.seconds, event.loss))
            self.last_step = event
        elif isinstance(event, Validated):
            self.validations.append(event)
        elif isinstance(event, Started):
            self.started = event
        elif isinstance(event, Finished):
            self.finished = event


@dataclass
class Job:
    """A training (or the loss lab's two) in the background; filled by its thread, read by the page."""

    id: int
    kind: str  # "train" or "lab"
    name: str
    data: Data
    settings: dict[str, Any]
    runs: list[Run]
    out: Path
    started_at: float = field(default_factory=time.perf_counter)
    ended_at: float | None = None
    error: str | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    registered: str | None = None

    @property
    def running(self) -> bool:
        return self.ended_at is None

    @property
    def current(self) -> Run:
        return next((run for run in self.runs if run.finished is None), self.runs[-1])

    @property
    def best_folder(self) -> Path | None:
        finished = self.runs[0].finished
        return None if finished is None else finished.best_folder


def _wait_for_warmup() -> None:
    """Let the server's warm-up (ui.warmup) finish its imports before this thread imports PyTorch.

    Two threads importing torch and scikit-learn/SciPy at once were seen to
    hang a busy server (SciPy looks at a half-imported torch module); the
    warm-up takes seconds, so a training waits for it instead.
    """
    from ui import warmup

    thread = warmup._thread
    if thread is not None and thread.is_alive() and thread is not threading.current_thread():
        thread.join(timeout=300)


def _work(job: Job, configs: list) -> None:
    try:
        _wait_for_warmup()
        for run, config in zip(job.runs, configs):
            if job.stop.is_set():
                break
            train(config, [], data=job.data.for_training(), callback=run.on_event, stop=job.stop)
    except SegcoreError as error:
        job.error = str(error)
    except Exception as error:  # a bug must end the run with a message, never leave it hanging
        job.error = f"{type(error).__name__}: {error}"
    finally:
        job.ended_at = time.perf_counter()
        capacity.release("training")


def current_job() -> Job | None:
    return st.session_state.get(JOB_KEY)


def _start(job: Job, configs: list) -> Job | None:
    if not capacity.try_acquire("training"):
        return None
    try:
        threading.Thread(target=_work, args=(job, configs), name=f"segcore-training-{job.id}", daemon=True).start()
    except BaseException:
        capacity.release("training")
        raise
    st.session_state[JOB_KEY] = job
    return job


def clean_name(text: str) -> str:
    """A model name as plain text: printable characters, at most 60."""
    text = re.sub(r"[^\w .,()+\-]", "", text or "", flags=re.UNICODE).strip()
    return text[:60] or "model"


def start_training(data: Data, settings: dict[str, Any], name: str) -> Job | None:
    """Start a training in the background; None when the server's training slots are all taken."""
    job_id = next(_job_ids)
    out = user_models.session_folder() / f"run-{job_id}-{int(time.time())}"
    fine_tune = settings["init"] == "bundled"
    config = quick_config(
        out, data=data.name, fine_tune=fine_tune, encoder=settings["encoder"], loss=settings["loss"],
        minutes=settings["minutes"], crop=settings["crop"], batch_size=batch_size(settings["crop"]),
        augment=settings["augment"], lr=settings["lr"], device=settings["device"], class_name="foreground",
        **({"decoder_channels": [16] * 5} if settings["encoder"] == TEST_ENCODER else {}),
    )
    job = Job(job_id, "train", clean_name(name), data, dict(settings), [Run(name, settings["loss"])], out)
    return _start(job, [config])


LAB_LOSSES = ("bce", "dice")


LAB_STEPS_PER_PASS = 5


def start_loss_lab(steps: int, encoder: str, device: str) -> Job | None:
    """BCE, then Dice, on the same tiny-object scenes, random_state and number of steps (one after the other).

    The budget is a number of steps, not minutes: the comparison is then the
    same on a busy server as on a quiet one (only slower).
    """
    job_id = next(_job_ids)
    out = user_models.session_folder() / f"lab-{job_id}-{int(time.time())}"
    data = loss_lab_data()
    passes = max(1, steps // LAB_STEPS_PER_PASS)
    configs = [quick_config(out / loss, data=data.name, fine_tune=False, encoder=encoder, loss=loss, minutes=None,
                            epochs=passes, steps_per_epoch=LAB_STEPS_PER_PASS, crop=128, batch_size=4,
                            augment=False, lr=2e-3, device=device,
                            **({"decoder_channels": [16] * 5} if encoder == TEST_ENCODER else {}))
               for loss in LAB_LOSSES]
    runs = [Run(LOSS_NAMES[loss], loss) for loss in LAB_LOSSES]
    job = Job(job_id, "lab", "loss lab", data, {"steps": passes * LAB_STEPS_PER_PASS, "encoder": encoder}, runs,
              out)
    return _start(job, configs)


def busy_message() -> str:
    """What a visitor reads when the server's training slots are all in use (or trainings are off)."""
    if capacity.limit("training") == 0:
        return capacity.wait_message("training")
    return (f"Another training is running on this server (at most {capacity.limit('training')} at once); "
            "try again when it ends. Your data and settings are kept.")


def stop() -> None:
    job = current_job()
    if job is not None:
        job.stop.set()


def collect_finished() -> None:
    """Register a finished training's model as "Your model: <name>" (once)."""
    job = current_job()
    if job is None or job.running or job.kind != "train" or job.registered:
        return
    folder = job.best_folder
    if folder is not None and (folder / "model.safetensors").is_file():
        job.registered = user_models.register(job.name, folder)


def progress_fraction(job: Job) -> float:
    """Share of the job done: by time budget (trainings) or by steps (the loss lab)."""
    if not job.running:
        return 1.0
    run = job.current
    done = sum(r.finished is not None for r in job.runs)
    if "steps" in job.settings:
        share = (run.last_step.step if run.last_step else 0) / job.settings["steps"]
    else:
        left = run.last_step.seconds_left if run.last_step else None
        share = 0.0 if left is None else 1.0 - left / (job.settings["minutes"] * 60)
    return min(1.0, (done + min(1.0, share)) / len(job.runs))


def status_text(job: Job) -> str:
    run = job.current
    if job.running and run.last_step is None:
        if run.validations:
            return "Scored the starting model; the first training step is running…"
        return "Starting: building the network (and scoring the starting model when fine-tuning)…"
    parts = []
    if run.last_step is not None:
        step = run.last_step
        parts.append(f"step {step.step} · loss {step.loss:.3f} · {step.steps_per_second:.2f} steps/s")
        if job.running and step.seconds_left is not None:
            parts.append(f"about {max(0.0, step.seconds_left):.0f} s left")
    if run.validations:
        parts.append(f"val IoU {run.validations[-1].scores['val_iou']:.3f}")
    return " · ".join(parts)


REASONS = {"done": "finished", "time": "the time budget was spent", "stopped": "stopped"}
