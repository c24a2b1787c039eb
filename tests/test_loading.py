"""Tests for segcore.loading: every awkward file is made here, in memory or in tmp_path."""

from __future__ import annotations

import io
import struct
import warnings
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from segcore import loading
from segcore.errors import InvalidImageError, InvalidMaskError, InvalidParameterError
from segcore.loading import MAX_PIXELS, load_image, load_mask

from tests.shared_data import DSB2018, needs_dsb2018

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


# ---------------------------------------------------------------- file factories


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def raw_png(
    pixels: np.ndarray,
    *,
    bit_depth: int,
    colour_type: int,
    size: tuple[int, int] | None = None,
    exif: bytes | None = None,
) -> bytes:
    """A PNG written by hand: 16-bit grey + alpha, false sizes, or an eXIf chunk."""
    height, width = pixels.shape[:2]
    claimed_width, claimed_height = size if size is not None else (width, height)
    sample = ">u2" if bit_depth == 16 else "u1"
    scanlines = b"".join(b"\x00" + row.astype(sample).tobytes() for row in pixels)
    header = struct.pack(">IIBBBBB", claimed_width, claimed_height, bit_depth, colour_type, 0, 0, 0)
    chunks = png_chunk(b"IHDR", header)
    if exif is not None:
        chunks += png_chunk(b"eXIf", exif)
    chunks += png_chunk(b"IDAT", zlib.compress(scanlines)) + png_chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def exif_with_orientation(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def cv2_encode(pixels: np.ndarray, ext: str, *params: int) -> bytes:
    ok, buffer = cv2.imencode(ext, pixels, list(params))
    assert ok
    return buffer.tobytes()


def quadrants(height: int = 32, width: int = 48) -> np.ndarray:
    """An RGB image whose four quadrants differ, so any turn or flip shows."""
    image = np.zeros((height, width, 3), dtype=np.uint8)
    image[: height // 2, : width // 2] = RED
    image[: height // 2, width // 2 :] = GREEN
    image[height // 2 :, : width // 2] = BLUE
    image[height // 2 :, width // 2 :] = (250, 250, 250)
    return image


def disks(shape: tuple[int, int], n_objects: int, rng: np.random.Generator, radius=(4, 8)) -> np.ndarray:
    """Instance labels 1..n_objects: disks on background 0 (a later disk may cover an earlier one)."""
    labels = np.zeros(shape, dtype=np.int32)
    for label in range(1, n_objects + 1):
        centre = (int(rng.integers(0, shape[1])), int(rng.integers(0, shape[0])))
        cv2.circle(labels, centre, int(rng.integers(*radius)), label, thickness=-1)
    return labels


def photo(rng: np.random.Generator, shape=(64, 80)) -> np.ndarray:
    """A smooth gradient with sensor noise: many grey levels, no flat regions."""
    y, x = np.mgrid[: shape[0], : shape[1]]
    smooth = 60 + 120 * np.sin(x / 13.0) * np.cos(y / 17.0) ** 2 + x
    return np.clip(smooth + rng.normal(0, 6, shape), 0, 255).astype(np.uint8)


def assert_refused(error_type, match, source, **kwargs):
    loader = load_mask if error_type is InvalidMaskError else load_image
    with pytest.raises(error_type, match=match) as caught:
        loader(source, **kwargs)
    assert isinstance(caught.value, ValueError)
    return caught.value


def assert_fresh(array: np.ndarray) -> None:
    assert array.flags.c_contiguous and array.flags.writeable and array.flags.owndata


# ---------------------------------------------------------------- sources


def test_limit_is_64_megapixels():
    assert MAX_PIXELS == 64_000_000


@pytest.fixture
def rgb_png() -> tuple[np.ndarray, bytes]:
    pixels = quadrants()
    return pixels, encode(Image.fromarray(pixels), "PNG")


@pytest.mark.parametrize(
    "make_source",
    [
        pytest.param(lambda path, data: str(path), id="str path"),
        pytest.param(lambda path, data: path, id="pathlib path"),
        pytest.param(lambda path, data: data, id="bytes"),
        pytest.param(lambda path, data: bytearray(data), id="bytearray"),
        pytest.param(lambda path, data: memoryview(data), id="memoryview"),
        pytest.param(lambda path, data: io.BytesIO(data), id="BytesIO"),
    ],
)
def test_sources(tmp_path, rgb_png, make_source):
    pixels, data = rgb_png
    path = tmp_path / "image.png"
    path.write_bytes(data)
    np.testing.assert_array_equal(load_image(make_source(path, data)), pixels)


def test_open_binary_file(tmp_path, rgb_png):
    pixels, data = rgb_png
    path = tmp_path / "image.png"
    path.write_bytes(data)
    with open(path, "rb") as handle:
        np.testing.assert_array_equal(load_image(handle), pixels)


def test_file_object_already_read_is_read_from_its_start(rgb_png):
    pixels, data = rgb_png
    upload = io.BytesIO(data)
    upload.read()  # e.g. an UploadedFile something else has read
    np.testing.assert_array_equal(load_image(upload), pixels)
    np.testing.assert_array_equal(load_image(upload), pixels)


def test_unseekable_file_object(rgb_png):
    pixels, data = rgb_png

    class Stream:
        def __init__(self):
            self.chunks = [data]

        def read(self):
            return self.chunks.pop() if self.chunks else b""

    np.testing.assert_array_equal(load_image(Stream()), pixels)


def test_wrong_source_types(tmp_path):
    with pytest.raises(TypeError, match="path, bytes or a binary file object"):
        load_image(42)
    path = tmp_path / "a.png"
    path.write_bytes(b"x")
    with open(path) as text_handle, pytest.raises(TypeError, match="binary mode"):
        load_image(text_handle)


# ---------------------------------------------------------------- formats


@pytest.mark.parametrize(
    "fmt, options",
    [("PNG", {}), ("TIFF", {}), ("BMP", {}), ("WEBP", {"lossless": True}), ("TIFF", {"compression": "tiff_lzw"})],
)
def test_lossless_formats_are_exact(fmt, options):
    pixels = quadrants()
    pixels[3, 5] = (17, 99, 201)
    image = load_image(encode(Image.fromarray(pixels), fmt, **options))
    np.testing.assert_array_equal(image, pixels)
    assert_fresh(image)


def test_jpeg_matches_pillow_decode():
    data = encode(Image.fromarray(quadrants()), "JPEG", quality=90)
    expected = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    np.testing.assert_array_equal(load_image(data), expected)


def test_gif_gives_first_frame():
    frames = [Image.new("RGB", (8, 6), RED), Image.new("RGB", (8, 6), GREEN)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    assert Image.open(io.BytesIO(data)).n_frames == 2
    image = load_image(data)
    assert image.shape == (6, 8, 3)
    assert (image == RED).all()


def test_phone_multi_picture_jpeg_gives_first_picture():
    first, second = Image.new("RGB", (16, 8), RED), Image.new("RGB", (16, 8), GREEN)
    data = encode(first, "MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(data)).format == "MPO"
    image = load_image(data)
    assert image.shape == (8, 16, 3)
    assert np.abs(image.astype(int) - RED).max() <= 3


# ---------------------------------------------------------------- modes


def test_gray_becomes_three_equal_channels():
    gray = np.arange(48, dtype=np.uint8).reshape(6, 8) * 5
    image = load_image(encode(Image.fromarray(gray), "PNG"))
    np.testing.assert_array_equal(image, np.dstack([gray] * 3))


def test_one_bit_png_is_black_and_white():
    bits = np.zeros((5, 9), dtype=bool)
    bits[1:4, 2:7] = True
    data = encode(Image.fromarray(bits), "PNG")
    assert Image.open(io.BytesIO(data)).mode == "1"
    np.testing.assert_array_equal(load_image(data), np.dstack([bits.astype(np.uint8) * 255] * 3))


def test_palette_without_transparency():
    palette_image = Image.fromarray(quadrants()).quantize(colors=4)
    data = encode(palette_image, "PNG")
    assert Image.open(io.BytesIO(data)).mode == "P"
    np.testing.assert_array_equal(load_image(data), np.asarray(palette_image.convert("RGB")))


@pytest.mark.parametrize("fmt", ["PNG", "GIF"])
def test_palette_transparency_is_white(fmt):
    indices = np.zeros((4, 6), dtype=np.uint8)
    indices[:, 3:] = 1
    palette_image = Image.fromarray(indices, mode="L").convert("P")
    palette_image.putpalette([10, 20, 30, 200, 0, 0] + [0] * 762)
    data = encode(palette_image, fmt, transparency=0)
    image = load_image(data)
    assert (image[:, :3] == 255).all()
    assert (image[:, 3:] == (200, 0, 0)).all()


def test_rgba_composited_on_white():
    rgba = np.zeros((2, 3, 4), dtype=np.uint8)
    rgba[0, 0] = (10, 200, 30, 0)  # transparent
    rgba[0, 1] = (10, 200, 30, 255)  # opaque
    rgba[0, 2] = (0, 0, 0, 128)  # half
    image = load_image(encode(Image.fromarray(rgba), "PNG"))
    assert tuple(image[0, 0]) == (255, 255, 255)
    assert tuple(image[0, 1]) == (10, 200, 30)
    assert np.abs(image[0, 2].astype(int) - 127).max() <= 1


def test_gray_alpha_composited_on_white():
    gray_alpha = Image.fromarray(np.array([[[40, 0], [40, 255]]], dtype=np.uint8), mode="LA")
    image = load_image(encode(gray_alpha, "PNG"))
    np.testing.assert_array_equal(image[0], [[255, 255, 255], [40, 40, 40]])


def test_png_colour_key_is_white():
    pixels = np.zeros((2, 2, 3), dtype=np.uint8)
    pixels[0] = (1, 2, 3)
    pixels[1] = (9, 9, 9)
    data = encode(Image.fromarray(pixels), "PNG", transparency=(1, 2, 3))
    image = load_image(data)
    assert (image[0] == 255).all()
    assert (image[1] == 9).all()


def test_cmyk_jpeg_uses_pillow_conversion():
    data = encode(Image.new("CMYK", (16, 8), (0, 255, 255, 0)), "JPEG", quality=95)
    decoded = Image.open(io.BytesIO(data))
    assert decoded.mode == "CMYK"
    image = load_image(data)
    np.testing.assert_array_equal(image, np.asarray(decoded.convert("RGB")))
    assert np.abs(image.astype(int) - RED).max() <= 3


@pytest.mark.parametrize("mode", ["YCbCr", "LAB"])
def test_other_colour_spaces_use_pillow_conversion(mode):
    source = Image.fromarray(quadrants()).convert(mode) if mode == "YCbCr" else Image.new(mode, (8, 4), (50, 140, 90))
    data = encode(source, "TIFF")
    decoded = Image.open(io.BytesIO(data))
    assert decoded.mode == mode
    np.testing.assert_array_equal(load_image(data), np.asarray(decoded.convert("RGB")))


def expected_stretch(values: np.ndarray) -> np.ndarray:
    """min -> 0, max -> 255, linear, rounded."""
    values = values.astype(np.float64)
    scaled = (values - values.min()) * 255.0 / (values.max() - values.min())
    return np.rint(scaled).astype(np.uint8)


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16_bit_gray_is_stretched_from_its_range(fmt):
    values = np.linspace(1000, 5000, 60).astype(np.uint16).reshape(6, 10)
    data = encode(Image.fromarray(values), fmt)
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    image = load_image(data)
    gray = image[:, :, 0]
    assert gray.min() == 0 and gray.max() == 255
    assert (np.diff(gray.ravel().astype(int)) >= 0).all()  # monotone
    np.testing.assert_array_equal(gray, expected_stretch(values))
    np.testing.assert_array_equal(image, np.dstack([gray] * 3))


def test_16_bit_big_endian_tiff():
    values = np.linspace(300, 9000, 20).reshape(4, 5)
    source = Image.frombytes("I;16B", (5, 4), values.astype(">u2").tobytes())
    data = encode(source, "TIFF")
    assert Image.open(io.BytesIO(data)).mode == "I;16B"
    np.testing.assert_array_equal(load_image(data)[:, :, 0], expected_stretch(values))


def test_32_bit_integer_tiff_with_negative_values():
    values = np.array([[-70000, 0], [5, 90000]], dtype=np.int32)
    data = encode(Image.fromarray(values), "TIFF")
    assert Image.open(io.BytesIO(data)).mode == "I"
    np.testing.assert_array_equal(load_image(data)[:, :, 0], expected_stretch(values))


def test_float32_tiff():
    values = np.array([[-1.5, 0.0, 0.25], [2.0, 3.5, 1.0]], dtype=np.float32)
    data = encode(Image.fromarray(values), "TIFF")
    assert Image.open(io.BytesIO(data)).mode == "F"
    np.testing.assert_array_equal(load_image(data)[:, :, 0], expected_stretch(values))


def test_float_tiff_without_finite_values_is_refused():
    data = encode(Image.fromarray(np.full((2, 2), np.nan, dtype=np.float32)), "TIFF")
    assert_refused(InvalidImageError, "^this file is not an image we can read: .*no finite", data)


@pytest.fixture
def colour16() -> np.ndarray:
    """16-bit RGB in 1000..5000, with a gray pixel and a saturated one."""
    pixels = np.full((4, 5, 3), 3000, dtype=np.uint16)
    pixels[0, 0] = (1000, 1000, 1000)
    pixels[0, 1] = (5000, 1000, 1000)
    pixels[3, 4] = (5000, 5000, 5000)
    pixels[2, 2] = (1800, 2600, 4200)
    return pixels


@pytest.mark.parametrize("ext", [".png", ".tiff"])
def test_16_bit_rgb_keeps_depth_and_colour_balance(colour16, ext):
    data = cv2_encode(colour16[:, :, ::-1], ext)  # OpenCV writes BGR
    image = load_image(data)
    np.testing.assert_array_equal(image, expected_stretch(colour16))
    assert tuple(image[0, 0]) == (0, 0, 0)
    assert tuple(image[3, 4]) == (255, 255, 255)
    assert tuple(image[0, 1]) == (255, 0, 0)
    assert len(set(image[1, 1])) == 1  # gray stays gray: one range for all channels
    # What Pillow alone makes of it: 8 bits taken from the high byte, so 2200..5000 -> 3..19.
    assert np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).max() < 20


@pytest.mark.parametrize("ext", [".png", ".tiff"])
def test_16_bit_rgba_composited_on_white(colour16, ext):
    alpha = np.full(colour16.shape[:2], 65535, dtype=np.uint16)
    alpha[0, 0] = 0
    data = cv2_encode(np.dstack([colour16[:, :, ::-1], alpha]), ext)
    image = load_image(data)
    assert tuple(image[0, 0]) == (255, 255, 255)
    np.testing.assert_array_equal(image[1:], expected_stretch(colour16)[1:])


def test_16_bit_gray_alpha_png(colour16):
    gray = colour16[:, :, 2]
    alpha = np.full(gray.shape, 65535, dtype=np.uint16)
    alpha[0, 1] = 0
    data = raw_png(np.dstack([gray, alpha]), bit_depth=16, colour_type=4)
    image = load_image(data)
    assert tuple(image[0, 1]) == (255, 255, 255)
    expected = expected_stretch(gray)
    expected[0, 1] = 255
    np.testing.assert_array_equal(image, np.dstack([expected] * 3))


# ---------------------------------------------------------------- orientation


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(orientation):
    pixels = quadrants(6, 10)
    data = encode(Image.fromarray(pixels), "PNG", exif=exif_with_orientation(orientation))
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))
    image = load_image(data)
    np.testing.assert_array_equal(image, expected)
    assert_fresh(image)


def test_jpeg_rotated_by_exif():
    pixels = quadrants(32, 48)  # blocks aligned to JPEG's 8x8 tiles
    data = encode(Image.fromarray(pixels), "JPEG", quality=95, subsampling=0, exif=exif_with_orientation(6))
    image = load_image(data)
    assert image.shape == (48, 32, 3)
    upright = np.rot90(pixels, k=-1)  # orientation 6: turn 90 degrees clockwise
    assert np.abs(image.astype(int) - upright).max() <= 8
    assert tuple(image[0, 0] // 128) == (0, 0, 1)  # the blue quadrant is now top left


def test_orientation_of_16_bit_colour(colour16):
    exif = exif_with_orientation(8)
    data = raw_png(colour16, bit_depth=16, colour_type=2, exif=exif)
    np.testing.assert_array_equal(load_image(data), np.rot90(expected_stretch(colour16), k=1))


# ---------------------------------------------------------------- refusals


def test_refusals_of_paths(tmp_path):
    prefix = "^this file is not an image we can read: "
    assert_refused(InvalidImageError, prefix + "no such file: .*nope.png", tmp_path / "nope.png")
    assert_refused(InvalidImageError, prefix + ".* is a folder, not a file", tmp_path)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    assert_refused(InvalidImageError, prefix + r"it is empty \(0 bytes\)$", empty)


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", r"it is empty \(0 bytes\)"),
        (b"hello, I am a text file\n", "it is a text file"),
        (b"<!DOCTYPE html>\n<html><body><img src='cat.png'></body></html>", "it is an HTML web page"),
        (
            b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>',
            "SVG is a vector drawing; export it as PNG first",
        ),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "it is a PDF document"),
        (b"\x00\x00\x00\x18ftypheic" + bytes(40), "HEIC/AVIF images are not supported"),
        (b"\x89PNG\r\n\x1a\n" + b"garbage" * 5, r"its header is damaged \(Truncated File Read\)"),
        (b"BM\x00\x00", "it starts like a BMP file but its header is damaged"),
        (bytes(range(256)) * 4, "it is not a PNG, JPEG, TIFF, BMP, WebP or GIF image"),
    ],
)
def test_refusals_of_content(tmp_path, content, reason):
    path = tmp_path / "named.png"
    path.write_bytes(content)
    assert_refused(InvalidImageError, "^this file is not an image we can read: " + reason, path)


@pytest.mark.parametrize("fmt", ["PPM", "ICO", "TGA"])
def test_formats_pillow_knows_but_we_do_not_accept(fmt):
    assert_refused(InvalidImageError, "not a PNG, JPEG", encode(Image.new("RGB", (4, 4)), fmt))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "TIFF", "BMP"])
