"""Helpers of the Region growing and K-means pages: seeds, step-by-step figures, tables and sentences.

The pages stay thin: they lay out widgets and call these. Figures are built
by :mod:`ui.animations` and :mod:`ui.charts`; this module runs the (cached) segcore calls they
need and keeps the per-session seed list.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import cv2
import numpy as np
import streamlit as st

import segcore
from segcore import viz
from segcore.result import SegmentationResult
from segcore.samples import SEED_GRID

from . import animations, charts, runner
from .display import for_screen
from .state import Current

#: The "Watch it work" views run on a copy no larger than this on its longest
#: side: every step keeps a label image, and the figures show a few hundred
#: pixels anyway.
WATCH_SIDE = 512
#: Pixels drawn in the k-means feature-space view.
SAMPLE_POINTS = 2000
#: Pixels the elbow chart's fits use (one sample shared by every K).
ELBOW_SAMPLE = 20_000
#: Smaller images are enlarged to at least this side for the clickable seed picture.
PICK_SIDE = 600
#: Up to this many seeds are drawn numbered; more get small plain crosses.
NUMBERED_SEEDS = 30
#: The cheatsheet's 4x4 region-growing example, and its seed (on the 13).
SEED_GRID_SEED = (1, 1)
SEED_GRID_KEY = "seed-document-4x4"

CRITERIA = {
    "neighbor": "the adjacent pixel already in the region: can drift along slow gradients",
    "seed": "the seed pixel: stays within the tolerance of the seed's value",
    "mean": "the region's current mean: follows the region as it grows",
}
FEATURE_SPACES = {"rgb": "RGB", "lab": "CIE Lab (perceptual)", "hsv": "HSV (hue on a colour wheel)",
                  "gray": "Gray level"}
FEATURE_AXES = {"rgb": ("R", "G", "B"), "lab": ("L*", "a*", "b*"), "hsv": ("S·cos H", "S·sin H", "V"),
                "gray": ("gray level",)}
SEED_MODES = {"auto": "Automatic (one per Otsu object)", "manual": "My seeds (click or type)"}


# --- seeds -------------------------------------------------------------------

def current_seeds(cur: Current) -> list[tuple[int, int]]:
    """The seeds placed on this image; a new image starts with none."""
    state = st.session_state
    if state.get("rg_seeds_image") != cur.key:
        state["rg_seeds"] = []
        state["rg_seeds_image"] = cur.key
    return [(int(row), int(col)) for row, col in state.get("rg_seeds", [])]


def click_to_pixel(click: dict[str, Any], shape: tuple[int, int]) -> tuple[int, int]:
    """(row, col) of the full image under a click on its displayed copy.

    ``click`` is what ``streamlit_image_coordinates`` returns: x and y in the
    displayed picture, whose size is width x height.
    """
    height, width = shape
    row = int(click["y"] * height / max(click["height"], 1))
    col = int(click["x"] * width / max(click["width"], 1))
    return min(max(row, 0), height - 1), min(max(col, 0), width - 1)


def _add_seed(seed: tuple[int, int]) -> None:
    seeds = list(st.session_state.get("rg_seeds", []))
    if seed not in seeds:
        seeds.append(seed)
    st.session_state["rg_seeds"] = seeds
    # Placing a seed means the user wants their own seeds.
    st.session_state["rg_seed_mode"] = "manual"


def add_clicked_seed(shape: tuple[int, int]) -> None:
    """Callback of the clickable image: the clicked pixel becomes a seed."""
    click = st.session_state.get("rg_click")
    if click:
        _add_seed(click_to_pixel(click, shape))


def add_typed_seed() -> None:
    """Callback of the 'Add' button: the row and column typed in become a seed."""
    _add_seed((int(st.session_state["rg_row"]), int(st.session_state["rg_col"])))


def undo_seed() -> None:
    st.session_state["rg_seeds"] = list(st.session_state.get("rg_seeds", []))[:-1]


def clear_seeds() -> None:
    st.session_state["rg_seeds"] = []


def seeds_picture(cur: Current, result: SegmentationResult | None, seeds: list[tuple[int, int]]) -> np.ndarray:
    """The screen copy of the image with region outlines and numbered seed crosses."""
    screen = for_screen(cur.image)
    if max(screen.shape[:2]) < PICK_SIDE:
        # Enlarge small images so the crosses and numbers are drawn sharp.
        factor = PICK_SIDE // max(screen.shape[:2]) + 1
        screen = cv2.resize(screen, (screen.shape[1] * factor, screen.shape[0] * factor),
                            interpolation=cv2.INTER_NEAREST)
    scale = screen.shape[1] / cur.image.shape[1]
    if result is not None:
        labels = cv2.resize(result.labels.astype(np.uint16), (screen.shape[1], screen.shape[0]),
                            interpolation=cv2.INTER_NEAREST)
        screen = viz.overlay(screen, labels, mode="boundary", thickness=2)
    numbered = len(seeds) <= NUMBERED_SEEDS
    size = max(12, max(screen.shape[:2]) // 25)
    return viz.draw_points(screen, seeds, scale=scale, numbered=numbered, size=size if numbered else size // 2)


def region_rows(result: SegmentationResult) -> list[dict[str, Any]]:
    """One table row per seed: where it is, its value, tolerance, region size, and the
    region it fell into when it added nothing."""
    info = result.info
    merged = dict(info["merged_seeds"])
    rows = []
    for label, ((row, col), value, tolerance, size) in enumerate(
            zip(info["seeds"], info["seed_values"], info["tolerances"], info["region_sizes"]), start=1):
        rows.append({"seed": label, "row": row, "col": col,
                     "value": str(value), "tolerance": round(float(tolerance), 1), "pixels": size,
                     "merged into": merged.get(label)})
    return rows


def merged_note(merged: list[tuple[int, int]], *, listed: int = 8) -> str:
    """One sentence on the seeds that fell inside an earlier seed's region."""
    if len(merged) == 1:
        (label, into), = merged
        return f"Seed {label} lies inside region {into}, grown from an earlier seed, so it adds nothing."
    named = ", ".join(f"{label} (in {into})" for label, into in merged[:listed])
    more = f" and {len(merged) - listed} more" if len(merged) > listed else ""
    return (f"{len(merged)} seeds lie inside regions grown from earlier seeds and add nothing: {named}{more}. "
            "Regions of earlier seeds are walls for later ones.")


