"""What the "Evaluate a dataset" page keeps and runs: its dataset, the background run, the results.

A run scores every pair with :func:`segcore.evaluation.iter_scores` in a
background thread of the server, so the page stays responsive and can show
progress and a Cancel button. The thread touches no Streamlit object: it
fills a :class:`Job`, which the page reads on each rerun. One run at a time
per server (:func:`ui.capacity.try_acquire`), released when the run ends,
however it ends.

Session keys: ``ev_dataset`` (the :class:`Loaded` dataset of the chosen
source), ``ev_job`` (the current or last :class:`Job`), ``ev_result`` (the
last finished run, kept until the next one finishes, so changing a chart
never reruns anything), ``ev_gallery`` (error maps drawn for the gallery),
``ev_open_compare`` (set by a gallery button, makes the page switch).
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
import streamlit as st

from segcore import SegcoreError, datasets, evaluation, metrics, viz
from segcore.compare import DEFAULT_PRESETS, PRESETS, Preset
from ui import capacity, display, state

DEFAULT_METHODS = tuple(DEFAULT_PRESETS)
GALLERY_SIDE = 320
# An uploaded zip is unpacked in memory and kept for the session: half the library's default.
ZIP_LIMITS = datasets.ZipLimits(max_total_bytes=512 << 20)
_job_ids = itertools.count(1)


# ------------------------------------------------------------------ methods


def extra_unet_models() -> dict[str, Preset]:
    """Hook: U-Net models a user trained in this session, as {label: preset}.

    The training page will publish its models through ``st.session_state``;
    until then there are none. Whatever this returns is offered next to the
    Compare page's presets.
    """
    from ui import user_models

    return user_models.presets()


def method_choices() -> dict[str, Preset]:
    """The Compare page's presets plus :func:`extra_unet_models`."""
    return {**PRESETS, **extra_unet_models()}


# ------------------------------------------------------------------ sources


@dataclass(frozen=True)
class Loaded:
    """A dataset found in a source, with a key that names it and a name for people."""

    key: str
    name: str
    dataset: datasets.Dataset


def _group_columns(dataset: datasets.Dataset) -> list[str]:
    """Grouping columns worth a breakdown: 2..12 distinct values over the pairs."""
    usable = []
    for column in dataset.group_columns:
        values = {pair.groups.get(column, "") for pair in dataset.pairs}
        if 2 <= len(values) <= 12:
            usable.append(column)
    return usable


@st.cache_resource(show_spinner=False)
def _bundled() -> datasets.Dataset:
    return datasets.bundled_sample()


def bundled() -> Loaded:
    return Loaded("bundled", "bundled DSB2018 sample", _bundled())


def from_zip(name: str, data: bytes) -> Loaded:
    """The pairs of an uploaded zip. Raises :class:`segcore.datasets.ArchiveError` for a refused archive."""
    digest = hashlib.blake2b(data, digest_size=12).hexdigest()
    cached = st.session_state.get("ev_dataset")
    if isinstance(cached, Loaded) and cached.key == f"zip:{digest}":
        return cached
    return Loaded(f"zip:{digest}", name, datasets.read_zip(data, limits=ZIP_LIMITS))


def from_folder(folder) -> Loaded:
    """A server folder the operator listed (never one a visitor typed); listed once per session and folder."""
    cached = st.session_state.get("ev_dataset")
    if isinstance(cached, Loaded) and cached.key == f"folder:{folder}":
        return cached
    return Loaded(f"folder:{folder}", str(folder), datasets.find_pairs(folder))


def group_columns(loaded: Loaded) -> list[str]:
    return _group_columns(loaded.dataset)


# --------------------------------------------------------------------- runs


