"""Reading images and ground-truth masks from paths, bytes and binary file objects (uploads).

Images (:func:`load_image`, (H, W, 3) uint8 RGB):

- PNG, JPEG (and phones' MPO), TIFF, BMP, WebP, GIF only: Pillow tries no other decoder (EPS
  would start Ghostscript). Animations and multi-page TIFFs give their first frame.
- Transparency is composited on white (what viewers show; usually "no object here").
- 16-bit, 32-bit and float images are stretched from their own finite min..max to 0..255
  (:func:`segcore.imageops.rescale_to_uint8`), one range for all colour channels: microscopy
  often uses 1000..5000 of 0..65535. 16-bit colour PNG/TIFF are decoded with OpenCV (Pillow
  would give 8 bits).
- EXIF orientation is applied. At most :data:`MAX_PIXELS`, read from the header before any
  decoding, so a decompression bomb allocates nothing.
- Anything unusable raises :class:`~segcore.errors.InvalidImageError` (for masks
  :class:`~segcore.errors.InvalidMaskError`) saying why in words (empty, cut short, a web
  page, an SVG, a PDF, too large...); decoder exceptions never escape, truncated files are
  refused, never padded.

Masks (:func:`load_mask`, (H, W) int32 labels, 0 = background). Values are read raw (a palette
by index, no rescaling), then:

- Alpha is ignored unless only alpha varies (a cut-out: alpha is the mask); equal RGB
  channels are gray. One value: all 0 if it is 0, else all 1. Two values: smaller 0, larger 1.
- Gray with more values from a lossless file: up to 16 values are classes as they are; a
  *noisy binary* mask is cut at the midpoint of its range; a *photo* is refused; otherwise
  8-bit and float masks are renumbered 0..k-1 by value, and 16/32-bit non-negative integers
  are instance labels kept unchanged (DSB2018's ``labels/*.png``). From a lossy file (JPEG,
  lossy WebP) only a noisy binary mask is accepted ("save masks as PNG").
- Colours and palettes: each colour (index) is a label, black (index 0) is 0, the others
  1, 2, ... in (R, G, B) (index) order. More than two colours from a lossy file, or more than
  16 mostly non-flat colours (a photo), are refused.
- A pixel is *flat* when its four neighbours share its value. *Noisy binary* (a 0/255 mask
  saved as JPEG or blurred): 90% of pixels within a quarter of the range of either extreme,
  and the off-mode pixels look like fringe (at most 25% flat, 90% within 8 px of both bands).
  *Photo*: under half the non-background pixels are flat and differing neighbours typically
  differ by less than a tenth of the range.
"""

from __future__ import annotations

import codecs
import io
import os
import re
import struct
import warnings
from pathlib import Path
from typing import IO, Callable, NamedTuple, Union

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import InvalidImageError, InvalidMaskError, InvalidParameterError
from .imageops import rescale_to_uint8

MAX_PIXELS = 64_000_000
"""Largest width * height accepted (64 megapixels: a 48 Mpx photo loads)."""

ImageSource = Union[str, os.PathLike, bytes, bytearray, memoryview, IO[bytes]]

_FORMATS = ("PNG", "JPEG", "TIFF", "BMP", "WEBP", "GIF")  # JPEG also opens MPO (phone) files
_FORMAT_NAMES = "PNG, JPEG, TIFF, BMP, WebP or GIF"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SIGNATURES = (
    (0, _PNG_SIGNATURE, "PNG"),
    (0, b"\xff\xd8\xff", "JPEG"),
    (0, b"GIF8", "GIF"),
    (0, b"II*\x00", "TIFF"),
    (0, b"MM\x00*", "TIFF"),
    (0, b"BM", "BMP"),
    (8, b"WEBP", "WebP"),
)
_HEIF_BRANDS = (b"ftypheic", b"ftypheix", b"ftyphevc", b"ftypmif1", b"ftypmsf1", b"ftypavif")
_EXIF_ORIENTATION = 0x0112
_HIGH_DEPTH_GRAY_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
_ALPHA_MODES = ("RGBA", "LA", "PA")

