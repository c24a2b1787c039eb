"""Scores that compare a segmentation with its ground truth.

Every function takes two label arrays of the same shape, the ground truth
``y_true`` first and the prediction ``y_pred`` second (scikit-learn's order),
of any integer or boolean type. Labels are non-negative; 0 is background.
Arrays of different shapes, of a non-integer type (threshold a probability map
first) or with negative labels raise ``InvalidMaskError``; a bad
``empty_score``, ``match``, ``n_classes`` or ``thresholds`` raises
``InvalidParameterError``.

Binary scores
-------------
:func:`iou`, :func:`dice`, :func:`precision` and :func:`recall` compare
foregrounds, where foreground means ``label > 0``. With TP, FP and FN the
numbers of pixels that are foreground in both arrays, only in ``y_pred`` and
only in ``y_true``:

- IoU (Jaccard index) = TP / (TP + FP + FN)
- Dice (F1 score) = 2 TP / (2 TP + FP + FN) = 2 IoU / (1 + IoU)
- precision = TP / (TP + FP), recall = TP / (TP + FN)

**Empty masks.** Both empty: nothing to find, nothing found; all four return
``empty_score`` (1.0 by default; ``float("nan")`` leaves such images out of a
``nanmean``). Exactly one empty: all four are 0.0, since missing every object,
or finding objects where there are none, is wholly wrong. This is
scikit-learn's ``jaccard_score`` and ``f1_score`` with
``zero_division=empty_score``; unlike its precision and recall, an empty
prediction on a non-empty truth has precision 0.0 and a non-empty prediction
on an empty truth recall 0.0, so that the four scores agree. Per class, a class
absent from both arrays scores ``empty_score``, one present in only one 0.0.

Classes
-------
:func:`confusion_matrix`, :func:`per_class_iou` and :func:`mean_iou` compare
labels exactly, as class indices 0..C-1 (rows of the matrix are the truth,
columns the prediction, as in scikit-learn); class 0 (background) is a class
like the others. C is the largest label of either array plus one unless
``n_classes`` says more. :func:`pixel_accuracy` does either (its ``binary``
flag).

Clusters and matching
---------------------
Clustering methods number their clusters arbitrarily: cluster 2 may be the
nuclei. :func:`match_labels` relabels a prediction into the truth's classes
before scoring, and :func:`evaluate` does matching and every score in one call.
``match`` is one of:

- ``"oracle"`` (default): one-to-one. The Hungarian algorithm pairs predicted
  labels with true classes so that the total overlap is as large as possible.
  A predicted label left without a class (more clusters than classes), or
  paired with a class it shares no pixel with, becomes 0: an unmatched cluster
  is not the object. It peeks at the truth, which a user could not, so it
  scores the best a clustering could do.
- ``"majority"``: many-to-one; each predicted label becomes the true class it
  overlaps most (ties: the smallest class), so several clusters can together
  form one class.
- ``"none"``: the prediction is scored as it is.

**Binary tasks.** :func:`evaluate` decides, unless told by ``binary``, that a
task is foreground against background when the truth or the prediction holds 0
and at most one other value; the truth is then reduced to ``y_true > 0``. In a
binary task a binary prediction is never relabelled, even with
``match="oracle"``: a threshold with the wrong polarity is a wrong mask, and
matching would turn it into a perfect one. Any other prediction is matched
first (oracle matching then keeps the one cluster that best covers the
foreground). In a multi-class task the foreground scores measure how well
objects were told from background, ``per_class_iou`` and ``mean_iou`` the
classes.

Instances
---------
:func:`match_instances` matches predicted objects to true objects (one label
per object, values need not be consecutive, a bool mask is one object)
one-to-one at IoU thresholds and gives TP, FP, FN, precision, recall, F1 and
the DSB2018 average precision AP = TP / (TP + FP + FN) per threshold, plus
panoptic quality at 0.5 (SQ the mean IoU of the matched pairs, RQ the F1,
PQ = SQ x RQ); :func:`dsb_score` is their mean AP over 0.5:0.05:0.95
(:data:`DSB_THRESHOLDS`).

At each threshold t, the pairs with IoU > t are matched by the Hungarian
algorithm (``scipy.optimize.linear_sum_assignment``) so that as many objects
as possible match, and among those matchings the one with the largest total
IoU. At t >= 0.5 a match is unique anyway (the objects of one image are
disjoint). Pairs at exactly t do not match (the DSB2018 rule; stardist's
``matching`` counts IoU >= t). **No objects:** when neither image has one,
every score is 1.0; when only one has objects, every score is 0.0, as for the
pixel scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import InvalidMaskError, InvalidParameterError
from .result import SegmentationResult, labels_dtype

__all__ = [
    "DSB_THRESHOLDS",
    "MATCH_CHOICES",
    "Evaluation",
    "InstanceScores",
    "apply_mapping",
    "confusion_matrix",
    "dice",
    "dsb_score",
    "evaluate",
    "iou",
    "match_instances",
    "match_labels",
    "mean_iou",
    "per_class_iou",
    "pixel_accuracy",
    "precision",
    "recall",
]

MATCH_CHOICES = ("oracle", "majority", "none")

# Rounded, so that an IoU of exactly 0.7 does not pass the threshold 0.7
# (np.arange(0.5, 1.0, 0.05) holds 0.7000000000000002 and friends).
DSB_THRESHOLDS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)

# A dense table of label pairs beyond this many cells (512 MiB of int64)
# means labels were not numbered compactly; refuse rather than swap.
_MAX_CELLS = 1 << 26


# ---------------------------------------------------------------- input checks


def _label_array(values: Any, name: str) -> np.ndarray:
    """``values`` as an integer array; bool becomes a uint8 view (0/1)."""
    if isinstance(values, SegmentationResult):
        raise InvalidMaskError(
            f"{name} is a SegmentationResult; pass result.mask or result.labels, "
            "or score it with segcore.metrics.evaluate"
        )
    array = np.asarray(values)
    if array.dtype == bool:
        return array.view(np.uint8)
    if array.dtype == np.uint64:  # numpy cannot add uint64 to the int64 pair index
        return array.astype(np.int64)
    if not np.issubdtype(array.dtype, np.integer):
        raise InvalidMaskError(
            f"{name} must hold integer or boolean labels, got values of type {array.dtype}; "
            "threshold a probability map (e.g. probability > 0.5) before scoring it"
        )
    return array


def _check_pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    truth = _label_array(y_true, "y_true")
    pred = _label_array(y_pred, "y_pred")
    if truth.shape != pred.shape:
        raise InvalidMaskError(
            f"y_true has shape {truth.shape} but y_pred has shape {pred.shape}; "
            "a prediction must have the shape of its ground truth"
        )
    if truth.size == 0:
        raise InvalidMaskError(f"the label arrays are empty (shape {truth.shape}); there is nothing to score")
    return truth, pred


def _check_nonnegative(labels: np.ndarray, name: str) -> None:
    if labels.dtype.kind == "i":
        lowest = int(labels.min())
        if lowest < 0:
            raise InvalidMaskError(
                f"{name} holds the negative label {lowest}; labels must be 0 (background) or positive"
            )


def _check_empty_score(empty_score: Any) -> float:
    try:
        value = float(empty_score)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"empty_score must be a number between 0 and 1 (or nan), got {empty_score!r}"
        ) from None
    if not (np.isnan(value) or 0.0 <= value <= 1.0):
        raise InvalidParameterError(f"empty_score must be between 0 and 1 (or nan), got {empty_score!r}")
    return value


def _check_match(match: Any) -> str:
    if match not in MATCH_CHOICES:
        raise InvalidParameterError(
            f"match must be one of {', '.join(map(repr, MATCH_CHOICES))}, got {match!r}"
        )
    return match


def _check_cells(n_rows: int, n_cols: int) -> None:
    if n_rows * n_cols > _MAX_CELLS:
        raise InvalidMaskError(
            f"a table of {n_rows} x {n_cols} labels is too large to build (limit {_MAX_CELLS} cells); "
            "number the labels 0..C-1 first, e.g. with skimage.segmentation.relabel_sequential"
        )


# ------------------------------------------------------------- counting pixels


def _present_values(labels: np.ndarray) -> np.ndarray:
    """Sorted distinct values of a non-negative integer array."""
    n_values = int(labels.max()) + 1
    if n_values <= labels.size + 65536:  # a histogram is cheaper than sorting
        return np.flatnonzero(np.bincount(labels.ravel().astype(np.intp, copy=False), minlength=n_values))
    return np.unique(labels)


def _bincount_pairs(rows: np.ndarray, cols: np.ndarray, n_rows: int, n_cols: int) -> np.ndarray:
    """(n_rows, n_cols) counts of the pairs (rows[i], cols[i]), in one bincount."""
    index = rows.ravel().astype(np.int64)
    index *= n_cols
    index += cols.ravel()
    counts = np.bincount(index, minlength=n_rows * n_cols)
    return counts.astype(np.int64, copy=False).reshape(n_rows, n_cols)


def _pair_counts(truth: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Overlap counts between the values present in ``truth`` (rows) and ``pred`` (columns).

    Returns the counts and the label values of the rows and columns. Labels
    numbered compactly are counted directly; sparse ones (e.g. 7 labels up to
    10**6) are renumbered first so the table only holds values that occur.
    """
    n_rows = int(truth.max()) + 1
    n_cols = int(pred.max()) + 1
    if n_rows * n_cols <= max(truth.size, 65536):
        counts = _bincount_pairs(truth, pred, n_rows, n_cols)
        row_values = np.flatnonzero(counts.sum(axis=1))
        col_values = np.flatnonzero(counts.sum(axis=0))
        if len(row_values) < n_rows or len(col_values) < n_cols:
            counts = counts[np.ix_(row_values, col_values)]
        return counts, row_values, col_values
    row_values, row_index = np.unique(truth, return_inverse=True)
    col_values, col_index = np.unique(pred, return_inverse=True)
    _check_cells(len(row_values), len(col_values))
    return _bincount_pairs(row_index, col_index, len(row_values), len(col_values)), row_values, col_values


