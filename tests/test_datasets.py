"""Tests of segcore.datasets: pairing in folders and zips, hostile archives, the bundled sample."""

from __future__ import annotations

import csv
import zipfile

import numpy as np
import pytest

import segcore
from segcore import datasets
from segcore.datasets import ArchiveError, Skipped, ZipLimits

from tests import zips


def _reasons(dataset) -> dict[str, str]:
    return {item.name: item.reason for item in dataset.skipped}


def _write_layout_a(folder, n=3, *, index=True):
    for name, data in zips.layout_a_entries(n, index=index).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder


# -------------------------------------------------------------------- pairing


def test_pair_by_stem_is_the_one_rule():
    entry = datasets._Entry
    pairs, skipped = datasets.pair_by_stem(
        [entry("i/a.png", b"A"), entry("i/b.tif", b"B"), entry("i/c.png", b"C")],
        [entry("m/a.png", b"a"), entry("m/b.png", b"b"), entry("m/d.png", b"d")],
        [entry("l/a.png", b"la"), entry("l/z.png", b"lz")],
        groups={"a": {"modality": "x"}},
    )
    assert [(p.id, p.image, p.mask, p.labels) for p in pairs] == [("a", b"A", b"a", b"la"), ("b", b"B", b"b", None)]
    assert pairs[0].groups == {"modality": "x"} and pairs[1].groups == {}
    assert skipped == [Skipped("i/c.png", datasets.NO_MASK), Skipped("m/d.png", datasets.NO_IMAGE),
                       Skipped("l/z.png", "instance labels without an image and mask")]


def test_two_files_with_one_stem_are_both_skipped():
    entry = datasets._Entry
    pairs, skipped = datasets.pair_by_stem([entry("a.png", b"1"), entry("a.jpg", b"2")], [entry("a.png", b"m")])
    assert pairs == []
    assert {s.name for s in skipped} == {"a.png", "a.jpg", "a.png"} and "several files are named 'a'" in skipped[0].reason


def test_find_pairs_layout_a_with_index_and_labels(tmp_path):
    folder = _write_layout_a(tmp_path, 3)
    (folder / "images" / "notes.txt").write_text("hello")
    (folder / "images" / ".DS_Store").write_bytes(b"x")
    dataset = datasets.find_pairs(folder)
    assert dataset.layout == "images/ + masks/"
    assert [p.id for p in dataset.pairs] == ["cell00", "cell01", "cell02"]
    assert dataset.group_columns == ("modality",)
    assert [p.groups["modality"] for p in dataset.pairs] == ["even", "odd", "even"]
    assert all(p.image == folder / "images" / f"{p.id}.png" for p in dataset.pairs)
    assert all(p.labels == folder / "labels" / f"{p.id}.png" for p in dataset.pairs)
    reasons = _reasons(dataset)
    assert reasons["images/notes.txt"].startswith("not an image") and reasons["images/.DS_Store"] == "hidden file"


def test_find_pairs_layout_b(tmp_path):
    for stem, (image, mask, _) in zips.scene_files(2).items():
        (tmp_path / f"{stem}.png").write_bytes(image)
        (tmp_path / f"{stem}_mask.png").write_bytes(mask)
    (tmp_path / "alone.png").write_bytes(b"")
    dataset = datasets.find_pairs(tmp_path)
    assert dataset.layout == "name + name_mask"
    assert [(p.id, p.image.name, p.mask.name) for p in dataset.pairs] == [
        ("cell00", "cell00.png", "cell00_mask.png"), ("cell01", "cell01.png", "cell01_mask.png")]
    assert _reasons(dataset) == {"alone.png": datasets.NO_MASK}


def test_index_without_id_column_is_reported(tmp_path):
    folder = _write_layout_a(tmp_path, 2, index=False)
    (folder / "index.csv").write_text("name,modality\ncell00,x\n")
    dataset = datasets.find_pairs(folder)
    assert len(dataset) == 2 and dataset.group_columns == ()
    assert "no 'id' column" in _reasons(dataset)["index.csv"]


def test_missing_folder_is_an_error(tmp_path):
    with pytest.raises(segcore.SegcoreError, match="is not a folder"):
        datasets.find_pairs(tmp_path / "nowhere")
    with pytest.raises(segcore.SegcoreError, match="is not a folder"):
        datasets.pair_folders(tmp_path / "a", tmp_path / "b")


# ------------------------------------------------------------------- decoding


def test_read_pair_decodes_image_mask_and_instances(tmp_path):
    folder = _write_layout_a(tmp_path, 1)
    pair = datasets.find_pairs(folder).pairs[0]
    arrays = datasets.read_pair(pair)
    image, labels = zips.scene(0)
    assert arrays.image.shape == (*image.shape, 3)
    np.testing.assert_array_equal(arrays.mask > 0, labels > 0)
    np.testing.assert_array_equal(arrays.instances, labels)