# Mask heuristics, explained in the module docstring.
_FEW_VALUES = 16  # up to this many distinct values a lossless mask is classes as it is
_BAND = 0.25  # width of the two "near an extreme" bands, as a fraction of the value range
_IN_BANDS = 0.90  # share of pixels in those bands for a noisy binary mask
_FRINGE_REACH = 8  # pixels; JPEG ringing stays inside its 8x8 block, blur within a few sigma
_FRINGE_NEAR_BOTH = 0.90  # share of off-mode pixels that must lie that close to both bands
_FRINGE_MAX_FLAT = 0.25  # noise is rarely flat; labels, which fill areas, mostly are
_BACKGROUND_NOISE = 0.02  # values this close to the most common one (share of the range) are background
_MASK_MIN_FLAT = 0.5  # a mask has at least this share of flat pixels outside its background
_PHOTO_MAX_STEP = 0.1  # a photo's differing neighbours typically differ by less than this share of the range


def load_image(source: ImageSource) -> np.ndarray:
    """Read an image file into a fresh (H, W, 3) uint8 RGB array (rules: the module docstring).

    ``source`` is a path, the file's bytes, or a binary file object (read once, from its start when
    it can seek). A text-mode file object or another type raises ``TypeError``.

    >>> import io
    >>> from PIL import Image
    >>> buffer = io.BytesIO()
    >>> Image.new("RGBA", (4, 2), (200, 30, 30, 0)).save(buffer, format="PNG")
    >>> load_image(buffer.getvalue())[0, 0]  # fully transparent: white
    array([255, 255, 255], dtype=uint8)
    """
    decoded = _decode(source, InvalidImageError)
    if decoded.deep_colour is not None:
        rgb = _rgb_from_deep_colour(decoded.deep_colour)
    else:
        rgb = _convert(decoded.image, _rgb_from_pillow, InvalidImageError)
    return _fresh(_orient(rgb, decoded.orientation), np.uint8)


