"""Dataset zips built in memory for tests: good ones in both layouts and hostile ones.

Every scene is a small gray image of bright discs on dark noise with its
0/255 mask and 16-bit instance labels, so methods have something to find and
the scores are not trivial.
"""

from __future__ import annotations

import io
import stat
import zipfile

import cv2
import numpy as np


def png(array: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", array)
    assert ok
    return data.tobytes()


def scene(seed: int, shape: tuple[int, int] = (40, 48)) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 image, uint16 instance labels) with two or three discs."""
    rng = np.random.default_rng(seed)
    labels = np.zeros(shape, dtype=np.uint16)
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    centres = [(10, 12), (28, 34), (12, 36)][: 2 + seed % 2]
    for k, (r, c) in enumerate(centres, start=1):
        radius = int(rng.integers(4, 7))
        labels[(rows - r - rng.integers(-2, 3)) ** 2 + (cols - c - rng.integers(-2, 3)) ** 2 <= radius**2] = k
    image = rng.normal(40, 10, shape)
    image[labels > 0] = rng.normal(170, 15, np.count_nonzero(labels))
    return np.clip(image, 0, 255).astype(np.uint8), labels


def scene_files(n: int, *, start: int = 0) -> dict[str, tuple[bytes, bytes, bytes]]:
    """{stem: (image PNG, mask PNG 0/255, labels PNG 16-bit)} for n scenes."""
    files = {}
    for i in range(start, start + n):
        image, labels = scene(i)
        files[f"cell{i:02d}"] = (png(image), png((labels > 0).astype(np.uint8) * 255), png(labels))
    return files


def make_zip(entries: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return buffer.getvalue()


def layout_a_entries(n: int = 4, *, index: bool = True, labels: bool = True, root: str = "") -> dict[str, bytes]:
    entries = {}
    for stem, (image, mask, label) in scene_files(n).items():
        entries[f"{root}images/{stem}.png"] = image
        entries[f"{root}masks/{stem}.png"] = mask
        if labels:
            entries[f"{root}labels/{stem}.png"] = label
    if index:
        rows = ["id,modality"] + [f"cell{i:02d},{'even' if i % 2 == 0 else 'odd'}" for i in range(n)]
        entries[f"{root}index.csv"] = ("\n".join(rows) + "\n").encode()
    return entries


def layout_a_zip(n: int = 4, **kwargs) -> bytes:
    return make_zip(layout_a_entries(n, **kwargs))


def layout_b_zip(n: int = 3) -> bytes:
    entries = {}
    for stem, (image, mask, _) in scene_files(n).items():
        entries[f"{stem}.png"] = image
        entries[f"{stem}_mask.png"] = mask
    return make_zip(entries)


def messy_zip() -> bytes:
    """Good pairs plus every per-file problem: a text file, an unpaired image and mask,
    a mask of another size, a corrupt image, a '..' path, an absolute path and a symlink."""
    entries = layout_a_entries(4)
    entries["images/notes.txt"] = b"not an image"
    entries["images/lonely.png"] = png(np.zeros((8, 8), np.uint8))
    entries["masks/orphan.png"] = png(np.zeros((8, 8), np.uint8))
    entries["images/small.png"] = png(np.zeros((40, 48), np.uint8))
    entries["masks/small.png"] = png(np.zeros((10, 10), np.uint8))
    entries["images/broken.png"] = png(np.zeros((40, 48), np.uint8))[:30]
    entries["masks/broken.png"] = png(np.zeros((40, 48), np.uint8))
    entries["../evil.png"] = png(np.zeros((8, 8), np.uint8))
    entries["/etc/evil.png"] = png(np.zeros((8, 8), np.uint8))
    data = make_zip(entries)
    return add_symlink(data, "images/link.png", "/etc/passwd")


def add_symlink(data: bytes, name: str, target: str) -> bytes:
    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer, "a") as archive:
        info = zipfile.ZipInfo(name)
        info.create_system = 3  # Unix, so the mode bits below are read
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, target)
    return buffer.getvalue()


def bomb_zip(megabytes: int = 4) -> bytes:
    """One entry of zeros, compressed about 1000:1."""
    return make_zip({"images/a.png": bytes(megabytes << 20)})
