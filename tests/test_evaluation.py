"""Tests of segcore.evaluation (score_pair, iter_scores, reports) and of `evaluate` on Dask."""

from __future__ import annotations

import json

import numpy as np
import pytest

from segcore import cli, datasets, evaluation, metrics
from segcore.compare import Preset, get_preset

from tests import zips

OTSU = get_preset("Otsu threshold")
WATERSHED = get_preset("Watershed (Otsu mask)")


def _folder(tmp_path, n=6):
    for name, data in zips.layout_a_entries(n).items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return tmp_path


def test_score_pair_rows_hold_pixel_and_instance_scores(tmp_path):
    pair = datasets.find_pairs(_folder(tmp_path, 1)).pairs[0]
    scored = evaluation.score_pair(pair, [OTSU, WATERSHED])
    assert scored.skipped == [] and scored.shape == (40, 48) and scored.groups == {"modality": "even"}
    assert [row["method"] for row in scored.rows] == [OTSU.label, WATERSHED.label]
    arrays = datasets.read_pair(pair)
    for row, preset in zip(scored.rows, (OTSU, WATERSHED)):
        result = preset.run(arrays.image)
        assert row["iou"] == metrics.evaluate(arrays.mask, result).iou
        assert set(evaluation.INSTANCE_KEYS) <= row.keys() and len(row["ap_curve"]) == 10
        assert row["true_instances"] == "labels"
    assert scored.rows[0]["pred_instances"] == "connected components"
    assert scored.rows[1]["pred_instances"] == "method instances"
    # Discs on clean noise: Otsu finds every object.
    assert scored.rows[0]["ap50"] == 1.0 and scored.rows[0]["n_true"] == 2


def test_true_instances_rules():
    mask = np.zeros((6, 6), np.int32)
    mask[0:2, 0:2] = 1
    mask[4:6, 4:6] = 1
    assert evaluation.true_instances(mask, None)[1] == "connected components"
    assert evaluation.true_instances(mask, None)[0].max() == 2
    labelled = mask.copy()
    labelled[4:6, 4:6] = 5
    assert evaluation.true_instances(labelled, None)[1] == "mask labels"
    assert evaluation.true_instances(mask, labelled)[1] == "labels"


def test_score_pair_never_raises_for_a_bad_pair_or_a_failing_method(tmp_path):
    folder = _folder(tmp_path, 2)
    (folder / "masks" / "cell01.png").write_bytes(zips.png(np.zeros((4, 4), np.uint8)))
    good, bad = datasets.find_pairs(folder).pairs
    scored = evaluation.score_pair(bad, [OTSU])
    assert scored.rows == [] and "the mask is 4x4" in scored.skipped[0].reason
    broken = Preset("bad region growing", "region_growing", {"seeds": [(500, 500)]})
    scored = evaluation.score_pair(good, [broken, OTSU])
    assert [row["method"] for row in scored.rows] == [OTSU.label]
    assert scored.skipped[0].reason.startswith("bad region growing: ")


def test_multiclass_task_has_no_instance_scores(tmp_path):
    pair = datasets.find_pairs(_folder(tmp_path, 1)).pairs[0]
    row = evaluation.score_pair(pair, [get_preset("K-means (K=2)")], binary=False).rows[0]
    assert "dsb_score" not in row and "iou" in row


def test_iter_scores_stops_when_asked(tmp_path):
    pairs = datasets.find_pairs(_folder(tmp_path, 4)).pairs
    seen = []
    for scored in evaluation.iter_scores(pairs, [OTSU], should_stop=lambda: len(seen) >= 2):
        seen.append(scored.id)
    assert seen == ["cell00", "cell01"]


def test_report_summary_is_the_mean_of_sorted_rows():
    rows = [{"image": "b", "method": "m", "iou": 0.5, "seconds": 1.0},
            {"image": "a", "method": "m", "iou": 1.0, "seconds": 3.0}]
    document = evaluation.report(rows, ["m"], [datasets.Skipped("c", "why")], task="binary")
    assert [row["image"] for row in document["images"]] == ["a", "b"]
    assert document["summary"] == {"m": {"iou": 0.75, "seconds": 2.0, "n_images": 2}}
    assert document["skipped"] == [{"name": "c", "reason": "why"}] and document["task"] == "binary"


# ----------------------------------------------------------------------- Dask

