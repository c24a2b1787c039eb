"""What the U-Net sees: feature maps at every level, for teaching.

For the current image (downscaled so the longest side is ``max_side``), the
encoder's outputs at each level, the bottleneck, each decoder block's output
and the final probability map are captured. Per level only the few channels
that vary most over the image are kept and scaled to 0..255, enough to show
coarse context going down and detail coming back through the skip connections.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from ..errors import InvalidParameterError
from ..imageops import to_rgb
from .inference import STRIDE
from .model import LoadedModel
from .preprocess import image_statistics, normalize


def _to_uint8_maps(tensor, keep: int) -> tuple[np.ndarray, list[int]]:
    """The ``keep`` channels of (C, H, W) with the largest spatial variance, each scaled to 0..255."""
    maps = tensor.float().cpu().numpy()
    variance = maps.reshape(maps.shape[0], -1).var(axis=1)
    order = np.argsort(variance)[::-1][:keep]
    chosen = maps[order]
    lo = chosen.reshape(len(order), -1).min(axis=1)[:, None, None]
    hi = chosen.reshape(len(order), -1).max(axis=1)[:, None, None]
    scaled = (chosen - lo) / np.maximum(hi - lo, 1e-6)
    return np.rint(scaled * 255).astype(np.uint8), [int(i) for i in order]


def feature_maps(loaded: LoadedModel, image: np.ndarray, *, max_side: int = 256,
                 per_level: int = 4) -> list[dict[str, Any]]:
    """Feature maps of an smp U-Net, one dict per level in network order, from input to output.

    Keys: ``"stage"`` (input, encoder, bottleneck, decoder, output), ``"level"``,
    ``"title"``, ``"channels"`` (all at this level), ``"size"`` (h, w), ``"maps"``
    ((k, h, w) uint8), ``"channel_ids"`` and, for encoder levels, ``"skip_to"`` (the
    decoder level their skip connection feeds).
    """
    import torch

    network = loaded.network
    if not (hasattr(network, "encoder") and hasattr(getattr(network, "decoder", None), "blocks")):
        raise InvalidParameterError("feature maps can only be shown for U-Net style models "
                                    "(an encoder and a decoder made of blocks)")
    rgb = to_rgb(image)
    h, w = rgb.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    small = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA) \
        if scale < 1 else rgb
    sh, sw = small.shape[:2]
    if loaded.normalization == "segcore":
        x = normalize(small, image_statistics(rgb))
    else:
        from .inference import IMAGENET_MEAN, IMAGENET_STD

        x = ((small.astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1)
    pad_h, pad_w = (-sh) % STRIDE, (-sw) % STRIDE
    # Pad as inference does, so the probability map shown matches the prediction.
    x = np.pad(x, ((0, 0), (0, pad_h), (0, pad_w)), mode="reflect" if min(sh, sw) > 1 else "edge")

    decoder_outputs: list = []
    hooks = [block.register_forward_hook(lambda _m, _i, out: decoder_outputs.append(out))
             for block in network.decoder.blocks]
    try:
        with torch.inference_mode():
            tensor = torch.from_numpy(np.ascontiguousarray(x[None])).to(loaded.device)
            encoder_features = network.encoder(tensor)
            decoded = network.decoder(encoder_features)
            logits = network.segmentation_head(decoded)
    finally:
        for hook in hooks:
            hook.remove()

    def crop(t):  # drop the padding, in the level's own resolution
        factor_h, factor_w = t.shape[-2] / x.shape[1], t.shape[-1] / x.shape[2]
        return t[..., : max(1, round(sh * factor_h)), : max(1, round(sw * factor_w))]

    steps: list[dict[str, Any]] = [{
        "stage": "input", "level": 0, "title": f"Input ({sw}×{sh})", "channels": 3, "size": (sh, sw),
        "maps": np.moveaxis(small, 2, 0).copy(), "channel_ids": [0, 1, 2],
    }]
    depth = len(encoder_features) - 1
    n_decoder = len(decoder_outputs)
    for level in range(1, depth + 1):
        feature = crop(encoder_features[level][0])
        maps, ids = _to_uint8_maps(feature, per_level)
        is_bottleneck = level == depth
        entry = {
            "stage": "bottleneck" if is_bottleneck else "encoder", "level": level,
            "title": (f"Bottleneck (1/{2 ** level} size)" if is_bottleneck
                      else f"Encoder level {level} (1/{2 ** level} size)"),
            "channels": int(encoder_features[level].shape[1]), "size": tuple(feature.shape[-2:]),
            "maps": maps, "channel_ids": ids,
        }
        if not is_bottleneck:
            entry["skip_to"] = depth - level  # decoder block index that concatenates this level
        steps.append(entry)
    for index, output in enumerate(decoder_outputs):
        feature = crop(output[0])
        maps, ids = _to_uint8_maps(feature, per_level)
        factor = 2 ** (depth - index - 1)
        steps.append({
            "stage": "decoder", "level": index + 1,
            "title": f"Decoder level {index + 1} ({'full' if factor == 1 else f'1/{factor}'} size)",
            "channels": int(output.shape[1]), "size": tuple(feature.shape[-2:]), "maps": maps, "channel_ids": ids,
            "skip_from": depth - index - 1 if index < n_decoder - 1 else None,
        })
    probs = torch.sigmoid(crop(logits[0]).float()) if logits.shape[1] == 1 else torch.softmax(crop(logits[0]).float(), 0)
    steps.append({
        "stage": "output", "level": 0, "title": "Probability map", "channels": int(logits.shape[1]),
        "size": (sh, sw), "maps": np.rint(probs.cpu().numpy()[:1] * 255).astype(np.uint8), "channel_ids": [0],
    })
    return steps