@dataclass
class Job:
    """A run in progress (filled by the background thread, read by the page)."""

    id: int
    loaded: Loaded
    methods: list[Preset]
    pairs: list[datasets.Pair]
    started: float = field(default_factory=time.perf_counter)
    done: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[datasets.Skipped] = field(default_factory=list)
    groups: dict[str, dict[str, str]] = field(default_factory=dict)
    pair_seconds: list[float] = field(default_factory=list)
    finished: float | None = None
    error: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def total(self) -> int:
        return len(self.pairs)

    @property
    def running(self) -> bool:
        return self.finished is None

    def seconds_per_image(self) -> float | None:
        """Median time of one image so far: the first image also pays one-off model loads, the median does not."""
        return float(np.median(self.pair_seconds)) if self.pair_seconds else None

    def seconds_left(self) -> float | None:
        per_image = self.seconds_per_image()
        return None if per_image is None else per_image * (self.total - self.done)


def _work(job: Job) -> None:
    try:
        for scored in evaluation.iter_scores(job.pairs, job.methods, should_stop=job.cancel.is_set):
            job.rows.extend(scored.rows)
            job.skipped.extend(scored.skipped)
            job.groups[scored.id] = dict(scored.groups)
            job.pair_seconds.append(scored.seconds)
            job.done += 1
    except Exception as error:  # a bug must end the run with a message, never leave it hanging
        job.error = f"{type(error).__name__}: {error}"
    finally:
        capacity.release("evaluation")  # before `finished`, so whoever sees the end finds the slot free
        job.finished = time.perf_counter()


def start(loaded: Loaded, labels: Sequence[str], limit: int | None) -> Job | None:
    """Start a run in the background; None when another evaluation holds the server's slot."""
    if not capacity.try_acquire("evaluation"):
        return None
    choices = method_choices()
    pairs = list(loaded.dataset.pairs[:limit])
    job = Job(id=next(_job_ids), loaded=loaded, methods=[choices[label] for label in labels],
              pairs=pairs, skipped=list(loaded.dataset.skipped))
    try:
        threading.Thread(target=_work, args=(job,), name="segcore-evaluation", daemon=True).start()
    except BaseException:
        capacity.release("evaluation")
        raise
    st.session_state["ev_job"] = job
    return job


def current_job() -> Job | None:
    return st.session_state.get("ev_job")


def cancel() -> None:
    job = current_job()
    if job is not None:
        job.cancel.set()


# ------------------------------------------------------------------ results


@dataclass(frozen=True)
class Outcome:
    """A finished run: its table (one row per image and method), skipped pairs and how it went."""

    job_id: int
    loaded: Loaded
    methods: list[str]
    table: pd.DataFrame
    rows: list[dict[str, Any]]
    skipped: list[datasets.Skipped]
    n_pairs: int
    n_done: int
    seconds: float
    seconds_per_image: float
    cancelled: bool
    error: str | None
    group_columns: list[str]


def finish(job: Job) -> Outcome:
    """The outcome of a finished job; kept in ``ev_result`` until the next run finishes."""
    methods = [preset.label for preset in job.methods]
    rows = evaluation.sort_rows(job.rows, methods)
    table = pd.DataFrame(rows)
    columns = group_columns(job.loaded)
    if len(table):
        for column in job.loaded.dataset.group_columns:
            table[column] = [job.groups.get(image, {}).get(column, "") for image in table["image"]]
    outcome = Outcome(job.id, job.loaded, methods, table, rows, list(job.skipped), job.total, job.done,
                      (job.finished or time.perf_counter()) - job.started, job.seconds_per_image() or 0.0,
                      job.cancel.is_set(), job.error, columns)
    st.session_state["ev_result"] = outcome
    st.session_state["ev_gallery"] = {}
    return outcome


PIXEL_COLUMNS = {"iou": "IoU", "dice": "Dice", "pixel_accuracy": "pixel accuracy"}
OBJECT_COLUMNS = {"ap50": "AP50", "ap75": "AP75", "dsb_score": "DSB score", "f1_50": "F1 at 0.5", "pq": "PQ"}


def summary_table(outcome: Outcome, columns: dict[str, str]) -> pd.DataFrame:
    """Mean [95% bootstrap interval] of the given scores, one row per method (columns: {key: title})."""
    records = []
    for method in outcome.methods:
        mine = outcome.table[outcome.table["method"] == method]
        record: dict[str, Any] = {"method": method, "images": len(mine)}
        for key, title in columns.items():
            if key in mine:
                mean, low, high = evaluation.bootstrap_ci(mine[key].dropna().tolist())
                record[title] = f"{mean:.3f} [{low:.2f}, {high:.2f}]" if low == low else f"{mean:.3f}"
        records.append(record)
    return pd.DataFrame(records)


