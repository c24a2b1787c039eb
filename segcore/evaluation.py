"""Scoring methods on a whole dataset, one image at a time, in-process or on Dask.

:func:`score_pair` is the unit of work: it decodes one :class:`~segcore.datasets.Pair`,
runs every method on it and scores each result against the ground truth with
the pixel scores (:func:`segcore.metrics.evaluate`) and the instance scores
(:func:`segcore.metrics.match_instances`). The command line, the Dask
workers and the "Evaluate a dataset" page all call it, so a number means the
same thing everywhere. A pair that cannot be read (corrupt file, mask of
another size) comes back as a skipped entry, not an exception.

:func:`iter_scores` runs it over many pairs and yields each result as it
finishes: in this process by default, or on a Dask cluster
(:func:`dask_client`: a ``LocalCluster`` of worker processes, or an
existing scheduler). Workers read their own files by path; at most a few
pairs per worker are in flight, so memory does not grow with the dataset.
Models are loaded once per worker process (``segcore.unet.model`` caches
them per process).

Instances
---------
In a binary task every row also holds ``ap50``, ``ap75``, ``dsb_score``,
``f1_50`` and ``pq`` (see :class:`segcore.metrics.InstanceScores`), and
says which objects were compared:

- ``true_instances``: ``"labels"`` (the dataset's instance label file),
  ``"mask labels"`` (the mask itself holds several object values) or
  ``"connected components"`` of a binary mask (8-connectivity);
- ``pred_instances``: ``"method instances"`` (methods whose output is
  instances: edges, watershed), ``"split nuclei"`` (a method that splits
  touching objects itself: the U-Net's distance-transform watershed,
  ``info["instances"]``) or ``"connected components"`` of the scored
  foreground (8-connectivity).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from . import metrics
from .compare import Preset
from .datasets import Pair, Skipped, read_pair
from .errors import SegcoreError
from .instances import to_instances
from .registry import METHODS, segment
from .result import SegmentationResult

__all__ = [
    "INSTANCE_KEYS",
    "PIXEL_KEYS",
    "SCORE_KEYS",
    "PairScores",
    "dask_client",
    "iter_scores",
    "predicted_instances",
    "report",
    "score_pair",
    "summarise",
    "true_instances",
]

PIXEL_KEYS = ("iou", "dice", "pixel_accuracy", "precision", "recall", "mean_iou")
INSTANCE_KEYS = ("ap50", "ap75", "dsb_score", "f1_50", "pq")
SCORE_KEYS = PIXEL_KEYS + INSTANCE_KEYS

# Pairs queued per Dask worker: enough to keep it busy, few enough that nothing piles up.
_IN_FLIGHT_PER_WORKER = 2


@dataclass(frozen=True)
class PairScores:
    """The scores of every method on one pair.

    ``rows``: one dict per method that ran (``image``, ``method``, the
    :data:`PIXEL_KEYS`, ``seconds``; in a binary task also the
    :data:`INSTANCE_KEYS`, ``ap_curve``, ``n_true``, ``n_pred`` and the instance
    rules of the module docstring). ``skipped``: the whole pair (unreadable, wrong
    size) or one method that failed on it.
    """

    id: str
    groups: Mapping[str, str]
    rows: list[dict[str, Any]]
    skipped: list[Skipped] = field(default_factory=list)
    shape: tuple[int, int] | None = None
    seconds: float = 0.0


def true_instances(mask: np.ndarray, labels: np.ndarray | None) -> tuple[np.ndarray, str]:
    """The true objects of a pair and the rule that gave them (see the module docstring)."""
    if labels is not None:
        return labels, "labels"
    if len(np.unique(mask[mask > 0])) > 1:
        return mask, "mask labels"
    return to_instances(mask > 0)[0], "connected components"


def predicted_instances(result: SegmentationResult, scores: metrics.Evaluation) -> tuple[np.ndarray, str]:
    """The objects of a prediction and the rule that gave them (see the module docstring)."""
    if METHODS[result.method].output == "instances":
        return result.labels, "method instances"
    if isinstance(result.info.get("instances"), np.ndarray):
        return result.info["instances"], "split nuclei"
    if result.mask is not None:
        foreground = result.mask
    else:
        foreground = metrics.apply_mapping(result.labels, scores.mapping) > 0
    return to_instances(foreground)[0], "connected components"


def score_result(truth: np.ndarray, instances: np.ndarray | None, result: SegmentationResult, *,
                 match: str = "oracle", binary: bool | None = True) -> dict[str, Any]:
    """Pixel and (in a binary task) instance scores of one result, as one row without ``image``/``method``."""
    scores = metrics.evaluate(truth, result, match=match, binary=binary)
    row: dict[str, Any] = {key: getattr(scores, key) for key in PIXEL_KEYS}
    row["seconds"] = result.seconds
    if scores.binary:
        true_objects, true_rule = true_instances(truth, instances)
        pred_objects, pred_rule = predicted_instances(result, scores)
        matched = metrics.match_instances(true_objects, pred_objects)
        summary = matched.summary()
        row.update({key: summary[key] for key in INSTANCE_KEYS})
        row.update(n_true=summary["n_true"], n_pred=summary["n_pred"], ap_curve=matched.ap.tolist(),
                   true_instances=true_rule, pred_instances=pred_rule)
    return row


def score_pair(pair: Pair, methods: Sequence[Preset], *, match: str = "oracle",
               binary: bool | None = True) -> PairScores:
    """Read one pair and score every :class:`~segcore.compare.Preset` on it; never raises for bad input.

    Rows come in the presets' order, ``method`` being the preset's label.
    """
    start = time.perf_counter()
    try:
        arrays = read_pair(pair)
    except SegcoreError as error:
        return PairScores(pair.id, dict(pair.groups), [], [Skipped(pair.id, str(error))],
                          seconds=time.perf_counter() - start)
    rows, skipped = [], []
    for preset in methods:
        try:
            result = segment(arrays.image, preset.method, **preset.params)
            row = score_result(arrays.mask, arrays.instances, result, match=match, binary=binary)
        except SegcoreError as error:
            skipped.append(Skipped(pair.id, f"{preset.label}: {error}"))
            continue
        rows.append({"image": pair.id, "method": preset.label, **row})
    return PairScores(pair.id, dict(pair.groups), rows, skipped, tuple(arrays.mask.shape),
                      time.perf_counter() - start)


# ------------------------------------------------------------------- running


def dask_client(*, workers: int | None = None, scheduler: str | None = None):
    """A ``dask.distributed.Client``: on an existing ``scheduler``, or a new local cluster of ``workers``.

    Local workers are processes of one thread each (Dask's default worker
    environment also limits numpy, OpenCV and torch to one thread), without a
    dashboard. Close it with :func:`close_client`; :func:`iter_scores` does not.
    """
    import logging

    from dask.distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler)  # waits distributed.comm.timeouts.connect (Dask's config) at most
    cluster = LocalCluster(n_workers=int(workers or 1), threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.ERROR)
    client = Client(cluster)
    client._segcore_cluster = cluster  # closed with the client below
    return client


def close_client(client) -> None:
    """Close a client from :func:`dask_client`, and the local cluster it started."""
    cluster = getattr(client, "_segcore_cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()


def iter_scores(pairs: Iterable[Pair], methods: Sequence[Preset], *, match: str = "oracle",
                binary: bool | None = True, client=None,
                should_stop: Callable[[], bool] | None = None) -> Iterator[PairScores]:
    """Yield :func:`score_pair` of every pair as it finishes.

    Without ``client``, in this process and in order; with a Dask client, on its
    workers in the order they finish (sort the rows to compare runs).
    ``should_stop()`` is asked between pairs; once True no pair starts and those on
    workers are cancelled.
    """
    if client is None:
        for pair in pairs:
            if should_stop is not None and should_stop():
                return
            yield score_pair(pair, methods, match=match, binary=binary)
        return

    from dask.distributed import as_completed

    n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    window = _IN_FLIGHT_PER_WORKER * n_workers
    queue = iter(pairs)
    methods = list(methods)

    pending = set()

    def submit(pair: Pair):
        future = client.submit(score_pair, pair, methods, match=match, binary=binary, pure=False)
        pending.add(future)
        return future

    completed = as_completed([submit(pair) for pair in itertools.islice(queue, window)])
    try:
        for future in completed:
            pending.discard(future)
            result = future.result()
            future.release()
            stop = should_stop is not None and should_stop()
            if not stop:
                following = next(queue, None)
                if following is not None:
                    completed.add(submit(following))
            yield result
            if stop:
                return
    finally:
        if pending:  # stopped early: nothing more is wanted from the workers
            client.cancel(list(pending))


# ------------------------------------------------------------------- reports


def summarise(rows: Sequence[Mapping[str, Any]], methods: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Means per method of every score in the rows (and ``seconds``, ``n_images``), in ``methods`` order."""
    summary: dict[str, dict[str, Any]] = {}
    for method in methods:
        mine = [row for row in rows if row["method"] == method]
        if not mine:
            continue
        means: dict[str, Any] = {}
        for key in (*SCORE_KEYS, "seconds"):
            values = [row[key] for row in mine if key in row]
            if values:
                means[key] = float(np.mean(values))
        means["n_images"] = len(mine)
        summary[method] = means
    return summary