def _foreground_counts(truth: np.ndarray, pred: np.ndarray) -> tuple[int, int, int]:
    """(TP, FP, FN) of the foregrounds ``label > 0``."""
    true_fg = truth > 0
    pred_fg = pred > 0
    tp = int(np.count_nonzero(true_fg & pred_fg))
    return tp, int(np.count_nonzero(pred_fg)) - tp, int(np.count_nonzero(true_fg)) - tp


def _ratio(numerator: int, denominator: int, both_empty: bool, empty_score: float) -> float:
    """The empty rule of the module docstring around ``numerator / denominator``."""
    if both_empty:
        return empty_score
    if denominator == 0:
        return 0.0
    return numerator / denominator


def _binary_score(name: str, y_true: Any, y_pred: Any, empty_score: float) -> float:
    """One binary score (``name``: iou, dice, precision, recall) of a pair of arrays, inputs checked."""
    empty_score = _check_empty_score(empty_score)
    return _binary_scores(*_foreground_counts(*_check_pair(y_true, y_pred)), empty_score)[name]


def _binary_scores(tp: int, fp: int, fn: int, empty_score: float) -> dict[str, float]:
    both_empty = tp + fp + fn == 0
    return {
        "iou": _ratio(tp, tp + fp + fn, both_empty, empty_score),
        "dice": _ratio(2 * tp, 2 * tp + fp + fn, both_empty, empty_score),
        "precision": _ratio(tp, tp + fp, both_empty, empty_score),
        "recall": _ratio(tp, tp + fn, both_empty, empty_score),
    }