SPECS = ["threshold:algorithm=otsu,polarity=auto", "watershed"]


def _evaluate(capsys, folder, report, *extra):
    args = ["evaluate", "--images", folder / "images", "--masks", folder / "masks", "--labels", folder / "labels",
            "--json", report, "--quiet"]
    for spec in SPECS:
        args += ["--method", spec]
    code = cli.main([str(a) for a in [*args, *extra]])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    document = json.loads(report.read_text())
    for row in document["images"]:
        del row["seconds"]  # the one thing that differs between runs
    for means in document["summary"].values():
        del means["seconds"]
    return document


@pytest.mark.slow
def test_workers_give_the_same_scores_as_in_process(tmp_path, capsys):
    folder = _folder(tmp_path / "data", 6)
    serial = _evaluate(capsys, folder, tmp_path / "serial.json")
    parallel = _evaluate(capsys, folder, tmp_path / "dask.json", "--workers", "2")
    assert serial["images"] == parallel["images"]
    assert serial["summary"] == parallel["summary"]
    assert len(serial["images"]) == 12 and serial["summary"][SPECS[0]]["dsb_score"] > 0.5


@pytest.mark.slow
def test_scheduler_address_of_a_running_cluster(tmp_path, capsys):
    from dask.distributed import LocalCluster

    folder = _folder(tmp_path / "data", 4)
    serial = _evaluate(capsys, folder, tmp_path / "serial.json")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                      dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://")
        remote = _evaluate(capsys, folder, tmp_path / "remote.json", "--scheduler", cluster.scheduler_address)
    assert remote["images"] == serial["images"]


def test_unreachable_scheduler_exits_2(tmp_path, capsys):
    import dask

    folder = _folder(tmp_path / "data", 1)
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code = cli.main(["evaluate", "--images", str(folder / "images"), "--masks", str(folder / "masks"),
                         "--method", "threshold", "--scheduler", "tcp://127.0.0.1:9", "--quiet"])
    assert code == 2 and "cannot reach the Dask scheduler" in capsys.readouterr().err


def _model_loads() -> int:
    from segcore.unet.model import _load_cached

    return _load_cached.cache_info().misses


@pytest.mark.slow
def test_unet_is_loaded_once_per_worker(tmp_path):
    pairs = datasets.find_pairs(_folder(tmp_path, 3)).pairs
    client = evaluation.dask_client(workers=1)
    try:
        scored = list(evaluation.iter_scores(pairs, [get_preset("U-Net (nuclei)")], client=client))
        loads = client.run(_model_loads)
    finally:
        evaluation.close_client(client)
    assert sorted(s.id for s in scored) == ["cell00", "cell01", "cell02"] and all(s.rows for s in scored)
    assert list(loads.values()) == [1]  # three images, one load


# ---------------------------------------------------------------- statistics


def test_bootstrap_interval_holds_the_mean_and_narrows_with_more_images():
    rng = np.random.default_rng(3)
    few = rng.uniform(0.5, 0.9, 10)
    many = rng.uniform(0.5, 0.9, 400)
    mean, low, high = evaluation.bootstrap_ci(few)
    assert mean == pytest.approx(few.mean()) and low < mean < high
    _, low_many, high_many = evaluation.bootstrap_ci(many)
    assert high_many - low_many < high - low
    assert evaluation.bootstrap_ci(few) == evaluation.bootstrap_ci(few)  # seeded
    assert evaluation.bootstrap_ci([0.7, 0.7, 0.7]) == pytest.approx((0.7, 0.7, 0.7))
    assert np.isnan(evaluation.bootstrap_ci([0.7])[1])


def test_paired_comparison_counts_and_wilcoxon():
    from scipy.stats import wilcoxon

    a = [0.9, 0.8, 0.7, 0.6, 0.95, 0.9, 0.5]
    b = [0.5, 0.8, 0.6, 0.7, 0.5, 0.4, 0.2]
    result = evaluation.paired_comparison(a, b)
    assert (result.wins, result.ties, result.losses, result.n) == (5, 1, 1, 7)
    differences = np.array(a) - np.array(b)
    assert result.p_value == pytest.approx(wilcoxon(differences[differences != 0]).pvalue)
    assert np.isnan(evaluation.paired_comparison([0.5, 0.5], [0.5, 0.5]).p_value)