def test_truncated_files_are_refused(rng, fmt):
    noise = Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    data = encode(noise, fmt)
    assert_refused(InvalidImageError, "it is cut short", data[: len(data) // 2])


def test_truncated_16_bit_colour_png(colour16, rng):
    noisy = colour16 + rng.integers(0, 999, colour16.shape).astype(np.uint16)
    data = cv2_encode(np.tile(noisy, (8, 8, 1)), ".png")
    assert_refused(InvalidImageError, "it is cut short", data[: len(data) // 2])


def test_zero_sized_png():
    data = raw_png(np.zeros((5, 1), dtype=np.uint8), bit_depth=8, colour_type=0, size=(0, 5))
    assert_refused(InvalidImageError, r"it has no pixels \(its header claims 0x5\)", data)


def test_decompression_bomb_is_refused_before_decoding(monkeypatch):
    # A real 1x1 PNG whose header claims 40000 x 40000 (1.6 gigapixels).
    data = raw_png(np.zeros((1, 1), dtype=np.uint8), bit_depth=8, colour_type=0, size=(40000, 40000))

    def no_decoding(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(Image.Image, "load", no_decoding)
    error = assert_refused(InvalidImageError, "too large", data)
    assert "1600.0 megapixels" in str(error) and "limit of 64 megapixels" in str(error)


@pytest.mark.parametrize("side", [9000, 10000])  # below, and inside, Pillow's own warning zone
def test_over_our_limit_is_refused_without_pillow_warnings(side):
    data = raw_png(np.zeros((1, 1), dtype=np.uint8), bit_depth=8, colour_type=0, size=(side, side))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        error = assert_refused(InvalidImageError, "too large", data)
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]
    assert f"{side}x{side} pixels" in str(error)
    assert f"{side * side / 1e6:.1f} megapixels" in str(error) and "64 megapixels" in str(error)


def test_limit_is_inclusive(monkeypatch):
    monkeypatch.setattr(loading, "MAX_PIXELS", 12)
    assert load_image(encode(Image.new("L", (4, 3)), "PNG")).shape == (3, 4, 3)
    assert_refused(InvalidImageError, "5x3 pixels", encode(Image.new("L", (5, 3)), "PNG"))


def test_legal_48_megapixel_image_loads(tmp_path):
    path = tmp_path / "big.png"
    Image.new("L", (8000, 6000), 77).save(path)  # a constant image compresses to a few kB
    image = load_image(path)
    assert image.shape == (6000, 8000, 3)
    assert image[0, 0, 0] == 77 and image[-1, -1, 2] == 77


# ---------------------------------------------------------------- masks: encodings


def png_of(values: np.ndarray, mode: str | None = None) -> bytes:
    return encode(Image.fromarray(values, mode=mode) if mode else Image.fromarray(values), "PNG")


def square_mask(shape=(20, 24)) -> np.ndarray:
    mask = np.zeros(shape, dtype=np.uint8)
    mask[4:14, 6:18] = 1
    return mask


@pytest.mark.parametrize("foreground", [1, 255, 7])
def test_binary_mask_any_value(foreground):
    mask = square_mask()
    labels = load_mask(png_of(mask * foreground))
    np.testing.assert_array_equal(labels, mask)
    assert labels.dtype == np.int32
    assert_fresh(labels)


def test_one_bit_mask():
    mask = square_mask()
    data = png_of(mask.astype(bool))
    assert Image.open(io.BytesIO(data)).mode == "1"
    np.testing.assert_array_equal(load_mask(data), mask)


def test_two_values_without_zero_smaller_is_background():
    mask = square_mask()
    np.testing.assert_array_equal(load_mask(png_of(np.where(mask, 200, 30).astype(np.uint8))), mask)


@pytest.mark.parametrize("value, expected", [(0, 0), (1, 1), (255, 1), (90, 1)])
def test_single_value_mask(value, expected):
    labels = load_mask(png_of(np.full((5, 6), value, dtype=np.uint8)))
    np.testing.assert_array_equal(labels, np.full((5, 6), expected))


def test_rgb_with_equal_channels_is_gray():
    mask = square_mask()
    np.testing.assert_array_equal(load_mask(png_of(np.dstack([mask * 255] * 3))), mask)
    opaque = np.dstack([mask * 255] * 3 + [np.full(mask.shape, 255, np.uint8)])
    np.testing.assert_array_equal(load_mask(png_of(opaque)), mask)


def test_cut_out_alpha_is_the_mask():
    mask = square_mask()
    rgba = np.zeros(mask.shape + (4,), dtype=np.uint8)
    rgba[:, :, 3] = mask * 255  # black everywhere, opaque only on the object
    np.testing.assert_array_equal(load_mask(png_of(rgba)), mask)


def four_classes(shape=(24, 32)) -> np.ndarray:
    classes = np.zeros(shape, dtype=np.uint8)
    classes[2:10, 2:12] = 1
    classes[12:22, 4:14] = 2
    classes[5:20, 18:30] = 3
    return classes


@pytest.mark.parametrize("step", [1, 85])
def test_gray_multi_class_becomes_0_to_k(step):
    classes = four_classes()
    np.testing.assert_array_equal(load_mask(png_of(classes * step)), classes)


def test_gray_multi_class_without_zero_smallest_is_background():
    classes = four_classes()
    np.testing.assert_array_equal(load_mask(png_of(classes * 20 + 10)), classes)


def test_sparse_8_bit_instance_labels_are_not_mistaken_for_noise(rng):
    # 40 small nuclei on a mostly empty image: over 95% of the pixels are 0,
    # yet every label fills an area, so none may be thresholded away.
    labels = disks((220, 220), 40, rng, radius=(3, 6))
    assert np.count_nonzero(labels) < 0.05 * labels.size
    present = np.unique(labels)
    result = load_mask(png_of(labels.astype(np.uint8)))
    np.testing.assert_array_equal(result, np.searchsorted(present, labels))


def test_16_bit_instance_labels_are_unchanged(rng):
    # 300 objects of 4x4 pixels on a grid, ids shuffled, one id missing.
    labels = np.zeros((90, 120), dtype=np.uint16)
    ids = rng.permutation(np.arange(1, 302, dtype=np.uint16))
    ids = ids[ids != 17]
    for index, label in enumerate(ids):
        row, column = divmod(index, 20)
        labels[6 * row + 1 : 6 * row + 5, 6 * column + 1 : 6 * column + 5] = label
    data = png_of(labels)
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    result = load_mask(data)
    np.testing.assert_array_equal(result, labels)
    assert result.dtype == np.int32


def test_16_bit_class_codes_are_kept_and_0_65535_is_binary():
    classes = four_classes().astype(np.uint16)
    np.testing.assert_array_equal(load_mask(png_of(classes * 1000)), classes * 1000)
    mask = square_mask().astype(np.uint16)
    np.testing.assert_array_equal(load_mask(png_of(mask * 65535)), mask)


def test_float_mask():
    classes = four_classes()
    np.testing.assert_array_equal(load_mask(encode(Image.fromarray(classes.astype(np.float32) / 2), "TIFF")), classes)
    with_nan = classes.astype(np.float32)
    with_nan[0, 0] = np.nan
    assert_refused(InvalidMaskError, "NaN", encode(Image.fromarray(with_nan), "TIFF"))


def colour_regions() -> tuple[np.ndarray, np.ndarray]:
    classes = four_classes()
    colours = np.array([(0, 0, 0), RED, GREEN, BLUE], dtype=np.uint8)
    return colours[classes], classes


def test_colour_coded_mask_black_is_background_others_in_rgb_order():
    rgb, classes = colour_regions()
    # (R, G, B) order: blue (0,0,255) < green (0,255,0) < red (255,0,0)
    expected = np.array([0, 3, 2, 1])[classes]
    np.testing.assert_array_equal(load_mask(png_of(rgb)), expected)


def test_colour_coded_mask_without_black_numbers_every_colour():
    rgb, classes = colour_regions()
    rgb[classes == 0] = (255, 255, 0)
    # blue < green < red < yellow
    np.testing.assert_array_equal(load_mask(png_of(rgb)), np.array([4, 3, 2, 1])[classes])


def test_palette_mask_is_read_by_index():
    classes = four_classes()
    indices = np.array([0, 1, 15, 255], dtype=np.uint8)[classes]  # Pascal VOC style, 255 = void
    palette_image = Image.fromarray(indices, mode="L").convert("P")
    palette = np.zeros((256, 3), dtype=np.uint8)
    palette[0] = (255, 255, 255)  # index 0 is white, index 1 black: colours would mislead
    palette[15] = (192, 128, 128)
    palette[255] = (224, 224, 192)
    palette_image.putpalette(palette.ravel().tolist())
    data = encode(palette_image, "PNG", transparency=255)
    assert Image.open(io.BytesIO(data)).mode == "P"
    np.testing.assert_array_equal(load_mask(data), classes)


def test_palette_mask_without_index_0():
    classes = four_classes()
    palette_image = Image.fromarray((classes + 3).astype(np.uint8), mode="L").convert("P")
    palette_image.putpalette(list(range(256)) * 3)
    np.testing.assert_array_equal(load_mask(encode(palette_image, "PNG")), classes + 1)


def test_16_bit_colour_coded_mask():
    rgb, classes = colour_regions()
    data = cv2_encode(rgb[:, :, ::-1].astype(np.uint16) * 257, ".png")
    np.testing.assert_array_equal(load_mask(data), np.array([0, 3, 2, 1])[classes])


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return np.count_nonzero(a & b) / np.count_nonzero(a | b)


def test_jpeg_binary_mask_is_thresholded_back(rng):
    mask = (disks((120, 160), 25, rng, radius=(6, 14)) > 0).astype(np.uint8)
    data = encode(Image.fromarray(mask * 255), "JPEG", quality=75)
    assert len(np.unique(np.asarray(Image.open(io.BytesIO(data))))) > 10  # JPEG noise is there
    labels = load_mask(data)
    assert set(np.unique(labels)) == {0, 1}
    assert iou(labels == 1, mask == 1) >= 0.98


@pytest.mark.parametrize(
    "soften",
    [
        pytest.param(lambda mask: cv2.resize(mask, (74, 74), interpolation=cv2.INTER_AREA), id="shrunk"),
        pytest.param(lambda mask: cv2.GaussianBlur(mask, (0, 0), 1.0), id="blurred"),
    ],
)
def test_softened_binary_png_is_thresholded_back(rng, soften):
    mask = (disks((200, 200), 15, rng, radius=(10, 20)) > 0).astype(np.uint8) * 255
    smooth = soften(mask)
    assert len(np.unique(smooth)) > 16
    np.testing.assert_array_equal(load_mask(png_of(smooth)), (smooth > 127).astype(np.int32))


def test_few_values_in_a_lossless_file_are_classes_even_if_thin():
    # A bilinear half-size binary mask has 5 levels, the middle ones only along
    # edges. Up to 16 values a PNG is read as classes as it is.
    mask = np.zeros((40, 48), dtype=np.uint8)
    mask[5:27, 7:31] = 255  # odd edges fall between output pixels
    half = cv2.resize(mask, (24, 20), interpolation=cv2.INTER_LINEAR)
    levels = np.unique(half)
    assert 2 < len(levels) <= 16
    np.testing.assert_array_equal(load_mask(png_of(half)), np.searchsorted(levels, half))


def test_photo_is_refused_as_mask(rng):
    gray = photo(rng)
    levels = len(np.unique(gray))
    prefix = "^this file is not a mask we can read: "
    photo_png, photo_jpeg = png_of(gray), encode(Image.fromarray(gray), "JPEG")
    assert_refused(InvalidMaskError, prefix + f"it has {levels} distinct grey levels and does not look like a mask",
                   photo_png)
    assert_refused(InvalidMaskError, prefix + ".* grey levels and does not look like a binary mask; JPEG", photo_jpeg)
    assert_refused(InvalidMaskError, "distinct grey levels", png_of(gray.astype(np.uint16) * 40 + 700))


def test_dark_photo_with_a_flat_backdrop_is_refused(rng):
    # Fluorescence-like: 90% of the image is a black backdrop with a little
    # noise, and the bright blobs are shaded, not flat.
    y, x = np.mgrid[:96, :96]
    gray = np.zeros((96, 96))
    for cy, cx in rng.integers(10, 86, (8, 2)):
        gray += 200 * np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / 30.0)
    gray = np.clip(gray + rng.integers(0, 3, gray.shape), 0, 255).astype(np.uint8)
    assert_refused(InvalidMaskError, "does not look like a mask", png_of(gray))


def test_multi_class_jpeg_is_refused():
    data = encode(Image.fromarray(four_classes() * 85), "JPEG", quality=90)
    assert_refused(InvalidMaskError, "lossy files cannot store exact labels: save masks as PNG", data)


def test_webp_masks_lossless_exact_lossy_refused():
    classes = four_classes()
    lossless = encode(Image.fromarray(classes * 85), "WEBP", lossless=True)
    np.testing.assert_array_equal(load_mask(lossless), classes)
    lossy = encode(Image.fromarray(classes * 85), "WEBP", quality=60)
    assert_refused(InvalidMaskError, "lossy files cannot store", lossy)


def test_fragmented_label_image_is_accepted(rng):
    # Objects plus a spray of one-pixel fragments with ids of their own, as
    # a region-growing or edge-based segmentation may write.
    labels = disks((120, 120), 30, rng).astype(np.uint16)
    rows, columns = rng.integers(0, 120, (2, 150))
    labels[rows, columns] = np.arange(31, 181, dtype=np.uint16)
    np.testing.assert_array_equal(load_mask(png_of(labels)), labels)


def test_colour_photo_is_refused_as_mask(rng):
    colour = np.dstack([photo(rng), photo(rng), photo(rng)])
    assert_refused(InvalidMaskError, r"distinct colours and does not look like a mask", png_of(colour))
    colour_jpeg = encode(Image.fromarray(colour), "JPEG")
    assert_refused(InvalidMaskError, r"distinct colours; JPEG and other lossy files", colour_jpeg)


def test_gif_photo_is_refused_as_palette_mask(rng):
    colour = np.dstack([photo(rng), photo(rng), photo(rng)])
    data = encode(Image.fromarray(colour), "GIF")
    assert Image.open(io.BytesIO(data)).mode == "P"
    assert_refused(InvalidMaskError, r"distinct palette colours and does not look like a mask", data)


def test_mask_with_a_stray_speck_value_is_accepted():
    classes = four_classes()
    classes[0, 31] = 4  # a one-pixel class has no flat pixel
    np.testing.assert_array_equal(load_mask(png_of(classes * 50)), classes)


# ---------------------------------------------------------------- masks: size, orientation, errors


def test_mask_size_must_match_image():
    data = png_of(np.zeros((200, 300), dtype=np.uint8))
    assert load_mask(data, shape=(200, 300)).shape == (200, 300)
    assert load_mask(data, shape=(200, 300, 3)).shape == (200, 300)
    error = assert_refused(InvalidMaskError, "a mask must have the image's size", data, shape=(300, 400, 3))
    assert str(error) == "the mask is 300x200 pixels but the image is 400x300; a mask must have the image's size"


@pytest.mark.parametrize("shape", [(5,), (0, 4), "ab", (2, 3, 4, 5)])
def test_bad_shape_parameter(shape):
    with pytest.raises(InvalidParameterError, match="shape must be"):
        load_mask(png_of(np.zeros((2, 2), dtype=np.uint8)), shape=shape)


def test_mask_exif_orientation_is_applied_before_the_size_check():
    classes = four_classes()
    data = encode(Image.fromarray(classes * 85), "PNG", exif=exif_with_orientation(6))
    labels = load_mask(data, shape=(32, 24))
    np.testing.assert_array_equal(labels, np.rot90(classes, k=-1))
    assert_fresh(labels)


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", r"it is empty \(0 bytes\)"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "SVG is a vector drawing"),
        (raw_png(np.zeros((1, 1), np.uint8), bit_depth=8, colour_type=0, size=(40000, 40000)), "it is too large"),
    ],
)
def test_mask_refusals_name_a_mask(content, reason):
    error = assert_refused(InvalidMaskError, "^this file is not a mask we can read: " + reason, content)
    assert isinstance(error, InvalidImageError)


def test_truncated_mask():
    data = png_of(np.random.default_rng(3).integers(0, 256, (64, 64), dtype=np.uint8))
    assert_refused(InvalidMaskError, "^this file is not a mask we can read: it is cut short", data[:-200])


def test_missing_mask_file(tmp_path):
    assert_refused(InvalidMaskError, "^this file is not a mask we can read: no such file", tmp_path / "mask.png")


@needs_dsb2018
def test_dsb2018_labels_come_back_unchanged():
    path = sorted((DSB2018 / "val" / "labels").glob("*.png"))[0]
    expected = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert expected.dtype == np.uint16 and expected.max() > 2
    np.testing.assert_array_equal(load_mask(path), expected)


@needs_dsb2018
def test_dsb2018_image_and_mask_pair():
    image_path = sorted((DSB2018 / "val" / "images").glob("*.png"))[0]
    image = load_image(image_path)
    np.testing.assert_array_equal(image, cv2.imread(str(image_path))[:, :, ::-1])
    mask = load_mask(DSB2018 / "val" / "masks" / image_path.name, shape=image.shape)
    np.testing.assert_array_equal(mask, cv2.imread(str(DSB2018 / "val" / "masks" / image_path.name), 0) > 0)