def plural(count: int, noun: str) -> str:
    """'1 pixel', '2,048 pixels'."""
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def keep_in_range(key: str, low: int, high: int) -> None:
    """Pull a stored widget value back into [low, high] before the widget is drawn (the image may have shrunk)."""
    if key in st.session_state:
        value = st.session_state[key]
        if not low <= value <= high:
            st.session_state[key] = min(max(value, low), high)


def keep_choice(key: str, options: list) -> None:
    """Forget a stored widget value that is no longer among the options."""
    if key in st.session_state and st.session_state[key] not in options:
        del st.session_state[key]


# --- region growing, step by step ------------------------------------------

def watch_copy(cur: Current) -> tuple[np.ndarray, str, float]:
    """(image, cache key, scale) of the copy the step-by-step views run on."""
    small = viz.downscale_for_display(cur.image, WATCH_SIDE)
    if small.shape == cur.image.shape:
        return cur.image, cur.key, 1.0
    return small, f"{cur.key}:watch{WATCH_SIDE}", small.shape[0] / cur.image.shape[0]


def scale_seeds(seeds: list[tuple[int, int]], scale: float, shape: tuple[int, int]) -> list[tuple[int, int]]:
    """Seeds moved onto a scaled copy of the image, without duplicates."""
    moved = [(min(int(row * scale), shape[0] - 1), min(int(col * scale), shape[1] - 1)) for row, col in seeds]
    return list(dict.fromkeys(moved))


class Growth(NamedTuple):
    figure: Any  # plotly Figure of animations.growth_animation; None when nothing grew
    summaries: dict[str, tuple[int, int, int]]  # frame name -> (wave, pixels so far, pixels new in this frame)
    seeds: list[tuple[int, int]]


@st.cache_data(max_entries=12, show_spinner=False)
def _growth(image_key: str, params_key: str, _image: np.ndarray, _params: dict[str, Any]) -> Growth:
    # Not through runner's cache: a result with steps holds up to 100 label images
    # (26 MB at 512 x 512); only the compact figure is kept, by this function's cache.
    result = segcore.segment(_image, "region_growing", **_params, return_steps=True)
    steps, waves = result.info["steps"], result.info["step_waves"]
    if not steps:
        return Growth(None, {}, [])
    fig = animations.growth_animation(_image, steps, waves=waves, seeds=result.info["seeds"])
    sizes = [int(np.count_nonzero(step)) for step in steps]
    summaries = {}
    for position, frame in enumerate(fig.frames):
        index = int(frame.name)
        before = sizes[int(fig.frames[position - 1].name)] if position else 0
        summaries[frame.name] = (waves[index], sizes[index], sizes[index] - before)
    return Growth(fig, summaries, result.info["seeds"])


