"""Awkward files, built in memory, for upload tests.

Each function returns the bytes a user's file would hold: images in unusual
but valid encodings (16-bit TIFF, RGBA, CMYK JPEG, EXIF-rotated JPEG) that
must load, and broken or foreign files (cut short, empty, a web page or an
SVG under an image name, a PNG whose header claims 40000x40000 pixels, a mask
of the wrong size) that must be refused with a readable message.

:data:`REFUSED_IMAGES` and :data:`ACCEPTED_IMAGES` list them as
:class:`Upload` cases, so AppTest and browser tests share one catalogue.

Examples
--------
>>> bomb = png_bomb()
>>> struct.unpack(">II", bomb[16:24]), len(bomb) < 1000  # the size its header claims, and its real size
((40000, 40000), True)
>>> len(empty_file())
0
>>> Image.open(io.BytesIO(tiff16())).mode
'I;16'
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image

from segcore.synthetic import make_image

EXIF_ORIENTATION_TAG = 0x0112


@dataclass(frozen=True)
class Upload:
    """A file as an uploader receives it, and what the app must say about it.

    ``expected`` is a fragment of the error message for refused files (empty
    for files that must load).
    """

    name: str
    data: bytes
    mime: str
    expected: str = ""

    def as_tuple(self) -> tuple[str, bytes, str]:
        """(name, data, mime), the form AppTest's ``file_uploader.set_value`` takes."""
        return self.name, self.data, self.mime


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def gradient(height: int = 48, width: int = 64) -> np.ndarray:
    """An (H, W, 3) uint8 RGB test picture whose every row and column differ.

    Red grows to the right, green downwards, blue is constant, so any flip or
    rotation is visible in the pixel values.

    >>> picture = gradient(4, 6)
    >>> picture.shape, int(picture[0, 0, 0]), int(picture[0, -1, 0]), int(picture[-1, 0, 1])
    ((4, 6, 3), 0, 255, 255)
    """
    red = np.linspace(0, 255, width).round().astype(np.uint8)
    green = np.linspace(0, 255, height).round().astype(np.uint8)
    picture = np.empty((height, width, 3), np.uint8)
    picture[:, :, 0] = red[None, :]
    picture[:, :, 1] = green[:, None]
    picture[:, :, 2] = 90
    return picture


def png(pixels: np.ndarray) -> bytes:
    """PNG bytes of a uint8 gray (H, W), RGB (H, W, 3) or RGBA (H, W, 4) array."""
    return _encode(Image.fromarray(np.ascontiguousarray(pixels)), "PNG")


def jpeg(pixels: np.ndarray, *, quality: int = 95, orientation: int | None = None) -> bytes:
    """JPEG bytes of a uint8 RGB array, optionally tagged with an EXIF orientation (1..8)."""
    options: dict = {"quality": quality}
    if orientation is not None:
        exif = Image.Exif()
        exif[EXIF_ORIENTATION_TAG] = orientation
        options["exif"] = exif.tobytes()
    return _encode(Image.fromarray(np.ascontiguousarray(pixels)), "JPEG", **options)


def truncated_png(pixels: np.ndarray | None = None, *, keep: float = 0.5) -> bytes:
    """A valid PNG cut after ``keep`` of its bytes, as an interrupted download leaves it.

    The default picture is noise, so its compressed data is long enough that
    the cut falls inside the pixel data, not in the header.
    """
    if pixels is None:
        pixels = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = png(pixels)
    return data[: int(len(data) * keep)]


def empty_file() -> bytes:
    """A file of 0 bytes."""
    return b""


def html_page() -> bytes:
    """What a browser saves when "Save image as" caught the page instead of the picture."""
    return (b"<!DOCTYPE html>\n<html><head><title>nuclei.png</title></head>\n"
            b"<body><img src=\"nuclei.png\"></body></html>\n")


def svg_drawing() -> bytes:
    """A small SVG vector drawing (a circle)."""
    return (b'<?xml version="1.0" encoding="UTF-8"?>\n'
            b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
            b'<circle cx="32" cy="32" r="20" fill="white"/></svg>\n')


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    checksum = zlib.crc32(kind + payload)
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", checksum)


