"""The "Evaluate a dataset" page: bundled sample, uploaded zips (good and hostile), runs, results.

Every run here uses the quick presets (thresholds, watershed) on a few images
so the page's background run ends in a second or two; the numbers are
checked against :func:`segcore.evaluation.score_pair` on the same pairs.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from segcore import datasets, evaluation as library
from segcore.compare import get_preset
from ui import capacity
from ui import config as ui_config

from tests import zips

QUICK = ["Otsu threshold", "Watershed (Otsu mask)"]


def _open(start_lab):
    lab = start_lab("evaluate")
    lab.assert_ok()
    return lab


def _wait(lab, seconds: float = 60.0):
    """Rerun until the background run has finished and its results are shown."""
    deadline = time.monotonic() + seconds
    while lab.at.session_state["ev_job"].running:
        assert time.monotonic() < deadline, "the evaluation did not finish"
        time.sleep(0.2)
    lab.run()
    lab.assert_ok()
    return lab.at.session_state["ev_result"]


def _run(lab, methods=QUICK, limit=None):
    lab.at.multiselect(key="ev_methods").set_value(methods).run()
    if limit is not None:
        lab.at.number_input(key="ev_limit").set_value(limit).run()
    lab.at.button(key="ev_run").click().run()
    lab.assert_ok()
    return _wait(lab)


def _upload(lab, data: bytes, name: str = "cells.zip"):
    lab.at.radio(key="ev_source").set_value("Upload a zip").run()
    lab.at.file_uploader(key="ev_zip").set_value((name, data, "application/zip")).run()
    lab.assert_ok()
    return lab


def _pairs_line(lab) -> str:
    lines = lab.markdown_with("pairs** found")
    assert len(lines) == 1
    return lines[0]


@pytest.fixture(scope="module")
def bundled_run(start_lab):
    lab = _open(start_lab)
    outcome = _run(lab, limit=8)
    return lab, outcome


def test_bundled_sample_is_the_default_source_and_says_where_it_comes_from(start_lab):
    lab = _open(start_lab)
    assert lab.at.radio(key="ev_source").value == "Bundled sample"
    assert "Server folder" not in lab.at.radio(key="ev_source").options  # no folder configured
    assert "30 pairs" in _pairs_line(lab) and "modality" in _pairs_line(lab)
    assert any("validation split" in c.value and "never trained" in c.value for c in lab.at.caption)
    assert lab.at.multiselect(key="ev_methods").value == list(library_defaults())


def library_defaults():
    from segcore.compare import DEFAULT_PRESETS

    return DEFAULT_PRESETS


def test_results_equal_the_library_on_the_same_pairs(bundled_run):
    lab, outcome = bundled_run
    assert outcome.n_done == 8 and not outcome.cancelled and outcome.error is None
    pairs = datasets.bundled_sample().pairs[:8]
    expected = [row for pair in pairs for row in library.score_pair(pair, [get_preset(m) for m in QUICK]).rows]
    for key in ("iou", "dice", "ap50", "dsb_score", "pq"):
        np.testing.assert_allclose(outcome.table[key], [row[key] for row in expected])
    summary = lab.at.dataframe[0].value
    assert summary["method"].tolist() == QUICK
    otsu_iou = np.mean([row["iou"] for row in expected if row["method"] == QUICK[0]])
    assert summary.loc[0, "IoU"].startswith(f"{otsu_iou:.3f} [")
    objects = lab.at.dataframe[1].value
    otsu_dsb = np.mean([row["dsb_score"] for row in expected if row["method"] == QUICK[0]])
    assert objects.loc[0, "DSB score"].startswith(f"{otsu_dsb:.3f} [")


def test_charts_breakdown_paired_comparison_and_gallery(bundled_run):
    lab, outcome = bundled_run
    charts = lab.charts()
    assert {"ev_dist", "ev_breakdown", "ev_ap", "ev_paired"} <= charts.keys()
    assert [trace["name"] for trace in charts["ev_dist"]["data"]] == QUICK
    assert [trace["name"] for trace in charts["ev_ap"]["data"]] == QUICK
    assert "modality" in charts["ev_breakdown"]["layout"]["title"]["text"]
    metrics = lab.metrics()
    wide = outcome.table.pivot(index="image", columns="method", values="iou")
    result = library.paired_comparison(wide[QUICK[0]], wide[QUICK[1]])
    assert int(metrics[f"A better ({QUICK[0]})"]) == result.wins
    assert int(metrics["Ties"]) == result.ties
    assert any("Wilcoxon signed-rank" in c.value for c in lab.at.caption)
    # The preview of the first six pairs, then the three worst images per method, lowest IoU first,
    # each with a button to open it.
    preview, captions = lab.image_captions()[:6], lab.image_captions()[6:]
    assert [c.split(" · ")[0] for c in preview] == [pair.id[:16] for pair in outcome.loaded.dataset.pairs[:6]]
    assert len(captions) == 6
    worst_otsu = outcome.table[outcome.table["method"] == QUICK[0]].nsmallest(3, "iou")["image"].tolist()
    assert [c.split(" · ")[0] for c in captions[:3]] == [image[:16] for image in worst_otsu]
    assert lab.at.button(key=f"ev_open_0_{worst_otsu[0]}") is not None
    assert lab.at.get("download_button")


def test_changing_a_chart_does_not_rerun_the_evaluation(bundled_run):
    lab, outcome = bundled_run
    lab.at.selectbox(key="ev_score").set_value("dsb_score").run()
    lab.assert_ok()
    assert lab.at.session_state["ev_result"] is outcome
    assert "DSB2018" in lab.charts()["ev_dist"]["layout"]["title"]["text"]


def test_open_a_worst_image_in_compare(start_lab):
    lab = _open(start_lab)
    outcome = _run(lab, methods=["Otsu threshold"], limit=3)
    worst = outcome.table.nsmallest(1, "iou")["image"].iloc[0]
    lab.at.session_state["cmp_methods"] = ["Otsu threshold"]  # the Compare page's quick method, not its defaults
    lab.at.button(key=f"ev_open_0_{worst}").click().run()
    lab.assert_ok()
    assert worst in lab.at.session_state["image_name"]
    assert lab.at.session_state["truth"] is not None
    assert lab.at.session_state["image_source"] == "Upload"
    assert any(worst in line for line in [lab.summary()])
    assert "cmp_methods" in [w.key for w in lab.at.multiselect]  # the Compare page ran


def test_uploaded_zip_with_every_kind_of_bad_entry(start_lab):
    lab = _upload(_open(start_lab), zips.messy_zip())
    assert "6 pairs" in _pairs_line(lab) and "grouping columns: modality" in _pairs_line(lab)
    skipped = lab.at.dataframe[0].value
    reasons = dict(zip(skipped["name"], skipped["reason"]))
    assert reasons["../evil.png"].startswith("'..'") and reasons["/etc/evil.png"].startswith("absolute")
    assert reasons["images/link.png"].startswith("symbolic link") and reasons["images/notes.txt"].startswith("not an")
    outcome = _run(lab, methods=["Otsu threshold"])
    assert sorted(outcome.table["image"]) == ["cell00", "cell01", "cell02", "cell03"]
    during = {item.name: item.reason for item in outcome.skipped if item.name in ("broken", "small")}
    assert "not an image we can read" in during["broken"] and "the mask is 10x10" in during["small"]
    assert any("Skipped during the run (2)" == s for s in lab.subheaders())
    assert {"ev_dist", "ev_breakdown", "ev_ap"} <= lab.charts().keys()


def test_layout_b_zip_after_the_larger_bundled_set(start_lab):
    lab = _open(start_lab)
    lab.at.number_input(key="ev_limit").set_value(25).run()
    _upload(lab, zips.layout_b_zip(3))
    assert "3 pairs" in _pairs_line(lab) and "name + name_mask" in _pairs_line(lab)
    assert lab.at.number_input(key="ev_limit").value == 3


@pytest.mark.parametrize(("data", "message"), [
    (zips.bomb_zip(), "zip bomb"),
    (b"this is not a zip", "not a zip archive"),
    (zips.make_zip({"readme.txt": b"nothing here"}), "No usable pair"),
])
def test_refused_or_empty_zips_get_a_message(start_lab, data, message):
    lab = _upload(_open(start_lab), data)
    assert any(message in error for error in lab.errors())
    assert "ev_run" not in [button.key for button in lab.at.button]


def test_another_evaluation_running_on_the_server(start_lab):
    lab = _open(start_lab)
    lab.at.multiselect(key="ev_methods").set_value(["Otsu threshold"]).run()
    assert capacity.try_acquire("evaluation")
    try:
        lab.at.button(key="ev_run").click().run()
    finally:
        capacity.release("evaluation")
    lab.assert_ok()
    assert any("Another evaluation is running on this server" in w.value for w in lab.at.warning)
    assert lab.at.session_state["ev_job"] is None if "ev_job" in lab.at.session_state else True


def test_cancel_stops_the_run_and_keeps_what_was_scored(start_lab, monkeypatch):
    real = library.score_pair

    def slow(*args, **kwargs):
        time.sleep(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(library, "score_pair", slow)
    lab = _open(start_lab)
    lab.at.multiselect(key="ev_methods").set_value(["Otsu threshold"]).run()
    lab.at.button(key="ev_run").click().run()
    lab.at.button(key="ev_cancel").click().run()
    outcome = _wait(lab)
    assert outcome.cancelled and 0 < outcome.n_done < 30
    assert any(f"Cancelled after {outcome.n_done} of 30" in i.value for i in lab.at.info)
    assert capacity.running("evaluation") == 0


def test_server_folder_only_when_the_operator_lists_one(start_lab, tmp_path, monkeypatch):
    folder = tmp_path / "sets" / "cells"
    for name, data in zips.layout_a_entries(2).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    config = tmp_path / "lab.toml"
    config.write_text(f'dataset_folders = ["{folder}"]\n')
    monkeypatch.setenv("SEGLAB_CONFIG", str(config))
    ui_config.settings.cache_clear()
    try:
        lab = _open(start_lab)
        lab.at.radio(key="ev_source").set_value("Server folder").run()
        lab.assert_ok()
        assert lab.at.selectbox(key="ev_folder").options == [str(folder)]
        assert "2 pairs" in _pairs_line(lab)
    finally:
        monkeypatch.delenv("SEGLAB_CONFIG")
        ui_config.settings.cache_clear()
