"""Training data for the U-Net: a folder of images and binary masks, and augmentation.

Layout (the DSB2018 copy in ``../shared/data/dsb2018`` follows it)::

    DATA/
      index.csv                      optional: id, split, ..., modality
      train/images/<id>.png  train/masks/<id>.png
      val/images/<id>.png    val/masks/<id>.png

Masks are read with :func:`segcore.load_mask`; any non-zero value is nucleus.
When the split also has ``labels/<id>.png`` (one value per nucleus), they are
read for the border weights of the loss (:func:`border_weights`).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from scipy import ndimage

from ..errors import InvalidParameterError
from ..loading import load_image, load_mask
from .preprocess import Normalization, image_statistics, normalize

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")

# Crops are drawn per image with probability ∝ modality weight × sqrt(area):
# brightfield is 2% of the training images and histology 17%, so both are
# oversampled; large slides give more crops than small tiles, but not in
# proportion to their area (they would swamp the rest).
MODALITY_WEIGHTS = {"fluorescence": 1.0, "histology": 2.0, "brightfield": 3.0}


# The U-Net paper's weight map (Ronneberger et al., 2015, eq. 2): background
# pixels in the thin gaps between touching nuclei weigh up to 1 + W0 in the
# cross-entropy, so the network learns to keep those gaps open.
BORDER_SIGMA = 5.0  # pixels


def border_weights(labels: np.ndarray, w0: float, sigma: float = BORDER_SIGMA) -> np.ndarray:
    """Per-pixel loss weights ``1 + w0 * exp(-(d1 + d2)**2 / (2 sigma**2))`` on background.

    ``d1``, ``d2`` are the distances to the nearest and second-nearest nucleus
    of the instance image ``labels``; nuclei themselves weigh 1. Distances are
    measured inside each nucleus's bounding box grown by 3 sigma, which is
    exact wherever the term is not negligible.
    """
    h, w = labels.shape
    nearest = np.full((h, w), np.inf, dtype=np.float32)
    second = np.full((h, w), np.inf, dtype=np.float32)
    reach = int(3 * sigma)
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        rows = slice(max(box[0].start - reach, 0), min(box[0].stop + reach, h))
        cols = slice(max(box[1].start - reach, 0), min(box[1].stop + reach, w))
        distance = ndimage.distance_transform_edt(labels[rows, cols] != index).astype(np.float32)
        near, sec = nearest[rows, cols], second[rows, cols]
        sec[:] = np.minimum(sec, np.maximum(near, distance))
        near[:] = np.minimum(near, distance)
    gap = nearest + second
    weights = np.ones((h, w), dtype=np.float32)
    background = (labels == 0) & np.isfinite(gap)
    weights[background] += w0 * np.exp(-(gap[background] ** 2) / (2 * sigma**2))
    return weights


@dataclass
class Sample:
    """One training or validation image in memory."""

    name: str
    image: np.ndarray  # (H, W, 3) uint8
    mask: np.ndarray  # (H, W) bool
    modality: str = "unknown"
    labels: np.ndarray | None = None  # (H, W) instance labels, when the split has them
    weights: np.ndarray | None = None  # (H, W) float16 loss weights (border_weights), when asked for
    stats: Normalization = field(init=False)

    def __post_init__(self) -> None:
        self.stats = image_statistics(self.image)


def read_modalities(data_dir: Path) -> dict[str, str]:
    """Map image id -> modality from ``index.csv`` when the folder has one."""
    index = data_dir / "index.csv"
    if not index.is_file():
        return {}
    with index.open(newline="") as handle:
        return {row["id"]: row.get("modality", "unknown") for row in csv.DictReader(handle)}


def load_split(data_dir: str | Path, split: str, *, limit: int | None = None,
               border_weight: float = 0.0) -> list[Sample]:
    """Read ``data_dir/split/images`` and the masks of the same stem into memory.

    ``border_weight`` > 0 computes each sample's loss weights with
    :func:`border_weights` from ``split/labels`` (or, without labels, from the
    mask's connected components).
    """
    data_dir = Path(data_dir)
    image_dir = data_dir / split / "images"
    mask_dir = data_dir / split / "masks"
    if not image_dir.is_dir() or not mask_dir.is_dir():
        raise InvalidParameterError(
            f"expected {image_dir} and {mask_dir}; --data must name a folder with "
            f"{split}/images and {split}/masks"
        )
    modalities = read_modalities(data_dir)
    masks = {p.stem: p for p in mask_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES}
    samples = []
    for path in sorted(image_dir.iterdir()):
        if path.suffix.lower() not in IMAGE_SUFFIXES or path.stem not in masks:
            continue
        image = load_image(path)
        mask = load_mask(masks[path.stem], shape=image.shape) > 0
        sample = Sample(path.stem, image, mask, modalities.get(path.stem, "unknown"))
        if border_weight > 0:
            label_path = data_dir / split / "labels" / f"{path.stem}.png"
            if label_path.is_file():
                labels = cv2.imread(str(label_path), cv2.IMREAD_UNCHANGED).astype(np.int32)
            else:
                labels = ndimage.label(mask)[0]
            sample.weights = border_weights(labels, border_weight).astype(np.float16)
        samples.append(sample)
        if limit is not None and len(samples) >= limit:
            break
    if not samples:
        raise InvalidParameterError(f"no image/mask pairs found under {data_dir / split}")
    return samples


def sampling_weights(samples: list[Sample], modality_weights: dict[str, float] | None = None) -> np.ndarray:
    """Per-image probability of being picked for a crop (sums to 1)."""
    modality_weights = MODALITY_WEIGHTS if modality_weights is None else {**MODALITY_WEIGHTS, **modality_weights}
    weights = np.array(
        [
            modality_weights.get(s.modality, 1.0) * np.sqrt(s.mask.size / 65536.0)
            for s in samples
        ]
    )
    return weights / weights.sum()


@dataclass(frozen=True)
class Augmentation:
    """Random transforms for one training crop. Ranges are the defaults used for
    the bundled model; ``scale`` is the zoom factor range (log-uniform)."""

    crop: int = 256
    scale: tuple[float, float] = (0.6, 1.6)
    gamma: tuple[float, float] = (0.7, 1.5)
    contrast: tuple[float, float] = (0.7, 1.3)
    brightness: float = 0.2  # in units of the image's standard deviation
    p_invert: float = 0.15
    p_gray: float = 0.2
    p_channel_shuffle: float = 0.3
    p_blur: float = 0.15
    noise_std: float = 0.05
    stain: float = 0.0  # H&E stain jitter: HED channel scale 1 ± stain, shift ± stain / 2


def stain_jitter(image: np.ndarray, amount: float, rng: np.random.Generator) -> np.ndarray:
    """Vary the haematoxylin, eosin and DAB densities of an RGB uint8 crop.

    Colour deconvolution (scikit-image's ``rgb2hed``) separates the stains;
    each is scaled and shifted a little, then mixed back with ``hed2rgb``:
    the colour changes a different lab's staining would make.
    """
    from skimage.color import hed2rgb, rgb2hed

    hed = rgb2hed(image)
    scale = rng.uniform(1 - amount, 1 + amount, size=3)
    shift = rng.uniform(-amount / 2, amount / 2, size=3) * hed.reshape(-1, 3).std(axis=0)
    rgb = hed2rgb(hed * scale + shift)
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _crop_region(rng: np.random.Generator, size: int, length: int) -> tuple[int, int]:
    """Start and stop of a window of ``size`` source pixels inside ``length`` (may exceed it)."""
    if size >= length:
        start = -int(rng.integers(0, size - length + 1))
    else:
        start = int(rng.integers(0, length - size + 1))
    return start, start + size


def _take(array: np.ndarray, rows: tuple[int, int], cols: tuple[int, int]) -> np.ndarray:
    """Window of ``array`` with reflection where the window leaves the image."""
    h, w = array.shape[:2]
    top, left = max(0, -rows[0]), max(0, -cols[0])
    bottom, right = max(0, rows[1] - h), max(0, cols[1] - w)
    inside = array[max(rows[0], 0) : min(rows[1], h), max(cols[0], 0) : min(cols[1], w)]
    if top or left or bottom or right:
        inside = cv2.copyMakeBorder(inside, top, bottom, left, right, cv2.BORDER_REFLECT_101)
    return inside


def augment(sample: Sample, aug: Augmentation, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One random training crop: ((3, S, S) float32 normalised image, (S, S) float32 mask).

    With ``sample.weights`` the mask comes back as (2, S, S): the mask and the
    crop's loss weights, transformed alike.
    """
    zoom = float(np.exp(rng.uniform(np.log(aug.scale[0]), np.log(aug.scale[1]))))
    source = max(8, int(round(aug.crop / zoom)))
    h, w = sample.mask.shape
    rows, cols = _crop_region(rng, source, h), _crop_region(rng, source, w)
    image = _take(sample.image, rows, cols)
    mask = _take(sample.mask.view(np.uint8), rows, cols)
    weights = None if sample.weights is None else _take(sample.weights.astype(np.float32), rows, cols)
    if source != aug.crop:
        interp = cv2.INTER_AREA if source > aug.crop else cv2.INTER_LINEAR
        image = cv2.resize(image, (aug.crop, aug.crop), interpolation=interp)
        # Resize the mask as a float and re-threshold: nearest-neighbour would
        # shift boundaries by up to half a source pixel.
        mask = cv2.resize(mask.astype(np.float32), (aug.crop, aug.crop), interpolation=cv2.INTER_LINEAR) >= 0.5
        if weights is not None:
            weights = cv2.resize(weights, (aug.crop, aug.crop), interpolation=cv2.INTER_LINEAR)
    else:
        mask = mask.astype(bool)

    k = int(rng.integers(0, 4))
    image, mask = np.rot90(image, k), np.rot90(mask, k)
    flip = rng.random() < 0.5
    if flip:
        image, mask = image[:, ::-1], mask[:, ::-1]
    if weights is not None:
        weights = np.rot90(weights, k)
        weights = weights[:, ::-1] if flip else weights
        mask = np.stack([mask, weights])

    if aug.stain > 0 and sample.modality == "histology":
        image = stain_jitter(np.ascontiguousarray(image), aug.stain, rng)

    gamma = rng.uniform(*aug.gamma)
    lut = np.clip(255.0 * (np.arange(256) / 255.0) ** gamma, 0, 255).astype(np.uint8)
    image = cv2.LUT(np.ascontiguousarray(image), lut)
    if rng.random() < aug.p_gray:
        image = np.repeat(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)
    elif rng.random() < aug.p_channel_shuffle:
        image = image[:, :, rng.permutation(3)]
    if rng.random() < aug.p_blur:
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.5, 1.5))

    x = normalize(image, sample.stats)
    x *= rng.uniform(*aug.contrast)
    x += rng.uniform(-aug.brightness, aug.brightness)
    if rng.random() < aug.p_invert:
        x = -x
    if aug.noise_std > 0:
        x += rng.normal(0.0, rng.uniform(0, aug.noise_std), size=x.shape).astype(np.float32)
    return np.ascontiguousarray(x, dtype=np.float32), np.ascontiguousarray(mask, dtype=np.float32)