def _per_class_from_confusion(matrix: np.ndarray, empty_score: float) -> np.ndarray:
    overlap = np.diag(matrix).astype(np.float64)
    union = matrix.sum(axis=0) + matrix.sum(axis=1) - overlap
    scores = np.full(len(overlap), empty_score, dtype=np.float64)
    present = union > 0
    scores[present] = overlap[present] / union[present]
    return scores


def _mean_from_confusion(matrix: np.ndarray) -> float:
    present = (matrix.sum(axis=0) + matrix.sum(axis=1)) > 0
    return float(_per_class_from_confusion(matrix, 0.0)[present].mean())


# --------------------------------------------------------------- binary scores


def iou(y_true: Any, y_pred: Any, *, empty_score: float = 1.0) -> float:
    """Intersection over union (Jaccard index) of the foregrounds; ``empty_score`` as in the module docstring.

    >>> iou([[1, 1, 0, 0]], [[0, 1, 1, 0]])
    0.3333333333333333
    >>> iou([[0, 0]], [[0, 0]]), iou([[0, 0]], [[0, 0]], empty_score=0.0)
    (1.0, 0.0)
    """
    return _binary_score("iou", y_true, y_pred, empty_score)


def dice(y_true: Any, y_pred: Any, *, empty_score: float = 1.0) -> float:
    """Dice coefficient (F1 score) of the foregrounds, 2 IoU / (1 + IoU).

    >>> dice([[1, 1, 0, 0]], [[0, 1, 1, 0]])
    0.5
    """
    return _binary_score("dice", y_true, y_pred, empty_score)


