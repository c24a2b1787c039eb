"""Synthetic images with exact ground truth, and the degradations that break methods.

:func:`make_scene` draws objects (discs, ellipses, optionally touching pairs,
optionally textured) on a flat background and returns the clean intensity
image with its instance labels. :func:`degrade` then adds, in this order,
contrast reduction, uneven illumination, blur and Gaussian noise, each
controlled by one number, so a sweep can raise one while the others stay put.

Intensities are in [0, 1] until the final conversion to uint8 RGB, so levels
read naturally: ``noise=0.1`` is a standard deviation of 10% of the range.

Examples
--------
>>> scene = make_scene((64, 64), n_objects=3, radius=(6, 8), random_state=1)
>>> sample = degrade(scene, noise=0.05, random_state=1)
>>> sample.image.shape, sample.mask.dtype, int(sample.instances.max())
((64, 64, 3), dtype('bool'), 3)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from .checks import check_choice, check_number, is_int
from .errors import InvalidParameterError

DEGRADATIONS: dict[str, dict[str, Any]] = {
    # name: what the sweep varies, its neutral value and a useful range
    "noise": {"title": "Gaussian noise (σ, fraction of range)", "neutral": 0.0, "range": (0.0, 0.4)},
    "illumination": {"title": "Uneven illumination (gradient amplitude)", "neutral": 0.0, "range": (0.0, 1.0)},
    "blur": {"title": "Blur (Gaussian σ, pixels)", "neutral": 0.0, "range": (0.0, 6.0)},
    "contrast": {"title": "Contrast (object minus background)", "neutral": 0.5, "range": (0.05, 0.6)},
}


@dataclass
class Scene:
    """A clean synthetic scene: intensities in [0, 1] and the exact instances."""

    intensity: np.ndarray  # (H, W) float32 in [0, 1]
    instances: np.ndarray  # (H, W) int32, 0 = background
    background: float
    contrast: float
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def mask(self) -> np.ndarray:
        return self.instances > 0


@dataclass
class SyntheticImage:
    """A degraded scene ready to segment: uint8 RGB image, exact mask and instances."""

    image: np.ndarray  # (H, W, 3) uint8
    mask: np.ndarray  # (H, W) bool
    instances: np.ndarray  # (H, W) int32
    params: dict[str, Any] = field(default_factory=dict)


def make_scene(
    shape: tuple[int, int] = (256, 256),
    *,
    n_objects: int = 12,
    radius: tuple[float, float] = (10.0, 20.0),
    background: float = 0.2,
    contrast: float = 0.5,
    eccentricity: float = 0.3,
    touching: bool = False,
    texture: float = 0.0,
    dark_objects: bool = False,
    random_state: int = 0,
) -> Scene:
    """Draw ``n_objects`` ellipses (mean radius in ``radius``) on a flat background; levels in [0, 1].

    ``contrast`` is object minus background level (objects darker with ``dark_objects``);
    ``eccentricity`` 0 draws discs, up to 0.9 elongated ellipses; ``touching`` draws overlapping
    pairs (the count rounded up to even), the case watershed is for; ``texture`` adds a smooth
    random texture inside objects. The same arguments always give the same scene.
    """
    h, w = (int(shape[0]), int(shape[1]))
    if h < 16 or w < 16:
        raise InvalidParameterError(f"synthetic images must be at least 16x16 pixels, got {h}x{w}")
    if not is_int(n_objects) or n_objects < 0:
        raise InvalidParameterError(f"n_objects must be a whole number, zero or more, got {n_objects!r}")
    r_low, r_high = sorted(float(r) for r in radius)
    if r_low < 1:
        raise InvalidParameterError(f"radius must be at least 1 pixel, got {radius}")
    if n_objects and 2 * r_high > min(h, w):
        raise InvalidParameterError(
            f"objects of radius up to {r_high:g} do not fit a {h}x{w} image; use a radius of at most "
            f"{min(h, w) / 2:g} or a larger image")
    background = check_number("background", background, low=0.0, high=1.0)
    contrast = check_number("contrast", contrast, low=0.0, high=1.0)
    eccentricity = check_number("eccentricity", eccentricity, low=0.0, high=0.9)
    texture = check_number("texture", texture, low=0.0, high=1.0)
    rng = np.random.default_rng(random_state)

    wanted_level = background - contrast if dark_objects else background + contrast
    level = float(np.clip(wanted_level, 0.0, 1.0))
    intensity = np.full((h, w), background, dtype=np.float32)
    instances = np.zeros((h, w), dtype=np.int32)
    object_layer = np.zeros((h, w), dtype=np.uint8)

    # Objects are drawn one group at a time (a single object, or a touching
    # pair) and accepted only if they keep a margin from everything already
    # drawn, so the only contacts are the intended pairs.
    guard = np.zeros((h, w), dtype=np.uint8)  # drawn objects grown by the margin
    margin = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    label = 0
    attempts = 0
    wanted = n_objects + (n_objects % 2 if touching else 0)
    while label < wanted and attempts < 200 * max(1, wanted):
        attempts += 1
        r = rng.uniform(r_low, r_high)
        cy, cx = rng.uniform(r, h - r), rng.uniform(r, w - r)
        shapes = [_ellipse((h, w), cy, cx, r, eccentricity, rng)]
        if touching:
            angle = rng.uniform(0, 2 * np.pi)
            r2 = rng.uniform(r_low, r_high)
            gap = 0.8 * (r + r2)
            cy2, cx2 = cy + gap * np.sin(angle), cx + gap * np.cos(angle)
            if not (r2 <= cy2 <= h - r2 and r2 <= cx2 <= w - r2):
                continue
            shapes.append(_ellipse((h, w), cy2, cx2, r2, eccentricity, rng))
        union = shapes[0] | shapes[-1]
        if (union & guard).any():
            continue
        if touching and not _is_touching_pair(shapes[0], shapes[1]):
            continue
        for shape_mask in shapes:
            label += 1
            instances[shape_mask > 0] = label
        object_layer |= union
        guard = cv2.dilate(object_layer, margin)

    if texture > 0:
        noise = rng.normal(0, 1, size=(h, w)).astype(np.float32)
        smooth = cv2.GaussianBlur(noise, (0, 0), max(1.0, r_low / 3))
        smooth /= max(float(np.abs(smooth).max()), 1e-6)
        objects_intensity = level + texture * smooth
    else:
        objects_intensity = np.float32(level)
    intensity = np.where(object_layer > 0, objects_intensity, intensity).astype(np.float32)
    np.clip(intensity, 0.0, 1.0, out=intensity)
    if level != wanted_level:  # clipped to [0, 1]: record the contrast actually drawn
        contrast = abs(level - background)
    params = {"shape": (h, w), "n_objects": label, "radius": (r_low, r_high), "background": background,
              "contrast": contrast, "eccentricity": eccentricity, "touching": touching,
              "texture": texture, "dark_objects": dark_objects, "random_state": random_state}
    return Scene(intensity=intensity, instances=instances, background=background, contrast=contrast,
                 params=params)


def _ellipse(shape: tuple[int, int], cy: float, cx: float, radius: float, eccentricity: float,
             rng: np.random.Generator) -> np.ndarray:
    """A filled ellipse (uint8 0/1) of mean radius ``radius``, random elongation and angle."""
    axis_ratio = 1.0 - eccentricity * rng.uniform(0, 1)
    axes = (max(1, int(round(radius))), max(1, int(round(radius * axis_ratio))))
    canvas = np.zeros(shape, dtype=np.uint8)
    cv2.ellipse(canvas, (int(round(cx)), int(round(cy))), axes, float(rng.uniform(0, 180)), 0, 360, 1,
                thickness=-1)
    return canvas


def _is_touching_pair(first: np.ndarray, second: np.ndarray) -> bool:
    """The two shapes form one connected blob and the second (drawn on top) hides at most half the first."""
    n_components, _ = cv2.connectedComponents(first | second, connectivity=8)
    visible = np.count_nonzero(first & ~second)
    return n_components == 2 and visible >= 0.5 * np.count_nonzero(first)


def degrade(
    scene: Scene,
    *,
    noise: float = 0.0,
    illumination: float = 0.0,
    blur: float = 0.0,
    contrast: float | None = None,
    illumination_angle: float = 0.0,
    random_state: int = 0,
) -> SyntheticImage:
    """Apply degradations to a clean scene and convert it to uint8 RGB.

    ``noise``: Gaussian standard deviation as a fraction of the range; ``illumination``: amplitude
    of a linear brightness ramp (from ``-illumination/2`` to ``+illumination/2``) in the direction
    ``illumination_angle`` (degrees, 0 = brighter to the right); ``blur``: Gaussian sigma in pixels;
    ``contrast``: the object/background difference to rescale to (None keeps the scene's).
    """
    noise = check_number("noise", noise, low=0.0, high=1.0)
    illumination = check_number("illumination", illumination, low=0.0, high=2.0)
    blur = check_number("blur", blur, low=0.0, high=50.0)
    values = scene.intensity.astype(np.float32, copy=True)
    if contrast is not None:
        contrast = check_number("contrast", contrast, low=0.0, high=1.0)
        if scene.contrast == 0:
            raise InvalidParameterError("the scene has no contrast to rescale (its objects are drawn at the "
                                        "background level); make it with contrast > 0")
        values = scene.background + (values - scene.background) * (contrast / scene.contrast)
    h, w = values.shape
    if illumination > 0:
        theta = np.deg2rad(illumination_angle)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        ramp = (xx / max(w - 1, 1) - 0.5) * np.cos(theta) + (yy / max(h - 1, 1) - 0.5) * np.sin(theta)
        ramp /= max(float(np.abs(ramp).max()) * 2, 1e-6)  # exactly -0.5..0.5
        values += illumination * ramp
    if blur > 0:
        values = cv2.GaussianBlur(values, (0, 0), blur)
    if noise > 0:
        values += np.random.default_rng(random_state).normal(0.0, noise, size=values.shape).astype(np.float32)
    gray = np.clip(np.rint(values * 255.0), 0, 255).astype(np.uint8)
    params = {**scene.params, "noise": noise, "illumination": illumination, "blur": blur,
              "contrast": scene.contrast if contrast is None else contrast,
              "illumination_angle": illumination_angle, "noise_random_state": random_state}
    return SyntheticImage(image=np.repeat(gray[:, :, None], 3, axis=2), mask=scene.mask.copy(),
                          instances=scene.instances.copy(), params=params)


def make_image(shape: tuple[int, int] = (256, 256), *, noise: float = 0.05, illumination: float = 0.0,
               blur: float = 1.0, random_state: int = 0, **scene_params: Any) -> SyntheticImage:
    """:func:`make_scene` then :func:`degrade` in one call (the app's samples use it)."""
    scene = make_scene(shape, random_state=random_state, **scene_params)
    return degrade(scene, noise=noise, illumination=illumination, blur=blur, random_state=random_state)


def with_level(degradation: str, level: float) -> dict[str, float]:
    """Keyword arguments for :func:`degrade` that set one named degradation to ``level``."""
    check_choice("degradation", degradation, DEGRADATIONS)
    return {degradation: float(level)}


__all__ = ["DEGRADATIONS", "Scene", "SyntheticImage", "degrade", "make_image", "make_scene", "with_level"]
