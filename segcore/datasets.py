"""Datasets of images with ground-truth masks: finding pairs in a folder or a zip.

A dataset is a list of :class:`Pair` (an id, where the image, its mask and
optionally its instance labels are, and grouping values such as the
modality) plus a list of :class:`Skipped` files, each with the reason it was
left out. Nothing is decoded while pairs are found; :func:`read_pair` decodes
one pair (with :func:`segcore.load_image` / :func:`segcore.load_mask`) when
it is scored, so a corrupt image or a mask of another size is found then, for
that image only, and the caller lists it as skipped and goes on.

Layouts
-------
``images/`` + ``masks/`` (layout A)
    Paired by file name without extension (``images/cell1.tif`` with
    ``masks/cell1.png``). An optional ``labels/`` folder holds instance
    label images (one value per object) under the same names. The DSB2018
    copy (``train|val/images|masks|labels``) is this layout, one split at a
    time, and so is ``python -m segcore evaluate --images DIR --masks DIR``.
``name.png`` + ``name_mask.png`` (layout B)
    Both in one folder; the mask's name is the image's stem plus ``_mask``.

Either layout may carry an ``index.csv`` beside the folders with an ``id``
column (the file stem); its other columns become the pair's ``groups``
(e.g. ``modality``), read as text.

Files count as images by extension (:data:`IMAGE_SUFFIXES`); hidden files
and anything else are skipped with a reason. Pairing rules live in
:func:`pair_by_stem` and nowhere else.

Zip archives
------------
:func:`read_zip` reads an uploaded archive in memory and never writes a
file. Before any entry is decompressed it refuses the whole archive
(:class:`ArchiveError`) for more than ``max_entries`` entries, a declared
total size above ``max_total_bytes``, or an entry whose compression ratio is
above ``max_ratio`` (zip bombs). Entries with an absolute path, a ``..``
component, a symbolic link, encryption, or a real size other than the
declared one are skipped (never decompressed past the declared size). A
single top-level folder holding everything is looked through.
"""

from __future__ import annotations

import csv
import io
import posixpath
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Union

import numpy as np

from .errors import SegcoreError
from .loading import load_image, load_mask

__all__ = [
    "BUNDLED_SAMPLE_DIR",
    "IMAGE_SUFFIXES",
    "ArchiveError",
    "Dataset",
    "Pair",
    "PairArrays",
    "Skipped",
    "ZipLimits",
    "bundled_sample",
    "find_pairs",
    "pair_by_stem",
    "pair_folders",
    "read_pair",
    "read_zip",
]

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif"})
MASK_SUFFIX = "_mask"
INDEX_NAME = "index.csv"
# Text files a dataset may carry that are neither images nor worth a line in the skipped table.
_QUIET_NAMES = frozenset({INDEX_NAME, "readme.md", "readme.txt", "readme", "license", "license.txt"})
_MAX_INDEX_BYTES = 4 << 20
NO_MASK = "image without a mask"
NO_IMAGE = "mask without an image"
_MAX_GROUP_TEXT = 100

BUNDLED_SAMPLE_DIR = Path(__file__).resolve().parent / "sample_data" / "dsb2018"

Source = Union[Path, bytes]


class ArchiveError(SegcoreError):
    """An uploaded archive that is refused as a whole (not a zip, too large, a zip bomb)."""


@dataclass(frozen=True)
class Pair:
    """One image with its ground truth, not yet decoded.

    ``image``, ``mask`` and ``labels`` are file paths (folders) or the
    file's bytes (zips); ``labels`` (instance labels) is None when the
    dataset has none. ``image_name`` / ``mask_name`` say where each came
    from, for messages. ``groups`` holds the index.csv columns of this id.
    """

    id: str
    image: Source
    mask: Source
    image_name: str
    mask_name: str
    labels: Source | None = None
    groups: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Skipped:
    """A file (or pair) left out, and why, in words for a person."""

    name: str
    reason: str


@dataclass(frozen=True)
class Dataset:
    """Pairs sorted by id, skipped files, the layout found and the grouping columns."""

    pairs: tuple[Pair, ...]
    skipped: tuple[Skipped, ...]
    layout: str
    group_columns: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.pairs)