def precision(y_true: Any, y_pred: Any, *, empty_score: float = 1.0) -> float:
    """Fraction of the predicted foreground that is true foreground (an empty prediction scores 0.0).

    >>> precision([[1, 1, 0, 0]], [[0, 1, 1, 1]])
    0.3333333333333333
    >>> precision([[1, 0]], [[0, 0]])
    0.0
    """
    return _binary_score("precision", y_true, y_pred, empty_score)


def recall(y_true: Any, y_pred: Any, *, empty_score: float = 1.0) -> float:
    """Fraction of the true foreground that the prediction found (0.0 on an empty truth).

    >>> recall([[1, 1, 0, 0]], [[0, 1, 1, 1]])
    0.5
    """
    return _binary_score("recall", y_true, y_pred, empty_score)


def pixel_accuracy(y_true: Any, y_pred: Any, *, binary: bool = True) -> float:
    """Fraction of pixels on which the two arrays agree.

    ``binary=True`` (default) compares foreground/background, so a 0/1 and a 0/255
    mask of one shape agree everywhere; ``binary=False`` compares labels exactly.

    >>> pixel_accuracy([[1, 1, 0, 0]], [[0, 1, 1, 0]])
    0.5
    >>> pixel_accuracy([[0, 1, 2]], [[0, 2, 2]]), pixel_accuracy([[0, 1, 2]], [[0, 2, 2]], binary=False)
    (1.0, 0.6666666666666666)
    """
    truth, pred = _check_pair(y_true, y_pred)
    if binary:
        agree = np.count_nonzero((truth > 0) == (pred > 0))
    else:
        agree = np.count_nonzero(truth == pred)
    return int(agree) / truth.size


# --------------------------------------------------------------------- classes


def confusion_matrix(y_true: Any, y_pred: Any, *, n_classes: int | None = None) -> np.ndarray:
    """(C, C) int64 pixel counts: ``matrix[i, j]`` pixels of true label i predicted as j.

    One ``np.bincount`` over ``true * C + pred`` counts all pairs in one pass. Labels
    so large that the matrix would not fit raise ``InvalidMaskError``.

    >>> confusion_matrix([[0, 0, 1, 1]], [[0, 1, 1, 1]])
    array([[1, 1],
           [0, 2]])
    >>> confusion_matrix([[0, 1]], [[0, 1]], n_classes=3)
    array([[1, 0, 0],
           [0, 1, 0],
           [0, 0, 0]])
    """
    truth, pred = _check_pair(y_true, y_pred)
    _check_nonnegative(truth, "y_true")
    _check_nonnegative(pred, "y_pred")
    needed = max(int(truth.max()), int(pred.max())) + 1
    if n_classes is None:
        n_classes = needed
    elif isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < needed:
        raise InvalidParameterError(
            f"n_classes must be an integer of at least {needed} (the labels go up to {needed - 1}), "
            f"got {n_classes!r}"
        )
    n_classes = int(n_classes)
    _check_cells(n_classes, n_classes)
    return _bincount_pairs(truth, pred, n_classes, n_classes)