def growth_figure(image: np.ndarray, image_key: str, **params: Any) -> Growth | None:
    """The growth animation of ``region_growing(image, **params)`` (cached); a bad
    parameter becomes an ``st.error`` and None."""
    try:
        growth = _growth(image_key, runner.params_key(params), image, params)
    except segcore.SegcoreError as error:
        st.error(f"Region growing: {error}", icon=":material/error:")
        return None
    if growth.figure is None:
        st.info("Nothing grows: there are no seeds (Otsu's threshold found no objects).", icon=":material/info:")
        return None
    return growth


class ExampleWave(NamedTuple):
    wave: int
    region: np.ndarray  # bool: in the region before this wave
    new: np.ndarray  # bool: joined in this wave
    size: int


def example_waves(result: SegmentationResult) -> list[ExampleWave]:
    """The waves of a worked example run with ``return_steps=True``."""
    waves = []
    before = np.zeros(result.labels.shape, dtype=bool)
    for wave, step in zip(result.info["step_waves"], result.info["steps"]):
        inside = step > 0
        waves.append(ExampleWave(wave, before, inside & ~before, int(inside.sum())))
        before = inside
    return waves


def boundary_explanation(values: np.ndarray, labels: np.ndarray, seed: tuple[int, int], *, tolerance: float,
                         criterion: str, connectivity: int) -> str:
    """Why the region of a small worked example stops where it does, from the numbers themselves."""
    region = labels > 0
    seed_value = int(values[seed])
    offsets = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    if connectivity == 8:
        offsets += [(-1, -1), (-1, 1), (1, -1), (1, 1)]
    height, width = values.shape

    def region_neighbours(row: int, col: int) -> list[tuple[int, int]]:
        return [(row + dr, col + dc) for dr, dc in offsets
                if 0 <= row + dr < height and 0 <= col + dc < width and region[row + dr, col + dc]]

    outside = [(r, c) for r in range(height) for c in range(width)
               if not region[r, c] and region_neighbours(r, c)]
    if not outside:
        return f"The region covers the whole grid: every pixel passed the test with tolerance {tolerance:g}."
    reasons = []
    if criterion == "neighbor":
        for r, c in outside:
            nr, nc = min(region_neighbours(r, c), key=lambda p: abs(int(values[p]) - int(values[r, c])))
            gap = abs(int(values[r, c]) - int(values[nr, nc]))
            reasons.append(f"{values[r, c]} at (row {r}, col {c}) differs from its region neighbour "
                           f"{values[nr, nc]} by {gap}")
        reference = "from every region pixel it touches"
    elif criterion == "seed":
        for r, c in outside:
            reasons.append(f"{values[r, c]} at (row {r}, col {c}) is {abs(int(values[r, c]) - seed_value)} "
                           f"from the seed {seed_value}")
        reference = "from the seed"
    else:
        mean = float(values[region].mean())
        for r, c in outside:
            reasons.append(f"{values[r, c]} at (row {r}, col {c}) is {abs(float(values[r, c]) - mean):g} "
                           f"from the mean {mean:g}")
        reference = "from the final region mean"
    text = (f"Growth stops because every pixel touching the region is more than {tolerance:g} away {reference}: "
            + "; ".join(reasons) + ".")
    if criterion == "neighbor":
        far = [(r, c) for r, c in zip(*np.nonzero(region)) if abs(int(values[r, c]) - seed_value) > tolerance]
        if far:
            r, c = far[0]
            text += (f" Yet {values[r, c]} at (row {r}, col {c}) joined although it is "
                     f"{abs(int(values[r, c]) - seed_value)} from the seed: the neighbour criterion only "
                     "compares adjacent pixels, so a region can creep step by step (try the 'seed' criterion).")
    return text


# --- k-means -------------------------------------------------------------------

def brightness_ranks(result: SegmentationResult) -> np.ndarray:
    """Each cluster's rank by mean gray value (0 = darkest), to draw clusters in a stable order."""
    order = np.asarray(result.info["order_by_brightness"])
    ranks = np.empty(len(order), dtype=np.intp)
    ranks[order] = np.arange(len(order))
    return ranks


def ranked_labels(result: SegmentationResult) -> np.ndarray:
    """The label image renumbered darkest cluster = 0 ... brightest = K - 1."""
    ranks = brightness_ranks(result).astype(np.uint8 if len(result.info["counts"]) <= 256 else np.uint16)
    return ranks[result.labels]


def segmented_picture(result: SegmentationResult) -> np.ndarray:
    """Every pixel painted with its cluster's colour (k-means gives it; for a mixture, the mean colours)."""
    picture = result.info.get("segmented_image")
    if picture is None:
        picture = np.asarray(result.info["center_colors"])[result.labels]
    return for_screen(picture)