def instance_rules(outcome: Outcome) -> tuple[str, str]:
    """How the true objects were found, and per method how its objects were (for the caption)."""
    table = outcome.table
    true_rules = ", ".join(sorted(set(table["true_instances"].dropna())))
    predicted = ", ".join(f"{method}: {rule}" for method, rule in
                          table.groupby("method", sort=False)["pred_instances"].first().items())
    return true_rules, predicted


def paired_scores(outcome: Outcome, score: str, first: str, second: str) -> pd.DataFrame:
    """One row per image scored by both methods, columns ``first`` and ``second``."""
    wide = outcome.table.pivot(index="image", columns="method", values=score)
    return wide[[first, second]].dropna()


def report(outcome: Outcome) -> dict[str, Any]:
    """The document ``python -m segcore evaluate --json`` writes, for this run."""
    return evaluation.report(outcome.rows, outcome.methods, outcome.skipped, match="oracle", task="binary",
                             source=outcome.loaded.name)


def csv_text(outcome: Outcome) -> str:
    table = outcome.table.copy()
    if "ap_curve" in table:
        table["ap_curve"] = [";".join(f"{v:.4f}" for v in curve) if isinstance(curve, list) else ""
                             for curve in table["ap_curve"]]
    return table.to_csv(index=False, float_format="%.6g")


def worst(outcome: Outcome, method: str, score: str, n: int = 3) -> list[str]:
    """The ``n`` image ids where ``method`` scored lowest on ``score``."""
    mine = outcome.table[outcome.table["method"] == method].sort_values([score, "image"])
    return mine["image"].head(n).tolist()


def _pair(outcome: Outcome, image_id: str) -> datasets.Pair:
    return next(pair for pair in outcome.loaded.dataset.pairs if pair.id == image_id)


def error_picture(outcome: Outcome, image_id: str, method: str) -> np.ndarray:
    """The image with the method's false positives (magenta) and false negatives (cyan), as on Compare."""
    gallery = st.session_state.setdefault("ev_gallery", {})
    key = (outcome.job_id, image_id, method)
    if key not in gallery:
        arrays = datasets.read_pair(_pair(outcome, image_id))
        result = method_choices()[method].run(arrays.image)
        predicted = result.mask if result.mask is not None else metrics.match_labels(arrays.mask > 0, result.labels)
        picture = viz.error_map(arrays.mask > 0, np.asarray(predicted) > 0, image=arrays.image)
        gallery[key] = viz.downscale_for_display(picture, GALLERY_SIDE)
    return gallery[key]


def preview(loaded: Loaded, n: int = 6) -> list[tuple[np.ndarray, str]]:
    """The first ``n`` readable pairs as (image with its true outlines, caption): what the run will score."""
    previews = st.session_state.setdefault("ev_previews", {})
    if loaded.key not in previews:
        pictures = []
        columns = _group_columns(loaded.dataset)
        for pair in loaded.dataset.pairs:
            if len(pictures) == n:
                break
            try:
                arrays = datasets.read_pair(pair)
            except SegcoreError:  # listed as skipped when the run reaches it
                continue
            group = " · ".join(pair.groups.get(column, "") for column in columns)
            pictures.append((display.truth_thumbnail(arrays.image, arrays.mask),
                             f"{pair.id[:16]}" + (f" · {group}" if group else "")))
        previews.clear()  # one dataset's previews per session
        previews[loaded.key] = pictures
    return previews[loaded.key]


def open_in_compare(outcome: Outcome, image_id: str) -> None:
    """Button callback: make this pair the current image (with its mask) and ask for the Compare page."""
    arrays = datasets.read_pair(_pair(outcome, image_id))
    state.use_image(arrays.image, f"{image_id} ({outcome.loaded.name})", arrays.mask, "from the dataset")
    st.session_state["ev_open_compare"] = True
