"""Tests of segcore.metrics: worked examples, the empty rules, agreement with
scikit-learn, matching and the Data Science Bowl score."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import sklearn.metrics as skm
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from segcore import metrics
from segcore.errors import InvalidMaskError, InvalidParameterError
from segcore.result import SegmentationResult

# scikit-learn warns when a random mask holds one class only; its answer is still right.
pytestmark = pytest.mark.filterwarnings("ignore:A single label was found:UserWarning")

BINARY_SCORES = [metrics.iou, metrics.dice, metrics.precision, metrics.recall]

shapes = st.tuples(st.integers(1, 32), st.integers(1, 32))
binary_masks = shapes.flatmap(
    lambda shape: st.tuples(arrays(np.bool_, shape), arrays(np.bool_, shape))
)


def label_pairs(max_label: int):
    """Two label arrays of one random shape with values 0..max_label."""
    return shapes.flatmap(
        lambda shape: st.tuples(
            arrays(np.uint8, shape, elements=st.integers(0, max_label)),
            arrays(np.uint8, shape, elements=st.integers(0, max_label)),
        )
    )


# ------------------------------------------------------------ worked examples


def test_brief_example_iou_third_dice_half():
    truth = np.array([[1, 1, 0, 0]])
    pred = np.array([[0, 1, 1, 0]])
    assert metrics.iou(truth, pred) == pytest.approx(1 / 3)
    assert metrics.dice(truth, pred) == pytest.approx(1 / 2)
    assert metrics.precision(truth, pred) == pytest.approx(1 / 2)
    assert metrics.recall(truth, pred) == pytest.approx(1 / 2)
    assert metrics.pixel_accuracy(truth, pred) == pytest.approx(1 / 2)


def test_foreground_is_any_positive_label():
    truth = np.array([[0, 255, 255, 0]], dtype=np.uint8)
    pred = np.array([[0, 1, 7, 0]], dtype=np.int32)
    assert metrics.iou(truth, pred) == 1.0
    assert metrics.pixel_accuracy(truth, pred) == 1.0
    assert metrics.pixel_accuracy(truth, pred, binary=False) == 0.5


def test_scores_return_python_floats():
    truth = np.array([[1, 0]])
    for score in [*BINARY_SCORES, metrics.pixel_accuracy, metrics.mean_iou]:
        assert type(score(truth, truth)) is float


# ------------------------------------------------------------------ empty rule


@pytest.mark.parametrize("score", BINARY_SCORES)
def test_both_empty_gives_empty_score(score):
    empty = np.zeros((3, 4), dtype=np.uint8)
    assert score(empty, empty) == 1.0
    assert score(empty, empty, empty_score=0.0) == 0.0
    assert np.isnan(score(empty, empty, empty_score=float("nan")))


@pytest.mark.parametrize("score", BINARY_SCORES)
def test_exactly_one_empty_gives_zero(score):
    empty = np.zeros((3, 4), dtype=np.uint8)
    full = np.ones((3, 4), dtype=np.uint8)
    assert score(empty, full) == 0.0
    assert score(full, empty) == 0.0
    assert score(full, empty, empty_score=1.0) == 0.0


@pytest.mark.parametrize("bad", [-0.1, 1.5, "high", None])
def test_empty_score_out_of_range_is_refused(bad):
    with pytest.raises(InvalidParameterError, match="empty_score"):
        metrics.iou([[1]], [[1]], empty_score=bad)


# ---------------------------------------------------------------- input checks


@pytest.mark.parametrize(
    "func",
    [
        *BINARY_SCORES,
        metrics.pixel_accuracy,
        metrics.confusion_matrix,
        metrics.per_class_iou,
        metrics.mean_iou,
        metrics.match_labels,
        metrics.evaluate,
        metrics.dsb_score,
    ],
)
def test_shape_mismatch_names_both_shapes(func):
    with pytest.raises(InvalidMaskError, match=r"\(2, 3\).*\(3, 2\)"):
        func(np.zeros((2, 3), dtype=np.uint8), np.zeros((3, 2), dtype=np.uint8))


def test_shape_mismatch_is_a_value_error():
    with pytest.raises(ValueError):
        metrics.iou(np.zeros((2, 2)), np.zeros((2, 3)))


def test_float_labels_are_refused_with_advice():
    with pytest.raises(InvalidMaskError, match="float64.*threshold"):
        metrics.iou(np.zeros((2, 2), dtype=np.uint8), np.full((2, 2), 0.7))


def test_empty_arrays_are_refused():
    with pytest.raises(InvalidMaskError, match="empty"):
        metrics.iou(np.zeros((0, 3), dtype=np.uint8), np.zeros((0, 3), dtype=np.uint8))


def test_negative_labels_are_refused_where_labels_index():
    truth = np.array([[0, -1]])
    with pytest.raises(InvalidMaskError, match="negative label -1"):
        metrics.confusion_matrix(truth, np.zeros((1, 2), dtype=int))
    with pytest.raises(InvalidMaskError, match="negative"):
        metrics.match_labels(np.zeros((1, 2), dtype=int), truth)


def test_segmentation_result_in_a_plain_score_explains_what_to_pass():
    result = SegmentationResult("threshold", labels=np.ones((2, 2), np.uint8), mask=np.ones((2, 2), bool))
    with pytest.raises(InvalidMaskError, match="result.mask"):
        metrics.iou(np.ones((2, 2), np.uint8), result)


def test_unknown_match_lists_choices():
    with pytest.raises(InvalidParameterError, match="oracle.*majority.*none"):
        metrics.match_labels([[0, 1]], [[0, 1]], match="best")


def test_uint64_and_int64_labels_work():
    truth = np.array([[0, 1, 2]], dtype=np.uint64)
    pred = np.array([[0, 1, 2]], dtype=np.int64)
    assert metrics.confusion_matrix(truth, pred).tolist() == np.eye(3, dtype=int).tolist()


# ---------------------------------------------- properties against scikit-learn


@settings(max_examples=80, deadline=None)
@given(binary_masks, st.sampled_from([0.0, 1.0]))
def test_iou_and_dice_equal_sklearn(masks, empty_score):
    truth, pred = masks
    expected_iou = skm.jaccard_score(truth.ravel(), pred.ravel(), zero_division=empty_score)
    expected_dice = skm.f1_score(truth.ravel(), pred.ravel(), zero_division=empty_score)
    assert metrics.iou(truth, pred, empty_score=empty_score) == pytest.approx(expected_iou)
    assert metrics.dice(truth, pred, empty_score=empty_score) == pytest.approx(expected_dice)


@settings(max_examples=80, deadline=None)
@given(binary_masks)
def test_precision_and_recall_equal_sklearn_where_defined(masks):
    truth, pred = masks
    if pred.any():
        expected = skm.precision_score(truth.ravel(), pred.ravel(), zero_division=0.0)
        assert metrics.precision(truth, pred) == pytest.approx(expected)
    if truth.any():
        expected = skm.recall_score(truth.ravel(), pred.ravel(), zero_division=0.0)
        assert metrics.recall(truth, pred) == pytest.approx(expected)
    assert metrics.pixel_accuracy(truth, pred) == pytest.approx(skm.accuracy_score(truth.ravel(), pred.ravel()))


@settings(max_examples=80, deadline=None)
@given(binary_masks)
def test_dice_iou_identity_symmetry_and_bounds(masks):
    truth, pred = masks
    iou = metrics.iou(truth, pred)
    dice = metrics.dice(truth, pred)
    assert dice == pytest.approx(2 * iou / (1 + iou))
    assert iou == metrics.iou(pred, truth)
    assert dice == metrics.dice(pred, truth)
    assert metrics.precision(truth, pred) == metrics.recall(pred, truth)
    for score in BINARY_SCORES:
        assert 0.0 <= score(truth, pred) <= 1.0
    assert metrics.iou(truth, truth) == 1.0


@settings(max_examples=80, deadline=None)
@given(label_pairs(5))
def test_confusion_matrix_equals_sklearn(pair):
    truth, pred = pair
    n_classes = int(max(truth.max(), pred.max())) + 1
    expected = skm.confusion_matrix(truth.ravel(), pred.ravel(), labels=np.arange(n_classes))
    result = metrics.confusion_matrix(truth, pred)
    assert result.dtype == np.int64
    np.testing.assert_array_equal(result, expected)


@settings(max_examples=60, deadline=None)
@given(label_pairs(4))
def test_per_class_iou_equals_sklearn_and_mean_skips_absent_classes(pair):
    truth, pred = pair
    labels = np.arange(6)  # class 5 never occurs
    expected = skm.jaccard_score(truth.ravel(), pred.ravel(), labels=labels, average=None, zero_division=1.0)
    per_class = metrics.per_class_iou(truth, pred, n_classes=6)
    np.testing.assert_allclose(per_class, expected)
    present = np.union1d(np.unique(truth), np.unique(pred))
    assert metrics.mean_iou(truth, pred) == pytest.approx(expected[present].mean())


@settings(max_examples=60, deadline=None)
@given(label_pairs(4), st.permutations(range(5)))
def test_oracle_matching_undoes_a_permutation(pair, permutation):
    truth, _ = pair
    clusters = np.array(permutation, dtype=np.uint8)[truth]
    relabelled, mapping = metrics.match_labels(truth, clusters, return_mapping=True)
    np.testing.assert_array_equal(relabelled, truth)
    assert all(mapping[int(permutation[c])] == c for c in np.unique(truth))
    scores = metrics.evaluate(truth, clusters, binary=False)
    assert scores.mean_iou == 1.0
    assert scores.iou == 1.0
    assert scores.pixel_accuracy == 1.0


@settings(max_examples=60, deadline=None)
@given(label_pairs(3))
def test_oracle_matching_maximises_overlap_like_brute_force(pair):
    truth, pred = pair
    relabelled, mapping = metrics.match_labels(truth, pred, return_mapping=True)
    true_values = np.unique(truth)
    pred_values = np.unique(pred)
    counts = {(t, p): int(np.count_nonzero((truth == t) & (pred == p))) for t in true_values for p in pred_values}
    # Best total overlap over every one-to-one assignment of predicted labels to classes.
    best = 0
    n_assigned = min(len(true_values), len(pred_values))
    for preds in itertools.permutations(pred_values, n_assigned):
        for trues in itertools.permutations(true_values, n_assigned):
            best = max(best, sum(counts[t, p] for t, p in zip(trues, preds)))
    assert set(mapping) == set(pred_values.tolist())
    object_classes = [t for t in mapping.values() if t != 0]
    assert len(set(object_classes)) == len(object_classes)  # one-to-one outside background
    # Several labels may map to 0: one by assignment, the rest by default. The
    # assigned one overlaps background most (else swapping would do better).
    total = sum(counts.get((t, p), 0) for p, t in mapping.items() if t != 0)
    total += max((counts.get((0, p), 0) for p, t in mapping.items() if t == 0), default=0)
    assert total == best
    np.testing.assert_array_equal(relabelled, metrics.apply_mapping(pred, mapping))


# --------------------------------------------------------- classes and matching


def test_confusion_matrix_rows_are_truth_and_n_classes_pads():
    truth = np.array([[0, 0, 1, 2]])
    pred = np.array([[0, 1, 1, 1]])
    expected = np.array([[1, 1, 0, 0], [0, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(metrics.confusion_matrix(truth, pred, n_classes=4), expected)


@pytest.mark.parametrize("bad", [1, 0, 2.5, True, "3"])
def test_confusion_matrix_refuses_too_few_classes(bad):
    with pytest.raises(InvalidParameterError, match="at least 3"):
        metrics.confusion_matrix([[0, 2]], [[0, 1]], n_classes=bad)


def test_confusion_matrix_of_thousands_of_labels():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3000, size=(64, 64))
    pred = rng.integers(0, 3000, size=(64, 64))
    matrix = metrics.confusion_matrix(truth, pred)
    assert matrix.shape == (3000, 3000)
    assert matrix.sum() == truth.size
    assert matrix[truth[5, 7], pred[5, 7]] >= 1


def test_huge_label_values_are_refused_by_the_confusion_matrix():
    with pytest.raises(InvalidMaskError, match="relabel_sequential"):
        metrics.confusion_matrix([[0, 100_000]], [[0, 1]])


def test_per_class_iou_includes_background_and_empty_score():
    truth = np.array([[0, 0, 1, 1]])
    pred = np.array([[0, 1, 1, 1]])
    np.testing.assert_allclose(metrics.per_class_iou(truth, pred), [1 / 2, 2 / 3])
    np.testing.assert_allclose(metrics.per_class_iou(truth, pred, n_classes=3, empty_score=0.0), [1 / 2, 2 / 3, 0])


def test_oracle_leaves_extra_clusters_as_background():
    truth = np.array([[0, 0, 0, 1, 1, 1]])
    clusters = np.array([[2, 2, 0, 1, 1, 1]])
    relabelled, mapping = metrics.match_labels(truth, clusters, return_mapping=True)
    assert mapping == {0: 0, 1: 1, 2: 0}
    assert all(type(k) is int and type(v) is int for k, v in mapping.items())
    np.testing.assert_array_equal(relabelled, [[0, 0, 0, 1, 1, 1]])


def test_oracle_does_not_pair_labels_that_share_no_pixel():
    # Three classes, three clusters: cluster 5 lies wholly in class 0, which
    # cluster 3 wins, so the assignment pairs 5 with class 1 or 2 (overlap 0).
    truth = np.array([[0, 0, 0, 1, 2]])
    clusters = np.array([[3, 3, 5, 7, 7]])
    _, mapping = metrics.match_labels(truth, clusters, return_mapping=True)
    assert mapping[3] == 0 and mapping[5] == 0
    assert mapping[7] in (1, 2)


def test_majority_merges_clusters_into_a_class():
    truth = np.array([[0, 0, 1, 1, 1, 1]])
    clusters = np.array([[0, 0, 1, 1, 2, 2]])
    relabelled, mapping = metrics.match_labels(truth, clusters, match="majority", return_mapping=True)
    assert mapping == {0: 0, 1: 1, 2: 1}
    np.testing.assert_array_equal(relabelled, truth)


def test_match_none_returns_the_prediction_unchanged():
    clusters = np.array([[2, 2, 0, 1]], dtype=np.int32)
    relabelled, mapping = metrics.match_labels([[0, 0, 1, 1]], clusters, match="none", return_mapping=True)
    assert relabelled is clusters
    assert mapping == {0: 0, 1: 1, 2: 2}


def test_matching_with_sparse_large_labels():
    truth = np.array([[0, 0, 1_000_000, 1_000_000]], dtype=np.int64)
    pred = np.array([[7, 7, 3, 3]], dtype=np.int64)
    relabelled, mapping = metrics.match_labels(truth, pred, return_mapping=True)
    assert mapping == {3: 1_000_000, 7: 0}
    np.testing.assert_array_equal(relabelled, truth)
    assert relabelled.dtype == np.int32


def test_apply_mapping_maps_missing_values_to_background():
    out = metrics.apply_mapping(np.array([[0, 1, 2, 3]]), {1: 300, 3: 1})
    np.testing.assert_array_equal(out, [[0, 300, 0, 1]])
    assert out.dtype == np.uint16


# ------------------------------------------------------------------- evaluate


def test_evaluate_binary_prediction_is_scored_as_it_is():
    truth = np.array([[0, 0, 1, 1]])
    inverted = np.array([[1, 1, 0, 0]], dtype=np.uint8)
    scores = metrics.evaluate(truth, inverted)
    assert scores.iou == 0.0
    assert scores.pixel_accuracy == 0.0
    assert scores.match == "none"
    assert scores.mapping == {0: 0, 1: 1}
    assert scores.binary


def test_evaluate_matches_clusters_to_binary_truth():
    truth = np.array([[0, 0, 1, 1, 1, 1]])
    clusters = np.array([[2, 2, 0, 0, 0, 1]])
    scores = metrics.evaluate(truth, clusters)
    assert scores.binary and scores.match == "oracle"
    assert scores.mapping == {0: 1, 1: 0, 2: 0}
    assert scores.iou == pytest.approx(3 / 4)
    assert scores.dice == pytest.approx(2 * 3 / (2 * 3 + 1))
    assert scores.precision == 1.0
    assert scores.recall == pytest.approx(3 / 4)
    assert scores.pixel_accuracy == pytest.approx(5 / 6)
    np.testing.assert_array_equal(scores.confusion_matrix, [[2, 0], [1, 3]])
    np.testing.assert_allclose(scores.per_class_iou, [2 / 3, 3 / 4])
    assert scores.mean_iou == pytest.approx((2 / 3 + 3 / 4) / 2)
    majority = metrics.evaluate(truth, clusters, match="majority")
    assert majority.iou == 1.0 and majority.mapping == {0: 1, 1: 1, 2: 0}


def test_evaluate_reduces_instance_truth_for_a_binary_prediction():
    instances = np.array([[0, 1, 1, 0, 2, 2, 0, 3]], dtype=np.int32)
    mask = instances > 0
    scores = metrics.evaluate(instances, mask)
    assert scores.binary
    assert scores.iou == 1.0 and scores.mean_iou == 1.0
    assert scores.confusion_matrix.shape == (2, 2)


def test_evaluate_multiclass_compares_classes_after_matching():
    truth = np.array([[0, 0, 1, 1, 2, 2]])
    clusters = np.array([[1, 1, 2, 2, 0, 2]])
    scores = metrics.evaluate(truth, clusters)
    assert not scores.binary
    assert scores.mapping == {0: 2, 1: 0, 2: 1}
    assert scores.pixel_accuracy == pytest.approx(5 / 6)
    np.testing.assert_allclose(scores.per_class_iou, [1.0, 2 / 3, 1 / 2])
    # Foreground scores: a class-2 pixel predicted as class 1 is still foreground found.
    assert scores.iou == 1.0


def test_evaluate_forced_binary_reduces_both_sides():
    truth = np.array([[0, 0, 1, 1, 2, 2]])
    clusters = np.array([[1, 1, 2, 2, 0, 0]])
    scores = metrics.evaluate(truth, clusters, binary=True)
    assert scores.binary
    assert scores.mapping[1] == 0  # cluster 1 is background; 0 or 2 (a tie) is the object
    assert scores.iou == pytest.approx(1 / 2)


def test_evaluate_uses_the_mask_of_a_result_and_labels_otherwise():
    truth = np.array([[0, 0, 1, 1]])
    labels = np.array([[1, 1, 0, 0]], dtype=np.uint8)
    with_mask = SegmentationResult("kmeans", labels=labels, mask=labels == 0)
    assert metrics.evaluate(truth, with_mask).iou == 1.0
    assert metrics.evaluate(truth, with_mask).match == "none"
    without_mask = SegmentationResult("kmeans", labels=np.array([[1, 1, 0, 2]], np.uint8), mask=None)
    scores = metrics.evaluate(truth, without_mask)
    assert scores.match == "oracle" and scores.iou == pytest.approx(1 / 2)
    # An explicit multi-class task scores the labels even when a mask exists,
    # and matches them even when they are binary.
    multiclass = metrics.evaluate(truth, with_mask, binary=False)
    assert multiclass.match == "oracle" and multiclass.mapping == {0: 1, 1: 0}
    assert multiclass.pixel_accuracy == 1.0


def test_evaluate_both_empty_uses_empty_score():
    empty = np.zeros((2, 2), dtype=np.uint8)
    scores = metrics.evaluate(empty, empty, empty_score=0.25)
    assert scores.iou == scores.dice == scores.precision == scores.recall == 0.25
    assert scores.pixel_accuracy == 1.0
    assert scores.mean_iou == 1.0  # background, the only class present, is perfect
    np.testing.assert_allclose(scores.per_class_iou, [1.0, 0.25])


def test_evaluate_as_dict_is_json_ready():
    scores = metrics.evaluate(np.array([[0, 1, 2]]), np.array([[2, 1, 0]]))
    data = json.loads(json.dumps(scores.as_dict()))
    assert set(data) >= {
        "iou", "dice", "pixel_accuracy", "precision", "recall", "mean_iou",
        "per_class_iou", "confusion_matrix", "match", "mapping", "binary",
    }
    assert data["confusion_matrix"] == scores.confusion_matrix.tolist()


def test_evaluate_refuses_bad_binary_flag():
    with pytest.raises(InvalidParameterError, match="binary"):
        metrics.evaluate([[0, 1]], [[0, 1]], binary="yes")


# ------------------------------------------------------------------ dsb score


def _disc(shape, center, radius):
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    return (rows - center[0]) ** 2 + (cols - center[1]) ** 2 <= radius**2


def test_dsb_perfect_match_even_with_other_label_numbers():
    truth = np.zeros((20, 20), dtype=np.int32)
    truth[_disc(truth.shape, (5, 5), 3)] = 1
    truth[_disc(truth.shape, (14, 13), 4)] = 2
    renumbered = np.select([truth == 1, truth == 2], [40, 9], 0)
    assert metrics.dsb_score(truth, renumbered) == 1.0


def test_dsb_shifted_object_with_iou_point_seven():
    truth = np.zeros((1, 30), dtype=np.uint8)
    truth[0, 0:17] = 1
    pred = np.zeros_like(truth)
    pred[0, 3:20] = 1  # overlap 14, union 20: IoU 0.7
    assert metrics.iou(truth, pred) == pytest.approx(0.7)
    score, curve = metrics.dsb_score(truth, pred, return_curve=True)
    expected = np.array(metrics.DSB_THRESHOLDS) < 0.7
    np.testing.assert_array_equal(curve, expected.astype(float))
    assert score == pytest.approx(0.4)


def test_dsb_extra_false_positive_object():
    truth = np.zeros((10, 10), dtype=np.uint8)
    truth[1:4, 1:4] = 1
    pred = truth.copy()
    pred[6:9, 6:9] = 2
    # TP 1, FP 1, FN 0 at every threshold.
    assert metrics.dsb_score(truth, pred) == pytest.approx(0.5)


def test_dsb_empty_rules():
    empty = np.zeros((4, 4), dtype=np.uint8)
    some = empty.copy()
    some[1, 1] = 3
    assert metrics.dsb_score(empty, empty) == 1.0
    assert metrics.dsb_score(empty, some) == 0.0
    assert metrics.dsb_score(some, empty) == 0.0


def test_dsb_below_half_each_object_matches_once():
    truth = np.array([[1, 1, 1, 1, 0]])
    pred = np.array([[2, 2, 3, 3, 0]])  # each prediction has IoU 0.5 with the one true object
    score, curve = metrics.dsb_score(truth, pred, thresholds=[0.3, 0.5], return_curve=True)
    np.testing.assert_allclose(curve, [1 / 2, 0.0])  # TP 1, FP 1 at 0.3; nothing above 0.5
    assert score == pytest.approx(0.25)


@pytest.mark.parametrize("bad", [[], [0.5, 1.5], 0.5, [[0.5]]])
def test_dsb_refuses_bad_thresholds(bad):
    with pytest.raises(InvalidParameterError, match="thresholds"):
        metrics.dsb_score([[1]], [[1]], thresholds=bad)


def _dsb_reference(truth, pred, thresholds):
    """The definition, one pair at a time."""
    true_ids = [v for v in np.unique(truth) if v]
    pred_ids = [v for v in np.unique(pred) if v]
    if not true_ids and not pred_ids:
        return 1.0
    precisions = []
    for level in thresholds:
        tp = 0
        for t in true_ids:
            for p in pred_ids:
                overlap = np.count_nonzero((truth == t) & (pred == p))
                union = np.count_nonzero((truth == t) | (pred == p))
                tp += overlap / union > level
        precisions.append(tp / (len(true_ids) + len(pred_ids) - tp))
    return float(np.mean(precisions))


@settings(max_examples=40, deadline=None)
@given(label_pairs(4))
def test_dsb_equals_the_pairwise_definition(pair):
    truth, pred = pair
    expected = _dsb_reference(truth, pred, metrics.DSB_THRESHOLDS)
    assert metrics.dsb_score(truth, pred) == pytest.approx(expected)