def cluster_chips(result: SegmentationResult) -> str:
    """HTML legend: one chip per cluster, darkest first, in the colours of the label view."""
    counts = np.asarray(result.info["counts"])
    order = np.asarray(result.info["order_by_brightness"])
    colours = viz.label_colors(len(order) - 1)
    total = max(int(counts.sum()), 1)
    chips = []
    for rank, cluster in enumerate(order):
        r, g, b = (int(v) for v in colours[rank])
        text = "white" if 0.299 * r + 0.587 * g + 0.114 * b < 140 else "black"
        chips.append(f"<span style='background:rgb({r},{g},{b});color:{text};padding:2px 8px;border-radius:4px;"
                     f"margin-right:4px;display:inline-block;margin-bottom:4px'>cluster {cluster} · "
                     f"{100 * counts[cluster] / total:.1f}%</span>")
    return " ".join(chips)


def palette_figure(result: SegmentationResult):
    """The palette chart with the clusters darkest first."""
    order = np.asarray(result.info["order_by_brightness"])
    colours, counts = np.asarray(result.info["center_colors"]), np.asarray(result.info["counts"])
    return charts.palette_chart(colours[order], counts[order], names=[f"cluster {k}" for k in order],
                                title="Clusters: mean colour and pixel count (darkest first)")


@st.cache_data(max_entries=16, show_spinner=False)
def _elbow(image_key: str, features: str, spatial_weight: float, random_state: int,
           _image: np.ndarray) -> dict[int, float]:
    from segcore.methods.clustering import elbow

    return elbow(_image, k_values=range(1, 13), random_state=random_state, features=features,
                 spatial_weight=spatial_weight, sample_size=ELBOW_SAMPLE)


def elbow_inertias(cur: Current, *, features: str, spatial_weight: float,
                   random_state: int) -> dict[int, float] | None:
    """k-means inertia for K = 1..12 on the current image (cached per image and settings);
    a refusal (an image of fewer than 12 pixels) becomes an ``st.error`` and None."""
    try:
        return _elbow(cur.key, features, spatial_weight, random_state, cur.image)
    except segcore.SegcoreError as error:
        st.error(f"Elbow chart: {error}", icon=":material/error:")
        return None


class KmeansSteps(NamedTuple):
    figure: Any  # plotly Figure of animations.kmeans_animation
    summaries: dict[str, tuple[float, int | None]]  # frame name -> (inertia, pixels that changed cluster)
    n_steps: int


@st.cache_data(max_entries=12, show_spinner=False)
def _kmeans_steps(image_key: str, params_key: str, _image: np.ndarray, _params: dict[str, Any]) -> KmeansSteps:
    from segcore.methods.clustering import pixel_features

    # Not through runner's cache: every step holds a label image; only the figure is kept.
    result = segcore.segment(_image, "kmeans", **_params, return_steps=True)
    steps = result.info["steps"]
    n_pixels = _image.shape[0] * _image.shape[1]
    sample = np.sort(np.random.default_rng(0).choice(n_pixels, size=min(SAMPLE_POINTS, n_pixels), replace=False))
    # The very feature rows k-means clustered, so the pixels sit where the centres live.
    features = pixel_features(_image, features=_params["features"], spatial_weight=_params["spatial_weight"],
                              index=sample)
    fig = animations.kmeans_animation(features, np.array([step["labels"].ravel()[sample] for step in steps]),
                                  np.array([step["centers"] for step in steps]),
                                  [step["labels"] for step in steps], [step["inertia"] for step in steps],
                                  axis_names=FEATURE_AXES[result.info["feature_space"]],
                                  colors=viz.label_colors(len(steps[0]["centers"]) - 1)[brightness_ranks(result)],
                                  title=f"K-means, K = {_params['n_clusters']}")
    summaries = {}
    for frame in fig.frames:
        index = int(frame.name)
        changed = int(np.count_nonzero(steps[index]["labels"] != steps[index - 1]["labels"])) if index else None
        summaries[frame.name] = (steps[index]["inertia"], changed)
    return KmeansSteps(fig, summaries, len(steps))


def kmeans_figure(image: np.ndarray, image_key: str, **params: Any) -> KmeansSteps | None:
    """The iteration-by-iteration animation of ``kmeans(image, **params)`` (cached); a
    bad parameter becomes an ``st.error`` and None."""
    try:
        return _kmeans_steps(image_key, runner.params_key(params), image, params)
    except segcore.SegcoreError as error:
        st.error(f"K-means: {error}", icon=":material/error:")
        return None