@dataclass(frozen=True)
class PairArrays:
    """A decoded pair: (H, W, 3) uint8 image, (H, W) int32 mask and instance labels or None."""

    image: np.ndarray
    mask: np.ndarray
    instances: np.ndarray | None


@dataclass(frozen=True)
class ZipLimits:
    """What :func:`read_zip` accepts (sizes as declared in the archive, checked while reading)."""

    max_entries: int = 10_000
    max_total_bytes: int = 1 << 30
    max_ratio: float = 200.0
    # Small entries may compress far (a blank mask as BMP): the ratio counts above this size only.
    ratio_min_bytes: int = 1 << 20


# --------------------------------------------------------------------- pairing


@dataclass(frozen=True)
class _Entry:
    name: str  # shown to people: the path relative to the dataset root
    source: Source


def _is_image_name(name: str) -> bool:
    return posixpath.splitext(name)[1].lower() in IMAGE_SUFFIXES


def _by_stem(entries: Iterable[_Entry], skipped: list[Skipped], *, strip: str = "") -> dict[str, _Entry]:
    """Entries keyed by file stem (minus ``strip`` at its end); two files with one stem are both skipped."""
    found: dict[str, list[_Entry]] = {}
    for entry in entries:
        stem = posixpath.splitext(posixpath.basename(entry.name))[0]
        if strip:
            stem = stem[: -len(strip)]
        found.setdefault(stem, []).append(entry)
    unique = {}
    for stem, group in found.items():
        if len(group) == 1:
            unique[stem] = group[0]
        else:
            names = ", ".join(e.name for e in group)
            skipped.extend(Skipped(e.name, f"several files are named {stem!r} ({names}); keep one") for e in group)
    return unique


def pair_by_stem(
    images: Iterable[_Entry],
    masks: Iterable[_Entry],
    labels: Iterable[_Entry] = (),
    *,
    mask_suffix: str = "",
    groups: Mapping[str, Mapping[str, str]] | None = None,
) -> tuple[list[Pair], list[Skipped]]:
    """The one pairing rule: an image and a mask pair when their stems are equal.

    ``mask_suffix`` is removed from mask stems first (``"_mask"`` in layout
    B). Labels join a pair by the same stem; labels without a pair are
    skipped. Returns pairs sorted by id and the skipped entries, each with
    its reason (no mask, no image, several files with one stem).
    """
    skipped: list[Skipped] = []
    by_image = _by_stem(images, skipped)
    by_mask = _by_stem(masks, skipped, strip=mask_suffix)
    by_labels = _by_stem(labels, skipped)
    groups = groups or {}
    pairs = []
    for stem in sorted(by_image.keys() & by_mask.keys()):
        image, mask, label = by_image[stem], by_mask[stem], by_labels.get(stem)
        pairs.append(Pair(stem, image.source, mask.source, image.name, mask.name,
                          None if label is None else label.source, dict(groups.get(stem, {}))))
    for stem in sorted(by_image.keys() - by_mask.keys()):
        skipped.append(Skipped(by_image[stem].name, NO_MASK))
    for stem in sorted(by_mask.keys() - by_image.keys()):
        skipped.append(Skipped(by_mask[stem].name, NO_IMAGE))
    for stem in sorted(by_labels.keys() - (by_image.keys() & by_mask.keys())):
        skipped.append(Skipped(by_labels[stem].name, "instance labels without an image and mask"))
    return pairs, skipped


def _group_columns(pairs: list[Pair]) -> tuple[str, ...]:
    columns: dict[str, None] = {}
    for pair in pairs:
        for key in pair.groups:
            columns.setdefault(key, None)
    return tuple(columns)


