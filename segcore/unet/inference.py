"""Running a loaded U-Net on an image of any size.

Small images are padded (reflection) to a multiple of the network's output
stride and run in one pass. Large images are cut into overlapping tiles whose
predictions are blended with a smooth window, so seams do not show and memory
stays bounded: only the probability map and one batch of tiles are held.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..imageops import to_rgb
from .model import LoadedModel
from .preprocess import image_statistics, normalize

STRIDE = 32  # a 5-stage encoder halves the size five times
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def _pad_amount(length: int) -> int:
    return (-length) % STRIDE


def _blend_window(size: int, overlap: int) -> np.ndarray:
    """1-D weights: 1 in the middle, a raised-cosine ramp over ``overlap`` at each end."""
    window = np.ones(size, dtype=np.float32)
    if overlap > 0:
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(overlap, dtype=np.float32) + 0.5) / overlap)
        window[:overlap] = ramp
        window[-overlap:] = ramp[::-1]
    return window


def _tile_starts(length: int, tile: int, step: int) -> list[int]:
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, step))
    starts.append(length - tile)
    return starts


def _autocast(device, precision: str):
    import torch

    if precision == "fp32":
        return torch.autocast(device.type, enabled=False)
    return torch.autocast(device.type, dtype=torch.float16 if precision == "fp16" else torch.bfloat16)


def resolve_precision(device, precision: str = "auto") -> str:
    """``"auto"``: fp16 autocast on CUDA, bf16 on CPUs with native bf16, else fp32."""
    import torch

    if precision not in ("auto", "fp32", "fp16", "bf16"):
        from ..errors import InvalidParameterError

        raise InvalidParameterError(f"precision must be auto, fp32, fp16 or bf16, got {precision!r}")
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "fp16"
    if device.type == "cpu":
        try:
            native_bf16 = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            native_bf16 = False
        return "bf16" if native_bf16 else "fp32"
    return "fp32"


class _Preparer:
    """Turns (parts of) one image into network input, with whole-image statistics."""

    def __init__(self, loaded: LoadedModel, image: np.ndarray):
        self.rgb = to_rgb(image)
        self.mode = loaded.normalization
        if self.mode == "segcore":
            self.stats = image_statistics(self.rgb)

    def __call__(self, tile: np.ndarray) -> np.ndarray:
        if self.mode == "segcore":
            return normalize(tile, self.stats)
        x = (tile.astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
        return np.ascontiguousarray(x.transpose(2, 0, 1))


def _forward(loaded: LoadedModel, batch: np.ndarray, precision: str) -> np.ndarray:
    """Probabilities for a batch (N, 3, H, W): sigmoid for one class, softmax otherwise."""
    import torch

    with torch.inference_mode(), _autocast(loaded.device, precision):
        x = torch.from_numpy(batch).to(loaded.device)
        if loaded.device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        logits = loaded.network(x).float()
        probs = torch.sigmoid(logits) if logits.shape[1] == 1 else torch.softmax(logits, dim=1)
    return probs.cpu().numpy()


def predict_probabilities(
    loaded: LoadedModel,
    image: np.ndarray,
    *,
    tile_size: int = 512,
    overlap: int = 64,
    batch_size: int = 4,
    precision: str = "auto",
    progress: Callable[[float, str], None] | None = None,
) -> np.ndarray:
    """Per-pixel probabilities, shape (C, H, W) float32 (C = 1 for a binary model).

    Images up to ``2 * tile_size`` on each side run whole; larger ones in
    ``tile_size`` tiles overlapping by ``overlap`` pixels. ``progress`` (if
    given) is called with a fraction in [0, 1] and a short description.
    """
    precision = resolve_precision(loaded.device, precision)
    prepare = _Preparer(loaded, image)
    h, w = prepare.rgb.shape[:2]
    if h <= 2 * tile_size and w <= 2 * tile_size:
        pad_h, pad_w = _pad_amount(h), _pad_amount(w)
        x = prepare(prepare.rgb)
        if pad_h or pad_w:
            x = np.pad(x, ((0, 0), (0, pad_h), (0, pad_w)), mode="reflect" if min(h, w) > 1 else "edge")
        if progress:
            progress(0.0, "running the network on the whole image")
        probs = _forward(loaded, x[None], precision)[0, :, :h, :w]
        if progress:
            progress(1.0, "done")
        return np.ascontiguousarray(probs)

    tile_size = max(STRIDE, tile_size - tile_size % STRIDE)
    overlap = min(overlap, tile_size // 2)
    step = tile_size - overlap
    rows, cols = _tile_starts(h, tile_size, step), _tile_starts(w, tile_size, step)
    window = np.outer(_blend_window(tile_size, overlap), _blend_window(tile_size, overlap))
    channels = loaded.classes
    total = np.zeros((channels, h, w), dtype=np.float32)
    weight = np.zeros((h, w), dtype=np.float32)
    positions = [(r, c) for r in rows for c in cols]
    for start in range(0, len(positions), batch_size):
        chunk = positions[start : start + batch_size]
        tiles = []
        for r, c in chunk:
            tile = prepare.rgb[r : r + tile_size, c : c + tile_size]
            x = prepare(tile)
            th, tw = tile.shape[:2]
            if th < tile_size or tw < tile_size:  # only when the image is thinner than a tile
                x = np.pad(x, ((0, 0), (0, tile_size - th), (0, tile_size - tw)), mode="reflect")
            tiles.append(x)
        probs = _forward(loaded, np.stack(tiles), precision)
        for (r, c), p in zip(chunk, probs):
            th, tw = min(tile_size, h - r), min(tile_size, w - c)
            win = window[:th, :tw]
            total[:, r : r + th, c : c + tw] += p[:, :th, :tw] * win
            weight[r : r + th, c : c + tw] += win
        if progress:
            done = min(start + batch_size, len(positions))
            progress(done / len(positions), f"tile {done} of {len(positions)}")
    # Every pixel lies in at least one tile, so its weight is positive (if tiny
    # in image corners, where two ramp ends multiply): divide exactly.
    total /= weight
    return total
