"""Instance metrics (segcore.metrics.match_instances): hand-counted cases, properties, and
stardist's ``matching`` as the reference on the same label images."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from segcore import metrics
from segcore.errors import InvalidParameterError


def _label_pairs(max_label: int, max_side: int = 8):
    shapes = st.tuples(st.integers(1, max_side), st.integers(1, max_side))
    return shapes.flatmap(lambda shape: st.tuples(
        arrays(np.uint8, shape, elements=st.integers(0, max_label)),
        arrays(np.uint8, shape, elements=st.integers(0, max_label))))


def _hand_scene():
    """Three true objects on a 1-pixel-high strip; the prediction finds one exactly, one at IoU 0.6,
    misses one, and adds a false object."""
    truth = np.zeros((1, 40), np.uint8)
    pred = np.zeros_like(truth)
    truth[0, 0:5] = 1
    pred[0, 0:5] = 7  # exact
    truth[0, 10:16] = 2
    pred[0, 10:14] = 3  # overlap 4, union 6: IoU 0.667
    truth[0, 20:24] = 3  # missed
    pred[0, 30:33] = 9  # nothing true here
    return truth, pred


def test_hand_counted_scene():
    truth, pred = _hand_scene()
    scores = metrics.match_instances(truth, pred)
    # IoU 1.0 and 4/6: two matches up to 0.65, one from 0.7 on.
    expected_tp = [2, 2, 2, 2, 1, 1, 1, 1, 1, 1]
    np.testing.assert_array_equal(scores.tp, expected_tp)
    np.testing.assert_array_equal(scores.fp, 3 - np.array(expected_tp))
    np.testing.assert_array_equal(scores.fn, 3 - np.array(expected_tp))
    assert scores.at(0.5) == {"tp": 2, "fp": 1, "fn": 1, "precision": 2 / 3, "recall": 2 / 3,
                              "f1": 2 / 3, "ap": 0.5}
    assert scores.at(0.75)["ap"] == pytest.approx(1 / 5)
    assert scores.dsb_score == pytest.approx((4 * 0.5 + 6 * 0.2) / 10)
    assert scores.sq == pytest.approx((1 + 4 / 6) / 2)
    assert scores.rq == pytest.approx(2 / 3)
    assert scores.pq == pytest.approx((1 + 4 / 6) / 2 * 2 / 3)
    summary = scores.summary()
    assert summary["ap50"] == 0.5 and summary["f1_50"] == pytest.approx(2 / 3)
    assert summary["n_true"] == 3 and summary["n_pred"] == 3


def test_below_half_the_matching_is_one_to_one_and_as_large_as_possible():
    # A greedy "best IoU first" matching pairs A with P and leaves B alone; the Hungarian one pairs
    # A-Q and B-P. IoUs: A-P 4/9 (0.44), A-Q 3/9 (0.33), B-P 2/7 (0.29); at t = 0.25 all three pass.
    truth = np.array([[1, 1, 1, 1, 1, 1, 0, 2, 2, 2, 2, 2, 0]])
    pred = np.array([[4, 4, 4, 0, 0, 5, 5, 5, 5, 0, 0, 0, 0]])
    scores = metrics.match_instances(truth, pred, thresholds=[0.25, 0.5])
    iou = metrics._instance_iou(truth, pred)
    assert (iou > 0.25).sum() >= 2
    assert scores.tp.tolist() == [_max_matching(iou > 0.25), _max_matching(iou > 0.5)]


def test_threshold_is_strict():
    truth = np.array([[1, 1, 0, 0]])
    pred = np.array([[1, 1, 1, 1]])  # IoU exactly 0.5
    assert metrics.match_instances(truth, pred, thresholds=[0.5]).tp.tolist() == [0]
    assert metrics.match_instances(truth, pred, thresholds=[0.49]).tp.tolist() == [1]


def test_empty_rules():
    empty = np.zeros((5, 5), np.uint8)
    some = empty.copy()
    some[1:3, 1:3] = 4
    both_empty = metrics.match_instances(empty, empty)
    assert both_empty.dsb_score == 1.0 and both_empty.pq == 1.0
    assert both_empty.summary()["f1_50"] == 1.0 and both_empty.at(0.95)["precision"] == 1.0
    for truth, pred in ((empty, some), (some, empty)):
        scores = metrics.match_instances(truth, pred)
        assert scores.dsb_score == 0.0 and scores.pq == 0.0
        assert scores.at(0.5)["precision"] == 0.0 and scores.at(0.5)["recall"] == 0.0


def test_at_refuses_a_threshold_not_computed():
    with pytest.raises(InvalidParameterError, match="not one of the thresholds"):
        metrics.match_instances([[1]], [[1]], thresholds=[0.5]).at(0.75)


def test_dsb_score_is_the_mean_ap():
    truth, pred = _hand_scene()
    score, curve = metrics.dsb_score(truth, pred, return_curve=True)
    scores = metrics.match_instances(truth, pred)
    assert score == scores.dsb_score
    np.testing.assert_array_equal(curve, scores.ap)


def _max_matching(hits: np.ndarray) -> int:
    """Largest one-to-one matching by trying every assignment (small tables only)."""
    n_rows, n_cols = hits.shape
    if n_rows > n_cols:
        return _max_matching(hits.T)
    best = 0
    for cols in itertools.permutations(range(n_cols), n_rows):
        best = max(best, sum(bool(hits[r, c]) for r, c in enumerate(cols)))
    return best


@settings(max_examples=60, deadline=None)
@given(_label_pairs(4), st.sampled_from([0.1, 0.3, 0.5, 0.7]))
def test_tp_is_the_largest_matching(pair, level):
    truth, pred = pair
    iou = metrics._instance_iou(truth, pred)
    scores = metrics.match_instances(truth, pred, thresholds=[level])
    assert scores.tp[0] == _max_matching(iou > level)
    assert scores.tp[0] + scores.fn[0] == scores.n_true and scores.tp[0] + scores.fp[0] == scores.n_pred


@settings(max_examples=60, deadline=None)
@given(_label_pairs(6), st.permutations(list(range(1, 7))))
def test_perfect_prediction_scores_one_whatever_the_numbering(pair, order):
    truth, _ = pair
    renumbered = np.array([0, *order], dtype=np.uint8)[truth]
    scores = metrics.match_instances(truth, renumbered)
    assert scores.dsb_score == 1.0 and scores.pq == 1.0 and scores.sq == 1.0
    assert scores.summary()["ap50"] == 1.0 and scores.summary()["f1_50"] == 1.0


@settings(max_examples=60, deadline=None)
@given(_label_pairs(4))
def test_scores_stay_in_range_and_agree(pair):
    scores = metrics.match_instances(*pair)
    for values in (scores.precision, scores.recall, scores.f1, scores.ap):
        assert np.all((values >= 0) & (values <= 1))
    assert np.all(scores.ap <= scores.f1 + 1e-12)  # TP/(TP+FP+FN) <= 2TP/(2TP+FP+FN)
    assert np.all(np.diff(scores.tp) <= 0)  # a higher threshold never matches more
    assert scores.rq == pytest.approx(scores.f1[0])


# ------------------------------------------------------------------- reference

stardist_matching = pytest.importorskip("stardist.matching", reason="stardist (test-only reference) not installed")


def _compare_with_stardist(truth, pred):
    ours = metrics.match_instances(truth, pred)
    for i, level in enumerate(metrics.DSB_THRESHOLDS):
        # stardist matches IoU >= t (in float32), ours IoU > t (DSB2018): 1e-6 above t is the same rule here.
        ref = stardist_matching.matching(truth.astype(np.int32), pred.astype(np.int32), thresh=level + 1e-6)
        assert (ours.tp[i], ours.fp[i], ours.fn[i]) == (ref.tp, ref.fp, ref.fn), level
        assert ours.precision[i] == pytest.approx(ref.precision)
        assert ours.recall[i] == pytest.approx(ref.recall)
        assert ours.f1[i] == pytest.approx(ref.f1)
        assert ours.ap[i] == pytest.approx(ref.accuracy)
        if level == 0.5:
            assert ours.pq == pytest.approx(ref.panoptic_quality)
            assert ours.sq == pytest.approx(ref.mean_matched_score)


@settings(max_examples=40, deadline=None)
@given(_label_pairs(5))
def test_equals_stardist_matching_on_random_labels(pair):
    truth, pred = pair
    assume(truth.any() and pred.any())
    _compare_with_stardist(truth, pred)


def test_equals_stardist_matching_on_nuclei_like_scenes():
    from scipy import ndimage

    rng = np.random.default_rng(7)
    for _ in range(5):
        truth = np.zeros((96, 96), np.int32)
        rows, cols = np.ogrid[:96, :96]
        for k in range(1, 14):
            r, c, radius = rng.integers(5, 91), rng.integers(5, 91), rng.integers(3, 8)
            truth[((rows - r) ** 2 + (cols - c) ** 2 <= radius**2) & (truth == 0)] = k
        # A prediction: the truth shifted, eroded here and there, with one object dropped and noise added.
        pred = np.roll(truth, (rng.integers(-2, 3), rng.integers(-2, 3)), axis=(0, 1))
        pred[pred == 3] = 0
        pred = np.where(ndimage.binary_erosion(pred > 0, iterations=int(rng.integers(0, 2))), pred, 0)
        pred[rng.integers(0, 80):, :4] = 50
        _compare_with_stardist(truth, pred)