def per_class_iou(
    y_true: Any, y_pred: Any, *, n_classes: int | None = None, empty_score: float = 1.0
) -> np.ndarray:
    """IoU of every class 0..C-1, background included (match clusters first with :func:`match_labels`).

    >>> per_class_iou([[0, 0, 1, 1]], [[0, 1, 1, 1]])
    array([0.5       , 0.66666667])
    >>> per_class_iou([[0, 1]], [[0, 1]], n_classes=3)
    array([1., 1., 1.])
    """
    empty_score = _check_empty_score(empty_score)
    return _per_class_from_confusion(confusion_matrix(y_true, y_pred, n_classes=n_classes), empty_score)


def mean_iou(y_true: Any, y_pred: Any) -> float:
    """Mean of :func:`per_class_iou` over the classes present in either array.

    A class in neither array is left out; on binary masks this is the mean of the
    background and foreground IoU.

    >>> mean_iou([[0, 0, 1, 1]], [[0, 1, 1, 1]])
    0.5833333333333333
    >>> mean_iou([[0, 3]], [[0, 3]])  # classes 1 and 2 occur nowhere
    1.0
    """
    return _mean_from_confusion(confusion_matrix(y_true, y_pred))


# -------------------------------------------------------------------- matching


def apply_mapping(labels: Any, mapping: dict[int, int]) -> np.ndarray:
    """Relabel ``labels`` through ``mapping`` {old: new}; values missing from it become 0.

    The result has the smallest unsigned type that holds the new labels.

    >>> apply_mapping([[0, 1, 2, 2]], {0: 0, 1: 0, 2: 1})
    array([[0, 0, 1, 1]], dtype=uint8)
    """
    source = _label_array(labels, "labels")
    _check_nonnegative(source, "labels")
    targets = [int(value) for value in mapping.values()]
    if any(value < 0 for value in targets):
        raise InvalidParameterError(f"mapping targets must be labels >= 0, got {sorted(targets)[0]}")
    out_dtype = labels_dtype(max(targets, default=0))
    if source.size == 0:
        return np.zeros(source.shape, dtype=out_dtype)
    n_values = int(source.max()) + 1
    if n_values <= source.size + 65536:
        table = np.zeros(n_values, dtype=out_dtype)
        for old, new in mapping.items():
            if 0 <= old < n_values:
                table[old] = new
        return table[source]
    values, inverse = np.unique(source, return_inverse=True)
    table = np.array([mapping.get(int(value), 0) for value in values], dtype=out_dtype)
    return table[inverse].reshape(source.shape)


def _match_mapping(truth: np.ndarray, pred: np.ndarray, match: str) -> dict[int, int]:
    if match == "none":
        return {int(value): int(value) for value in _present_values(pred)}
    counts, true_values, pred_values = _pair_counts(truth, pred)
    if match == "majority":
        best = counts.argmax(axis=0)  # ties go to the smallest true label
        return {int(p): int(true_values[row]) for p, row in zip(pred_values, best)}
    # scipy.optimize takes most of segcore's import time; pay it only here.
    from scipy.optimize import linear_sum_assignment

    mapping = {int(value): 0 for value in pred_values}
    rows, cols = linear_sum_assignment(counts, maximize=True)
    for row, col in zip(rows, cols):
        # The assignment may pair a cluster with a class it never touches when
        # nothing better is left; sharing no pixel, it is not that class.
        if counts[row, col] > 0:
            mapping[int(pred_values[col])] = int(true_values[row])
    return mapping


def match_labels(
    y_true: Any, y_pred: Any, *, match: str = "oracle", return_mapping: bool = False
) -> np.ndarray | tuple[np.ndarray, dict[int, int]]:
    """Relabel a prediction (e.g. clusters) into the truth's classes, by ``match`` (module docstring).

    ``return_mapping=True`` also returns {predicted label: true class} of every
    label present in ``y_pred``, so a caller can say "cluster 2 -> nuclei".

    >>> truth = [[0, 0, 1, 1]]
    >>> match_labels(truth, [[1, 1, 0, 0]], return_mapping=True)
    (array([[0, 0, 1, 1]], dtype=uint8), {0: 1, 1: 0})

    Three clusters for two classes: the oracle keeps the best cluster per class,
    majority merges clusters into classes.

    >>> match_labels(truth, [[0, 0, 1, 2]])
    array([[0, 0, 1, 0]], dtype=uint8)
    >>> match_labels(truth, [[0, 0, 1, 2]], match="majority")
    array([[0, 0, 1, 1]], dtype=uint8)
    """
    _check_match(match)
    truth, pred = _check_pair(y_true, y_pred)
    _check_nonnegative(truth, "y_true")
    _check_nonnegative(pred, "y_pred")
    mapping = _match_mapping(truth, pred, match)
    relabelled = np.asarray(y_pred) if match == "none" else apply_mapping(pred, mapping)
    return (relabelled, mapping) if return_mapping else relabelled


