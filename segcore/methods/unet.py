"""The U-Net method: a pretrained network predicts, per pixel, the probability of an object.

The bundled model (``model="nuclei"``) was trained by this project on the 2018
Data Science Bowl nuclei images; see ``segcore/models/nuclei_unet/card.json``.
Other model sources (an smp folder, a ``.safetensors`` file with its
``config.json``, a Hub id) are listed in :mod:`segcore.unet.model`. Images of
any size are accepted: small ones are padded, large ones run in overlapping
tiles (:mod:`segcore.unet.inference`).

A binary model gives ``mask = probability > threshold`` and, with
``split_instances``, the nuclei split by a distance-transform watershed
(``info["instances"]``, ``info["count"]``); a multi-class model gives the argmax
class as ``labels`` and ``mask=None``. ``info["probabilities"]`` is the (H, W)
float32 foreground probability (or the winning class's), and ``info`` also names
the ``device``, ``precision``, ``model`` and ``class_names``, and gives
``model_load_seconds`` (the first call's load; near zero once the model is cached).
"""

from __future__ import annotations

from typing import Callable

import time

import numpy as np

from ..errors import InvalidParameterError
from ..result import SegmentationResult, labels_dtype
from ..unet.model import DEFAULT_MODEL


def unet(
    image: np.ndarray,
    *,
    model: str = DEFAULT_MODEL,
    threshold: float | None = None,
    device: str = "auto",
    precision: str = "auto",
    tile_size: int = 512,
    split_instances: bool = True,
    min_distance: int = 5,
    return_steps: bool = False,
    progress: Callable[[float, str], None] | None = None,
) -> SegmentationResult:
    """Segment with a U-Net: probability map, thresholded mask and nucleus instances (module docstring).

    ``threshold`` None takes the model card's value (0.5 when it has none).
    ``device``: ``"auto"`` (CUDA, else MPS, else CPU), ``"cpu"``, ``"cuda"``, ``"mps"``;
    ``precision`` ``"auto"``: fp16 autocast on CUDA, bf16 on CPUs with native bf16.
    ``tile_size`` (pixels, at least 64) is the tile side for large images.
    ``return_steps`` adds the feature maps of every level
    (:func:`segcore.unet.features.feature_maps`); ``progress(fraction, message)`` is
    called while tiles run.

    >>> import segcore
    >>> img = segcore.load_image("nuclei.png")                     # doctest: +SKIP
    >>> result = segcore.segment(img, "unet", threshold=0.5)       # doctest: +SKIP
    >>> result.info["count"], result.info["device"]                # doctest: +SKIP
    (42, 'cpu')
    """
    from ..unet.inference import predict_probabilities, resolve_precision
    from ..unet.model import load_model

    if threshold is not None and not 0.0 < float(threshold) < 1.0:
        raise InvalidParameterError(f"threshold must be between 0 and 1 (exclusive), got {threshold}")
    if tile_size < 64:
        raise InvalidParameterError(f"tile_size must be at least 64 pixels, got {tile_size}")
    # The first call in a process loads the model (torch imports, weights);
    # the time is reported so a caller can tell it from the inference itself.
    load_start = time.perf_counter()
    loaded = load_model(model, device=device)
    load_seconds = time.perf_counter() - load_start
    resolved_precision = resolve_precision(loaded.device, precision)
    probs = predict_probabilities(loaded, image, tile_size=tile_size, precision=resolved_precision,
                                  progress=progress)
    used_threshold = loaded.threshold if threshold is None else float(threshold)
    info: dict = {
        "device": str(loaded.device),
        "precision": resolved_precision,
        "model": loaded.source,
        "class_names": loaded.class_names,
        "normalization": loaded.normalization,
        "model_load_seconds": round(load_seconds, 4),
    }
    if loaded.classes == 1:
        probability = probs[0]
        mask = probability > used_threshold
        labels = mask.view(np.uint8)
        info["probabilities"] = probability
        if split_instances:
            from .watershed import split_touching

            instances, count = split_touching(mask, min_distance=min_distance)
            info["instances"], info["count"] = instances, count
    else:
        winner = probs.argmax(axis=0)
        labels = winner.astype(labels_dtype(loaded.classes - 1))
        mask = None
        info["probabilities"] = probs.max(axis=0)
        info["class_fractions"] = np.bincount(labels.ravel(), minlength=loaded.classes) / labels.size
    if return_steps:
        from ..unet.features import feature_maps

        info["steps"] = feature_maps(loaded, image)
    params = {"threshold": used_threshold, "device": str(loaded.device), "precision": resolved_precision,
              "model": loaded.source}
    return SegmentationResult(method="unet", labels=labels, mask=mask, params=params, info=info)


def apply_threshold(result: SegmentationResult, threshold: float, *, split_instances: bool = True,
                    min_distance: int | None = None) -> SegmentationResult:
    """Re-threshold a binary U-Net result's probability map without running the network again.

    >>> import numpy as np
    >>> base = SegmentationResult("unet", np.zeros((1, 3), np.uint8), np.zeros((1, 3), bool),
    ...                           params={"threshold": 0.5}, info={"probabilities": np.array([[0.2, 0.5, 0.9]])})
    >>> apply_threshold(base, 0.3, split_instances=False).mask
    array([[False,  True,  True]])
    """
    probability = result.info.get("probabilities")
    if result.mask is None or probability is None:
        raise InvalidParameterError("only a binary U-Net result with a probability map can be re-thresholded")
    if not 0.0 < float(threshold) < 1.0:
        raise InvalidParameterError(f"threshold must be between 0 and 1 (exclusive), got {threshold}")
    mask = probability > threshold
    info = dict(result.info)
    distance = min_distance if min_distance is not None else result.params.get("min_distance", 5)
    if split_instances:
        from .watershed import split_touching

        info["instances"], info["count"] = split_touching(mask, min_distance=distance)
    else:
        info.pop("instances", None)
        info.pop("count", None)
    params = {**result.params, "threshold": float(threshold), "split_instances": split_instances}
    return SegmentationResult(method=result.method, labels=mask.view(np.uint8), mask=mask, params=params,
                              seconds=result.seconds, info=info)
