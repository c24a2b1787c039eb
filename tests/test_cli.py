"""Tests of the command line (segcore.cli, python -m segcore)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

import segcore
from segcore import cli, evaluation, metrics
from segcore.errors import InvalidParameterError
from segcore.result import SegmentationResult

from tests.shared_data import DSB2018, REPO, needs_dsb2018


# ------------------------------------------------------------ synthetic files


def _disc(shape, center, radius):
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    return (rows - center[0]) ** 2 + (cols - center[1]) ** 2 <= radius**2


def _scene(rng, shape=(48, 56)):
    """A gray image of two bright discs on dark noise, and its instance labels."""
    labels = np.zeros(shape, dtype=np.uint16)
    labels[_disc(shape, (rng.integers(10, 16), rng.integers(10, 18)), rng.integers(5, 8))] = 1
    labels[_disc(shape, (rng.integers(30, 38), rng.integers(34, 44)), rng.integers(5, 9))] = 2
    image = rng.normal(40, 12, shape)
    image[labels > 0] = rng.normal(180, 20, np.count_nonzero(labels))
    return np.clip(image, 0, 255).astype(np.uint8), labels


def _write_png(path, array):
    assert cv2.imwrite(str(path), array)
    return path


@pytest.fixture
def dataset(tmp_path, rng):
    """images/, masks/ (0/255) and labels/ (16-bit instances) for three scenes."""
    folders = {name: tmp_path / name for name in ("images", "masks", "labels")}
    for folder in folders.values():
        folder.mkdir()
    for i in range(3):
        image, labels = _scene(rng)
        _write_png(folders["images"] / f"cell{i}.png", image)
        _write_png(folders["masks"] / f"cell{i}.png", (labels > 0).astype(np.uint8) * 255)
        _write_png(folders["labels"] / f"cell{i}.png", labels)
    return folders


@pytest.fixture
def image_file(tmp_path, rng):
    return _write_png(tmp_path / "scene.png", _scene(rng)[0])


def _run(capsys, *argv):
    code = cli.main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _read_png(path):
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


# ------------------------------------------------------------- value parsing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5", 5),
        (" 2.5 ", 2.5),
        ("-3", -3),
        ("True", True),
        ("None", None),
        ("(3, 4)", (3, 4)),
        ("[(1,1),(5,6)]", [(1, 1), (5, 6)]),
        ("otsu", "otsu"),
        ("'quoted'", "quoted"),
        ("[1, 2", "[1, 2"),
        ("", ""),
    ],
)
def test_parse_value_reads_literals_and_keeps_text(text, expected):
    assert cli.parse_value(text) == expected


def test_parse_assignment():
    assert cli.parse_assignment("seeds=[(1,1),(5,6)]") == ("seeds", [(1, 1), (5, 6)])
    assert cli.parse_assignment(" algorithm = otsu ") == ("algorithm", "otsu")
    assert cli.parse_assignment("label=a=b") == ("label", "a=b")


@pytest.mark.parametrize("bad", ["tolerance", "=5", "two words=1", "5x=1"])
def test_parse_assignment_refuses_non_assignments(bad):
    with pytest.raises(InvalidParameterError, match="key=value"):
        cli.parse_assignment(bad)


def test_split_top_level_respects_brackets_and_quotes():
    assert cli.split_top_level("a=1,b=[1,2],c={'x': (1, 2)},d='p,q'") == [
        "a=1",
        "b=[1,2]",
        "c={'x': (1, 2)}",
        "d='p,q'",
    ]
    assert cli.split_top_level("a=1") == ["a=1"]


@pytest.mark.parametrize("bad", ["a=[1,2", "a=(1,2]", "a=1)", "a='x"])
def test_split_top_level_refuses_unbalanced_text(bad):
    with pytest.raises(InvalidParameterError, match="unbalanced"):
        cli.split_top_level(bad)


def test_parse_spec():
    assert cli.parse_spec("threshold") == ("threshold", {})
    assert cli.parse_spec("region_growing:seeds=[(1,1),(2,2)],tolerance=5") == (
        "region_growing",
        {"seeds": [(1, 1), (2, 2)], "tolerance": 5},
    )
    assert cli.parse_spec("threshold:algorithm=otsu,polarity=auto") == (
        "threshold",
        {"algorithm": "otsu", "polarity": "auto"},
    )


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("", "no method name"),
        (":a=1", "no method name"),
        ("threshold:", "nothing after"),
        ("threshold:value", "key=value"),
        ("threshold:value=1,value=2", "twice"),
        ("threshold:value=[1,", "unbalanced"),
    ],
)
def test_parse_spec_refuses_bad_specs(bad, message):
    with pytest.raises(InvalidParameterError, match=message):
        cli.parse_spec(bad)


# ---------------------------------------------------------- the written image


def _result(labels, mask):
    return SegmentationResult("threshold", labels=np.asarray(labels), mask=mask)


def test_output_image_is_0_255_for_a_single_foreground():
    labels = np.array([[0, 1], [1, 0]], dtype=np.uint8)
    written = cli.output_image(_result(labels, labels > 0))
    np.testing.assert_array_equal(written, [[0, 255], [255, 0]])
    assert written.dtype == np.uint8


def test_output_image_writes_the_mask_not_the_cluster_numbers():
    clusters = np.array([[0, 1, 1, 1]], dtype=np.uint8)  # cluster 0 is the minority: the objects
    written = cli.output_image(_result(clusters, clusters == 0))
    np.testing.assert_array_equal(written, [[255, 0, 0, 0]])


def test_output_image_keeps_labels_in_8_or_16_bits():
    labels = np.array([[0, 1, 2, 3]], dtype=np.uint8)
    np.testing.assert_array_equal(cli.output_image(_result(labels, labels > 0)), labels)
    two_classes = np.array([[0, 1]], dtype=np.uint8)
    np.testing.assert_array_equal(cli.output_image(_result(two_classes, None)), two_classes)
    many = np.array([[0, 300]], dtype=np.uint16)
    written = cli.output_image(_result(many, None))
    assert written.dtype == np.uint16 and written.tolist() == [[0, 300]]
    with pytest.raises(cli.CommandLineError, match="65535"):
        cli.output_image(_result(np.array([[0, 70000]], dtype=np.int32), None))


# ------------------------------------------------------------------- segment


def test_segment_round_trip_threshold(tmp_path, image_file, capsys):
    out, overlay, info = tmp_path / "mask.png", tmp_path / "overlay.png", tmp_path / "info.json"
    code, stdout, stderr = _run(
        capsys, "segment", image_file, "--method", "threshold", "--set", "algorithm=fixed",
        "--set", "value=100", "--out", out, "--overlay", overlay, "--json", info,
    )
    assert code == 0, stderr
    image = segcore.load_image(image_file)
    expected = segcore.segment(image, "threshold", algorithm="fixed", value=100)
    written = _read_png(out)
    assert written.dtype == np.uint8
    np.testing.assert_array_equal(written, expected.mask.astype(np.uint8) * 255)
    assert _read_png(overlay).shape == image.shape
    record = json.loads(info.read_text())
    assert record["method"] == "threshold"
    assert record["params"]["algorithm"] == "fixed" and record["params"]["value"] == 100
    assert record["shape"] == list(image.shape[:2])
    assert record["foreground_fraction"] == pytest.approx(expected.mask.mean())
    assert record["n_labels"] == 1
    assert "method:     threshold (Thresholding)" in stdout
    assert "value=100" in stdout and "foreground:" in stdout


def test_segment_round_trip_kmeans_labels(tmp_path, image_file, capsys):
    out = tmp_path / "clusters.png"
    code, stdout, stderr = _run(
        capsys, "segment", image_file, "--method", "kmeans", "--set", "n_clusters=3", "--out", out
    )
    assert code == 0, stderr
    expected = segcore.segment(segcore.load_image(image_file), "kmeans", n_clusters=3)
    np.testing.assert_array_equal(_read_png(out), expected.labels)
    assert "8-bit labels" in stdout


def test_segment_bad_image_exits_2_without_traceback(tmp_path, capsys):
    fake = tmp_path / "notes.png"
    fake.write_text("these are notes, not pixels")
    code, stdout, stderr = _run(capsys, "segment", fake, "--method", "threshold", "--out", tmp_path / "m.png")
    assert code == 2
    assert stderr.startswith("error: ") and stderr.count("\n") == 1
    assert "notes.png" in stderr and "not an image" in stderr
    assert "Traceback" not in stderr
    assert not (tmp_path / "m.png").exists()


def test_segment_unknown_method_lists_valid_names(tmp_path, image_file, capsys):
    code, _, stderr = _run(capsys, "segment", image_file, "--method", "magic", "--out", tmp_path / "m.png")
    assert code == 2
    assert "unknown method 'magic'" in stderr
    for name in segcore.list_methods():
        assert name in stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--set", "value"], "key=value"),
        (["--set", "value=1", "--set", "value=2"], "twice"),
        (["--set", "colour=red"], "does not take 'colour'"),
    ],
)
def test_segment_bad_settings_exit_2(tmp_path, image_file, capsys, extra, message):
    code, _, stderr = _run(capsys, "segment", image_file, "--method", "threshold", *extra, "--out", tmp_path / "m.png")
    assert code == 2
    assert message in stderr


def test_segment_refuses_a_lossy_output_name(tmp_path, image_file, capsys):
    code, _, stderr = _run(capsys, "segment", image_file, "--method", "threshold", "--out", tmp_path / "m.jpg")
    assert code == 2 and ".png" in stderr


def test_segment_unwritable_output_exits_2(tmp_path, image_file, capsys):
    out = tmp_path / "missing-folder" / "m.png"
    code, _, stderr = _run(capsys, "segment", image_file, "--method", "threshold", "--out", out)
    assert code == 2 and "cannot write" in stderr


def test_usage_errors_and_help_return_codes(capsys):
    assert cli.main(["segment"]) == 2  # argparse: missing arguments
    assert cli.main(["--help"]) == 0
    assert "segment" in capsys.readouterr().out


def test_python_dash_m_segcore(tmp_path, image_file):
    out = tmp_path / "mask.png"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "segcore", "segment", str(image_file), "--method", "threshold", "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "method:     threshold" in done.stdout
    assert _read_png(out).shape == _read_png(image_file).shape[:2]

    bad = subprocess.run(
        [*command[:4], str(tmp_path / "absent.png"), *command[5:]],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr


# ------------------------------------------------------------------ methods


def test_methods_lists_titles_and_defaults(capsys):
    code, stdout, _ = _run(capsys, "methods")
    assert code == 0
    for spec in segcore.METHODS.values():
        assert f"{spec.name}  {spec.title}" in stdout
    assert "n_clusters=3" in stdout
    assert "algorithm='otsu'" in stdout


# ----------------------------------------------------------------- evaluate


def _direct_scores(folders, masks, stem, name, params, **evaluate_kwargs):
    image = segcore.load_image(folders["images"] / f"{stem}.png")
    truth = segcore.load_mask(folders[masks] / f"{stem}.png", shape=image.shape)
    result = segcore.segment(image, name, **params)
    return truth, result, metrics.evaluate(truth, result, **evaluate_kwargs)


def test_evaluate_two_methods_json_equals_direct_computation(dataset, tmp_path, capsys):
    specs = ["threshold:algorithm=fixed, value=100", "kmeans:n_clusters=3"]
    report = tmp_path / "report.json"
    code, stdout, stderr = _run(
        capsys, "evaluate", "--images", dataset["images"], "--masks", dataset["masks"],
        "--method", specs[0], "--method", specs[1], "--json", report,
    )
    assert code == 0, stderr
    data = json.loads(report.read_text())
    assert list(data["summary"]) == specs
    assert data["match"] == "oracle" and data["task"] == "binary"
    assert data["images_dir"] == str(dataset["images"]) and data["masks_dir"] == str(dataset["masks"])
    assert len(data["images"]) == 6

    parsed = {spec: cli.parse_spec(spec) for spec in specs}
    for row in data["images"]:
        name, params = parsed[row["method"]]
        _, _, scores = _direct_scores(dataset, "masks", row["image"], name, params, binary=True)
        for key in ("iou", "dice", "pixel_accuracy", "precision", "recall", "mean_iou"):
            assert row[key] == pytest.approx(getattr(scores, key)), key
        # Binary masks: the true objects are their connected components, and the row says so.
        truth, result, _ = _direct_scores(dataset, "masks", row["image"], name, params, binary=True)
        pred_objects = evaluation.predicted_instances(result, scores)[0]
        expected = metrics.match_instances(segcore.to_instances(truth > 0)[0], pred_objects).summary()
        for key in evaluation.INSTANCE_KEYS:
            assert row[key] == pytest.approx(expected[key]), key
        assert row["true_instances"] == "connected components"
    for spec in specs:
        rows = [row for row in data["images"] if row["method"] == spec]
        summary = data["summary"][spec]
        assert summary["n_images"] == 3
        for key in ("iou", "dice", "pixel_accuracy", "seconds", *evaluation.INSTANCE_KEYS):
            assert summary[key] == pytest.approx(np.mean([row[key] for row in rows]))
    for spec in specs:
        assert spec in stdout
    assert "IoU" in stdout and "DSB" in stdout


def test_evaluate_instance_labels_add_the_dsb_score(dataset, tmp_path, capsys):
    report = tmp_path / "report.json"
    code, stdout, stderr = _run(
        capsys, "evaluate", "--images", dataset["images"], "--masks", dataset["labels"],
        "--method", "threshold:algorithm=otsu", "--method", "kmeans:n_clusters=3", "--json", report, "--quiet",
    )
    assert code == 0, stderr
    data = json.loads(report.read_text())
    for row in data["images"]:
        name, params = cli.parse_spec(row["method"])
        truth, result, scores = _direct_scores(dataset, "labels", row["image"], name, params, binary=True)
        if result.mask is not None:
            foreground = result.mask
        else:
            foreground = metrics.apply_mapping(result.labels, scores.mapping) > 0
        expected = metrics.dsb_score(truth, segcore.to_instances(foreground)[0])
        assert row["dsb_score"] == pytest.approx(expected)
        assert row["iou"] == pytest.approx(scores.iou)
    for spec, summary in data["summary"].items():
        rows = [row for row in data["images"] if row["method"] == spec]
        assert summary["dsb_score"] == pytest.approx(np.mean([row["dsb_score"] for row in rows]))
    assert data["summary"]["threshold:algorithm=otsu"]["dsb_score"] > 0.5
    assert "DSB" in stdout
    assert stderr == ""  # --quiet, and every file paired


def test_evaluate_multiclass_task_matches_classes(dataset, tmp_path, capsys):
    report = tmp_path / "report.json"
    code, _, stderr = _run(
        capsys, "evaluate", "--images", dataset["images"], "--masks", dataset["labels"],
        "--method", "kmeans:n_clusters=3", "--task", "multiclass", "--match", "majority", "--json", report,
    )
    assert code == 0, stderr
    data = json.loads(report.read_text())
    assert data["task"] == "multiclass" and data["match"] == "majority"
    for row in data["images"]:
        _, _, scores = _direct_scores(
            dataset, "labels", row["image"], "kmeans", {"n_clusters": 3}, binary=False, match="majority"
        )
        assert row["mean_iou"] == pytest.approx(scores.mean_iou)
        assert row["pixel_accuracy"] == pytest.approx(scores.pixel_accuracy)
        assert "dsb_score" not in row


def test_evaluate_limit_and_unpaired_warning(dataset, capsys):
    _write_png(dataset["images"] / "extra.png", np.zeros((8, 8), np.uint8))
    (dataset["masks"] / "readme.txt").write_text("not an image, not counted")
    code, stdout, stderr = _run(
        capsys, "evaluate", "--images", dataset["images"], "--masks", dataset["masks"],
        "--method", "threshold", "--limit", "2",
    )
    assert code == 0
    assert "warning: 1 image(s) without a mask and 0 mask(s) without an image" in stderr
    assert stdout.startswith("2 image(s)")


def test_evaluate_nothing_paired_exits_2(dataset, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, stderr = _run(capsys, "evaluate", "--images", dataset["images"], "--masks", empty, "--method", "threshold")
    assert code == 2
    assert "no image" in stderr and "Traceback" not in stderr


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("magic", "valid methods are"),
        ("threshold:colour=red", "does not take 'colour'"),
        ("threshold:value=[1,", "unbalanced"),
    ],
)
def test_evaluate_bad_specs_exit_2(dataset, capsys, spec, message):
    code, _, stderr = _run(
        capsys, "evaluate", "--images", dataset["images"], "--masks", dataset["masks"], "--method", spec
    )
    assert code == 2
    assert message in stderr


def test_evaluate_missing_folder_and_mismatched_mask(dataset, tmp_path, capsys):
    code, _, stderr = _run(
        capsys, "evaluate", "--images", tmp_path / "nowhere", "--masks", dataset["masks"], "--method", "threshold"
    )
    assert code == 2 and "is not a folder" in stderr
    # A mask of another size skips its image; the others are scored.
    _write_png(dataset["masks"] / "cell0.png", np.zeros((10, 10), np.uint8))
    report = tmp_path / "r.json"
    code, stdout, stderr = _run(
        capsys, "evaluate", "--images", dataset["images"], "--masks", dataset["masks"], "--method", "threshold",
        "--json", report,
    )
    assert code == 0 and "skipped cell0" in stderr and "cell0.png: the mask is 10x10" in stderr
    assert stdout.startswith("2 image(s)")
    assert [item["name"] for item in json.loads(report.read_text())["skipped"]] == ["cell0"]
    # Nothing scorable at all: exit 2.
    for i in (1, 2):
        _write_png(dataset["masks"] / f"cell{i}.png", np.zeros((10, 10), np.uint8))
    code, _, stderr = _run(
        capsys, "evaluate", "--images", dataset["images"], "--masks", dataset["masks"], "--method", "threshold"
    )
    assert code == 2 and "no image could be scored" in stderr


def test_pair_files_by_stem(tmp_path):
    images, masks = tmp_path / "i", tmp_path / "m"
    images.mkdir()
    masks.mkdir()
    for name in ("a.png", "b.jpg", "c.png", ".hidden.png"):
        (images / name).write_bytes(b"")
    for name in ("a.png", "b.png", "d.tif", "notes.txt"):
        (masks / name).write_bytes(b"")
    pairs, lone_images, lone_masks = cli.pair_files(images, masks)
    assert [(stem, image.name, mask.name) for stem, image, mask in pairs] == [
        ("a", "a.png", "a.png"),
        ("b", "b.jpg", "b.png"),
    ]
    assert (lone_images, lone_masks) == (1, 1)
    (images / "a.jpg").write_bytes(b"")  # two images named 'a': neither is used
    pairs, lone_images, lone_masks = cli.pair_files(images, masks)
    assert [stem for stem, _, _ in pairs] == ["b"]


@needs_dsb2018
def test_evaluate_on_dsb2018_labels(tmp_path, capsys):
    report = tmp_path / "dsb.json"
    spec = "threshold:algorithm=otsu,polarity=auto"
    code, stdout, stderr = _run(
        capsys, "evaluate", "--images", DSB2018 / "val" / "images", "--masks", DSB2018 / "val" / "labels",
        "--method", spec, "--limit", "5", "--json", report, "--quiet",
    )
    assert code == 0, stderr
    summary = json.loads(report.read_text())["summary"][spec]
    assert summary["n_images"] == 5
    assert 0.5 < summary["iou"] <= 1.0
    assert 0.0 <= summary["dsb_score"] <= 1.0
    assert "DSB" in stdout


def test_split_nuclei_reported_by_a_method_are_the_predicted_instances():
    # Two touching squares: one connected component, but the method split them into two nuclei.
    mask = np.zeros((6, 10), dtype=bool)
    mask[1:5, 1:9] = True
    split = np.zeros((6, 10), dtype=np.uint8)
    split[1:5, 1:5], split[1:5, 5:9] = 1, 2
    result = SegmentationResult("unet", mask.view(np.uint8), mask, info={"instances": split})
    scores = metrics.evaluate(mask, result)
    np.testing.assert_array_equal(cli._predicted_instances(result, scores), split)
    del result.info["instances"]
    assert cli._predicted_instances(result, scores).max() == 1  # connected components: one object