def test_read_pair_names_the_file_for_a_wrong_size_or_corrupt_file(tmp_path):
    folder = _write_layout_a(tmp_path, 2, index=False)
    (folder / "masks" / "cell00.png").write_bytes(zips.png(np.zeros((5, 5), np.uint8)))
    (folder / "images" / "cell01.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    first, second = datasets.find_pairs(folder).pairs
    with pytest.raises(segcore.InvalidMaskError, match=r"cell00\.png: the mask is 5x5"):
        datasets.read_pair(first)
    with pytest.raises(segcore.InvalidImageError, match=r"cell01\.png: this file is not an image"):
        datasets.read_pair(second)


# ------------------------------------------------------------------------ zips


@pytest.mark.parametrize("root", ["", "my data/"])
def test_read_zip_layout_a_in_memory(root):
    dataset = datasets.read_zip(zips.layout_a_zip(3, root=root))
    assert [p.id for p in dataset.pairs] == ["cell00", "cell01", "cell02"]
    assert all(isinstance(p.image, bytes) and isinstance(p.labels, bytes) for p in dataset.pairs)
    assert dataset.pairs[1].groups == {"modality": "odd"} and dataset.skipped == ()
    np.testing.assert_array_equal(datasets.read_pair(dataset.pairs[2]).instances, zips.scene(2)[1])


def test_read_zip_layout_b():
    dataset = datasets.read_zip(zips.layout_b_zip(3))
    assert dataset.layout == "name + name_mask" and len(dataset) == 3


def test_messy_zip_skips_each_bad_entry_with_its_reason():
    dataset = datasets.read_zip(zips.messy_zip())
    reasons = _reasons(dataset)
    assert reasons["../evil.png"] == "'..' in the path; refused"
    assert reasons["/etc/evil.png"] == "absolute path; refused"
    assert reasons["images/link.png"] == "symbolic link; refused"
    assert reasons["images/notes.txt"].startswith("not an image")
    assert reasons["images/lonely.png"] == datasets.NO_MASK
    assert reasons["masks/orphan.png"] == datasets.NO_IMAGE
    # Size and corruption are found per pair when it is read, not while pairing.
    assert {p.id for p in dataset.pairs} == {"broken", "cell00", "cell01", "cell02", "cell03", "small"}


def test_zip_bomb_is_refused_before_decompressing():
    with pytest.raises(ArchiveError, match="zip bomb"):
        datasets.read_zip(zips.bomb_zip())


def test_zip_limits_on_entries_and_total_size():
    data = zips.layout_a_zip(3)
    with pytest.raises(ArchiveError, match="at most 5 are accepted"):
        datasets.read_zip(data, limits=ZipLimits(max_entries=5))
    with pytest.raises(ArchiveError, match="would unpack to"):
        datasets.read_zip(data, limits=ZipLimits(max_total_bytes=1000))


def test_entry_larger_than_declared_is_not_read(monkeypatch):
    data = zips.layout_a_zip(2, index=False, labels=False)
    real_infolist = zipfile.ZipFile.infolist

    def lying_infolist(self):
        infos = real_infolist(self)
        for info in infos:
            if info.filename == "images/cell00.png":
                info.file_size = 10  # the archive claims less than the entry holds
        return infos

    monkeypatch.setattr(zipfile.ZipFile, "infolist", lying_infolist)
    dataset = datasets.read_zip(data)
    assert [p.id for p in dataset.pairs] == ["cell01"]
    # zipfile stops at the declared size and its CRC check fails, or the size check does
    reason = _reasons(dataset)["images/cell00.png"]
    assert "Bad CRC" in reason or "differs from what the archive declares" in reason


@pytest.mark.parametrize("data", [b"", b"PK\x03\x04 not really", b"hello"])
def test_not_a_zip(data):
    with pytest.raises(ArchiveError, match="not a zip archive"):
        datasets.read_zip(data)


# ------------------------------------------------------------- bundled sample


def test_bundled_sample_is_small_complete_and_from_val():
    folder = datasets.BUNDLED_SAMPLE_DIR
    dataset = datasets.bundled_sample()
    assert 20 <= len(dataset) <= 40 and dataset.skipped == ()
    size = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    assert size <= 5 * 2**20
    assert {p.groups["modality"] for p in dataset.pairs} == {"fluorescence", "histology", "brightfield"}
    assert all(p.labels is not None for p in dataset.pairs)
    assert "val" in (folder / "README.md").read_text() and "CC0" in (folder / "README.md").read_text()
    with (folder / "index.csv").open() as handle:
        assert csv.DictReader(handle).fieldnames[:2] == ["id", "modality"]


def test_bundled_sample_masks_are_binary_and_labels_match():
    pair = datasets.bundled_sample().pairs[0]
    arrays = datasets.read_pair(pair)
    assert set(np.unique(arrays.mask)) <= {0, 1, 255}
    np.testing.assert_array_equal(arrays.mask > 0, arrays.instances > 0)
    assert arrays.instances.max() == int(pair.groups["n_nuclei"])