# ------------------------------------------------------------------ evaluation


@dataclass(frozen=True, eq=False)
class Evaluation:
    """Every score of one prediction, as returned by :func:`evaluate`.

    The foreground scores and ``pixel_accuracy`` are taken after matching
    (``pixel_accuracy`` is exact label agreement in a multi-class task);
    ``per_class_iou`` and ``confusion_matrix`` cover classes 0..C-1 (C = 2 in a
    binary task). ``match`` is the matching applied ("none" when a binary mask was
    scored as it is) and ``mapping`` {predicted label: label it was scored as}.
    """

    iou: float
    dice: float
    precision: float
    recall: float
    pixel_accuracy: float
    mean_iou: float
    per_class_iou: np.ndarray
    confusion_matrix: np.ndarray
    match: str
    mapping: dict[int, int]
    binary: bool

    def as_dict(self) -> dict[str, Any]:
        """The scores as plain Python values (lists for arrays), ready for ``json.dumps``."""
        return {
            "iou": self.iou,
            "dice": self.dice,
            "precision": self.precision,
            "recall": self.recall,
            "pixel_accuracy": self.pixel_accuracy,
            "mean_iou": self.mean_iou,
            "per_class_iou": self.per_class_iou.tolist(),
            "confusion_matrix": self.confusion_matrix.tolist(),
            "match": self.match,
            "mapping": dict(self.mapping),
            "binary": self.binary,
        }


def evaluate(
    y_true: Any,
    y_pred: Any,
    *,
    match: str = "oracle",
    empty_score: float = 1.0,
    binary: bool | None = None,
) -> Evaluation:
    """Score a prediction against its ground truth with every metric at once.

    ``y_pred`` may be a :class:`~segcore.SegmentationResult`: its ``mask`` is scored
    when the method has one and ``binary`` is not False, else its ``labels``.
    ``match``, ``empty_score`` and ``binary`` (None: decide from the data) follow
    the module docstring.

    A k-means labelling whose cluster 0 is the object, then a binary prediction
    scored as it is, inverted:

    >>> scores = evaluate([[0, 0, 1, 1]], [[1, 1, 0, 2]])
    >>> scores.iou, scores.mapping
    (0.5, {0: 1, 1: 0, 2: 0})
    >>> evaluate([[0, 0, 1, 1]], [[True, True, False, False]]).iou
    0.0
    """
    _check_match(match)
    empty_score = _check_empty_score(empty_score)
    if binary not in (None, True, False):
        raise InvalidParameterError(f"binary must be True, False or None (decide from the data), got {binary!r}")
    if isinstance(y_pred, SegmentationResult):
        use_mask = y_pred.mask is not None and binary is not False
        y_pred = y_pred.mask if use_mask else y_pred.labels
    truth, pred = _check_pair(y_true, y_pred)
    _check_nonnegative(truth, "y_true")
    _check_nonnegative(pred, "y_pred")

    pred_is_binary = np.count_nonzero(_present_values(pred)) <= 1
    if binary is None:
        binary = bool(pred_is_binary or np.count_nonzero(_present_values(truth)) <= 1)
    reference = (truth > 0).view(np.uint8) if binary else truth
    applied = "none" if binary and pred_is_binary else match
    mapping = _match_mapping(reference, pred, applied)
    matched = pred if applied == "none" else apply_mapping(pred, mapping)
    if binary:
        matched = (matched > 0).view(np.uint8)
        n_classes = 2
    else:
        n_classes = max(int(reference.max()), int(matched.max())) + 1
    _check_cells(n_classes, n_classes)
    matrix = _bincount_pairs(reference, matched, n_classes, n_classes)

    scores = _binary_scores(
        tp=int(matrix[1:, 1:].sum()),
        fp=int(matrix[0, 1:].sum()),
        fn=int(matrix[1:, 0].sum()),
        empty_score=empty_score,
    )
    return Evaluation(
        **scores,
        pixel_accuracy=float(np.trace(matrix) / truth.size),
        mean_iou=_mean_from_confusion(matrix),
        per_class_iou=_per_class_from_confusion(matrix, empty_score),
        confusion_matrix=matrix,
        match=applied,
        mapping=mapping,
        binary=binary,
    )