def _parse_index(data: bytes, name: str, skipped: list[Skipped]) -> dict[str, dict[str, str]]:
    """{id: {column: value}} from index.csv text; problems become one skipped line."""
    if len(data) > _MAX_INDEX_BYTES:
        skipped.append(Skipped(name, f"larger than {_MAX_INDEX_BYTES >> 20} MB; not read"))
        return {}
    try:
        text = data.decode("utf-8-sig")
        reader = csv.DictReader(io.StringIO(text))
        fields = [f.strip() for f in (reader.fieldnames or [])]
        if "id" not in fields:
            skipped.append(Skipped(name, "has no 'id' column; grouping columns not used"))
            return {}
        rows = {}
        for row in reader:
            clean = {(k or "").strip(): (v or "").strip()[:_MAX_GROUP_TEXT] for k, v in row.items()
                     if isinstance(v, str)}
            ident = clean.pop("id", "")
            if ident:
                rows[ident] = {k: v for k, v in clean.items() if k}
        return rows
    except (UnicodeDecodeError, csv.Error) as error:
        skipped.append(Skipped(name, f"not a readable CSV file ({error}); grouping columns not used"))
        return {}


def _dataset(images, masks, labels, *, mask_suffix, layout, index, skipped) -> Dataset:
    pairs, more = pair_by_stem(images, masks, labels, mask_suffix=mask_suffix, groups=index)
    return Dataset(tuple(pairs), tuple(skipped + more), layout, _group_columns(pairs))


# --------------------------------------------------------------------- folders


def _classify(name: str, skipped: list[Skipped]) -> bool:
    """True for an image file name; other names are added to ``skipped`` (quiet ones are not)."""
    base = posixpath.basename(name)
    if base.startswith("."):
        skipped.append(Skipped(name, "hidden file"))
        return False
    if _is_image_name(base):
        return True
    if base.lower() not in _QUIET_NAMES:
        skipped.append(Skipped(name, "not an image file (by its extension)"))
    return False


def _folder_entries(folder: Path, prefix: str, skipped: list[Skipped]) -> list[_Entry]:
    entries = []
    for path in sorted(folder.iterdir()):
        name = f"{prefix}{path.name}"
        if path.is_dir():
            skipped.append(Skipped(name + "/", "a folder inside the dataset; not searched"))
        elif _classify(name, skipped):
            entries.append(_Entry(name, path))
    return entries


def _read_index_file(path: Path, skipped: list[Skipped]) -> dict[str, dict[str, str]]:
    if not path.is_file():
        return {}
    if path.stat().st_size > _MAX_INDEX_BYTES:
        skipped.append(Skipped(path.name, f"larger than {_MAX_INDEX_BYTES >> 20} MB; not read"))
        return {}
    return _parse_index(path.read_bytes(), path.name, skipped)


def pair_folders(images_dir: str | Path, masks_dir: str | Path, labels_dir: str | Path | None = None,
                 *, index: str | Path | None = None) -> Dataset:
    """Layout A from explicit folders (labels optional); a missing folder raises ``SegcoreError``."""
    skipped: list[Skipped] = []
    folders = {"images": images_dir, "masks": masks_dir, "labels": labels_dir}
    entries: dict[str, list[_Entry]] = {}
    for role, folder in folders.items():
        if folder is None:
            entries[role] = []
            continue
        folder = Path(folder)
        if not folder.is_dir():
            raise SegcoreError(f"{folder} is not a folder")
        entries[role] = _folder_entries(folder, f"{folder}/", skipped)
    groups = _read_index_file(Path(index), skipped) if index is not None else {}
    return _dataset(entries["images"], entries["masks"], entries["labels"], mask_suffix="",
                    layout="images/ + masks/", index=groups, skipped=skipped)


