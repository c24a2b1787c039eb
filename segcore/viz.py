"""Pictures of results: label colouring, overlays, boundaries, error maps, PNG bytes.

Everything returns uint8 RGB arrays (or PNG bytes), so a notebook, the CLI
and the app show the same thing.
"""

from __future__ import annotations

import cv2
import numpy as np

from .checks import check_choice
from .errors import InvalidMaskError, InvalidParameterError
from .imageops import to_rgb

# A qualitative palette with strong, distinguishable colours (first entry is
# for label 1; background is drawn separately). Chosen for legibility on both
# dark fluorescence and light brightfield images.
PALETTE = np.array(
    [
        [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
        [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212],
        [0, 128, 128], [220, 190, 255], [170, 110, 40], [255, 250, 200], [128, 0, 0],
        [170, 255, 195], [128, 128, 0], [255, 215, 180], [0, 0, 128], [128, 128, 128],
    ],
    dtype=np.uint8,
)
FALSE_POSITIVE = np.array([255, 0, 255], dtype=np.uint8)  # magenta: predicted, not true
FALSE_NEGATIVE = np.array([0, 200, 255], dtype=np.uint8)  # cyan: true, missed
TRUE_POSITIVE = np.array([255, 255, 255], dtype=np.uint8)


def label_colors(n_labels: int) -> np.ndarray:
    """(n_labels + 1, 3) uint8 colours; row 0 (background) is black."""
    rows = np.zeros((n_labels + 1, 3), dtype=np.uint8)
    if n_labels:
        rows[1:] = PALETTE[np.arange(n_labels) % len(PALETTE)]
    return rows


def colorize(labels: np.ndarray, *, colors: np.ndarray | None = None, background=(0, 0, 0)) -> np.ndarray:
    """Paint a label image: label k gets ``colors[k]`` (default: :func:`label_colors`).

    Examples
    --------
    >>> colorize(np.array([[0, 1]]))[0, 1].tolist()
    [230, 25, 75]
    """
    labels = np.asarray(labels)
    if labels.dtype == bool:
        labels = labels.view(np.uint8)
    n = int(labels.max()) if labels.size else 0
    table = label_colors(n) if colors is None else np.asarray(colors, dtype=np.uint8)
    if len(table) <= n:
        table = np.concatenate([table, label_colors(n)[len(table):]])
    table = table.copy()
    table[0] = background
    if labels.dtype == np.uint8:  # a lookup table is several times faster than fancy indexing
        lut = np.zeros((256, 1, 3), dtype=np.uint8)
        lut[: len(table), 0] = table[:256]
        return cv2.LUT(cv2.merge([labels, labels, labels]), lut)
    return table[labels]


def boundaries(labels: np.ndarray, *, thickness: int = 1) -> np.ndarray:
    """Bool map of pixels where the label changes (inner boundaries of each region)."""
    labels = np.asarray(labels)
    if labels.dtype == bool:
        labels = labels.view(np.uint8)
    labels = labels.astype(np.int32, copy=False)
    kernel = np.ones((3, 3), np.uint8)
    grown = cv2.dilate(labels.astype(np.float32), kernel)
    shrunk = cv2.erode(labels.astype(np.float32), kernel)
    edge = (grown != labels) | (shrunk != labels)
    edge &= labels > 0
    if thickness > 1:
        edge = cv2.dilate(edge.view(np.uint8), np.ones((thickness, thickness), np.uint8)) > 0
    return edge


def overlay(image: np.ndarray, labels: np.ndarray, *, mode: str = "fill", alpha: float = 0.45,
            colors: np.ndarray | None = None, thickness: int = 1) -> np.ndarray:
    """Labels drawn over the image.

    Parameters
    ----------
    mode : {"fill", "boundary", "both"}
        Tint each labelled region, outline it, or both.
    alpha : float
        Opacity of the tint.
    """
    check_choice("mode", mode, ("fill", "boundary", "both"))
    rgb = to_rgb(image)
    labels = np.asarray(labels)
    if labels.shape[:2] != rgb.shape[:2]:
        raise InvalidMaskError(f"labels are {labels.shape[:2]} but the image is {rgb.shape[:2]}")
    painted = colorize(labels, colors=colors)
    out = rgb.copy()
    region = np.asarray(labels) > 0
    if mode in ("fill", "both"):
        blended = cv2.addWeighted(rgb, 1.0 - alpha, painted, alpha, 0.0)
        out[region] = blended[region]
    if mode in ("boundary", "both"):
        edge = boundaries(labels, thickness=thickness)
        out[edge] = painted[edge]
    return out


def error_map(y_true: np.ndarray, y_pred: np.ndarray, *, image: np.ndarray | None = None) -> np.ndarray:
    """False positives in magenta, false negatives in cyan, true positives white
    (or the image dimmed, when ``image`` is given, so the errors stand out)."""
    truth = np.asarray(y_true) > 0
    pred = np.asarray(y_pred) > 0
    if truth.shape != pred.shape:
        raise InvalidMaskError(f"the masks differ in size: {truth.shape} vs {pred.shape}")
    if image is None:
        out = np.zeros(truth.shape + (3,), dtype=np.uint8)
        out[truth & pred] = TRUE_POSITIVE
    else:
        rgb = to_rgb(image)
        if rgb.shape[:2] != truth.shape:
            raise InvalidMaskError(f"the image is {rgb.shape[:2]} but the masks are {truth.shape}")
        out = (rgb * 0.5).astype(np.uint8)
        out[truth & pred] = (out[truth & pred] * 0.6 + TRUE_POSITIVE * 0.4).astype(np.uint8)
    out[pred & ~truth] = FALSE_POSITIVE
    out[truth & ~pred] = FALSE_NEGATIVE
    return out


def draw_points(image: np.ndarray, points, *, scale: float = 1.0, numbered: bool = False,
                size: int | None = None) -> np.ndarray:
    """A copy of an RGB image with a cross at each (row, col) point (optionally numbered 1, 2, ...).

    ``scale`` maps point coordinates (in the full image) to this picture, for
    pictures shrunk or enlarged for the screen. A black cross under a white
    one stays visible on any background.
    """
    out = to_rgb(image).copy()
    side = max(out.shape[:2])
    size = size or max(12, side // 25)
    thickness, font = max(2, side // 200), side / 600
    for number, (row, col) in enumerate(points, start=1):
        centre = (int((col + 0.5) * scale), int((row + 0.5) * scale))
        cv2.drawMarker(out, centre, (0, 0, 0), cv2.MARKER_CROSS, size + 2, 2 * thickness + 2)
        cv2.drawMarker(out, centre, (255, 255, 255), cv2.MARKER_CROSS, size, thickness)
        if numbered:
            place = (centre[0] + size // 2 + 2, centre[1] - size // 2)
            for color, width in (((0, 0, 0), 2 * thickness + 2), ((255, 255, 255), thickness)):
                cv2.putText(out, str(number), place, cv2.FONT_HERSHEY_SIMPLEX, font, color, width, cv2.LINE_AA)
    return out


def heatmap(values: np.ndarray, *, colormap: int = cv2.COLORMAP_VIRIDIS, vmin: float = 0.0,
            vmax: float = 1.0) -> np.ndarray:
    """A float map (e.g. probabilities) as a colour image."""
    scaled = np.clip((np.asarray(values, dtype=np.float32) - vmin) / max(vmax - vmin, 1e-12), 0, 1)
    bgr = cv2.applyColorMap(np.rint(scaled * 255).astype(np.uint8), colormap)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def mask_image(mask_or_labels: np.ndarray) -> np.ndarray:
    """What a downloaded mask holds: 0/255 for binary, raw label values otherwise (uint8/uint16)."""
    values = np.asarray(mask_or_labels)
    if values.dtype == bool or (values.size and int(values.max()) <= 1):
        return (values > 0).astype(np.uint8) * 255
    top = int(values.max())
    if top > np.iinfo(np.uint16).max:
        raise InvalidParameterError(f"{top} labels do not fit a PNG (at most 65535 in 16 bits)")
    return values.astype(np.uint8 if top <= 255 else np.uint16)


def to_png(image: np.ndarray) -> bytes:
    """PNG bytes of a gray, label (8/16-bit) or RGB image."""
    array = np.asarray(image)
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    if array.ndim == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".png", array)
    if not ok:
        raise ValueError("could not encode the image as PNG")
    return encoded.tobytes()


def downscale_for_display(image: np.ndarray, max_side: int = 1600) -> np.ndarray:
    """Shrink large images for the screen (nearest for label images, area for photos)."""
    h, w = image.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1:
        return image
    size = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
    interp = cv2.INTER_NEAREST if image.dtype != np.uint8 or image.ndim == 2 else cv2.INTER_AREA
    return cv2.resize(image, size, interpolation=interp)