# ------------------------------------------------------------------- instances


def _check_thresholds(thresholds: Any) -> np.ndarray:
    values = np.asarray(thresholds, dtype=np.float64) if np.ndim(thresholds) == 1 else None
    if values is None or values.size == 0 or not np.all((values >= 0.0) & (values <= 1.0)):
        raise InvalidParameterError(
            f"thresholds must be a non-empty list of IoU values between 0 and 1, got {thresholds!r}"
        )
    return values


@dataclass(frozen=True)
class InstanceScores:
    """Objects matched one-to-one at each IoU threshold, and the scores that follow.

    ``tp``, ``fp``, ``fn``, ``precision``, ``recall``, ``f1`` and ``ap`` hold one
    value per threshold; ``sq``, ``rq``, ``pq`` are panoptic quality at 0.5 (module
    docstring).
    """

    thresholds: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    ap: np.ndarray
    n_true: int
    n_pred: int
    sq: float
    rq: float
    pq: float

    @property
    def dsb_score(self) -> float:
        """Mean AP over the thresholds (the DSB2018 score with the default thresholds)."""
        return float(self.ap.mean())

    def at(self, threshold: float) -> dict[str, float | int]:
        """TP, FP, FN, precision, recall, F1 and AP at one of the thresholds."""
        hits = np.flatnonzero(np.isclose(self.thresholds, threshold))
        if not len(hits):
            raise InvalidParameterError(f"{threshold} is not one of the thresholds {self.thresholds.tolist()}")
        i = int(hits[0])
        return {"tp": int(self.tp[i]), "fp": int(self.fp[i]), "fn": int(self.fn[i]),
                "precision": float(self.precision[i]), "recall": float(self.recall[i]),
                "f1": float(self.f1[i]), "ap": float(self.ap[i])}

    def summary(self) -> dict[str, float | int]:
        """The headline scores: ``ap50``, ``ap75``, ``dsb_score``, ``f1_50``, ``pq`` (and SQ, RQ, counts).

        Needs 0.5 and 0.75 among the thresholds.
        """
        return {"ap50": self.at(0.5)["ap"], "ap75": self.at(0.75)["ap"], "dsb_score": self.dsb_score,
                "f1_50": self.at(0.5)["f1"], "pq": self.pq, "sq": self.sq, "rq": self.rq,
                "n_true": self.n_true, "n_pred": self.n_pred}

    def as_dict(self) -> dict[str, Any]:
        """Every field as plain Python values (lists for the per-threshold arrays)."""
        out: dict[str, Any] = {"thresholds": self.thresholds.tolist()}
        for key in ("tp", "fp", "fn", "precision", "recall", "f1", "ap"):
            out[key] = getattr(self, key).tolist()
        out.update(n_true=self.n_true, n_pred=self.n_pred, sq=self.sq, rq=self.rq, pq=self.pq,
                   dsb_score=self.dsb_score)
        return out


