"""Loading: segcore.load_image / load_mask against the raw Pillow and OpenCV calls.

Run: .venv/bin/python bench/bench_loading.py [--repeats N]

Files are made in memory from a 12 Mpx (4000 x 3000) natural image (the
astronaut upscaled, a little noise). Each row times segcore's loader and the
plain library call that decodes the same bytes, and prints their ratio
(segcore / library; 1.0 = no overhead). segcore does more than the library
call: checks, EXIF orientation, compositing, rescaling, and for masks the
label analysis, so ratios above 1 show what that costs. Times are medians of
the repeats; compare ratios within one run only (the machine is shared).
"""

from __future__ import annotations

import argparse
import io
import os
import struct
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import machine, natural_image, timed  # noqa: E402

from segcore import InvalidImageError, load_image, load_mask  # noqa: E402


def pillow_bytes(pixels: np.ndarray, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def opencv_bytes(pixels: np.ndarray, ext: str, *params: int) -> bytes:
    return cv2.imencode(ext, pixels, list(params))[1].tobytes()


def pillow_rgb(encoded: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(encoded)).convert("RGB"))


def opencv_unchanged(encoded: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(encoded, np.uint8), cv2.IMREAD_UNCHANGED)


def bomb_png(side: int) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0\0"))
            + chunk(b"IEND", b""))


def refuse(encoded: bytes) -> str:
    try:
        load_image(encoded)
    except InvalidImageError as error:
        return str(error)
    raise AssertionError("the bomb was accepted")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement (median)")
    args = parser.parse_args()

    print(f"machine: {machine()}, "
          f"load average {os.getloadavg()[0]:.2f} at start")
    width, height = 4000, 3000
    rgb = natural_image(width, height)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    gray16 = (gray.astype(np.uint16) * 16 + 1000)
    rgb16 = (rgb.astype(np.uint16) * 16 + 1000)
    binary = (gray > 120).astype(np.uint8) * 255
    labels16 = cv2.connectedComponents(binary, connectivity=4)[1].astype(np.uint16)
    classes = np.digitize(gray, [60, 120, 180]).astype(np.uint8)
    colour_classes = np.array([(0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255)], np.uint8)[classes]

    rows = [
        # name, encoded file, segcore loader, raw library decoder, library name
        ("RGB JPEG q90", pillow_bytes(rgb, "JPEG", quality=90), load_image, pillow_rgb, "Pillow"),
        ("RGB PNG", opencv_bytes(rgb[:, :, ::-1], ".png", cv2.IMWRITE_PNG_COMPRESSION, 1), load_image,
         pillow_rgb, "Pillow"),
        ("16-bit gray PNG", opencv_bytes(gray16, ".png", cv2.IMWRITE_PNG_COMPRESSION, 1), load_image,
         opencv_unchanged, "OpenCV"),
        ("16-bit RGB PNG", opencv_bytes(rgb16, ".png", cv2.IMWRITE_PNG_COMPRESSION, 1), load_image,
         opencv_unchanged, "OpenCV"),
        ("mask 0/255 PNG", opencv_bytes(binary, ".png"), load_mask, opencv_unchanged, "OpenCV"),
        ("mask 0/255 JPEG q75", opencv_bytes(binary, ".jpg", cv2.IMWRITE_JPEG_QUALITY, 75), load_mask,
         opencv_unchanged, "OpenCV"),
        ("mask 4-class gray PNG", opencv_bytes(classes * 85, ".png"), load_mask, opencv_unchanged, "OpenCV"),
        ("mask 16-bit labels PNG", opencv_bytes(labels16, ".png"), load_mask, opencv_unchanged, "OpenCV"),
        ("mask colour-coded PNG", opencv_bytes(colour_classes, ".png"), load_mask, opencv_unchanged, "OpenCV"),
    ]
    print(f"\n{width}x{height} ({width * height / 1e6:.0f} Mpx), median of {args.repeats}")
    print(f"{'file':>24} {'size MB':>8} {'library':>8} {'library s':>10} {'segcore s':>10} {'ratio':>6}  result")
    for name, encoded, loader, raw_decode, library in rows:
        library_s, _ = timed(lambda: raw_decode(encoded), args.repeats)
        segcore_s, result = timed(lambda: loader(encoded), args.repeats)
        summary = f"{result.dtype} {result.shape}, {len(np.unique(result[::7, ::7]))} values (sampled)"
        print(f"{name:>24} {len(encoded) / 1e6:8.2f} {library:>8} {library_s:10.3f} {segcore_s:10.3f} "
              f"{segcore_s / library_s:6.2f}  {summary}")

    print("\nrefusing a decompression bomb (a 1x1 PNG whose header claims side x side)")
    for side in (9000, 40000, 100000):
        seconds, message = timed(lambda: refuse(bomb_png(side)), args.repeats)
        print(f"  {side:>6}x{side:<6} {seconds * 1e3:7.2f} ms  {message.split(': ', 1)[1]}")


if __name__ == "__main__":
    main()
