"""The U-Net method: a pretrained encoder-decoder network predicts, for every
pixel, the probability that it belongs to an object.

The bundled model (``model="nuclei"``) was trained by this project on the 2018
Data Science Bowl nuclei images; see ``segcore/models/nuclei_unet/card.json``.
Users can pass their own smp checkpoint (folder, ``.safetensors`` + config) or
a Hub id; see :mod:`segcore.unet.model`.
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
    """Segment with a U-Net: probability map, thresholded mask and nucleus instances.

    Parameters
    ----------
    image : ndarray
        (H, W) or (H, W, 3) uint8, any size: small images are padded to a
        multiple of 32, large ones processed in overlapping tiles.
    model : str or path
        ``"nuclei"`` (bundled), a local smp folder, a ``.safetensors`` file
        with its ``config.json`` beside it, or a Hugging Face Hub id.
    threshold : float in (0, 1), optional
        Probability above which a pixel is foreground (binary models). None
        uses the model card's value (0.5 when the card has none).
    device : str
        ``"auto"`` (CUDA, else MPS, else CPU), ``"cpu"``, ``"cuda"``, ``"mps"``.
    precision : {"auto", "fp32", "fp16", "bf16"}
        ``"auto"``: fp16 autocast on CUDA, bf16 on CPUs with native bf16.
    tile_size : int
        Tile side for large images (multiple of 32).
    split_instances : bool
        Split the mask into nuclei (watershed on the distance transform) and
        report the count; costs a little time on large images.
    min_distance : int
        Minimum distance in pixels between two nucleus centres when splitting.
    return_steps : bool
        Also return the feature maps of every encoder and decoder level in
        ``info["steps"]`` (see :func:`segcore.unet.features.feature_maps`).
    progress : callable, optional
        ``progress(fraction, message)``, called while tiles are processed.

    Returns
    -------
    SegmentationResult
        ``mask`` (binary models) or ``labels`` (multi-class: argmax class,
        ``mask=None``); ``info["probabilities"]`` (H, W) float32 (foreground
        probability, or the winning class's probability), ``info["instances"]``
        and ``info["count"]`` when split, ``info["device"]``,
        ``info["precision"]``, ``info["class_names"]``, ``info["model"]``.

    Examples
    --------
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

    Examples
    --------
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