def _instance_iou(truth: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """(n_true, n_pred) IoU of every pair of objects, from one table of overlap counts."""
    counts, true_values, pred_values = _pair_counts(truth, pred)
    is_true_object = true_values > 0
    is_pred_object = pred_values > 0
    true_area = counts.sum(axis=1)[is_true_object]
    pred_area = counts.sum(axis=0)[is_pred_object]
    overlap = counts[np.ix_(is_true_object, is_pred_object)]
    return overlap / (true_area[:, None] + pred_area[None, :] - overlap)


def _safe_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return np.divide(numerator, denominator, out=np.zeros(len(numerator)), where=denominator > 0)


def match_instances(true_instances: Any, pred_instances: Any, *,
                    thresholds: Any = DSB_THRESHOLDS) -> InstanceScores:
    """Match predicted objects to true objects one-to-one at each IoU threshold (module docstring).

    >>> scores = match_instances([[1, 1, 0, 2, 2]], [[1, 1, 0, 0, 0]])
    >>> scores.at(0.5)
    {'tp': 1, 'fp': 0, 'fn': 1, 'precision': 1.0, 'recall': 0.5, 'f1': 0.6666666666666666, 'ap': 0.5}
    >>> scores.pq
    0.6666666666666666
    """
    truth, pred = _check_pair(true_instances, pred_instances)
    _check_nonnegative(truth, "true_instances")
    _check_nonnegative(pred, "pred_instances")
    levels = _check_thresholds(thresholds)

    pair_iou = _instance_iou(truth, pred)
    n_true, n_pred = pair_iou.shape
    tp = np.zeros(len(levels), dtype=np.int64)
    matched_iou_at_half = np.zeros(0)
    if n_true and n_pred:
        from scipy.optimize import linear_sum_assignment

        # Weights 1 + IoU / (2 n) make any larger matching outweigh any smaller one
        # (k pairs weigh at most k + 1/2), and prefer higher IoU among equals.
        tie_break = pair_iou / (2 * min(n_true, n_pred))
        for i, level in enumerate(levels):
            hits = pair_iou > level
            rows_with_hits = np.flatnonzero(hits.any(axis=1))
            cols_with_hits = np.flatnonzero(hits.any(axis=0))
            if not len(rows_with_hits):
                continue
            sub = np.ix_(rows_with_hits, cols_with_hits)
            weights = np.where(hits[sub], 1.0 + tie_break[sub], 0.0)
            rows, cols = linear_sum_assignment(weights, maximize=True)
            ok = hits[sub][rows, cols]
            tp[i] = int(np.count_nonzero(ok))
            if np.isclose(level, 0.5):
                matched_iou_at_half = pair_iou[sub][rows[ok], cols[ok]]
    fp = n_pred - tp
    fn = n_true - tp
    if n_true == 0 and n_pred == 0:
        precision, recall, f1, ap = (np.ones(len(levels)) for _ in range(4))
        sq = rq = pq = 1.0
    else:
        precision = _safe_ratio(tp, tp + fp)
        recall = _safe_ratio(tp, tp + fn)
        f1 = _safe_ratio(2 * tp, 2 * tp + fp + fn)
        ap = _safe_ratio(tp, tp + fp + fn)
        tp_half, fp_half, fn_half = len(matched_iou_at_half), n_pred - len(matched_iou_at_half), \
            n_true - len(matched_iou_at_half)
        sq = float(matched_iou_at_half.mean()) if tp_half else 0.0
        rq = tp_half / (tp_half + 0.5 * fp_half + 0.5 * fn_half)
        pq = sq * rq
    return InstanceScores(levels, tp, fp, fn, precision, recall, f1, ap, int(n_true), int(n_pred),
                          float(sq), float(rq), float(pq))


def dsb_score(
    true_instances: Any,
    pred_instances: Any,
    *,
    thresholds: Any = DSB_THRESHOLDS,
    return_curve: bool = False,
) -> float | tuple[float, np.ndarray]:
    """The 2018 Data Science Bowl score: mean AP over the thresholds, objects matched by :func:`match_instances`.

    ``return_curve=True`` also returns AP(t) per threshold. A prediction of IoU 2/3
    passes the thresholds below 2/3 only:

    >>> dsb_score([[1, 1, 0, 2, 2]], [[1, 1, 0, 0, 0]])
    0.5
    >>> score, curve = dsb_score([[1, 1, 0]], [[1, 1, 1]], return_curve=True)
    >>> curve
    array([1., 1., 1., 1., 0., 0., 0., 0., 0., 0.])
    """
    scores = match_instances(true_instances, pred_instances, thresholds=thresholds)
    return (scores.dsb_score, scores.ap.copy()) if return_curve else scores.dsb_score