def sort_rows(rows: Iterable[Mapping[str, Any]], methods: Sequence[str]) -> list[dict[str, Any]]:
    """Rows by image id, then in ``methods`` order (runs on Dask finish in any order)."""
    order = {method: i for i, method in enumerate(methods)}
    return sorted((dict(row) for row in rows), key=lambda row: (row["image"], order.get(row["method"], len(order))))


def report(rows: Sequence[Mapping[str, Any]], methods: Sequence[str], skipped: Sequence[Skipped],
           **about: Any) -> dict[str, Any]:
    """The JSON document ``python -m segcore evaluate --json`` writes (and the page offers).

    ``{"summary": {method: means}, "images": rows, "skipped": [{"name", "reason"}], **about}``;
    ``about`` says how it ran (match, task, folders).
    """
    rows = sort_rows(rows, methods)
    return {"summary": summarise(rows, methods), "images": rows,
            "skipped": [{"name": item.name, "reason": item.reason} for item in skipped], **about}


# ---------------------------------------------------------------- statistics


def bootstrap_ci(values: Sequence[float], *, confidence: float = 0.95, n_resamples: int = 2000,
                 random_state: int = 0) -> tuple[float, float, float]:
    """(mean, low, high): the mean of ``values`` and its percentile bootstrap interval.

    ``scipy.stats.bootstrap`` resamples the images; NaNs are left out and ``random_state``
    makes the interval reproducible. Fewer than two values give (mean, nan, nan),
    identical values that value three times.
    """
    data = np.asarray([v for v in values if v == v], dtype=np.float64)  # NaNs (not scored) left out
    if data.size == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(data.mean())
    if data.size < 2:
        return mean, float("nan"), float("nan")
    if np.all(data == data[0]):
        return mean, mean, mean
    from scipy.stats import bootstrap

    interval = bootstrap((data,), np.mean, confidence_level=confidence, n_resamples=n_resamples,
                         method="percentile", rng=np.random.default_rng(random_state)).confidence_interval
    return mean, float(interval.low), float(interval.high)


@dataclass(frozen=True)
class PairedComparison:
    """Method A against method B on the same images, by one score (higher is better).

    ``ties``: equal within 1e-9. ``p_value``: two-sided Wilcoxon signed-rank test
    on the differing images (``scipy.stats.wilcoxon``), nan when fewer than two differ.
    """

    n: int
    wins: int
    ties: int
    losses: int
    mean_difference: float
    p_value: float


def paired_comparison(a: Sequence[float], b: Sequence[float]) -> PairedComparison:
    """Compare two methods' scores on the same images (``a[i]`` and ``b[i]`` belong to image i)."""
    first, second = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if first.shape != second.shape or first.ndim != 1:
        raise SegcoreError("the two methods must be scored on the same images")
    difference = first - second
    differs = np.abs(difference) > 1e-9
    wins = int(np.count_nonzero(differs & (difference > 0)))
    losses = int(np.count_nonzero(differs & (difference < 0)))
    p_value = float("nan")
    if np.count_nonzero(differs) >= 2:
        from scipy.stats import wilcoxon

        p_value = float(wilcoxon(difference[differs]).pvalue)
    return PairedComparison(len(first), wins, len(first) - wins - losses, losses,
                            float(difference.mean()) if len(first) else float("nan"), p_value)