def find_pairs(folder: str | Path) -> Dataset:
    """The pairs in a dataset folder: layout A when it has ``images/`` and ``masks/``, else layout B."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SegcoreError(f"{folder} is not a folder")
    skipped: list[Skipped] = []
    index = _read_index_file(folder / INDEX_NAME, skipped)
    if (folder / "images").is_dir() and (folder / "masks").is_dir():
        roles = {role: _folder_entries(folder / role, f"{role}/", skipped) if (folder / role).is_dir() else []
                 for role in ("images", "masks", "labels")}
        for path in sorted(folder.iterdir()):
            if path.name not in ("images", "masks", "labels") and path.is_file() and _classify(path.name, skipped):
                skipped.append(Skipped(path.name, "an image outside images/ and masks/"))
        return _dataset(roles["images"], roles["masks"], roles["labels"], mask_suffix="",
                        layout="images/ + masks/", index=index, skipped=skipped)
    files = _folder_entries(folder, "", skipped)
    return _layout_b(files, index, skipped)


def _layout_b(files: list[_Entry], index, skipped: list[Skipped]) -> Dataset:
    def is_mask(entry: _Entry) -> bool:
        return posixpath.splitext(posixpath.basename(entry.name))[0].endswith(MASK_SUFFIX)

    masks = [e for e in files if is_mask(e)]
    images = [e for e in files if not is_mask(e)]
    return _dataset(images, masks, [], mask_suffix=MASK_SUFFIX, layout="name + name_mask", index=index,
                    skipped=skipped)


def bundled_sample() -> Dataset:
    """The DSB2018 sample that ships with segcore (``segcore/sample_data/dsb2018``, see its README).

    Taken from the validation split, so the bundled U-Net never trained on
    it; ``groups`` holds ``modality``, ``height``, ``width`` and ``n_nuclei``;
    ``labels`` are the true instances.
    """
    return find_pairs(BUNDLED_SAMPLE_DIR)


# ------------------------------------------------------------------------- zip


def _unsafe_name_reason(name: str) -> str | None:
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "absolute path; refused"
    if "\\" in name:
        return "backslash in the path; refused"
    if ".." in name.split("/"):
        return "'..' in the path; refused"
    return None


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def _open_archive(data: bytes, limits: ZipLimits) -> zipfile.ZipFile:
    """Open a zip held in memory after the whole-archive checks (count, declared size, bomb ratio)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as error:
        raise ArchiveError(f"this file is not a zip archive we can read ({error})") from None
    infos = archive.infolist()
    try:
        if len(infos) > limits.max_entries:
            raise ArchiveError(f"the archive has {len(infos)} entries; at most {limits.max_entries} are accepted")
        total = sum(info.file_size for info in infos)
        if total > limits.max_total_bytes:
            raise ArchiveError(f"the archive would unpack to {total / 2**20:.0f} MB; at most "
                               f"{limits.max_total_bytes / 2**20:.0f} MB are accepted")
        for info in infos:
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size >= limits.ratio_min_bytes and ratio > limits.max_ratio:
                raise ArchiveError(f"{info.filename!r} is compressed {ratio:.0f}:1, as in a zip bomb; "
                                   f"the archive is refused (at most {limits.max_ratio:.0f}:1)")
    except ArchiveError:
        archive.close()
        raise
    return archive


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[bytes | None, str]:
    """An entry's bytes, never decompressed past its declared size; (None, reason) when it cannot be read."""
    try:
        with archive.open(info) as handle:
            content = handle.read(info.file_size + 1)  # +1 to notice a larger real size
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError, ValueError) as error:
        return None, f"cannot be unpacked ({error})"
    if len(content) != info.file_size:
        return None, "its size differs from what the archive declares; refused"
    return content, ""


