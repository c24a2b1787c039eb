"""Helpers of the Region growing page: seeds, the step-by-step figure, tables and sentences.

The page stays thin: it lays out widgets and calls these, which run the (cached) segcore calls
the figures need and keep the per-session seed list.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import cv2
import numpy as np
import streamlit as st

import segcore
from segcore import viz
from segcore.result import SegmentationResult
from segcore.samples import SEED_GRID  # noqa: F401 (the page shows it)

from . import animations, runner
from .display import for_screen
from .state import Current

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
SEED_MODES = {"auto": "Automatic (one per Otsu object)", "manual": "My seeds (click or type)"}



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


def scale_seeds(seeds: list[tuple[int, int]], scale: float, shape: tuple[int, int]) -> list[tuple[int, int]]:
    """Seeds moved onto a scaled copy of the image, without duplicates."""
    moved = [(min(int(row * scale), shape[0] - 1), min(int(col * scale), shape[1] - 1)) for row, col in seeds]
    return list(dict.fromkeys(moved))


class Growth(NamedTuple):
    figure: Any  # plotly Figure of animations.growth_animation; None when nothing grew
    summaries: dict[str, tuple[int, int, int]]  # frame name -> (wave, pixels so far, pixels new in this frame)
    seeds: list[tuple[int, int]]


@runner.cached_view
def _growth(image_key: str, params_key: str, _image: np.ndarray, _params: dict[str, Any]) -> Growth:
    # Not the result store: a result with steps holds up to 100 label images
    # (26 MB at 512 x 512); the views store keeps only the compact figure.
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