def png_bomb(width: int = 40000, height: int = 40000) -> bytes:
    """A few hundred bytes whose PNG header claims ``width`` x ``height`` gray pixels.

    Only one scanline of zeros follows, so a loader that trusted the header
    would allocate gigabytes before noticing.
    """
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit gray, no interlace
    one_row = zlib.compress(b"\x00" * (width + 1))  # filter byte + pixels
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", one_row)
            + _png_chunk(b"IEND", b""))


def tiff16(values: np.ndarray | None = None) -> bytes:
    """A 16-bit gray TIFF; by default a ramp using only 1000..5000 of 0..65535, like microscopy files."""
    if values is None:
        values = np.linspace(1000, 5000, 48 * 64).reshape(48, 64)
    return _encode(Image.fromarray(np.asarray(values).astype(np.uint16)), "TIFF")


def rgba_png(height: int = 48, width: int = 64) -> bytes:
    """An RGBA PNG: the gradient picture, its left half fully transparent."""
    alpha = np.full((height, width), 255, np.uint8)
    alpha[:, : width // 2] = 0
    return png(np.dstack([gradient(height, width), alpha]))


def cmyk_jpeg(height: int = 48, width: int = 64) -> bytes:
    """A CMYK JPEG (as print workflows produce) of the gradient picture."""
    picture = Image.fromarray(gradient(height, width)).convert("CMYK")
    return _encode(picture, "JPEG", quality=95)


def exif_rotated_jpeg(pixels: np.ndarray | None = None, *, orientation: int = 6) -> bytes:
    """A JPEG stored sideways with an EXIF orientation tag, as phones write them.

    Orientation 6 means "rotate 90 degrees clockwise to view": a loader that
    applies it returns an array with height and width swapped.
    """
    return jpeg(gradient() if pixels is None else pixels, orientation=orientation)


def mask_png(mask: np.ndarray) -> bytes:
    """A 0/255 PNG of a boolean or label mask (nonzero = foreground)."""
    return png(np.where(np.asarray(mask) > 0, 255, 0).astype(np.uint8))


def wrong_size_mask(shape: tuple[int, int], *, extra: int = 8) -> bytes:
    """A valid 0/255 mask PNG ``extra`` pixels wider and taller than ``shape``."""
    height, width = shape[0] + extra, shape[1] + extra
    mask = np.zeros((height, width), bool)
    mask[height // 4: 3 * height // 4, width // 4: 3 * width // 4] = True
    return mask_png(mask)


@dataclass(frozen=True)
class SyntheticFiles:
    """A small synthetic scene with its exact mask, as arrays and as PNG files."""

    image: np.ndarray
    mask: np.ndarray
    image_png: bytes
    mask_png: bytes


def synthetic_pair(shape: tuple[int, int] = (96, 128), *, random_state: int = 21) -> SyntheticFiles:
    """A synthetic nuclei image (not the app's default sample) and its ground-truth mask.

    >>> pair = synthetic_pair()
    >>> pair.image.shape, pair.mask.dtype
    ((96, 128, 3), dtype('bool'))
    """
    sample = make_image(shape=shape, n_objects=6, radius=(7, 12), noise=0.04, blur=1.0, random_state=random_state)
    return SyntheticFiles(sample.image, sample.mask, png(sample.image), mask_png(sample.mask))


REFUSED_IMAGES: dict[str, Upload] = {
    "truncated_png": Upload("cut_short.png", truncated_png(), "image/png", "cut short"),
    "empty_file": Upload("empty.png", empty_file(), "image/png", "empty"),
    "html_named_png": Upload("page.png", html_page(), "image/png", "HTML"),
    "svg": Upload("drawing.png", svg_drawing(), "image/png", "SVG"),
    "png_bomb": Upload("bomb.png", png_bomb(), "image/png", "too large"),
}
"""Image uploads the app must refuse, keeping the previous image."""

ACCEPTED_IMAGES: dict[str, Upload] = {
    "tiff16": Upload("microscope16.tif", tiff16(), "image/tiff"),
    "rgba_png": Upload("transparent.png", rgba_png(), "image/png"),
    "cmyk_jpeg": Upload("print_cmyk.jpg", cmyk_jpeg(), "image/jpeg"),
    "exif_rotated_jpeg": Upload("phone.jpg", exif_rotated_jpeg(), "image/jpeg"),
}
"""Image uploads in unusual encodings the app must load (all 64x48 once upright, except
``exif_rotated_jpeg``, stored 64x48 and shown 48x64)."""