def batch(samples: list[Sample], weights: np.ndarray, size: int, aug: Augmentation,
          rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A batch of augmented crops: (N, 3, S, S) images and (N, 1, S, S) masks
    ((N, 2, S, S) with the loss weights as the second channel when the samples have them)."""
    picks = rng.choice(len(samples), size=size, p=weights)
    pairs = [augment(samples[i], aug, rng) for i in picks]
    images = np.stack([p[0] for p in pairs])
    masks = np.stack([p[1] if p[1].ndim == 3 else p[1][None] for p in pairs])
    return images, masks


# --- datasets from segcore.datasets (folders, zips, the bundled sample) --------------------


@dataclass
class Prepared:
    """Decoded samples from a dataset, and what was left out or looks wrong, for a person."""

    samples: list[Sample]
    skipped: list[tuple[str, str]]  # (file or pair, reason): not used
    warnings: list[str]  # used, but worth a look (empty or all-foreground masks)


def samples_from_dataset(dataset, *, border_weight: float = 0.0, limit: int | None = None) -> Prepared:
    """Decode the pairs of a :class:`segcore.datasets.Dataset` into :class:`Sample` objects.

    A pair that cannot be read, or whose mask is not the image's size, is
    skipped with the reason (the others go on); the dataset's own skipped
    files are listed too. An empty or all-foreground mask is kept with a
    warning: it still teaches the network what background (or foreground)
    looks like, but a whole set of them teaches nothing. The modality comes
    from the pair's ``modality`` group (index.csv), else ``"unknown"``.
    """
    from ..datasets import read_pair
    from ..errors import SegcoreError

    skipped = [(item.name, item.reason) for item in dataset.skipped]
    samples: list[Sample] = []
    warnings: list[str] = []
    for pair in dataset.pairs:
        if limit is not None and len(samples) >= limit:
            break
        try:
            arrays = read_pair(pair)
        except SegcoreError as error:
            skipped.append((pair.id, str(error)))
            continue
        mask = arrays.mask > 0
        if (odd := mask_warning(mask)) is not None:
            warnings.append(f"{pair.id}: {odd}")
        sample = Sample(pair.id, arrays.image, mask, str(pair.groups.get("modality", "unknown")))
        if border_weight > 0:
            labels = arrays.instances if arrays.instances is not None else ndimage.label(mask)[0]
            sample.weights = border_weights(labels.astype(np.int32), border_weight).astype(np.float16)
        samples.append(sample)
    return Prepared(samples, skipped, warnings)


def mask_warning(mask: np.ndarray) -> str | None:
    """What is odd about a usable training mask (empty, or all foreground), or None."""
    if not mask.any():
        return "the mask is empty (no foreground)"
    if mask.all():
        return "the mask is all foreground"
    return None


MIN_PAIRS = 2


def split_samples(samples: list[Sample], val_fraction: float = 0.2, random_state: int = 0
                  ) -> tuple[list[Sample], list[Sample]]:
    """Split by image, at random with ``seed``: about ``val_fraction`` of the images validate.

    At least one image goes to each side; fewer than :data:`MIN_PAIRS`
    images is refused with a message saying what was found.
    """
    if not 0 < val_fraction < 1:
        raise InvalidParameterError(f"the validation fraction must be between 0 and 1, not {val_fraction}")
    if len(samples) < MIN_PAIRS:
        raise InvalidParameterError(
            f"training needs at least {MIN_PAIRS} usable image/mask pairs (one to train on, one to validate); "
            f"found {len(samples)}")
    order = np.random.default_rng(random_state).permutation(len(samples))
    n_val = min(len(samples) - 1, max(1, int(round(val_fraction * len(samples)))))
    val = sorted(order[:n_val].tolist())
    chosen = set(val)
    return [s for i, s in enumerate(samples) if i not in chosen], [samples[i] for i in val]


def split_prepared(prepared: Prepared, val_fraction: float, random_state: int
                   ) -> tuple[list[Sample], list[Sample], dict]:
    """:func:`split_samples` on prepared samples, with the record of the split that goes into the card."""
    train_set, val_set = split_samples(prepared.samples, val_fraction, random_state)
    split = {"method": "automatic, by image", "val_fraction": val_fraction, "random_state": random_state,
             "val_ids": [s.name for s in val_set], "skipped": len(prepared.skipped)}
    return train_set, val_set, split


def holdout_region(sample: Sample, fraction: float = 0.2) -> tuple[Sample, Sample]:
    """Split one image into a training part and a held-out validation strip.

    The strip is the last ``fraction`` of the longer side (the right or the
    bottom edge); the network never sees it while training, so its score
    says how well the model does on pixels it did not learn from.
    """
    h, w = sample.mask.shape
    if min(h, w) < 16:
        raise InvalidParameterError(f"the image is {w}x{h} pixels; at least 16x16 is needed to hold out a region")
    axis = 1 if w >= h else 0
    length = sample.mask.shape[axis]
    cut = length - max(8, int(round(fraction * length)))
    parts = []
    for region, part in ((slice(0, cut), "training region"), (slice(cut, length), "held-out region")):
        index = (slice(None), region) if axis == 1 else (region, slice(None))
        parts.append(Sample(f"{sample.name} ({part})", np.ascontiguousarray(sample.image[index]),
                            np.ascontiguousarray(sample.mask[index]), sample.modality,
                            weights=None if sample.weights is None else np.ascontiguousarray(sample.weights[index])))
    return parts[0], parts[1]