def read_zip(data: bytes, *, limits: ZipLimits = ZipLimits()) -> Dataset:
    """The pairs in a zip archive held in memory (either layout); sources are the entries' bytes.

    What is refused or skipped is in the module docstring; a refused archive raises :class:`ArchiveError`.
    """
    with _open_archive(data, limits) as archive:
        infos = archive.infolist()
        skipped: list[Skipped] = []
        safe: list[zipfile.ZipInfo] = []
        for info in infos:
            name = info.filename
            if name.endswith("/"):
                continue
            reason = _unsafe_name_reason(name)
            if reason is None and _is_symlink(info):
                reason = "symbolic link; refused"
            if reason is None and info.flag_bits & 0x1:
                reason = "encrypted; not read"
            if reason is None and (name.startswith("__MACOSX/") or "/." in f"/{name}"):
                reason = "hidden file"
            if reason:
                skipped.append(Skipped(name, reason))
            else:
                safe.append(info)
        names = [info.filename for info in safe]
        root = _common_folder(names)

        def read(info: zipfile.ZipInfo) -> bytes | None:
            content, reason = _read_entry(archive, info)
            if content is None:
                skipped.append(Skipped(info.filename, reason))
            return content

        index: dict[str, dict[str, str]] = {}
        roles: dict[str, list[_Entry]] = {"images": [], "masks": [], "labels": [], "": []}
        for info in safe:
            relative = info.filename[len(root):]
            top, slash, rest = relative.partition("/")
            if relative == INDEX_NAME:
                content = read(info)
                if content is not None:
                    index = _parse_index(content, relative, skipped)
                continue
            role, base = (top, rest) if slash else ("", relative)
            if role not in roles or "/" in base:
                skipped.append(Skipped(relative, "in a folder other than images/, masks/ or labels/"))
                continue
            if not _classify(relative, skipped):
                continue
            content = read(info)
            if content is not None:
                roles[role].append(_Entry(relative, content))

    if roles["images"] or roles["masks"]:
        for entry in roles[""]:
            skipped.append(Skipped(entry.name, "an image outside images/ and masks/"))
        return _dataset(roles["images"], roles["masks"], roles["labels"], mask_suffix="",
                        layout="images/ + masks/", index=index, skipped=skipped)
    for entry in roles["labels"]:
        skipped.append(Skipped(entry.name, "labels/ without images/ and masks/"))
    return _layout_b(roles[""], index, skipped)


def _common_folder(names: list[str]) -> str:
    """``"top/"`` when every name lies in one top-level folder that is not itself a layout folder."""
    tops = {name.partition("/")[0] if "/" in name else None for name in names}
    if len(tops) != 1 or None in tops:
        return ""
    top = tops.pop()
    return "" if top in ("images", "masks", "labels") else f"{top}/"


# ------------------------------------------------------------------- decoding


def _describe(source: Source, name: str) -> str:
    return name or (str(source) if isinstance(source, Path) else "(bytes)")


def read_pair(pair: Pair) -> PairArrays:
    """Decode one pair: the image, its mask and its instance labels when present.

    A file that cannot be read, or a mask or labels of another size than the
    image, raises ``InvalidImageError`` / ``InvalidMaskError`` naming the file.
    """
    try:
        image = load_image(pair.image)
    except SegcoreError as error:
        raise type(error)(f"{_describe(pair.image, pair.image_name)}: {error}") from None
    try:
        mask = load_mask(pair.mask, shape=image.shape)
    except SegcoreError as error:
        raise type(error)(f"{_describe(pair.mask, pair.mask_name)}: {error}") from None
    instances = None
    if pair.labels is not None:
        try:
            instances = load_mask(pair.labels, shape=image.shape)
        except SegcoreError as error:
            raise type(error)(f"labels of {pair.id}: {error}") from None
    return PairArrays(image, mask, instances)


# ------------------------------------------------------------ named files in a zip


def read_zip_files(data: bytes, wanted: Iterable[str], *, limits: ZipLimits = ZipLimits()) -> dict[str, bytes]:
    """The entries named in ``wanted`` (file names, at the top or in one top folder) of a zip in memory.

    For archives that are not datasets (a model's ``config.json``, ``model.safetensors``, ``card.json``):
    the zip rules of the module docstring hold, an unreadable wanted entry raises :class:`ArchiveError`,
    and names not found are missing from the result.
    """
    wanted = set(wanted)
    found: dict[str, bytes] = {}
    with _open_archive(data, limits) as archive:
        safe = [info for info in archive.infolist() if not info.filename.endswith("/")
                and _unsafe_name_reason(info.filename) is None and not _is_symlink(info)
                and not info.flag_bits & 0x1]
        root = _common_folder([info.filename for info in safe])
        for info in safe:
            name = info.filename[len(root):]
            if name not in wanted or name in found:
                continue
            content, reason = _read_entry(archive, info)
            if content is None:
                raise ArchiveError(f"{name}: {reason}")
            found[name] = content
    return found