def load_mask(source: ImageSource, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Read a ground-truth mask into fresh (H, W) int32 labels, 0 = background (rules: the module docstring).

    ``shape`` (the image's ``(H, W)`` or ``(H, W, C)``): a mask of another size is refused, never
    resized.

    >>> import io
    >>> from PIL import Image
    >>> buffer = io.BytesIO()
    >>> Image.fromarray(np.array([[0, 0, 255, 255]] * 3, dtype=np.uint8)).save(buffer, format="PNG")
    >>> load_mask(buffer.getvalue(), shape=(3, 4))
    array([[0, 0, 1, 1],
           [0, 0, 1, 1],
           [0, 0, 1, 1]], dtype=int32)
    """
    expected = _expected_shape(shape)
    decoded = _decode(source, InvalidMaskError)
    if decoded.deep_colour is not None:
        values, is_palette = decoded.deep_colour, False
    else:
        values, is_palette = _convert(decoded.image, _raw_from_pillow, InvalidMaskError)
    values = _orient(values, decoded.orientation)
    if expected is not None and values.shape[:2] != expected:
        height, width = values.shape[:2]
        raise InvalidMaskError(
            f"the mask is {width}x{height} pixels but the image is {expected[1]}x{expected[0]}; "
            "a mask must have the image's size"
        )
    if is_palette:
        labels = _colour_labels(values, "palette colours", decoded.lossy)
    else:
        values = _collapse_channels(values)
        if values.ndim == 2:
            labels = _gray_labels(values, decoded.lossy)
        else:
            labels = _colour_labels(_pack_colours(values), "colours", decoded.lossy)
    return _fresh(labels, np.int32)


class _Decoded(NamedTuple):
    """A decoded file: Pillow's loaded image, plus OpenCV's array for 16-bit colour."""

    image: Image.Image
    deep_colour: np.ndarray | None
    orientation: int
    lossy: bool


def _decode(source: ImageSource, error: type[InvalidImageError]) -> _Decoded:
    data = _read_source(source, error)
    if not data:
        raise _refusal(error, "it is empty (0 bytes)")
    image = _open_lazily(data, error)
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise _refusal(error, _too_large(width * height, f"{width}x{height} pixels, "))
    # Decoders fed untrusted bytes raise many types (OSError, SyntaxError,
    # ValueError, EOFError, zlib and struct errors...): all mean "unreadable".
    try:
        # Pillow's full load also runs for deep colour: it is what notices a
        # truncated file, where OpenCV may not say so.
        image.load()
        deep_colour = _decode_deep_colour(data) if _has_deep_colour(image, data) else None
        orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception as exc:
        raise _refusal(error, _describe_decode_failure(exc)) from exc
    return _Decoded(image, deep_colour, orientation, _is_lossy(image, data))


def _read_source(source: ImageSource, error: type[InvalidImageError]) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise _refusal(error, f"no such file: {path}") from None
        except IsADirectoryError:
            raise _refusal(error, f"{path} is a folder, not a file") from None
        except PermissionError:
            raise _refusal(error, f"permission denied: {path}") from None
        except OSError as exc:
            raise _refusal(error, f"reading {path} failed: {exc.strerror or exc}") from exc
    read = getattr(source, "read", None)
    if not callable(read):
        raise TypeError(
            "source must be a path, bytes or a binary file object, "
            f"got {type(source).__name__}"
        )
    try:
        if getattr(source, "seekable", lambda: False)():
            source.seek(0)
        data = read()
    except OSError as exc:
        raise _refusal(error, f"reading it failed: {exc}") from exc
    if isinstance(data, str):
        raise TypeError("the file object returned text; open the file in binary mode ('rb')")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"the file object's read() returned {type(data).__name__}, not bytes")
    return bytes(data)


def _open_lazily(data: bytes, error: type[InvalidImageError]) -> Image.Image:
    """Identify the file and read its header; no pixel is decoded yet."""
    try:
        # Pillow only warns between its own limit and twice it; the caller
        # refuses those sizes with its own message anyway.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=_FORMATS)
    except Image.DecompressionBombError as exc:
        claimed = re.search(r"\((\d+) pixels\)", str(exc))
        pixels = int(claimed.group(1)) if claimed else 2 * (Image.MAX_IMAGE_PIXELS or 0)
        raise _refusal(error, _too_large(pixels, "")) from exc
    except UnidentifiedImageError as exc:
        raise _refusal(error, _what_it_is(data)) from exc
    except Exception as exc:  # a plugin choking on a malformed header
        raise _refusal(error, f"its header is damaged ({exc})") from exc


def _too_large(pixels: int, size: str) -> str:
    return (
        f"it is too large: it claims {size}{pixels / 1e6:.1f} megapixels, "
        f"more than the limit of {MAX_PIXELS / 1e6:g} megapixels"
    )


def _what_it_is(data: bytes) -> str:
    """Why Pillow could not identify ``data``, in a person's words."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"%pdf"):
        return "it is a PDF document; export the page as a PNG or JPEG image first"
    if b"<svg" in head:
        return "SVG is a vector drawing; export it as PNG first"
    if head.startswith(b"<!doctype html") or b"<html" in head:
        return "it is an HTML web page, not an image (a browser may have saved the page instead of the picture)"
    if data[4:12] in _HEIF_BRANDS:
        return "HEIC/AVIF images are not supported; convert it to JPEG or PNG first"
    if _is_text(head):
        return "it is a text file, not an image"
    if data.startswith(_PNG_SIGNATURE) and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        if width == 0 or height == 0:
            return f"it has no pixels (its header claims {width}x{height})"
    for offset, magic, name in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return f"it starts like a {name} file but its header is damaged"
    return f"it is not a {_FORMAT_NAMES} image"


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:  # not final: the 4 KiB cut may split a multi-byte character
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _describe_decode_failure(exc: Exception) -> str:
    if "truncated" in str(exc):
        return "it is cut short: the file ends before its image data does"
    return f"its image data is damaged ({type(exc).__name__}: {exc})"


def _is_lossy(image: Image.Image, data: bytes) -> bool:
    """Whether the pixels went through lossy compression (and so cannot be exact labels)."""
    if image.format in ("JPEG", "MPO"):
        return True
    if image.format == "TIFF":
        return image.info.get("compression") in ("jpeg", "tiff_jpeg")
    if image.format == "WEBP":
        return _webp_bitstream(data) == b"VP8 "  # "VP8L" is the lossless one
    return False


def _webp_bitstream(data: bytes) -> bytes:
    """The four-character code of the first image chunk of a RIFF/WebP file."""
    position = 12  # after "RIFF", the file size and "WEBP"
    while position + 8 <= len(data):
        kind = data[position : position + 4]
        if kind in (b"VP8 ", b"VP8L"):
            return kind
        size = struct.unpack("<I", data[position + 4 : position + 8])[0]
        position += 8 + size + (size & 1)  # chunks are padded to an even length
    return b""


def _has_deep_colour(image: Image.Image, data: bytes) -> bool:
    """Whether Pillow would drop the low byte of 16-bit colour (or grey + alpha)."""
    if image.format == "PNG":
        bit_depth, colour_type = data[24], data[25]  # IHDR follows the 8-byte signature
        return bit_depth == 16 and colour_type in (2, 4, 6)  # RGB, grey + alpha, RGBA
    if image.format == "TIFF":
        bits = image.tag_v2.get(258, (1,))
        bits = bits if isinstance(bits, tuple) else (bits,)
        return image.tag_v2.get(277, 1) >= 2 and max(bits) > 8
    return False


def _decode_deep_colour(data: bytes) -> np.ndarray:
    """Decode with OpenCV at full depth; channels in RGB(A) order."""
    pixels = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None or pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise ValueError("OpenCV could not decode its 16-bit colour data")
    code = cv2.COLOR_BGR2RGB if pixels.shape[2] == 3 else cv2.COLOR_BGRA2RGBA
    return cv2.cvtColor(pixels, code)


def _convert(image: Image.Image, conversion: Callable, error: type[InvalidImageError]):
    """Run a mode conversion; Pillow lacks a few (e.g. from ``La``)."""
    try:
        return conversion(image)
    except (ValueError, OSError) as exc:
        raise _refusal(error, f"its colour mode {image.mode} is not supported ({exc})") from exc


def _rgb_from_pillow(image: Image.Image) -> np.ndarray:
    if image.mode in _HIGH_DEPTH_GRAY_MODES:
        gray = _rescale(np.asarray(image))
        return np.repeat(gray[:, :, None], 3, axis=2)
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        return _on_white(image.convert("RGBA"))
    return np.array(image.convert("RGB"))


def _rgb_from_deep_colour(pixels: np.ndarray) -> np.ndarray:
    rgb = _rescale(pixels[:, :, :3])  # one range for all channels keeps the colour balance
    if pixels.shape[2] == 3:
        return rgb
    opaque = np.iinfo(pixels.dtype).max if pixels.dtype.kind in "iu" else 1.0
    alpha = np.rint(np.clip(pixels[:, :, 3] * (255.0 / opaque), 0, 255)).astype(np.uint8)
    return _on_white(Image.fromarray(np.dstack([rgb, alpha])))


def _rescale(values: np.ndarray) -> np.ndarray:
    try:
        return rescale_to_uint8(values)
    except InvalidImageError as exc:  # e.g. a float image that is all NaN
        raise _refusal(InvalidImageError, str(exc)) from exc


def _on_white(rgba: Image.Image) -> np.ndarray:
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return np.array(Image.alpha_composite(white, rgba).convert("RGB"))


def _raw_from_pillow(image: Image.Image) -> tuple[np.ndarray, bool]:
    """The stored values, unscaled, and whether they are palette indices."""
    if image.mode in ("P", "PA"):
        indices = np.asarray(image)
        return (indices if indices.ndim == 2 else indices[:, :, 0]), True
    if image.mode in ("1", "L", "LA", "RGB", "RGBA") + _HIGH_DEPTH_GRAY_MODES:
        values = np.asarray(image)
        native = np.uint8 if values.dtype == np.bool_ else values.dtype.newbyteorder("=")
        return values.astype(native, copy=False), False
    has_alpha = "A" in image.mode or "a" in image.mode
    return np.asarray(image.convert("RGBA" if has_alpha else "RGB")), False


def _collapse_channels(values: np.ndarray) -> np.ndarray:
    """Drop alpha (or keep only it, for a cut-out) and make equal-channel colour grey."""
    if values.ndim == 2:
        return values
    if values.shape[2] in (2, 4):
        colour, alpha = values[:, :, :-1], values[:, :, -1]
        is_cut_out = (colour == colour[0, 0]).all() and not (alpha == alpha[0, 0]).all()
        values = alpha if is_cut_out else colour
    if values.ndim == 3 and (values == values[:, :, :1]).all():
        values = values[:, :, 0]
    return values


def _pack_colours(rgb: np.ndarray) -> np.ndarray:
    """One integer per pixel whose order is the (R, G, B) order; black is 0."""
    if rgb.dtype == np.uint8:
        # Bytes B, G, R, 0 read as one little-endian uint32 are R << 16 | G << 8 | B.
        bgra = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGRA)
        bgra[:, :, 3] = 0
        return bgra.view("<u4")[:, :, 0].astype(np.uint32, copy=False)
    wide = rgb.astype(np.uint64)  # 16 bits per channel
    return (wide[:, :, 0] << 32) | (wide[:, :, 1] << 16) | wide[:, :, 2]


def _gray_labels(values: np.ndarray, lossy: bool) -> np.ndarray:
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        raise _refusal(InvalidMaskError, "it holds NaN or infinite values")
    distinct, codes, counts = _distinct(values)
    if len(distinct) == 1:
        return np.full(values.shape, int(distinct[0] != 0), dtype=np.int32)
    if len(distinct) == 2 or (len(distinct) <= _FEW_VALUES and not lossy):
        return _renumbered_or_kept(values, distinct, codes)
    flat = _flat_pixels(values)
    if _is_noisy_binary(distinct, counts, codes, flat):
        return (distinct > (distinct[0] + distinct[-1]) / 2).astype(np.int32)[codes]
    if lossy:
        raise _refusal(
            InvalidMaskError,
            f"it has {len(distinct)} distinct grey levels and does not look like a binary mask; "
            "JPEG and other lossy files cannot store exact labels: save masks as PNG",
        )
    background = distinct[np.argmax(counts)]
    # "Background" allows for noise: a dark photo's backdrop wanders over a few levels.
    outside = np.abs(values.astype(np.float64) - float(background)) > _BACKGROUND_NOISE * (
        float(distinct[-1]) - float(distinct[0])
    )
    if _flat_share(flat, outside) < _MASK_MIN_FLAT and _changes_gradually(values):
        raise _refusal(
            InvalidMaskError,
            f"it has {len(distinct)} distinct grey levels and does not look like a mask "
            "(its values change gradually, like a photo's, instead of filling areas)",
        )
    return _renumbered_or_kept(values, distinct, codes)


def _renumbered_or_kept(values: np.ndarray, distinct: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Ranks 0..k-1, except that wide non-negative integers are label ids kept as they are."""
    keeps_ids = (
        len(distinct) > 2 and values.dtype.kind in "iu" and values.dtype.itemsize > 1 and distinct[0] >= 0
    )
    return distinct.astype(np.int32)[codes] if keeps_ids else codes


def _colour_labels(keys: np.ndarray, noun: str, lossy: bool) -> np.ndarray:
    """Labels from per-pixel colour keys (packed RGB or palette index); key 0 is background."""
    distinct, codes, counts = _distinct(keys)
    if len(distinct) > 2 and lossy:
        raise _refusal(
            InvalidMaskError,
            f"it has {len(distinct)} distinct {noun}; JPEG and other lossy files cannot store "
            "colour-coded labels exactly: save masks as PNG",
        )
    if len(distinct) > _FEW_VALUES:
        outside = codes != np.argmax(counts)
        if _flat_share(_flat_pixels(codes), outside) < _MASK_MIN_FLAT:
            raise _refusal(
                InvalidMaskError,
                f"it has {len(distinct)} distinct {noun} and does not look like a mask "
                "(most of its pixels are not in areas of one colour, as in a photo)",
            )
    return codes if distinct[0] == 0 else codes + 1


def _distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted distinct values, each pixel's index into them (int32), and their counts."""
    if values.dtype in (np.uint8, np.uint16) or (values.dtype == np.uint32 and values.max() < 1 << 24):
        # A lookup table beats sorting for small integer ranges (up to packed 8-bit RGB).
        histogram = np.bincount(values.ravel())
        present = np.flatnonzero(histogram)
        lookup = np.zeros(len(histogram), dtype=np.int32)
        lookup[present] = np.arange(len(present), dtype=np.int32)
        return present, lookup[values], histogram[present]
    distinct, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    return distinct, inverse.reshape(values.shape).astype(np.int32), counts


def _flat_pixels(values: np.ndarray) -> np.ndarray:
    """True where all four neighbours share the pixel's value (borders repeat outwards)."""
    padded = np.pad(values, 1, mode="edge")
    return (
        (padded[:-2, 1:-1] == values)
        & (padded[2:, 1:-1] == values)
        & (padded[1:-1, :-2] == values)
        & (padded[1:-1, 2:] == values)
    )


def _is_noisy_binary(
    distinct: np.ndarray, counts: np.ndarray, codes: np.ndarray, flat: np.ndarray
) -> bool:
    low_end, high_end = float(distinct[0]), float(distinct[-1])
    band = _BAND * (high_end - low_end)
    in_low = distinct <= low_end + band
    in_high = distinct >= high_end - band
    if counts[in_low | in_high].sum() < _IN_BANDS * counts.sum():
        return False
    mode_low = np.argmax(np.where(in_low, counts, -1))
    mode_high = np.argmax(np.where(in_high, counts, -1))
    off_mode = (codes != mode_low) & (codes != mode_high)
    n_off_mode = np.count_nonzero(off_mode)
    if np.count_nonzero(off_mode & flat) > _FRINGE_MAX_FLAT * n_off_mode:
        return False
    reach = np.ones((2 * _FRINGE_REACH + 1,) * 2, dtype=np.uint8)
    near_low = cv2.dilate(in_low.astype(np.uint8)[codes], reach) > 0
    near_high = cv2.dilate(in_high.astype(np.uint8)[codes], reach) > 0
    return np.count_nonzero(off_mode & near_low & near_high) >= _FRINGE_NEAR_BOTH * n_off_mode


def _flat_share(flat: np.ndarray, outside: np.ndarray) -> float:
    """Share of flat pixels among those outside the background."""
    return np.count_nonzero(flat & outside) / max(1, np.count_nonzero(outside))


def _changes_gradually(values: np.ndarray) -> bool:
    """Whether neighbours that differ typically differ by little, as in a photo."""
    wide = values.astype(np.float64 if values.dtype.kind == "f" else np.int64)
    steps = np.concatenate([np.abs(np.diff(wide, axis=0)).ravel(), np.abs(np.diff(wide, axis=1)).ravel()])
    steps = steps[steps > 0]
    value_range = float(wide.max() - wide.min())
    return steps.size > 0 and float(np.median(steps)) < _PHOTO_MAX_STEP * value_range


_ORIENTATIONS: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    # EXIF value -> the turn that shows the stored pixels upright (as PIL.ImageOps.exif_transpose)
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: a.swapaxes(0, 1)[:, ::-1],
    7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],
    8: lambda a: a.swapaxes(0, 1)[::-1],
}


def _orient(pixels: np.ndarray, orientation: object) -> np.ndarray:
    turn = _ORIENTATIONS.get(orientation) if isinstance(orientation, int) else None
    return pixels if turn is None else turn(pixels)


def _fresh(array: np.ndarray, dtype: type) -> np.ndarray:
    """A writable C-contiguous array of its own; copies only when needed."""
    return np.require(array, dtype=dtype, requirements=["C", "W", "O"])


def _expected_shape(shape: tuple[int, ...] | None) -> tuple[int, int] | None:
    if shape is None:
        return None
    try:
        sizes = tuple(int(size) for size in shape)
    except (TypeError, ValueError):
        sizes = ()
    if len(sizes) not in (2, 3) or min(sizes) <= 0:
        raise InvalidParameterError(
            f"shape must be the image's (H, W) or (H, W, C) with positive sizes, got {shape!r}"
        )
    return sizes[0], sizes[1]


def _refusal(error: type[InvalidImageError], reason: str) -> InvalidImageError:
    noun = "a mask" if issubclass(error, InvalidMaskError) else "an image"
    return error(f"this file is not {noun} we can read: {reason}")
