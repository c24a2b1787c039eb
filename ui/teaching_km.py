"""Helpers of the K-means page: palette, legend, elbow chart and the step-by-step figure."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import streamlit as st

import segcore
from segcore import viz
from segcore.result import SegmentationResult

from . import animations, charts, runner
from .display import for_screen, legend_chips
from .state import Current

#: Pixels drawn in the k-means feature-space view.
SAMPLE_POINTS = 2000
#: Pixels the elbow chart's fits use (one sample shared by every K).
ELBOW_SAMPLE = 20_000

FEATURE_SPACES = {"rgb": "RGB", "lab": "CIE Lab (perceptual)", "hsv": "HSV (hue on a colour wheel)",
                  "gray": "Gray level"}
FEATURE_AXES = {"rgb": ("R", "G", "B"), "lab": ("L*", "a*", "b*"), "hsv": ("S·cos H", "S·sin H", "V"),
                "gray": ("gray level",)}

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
    return legend_chips([(f"cluster {cluster} · {100 * counts[cluster] / total:.1f}%", colours[rank])
                         for rank, cluster in enumerate(order)])


def palette_figure(result: SegmentationResult):
    """The palette chart with the clusters darkest first."""
    order = np.asarray(result.info["order_by_brightness"])
    colours, counts = np.asarray(result.info["center_colors"]), np.asarray(result.info["counts"])
    return charts.palette_chart(colours[order], counts[order], names=[f"cluster {k}" for k in order],
                                title="Clusters: mean colour and pixel count (darkest first)")


@runner.cached_view
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


@runner.cached_view
def _kmeans_steps(image_key: str, params_key: str, _image: np.ndarray, _params: dict[str, Any]) -> KmeansSteps:
    from segcore.methods.clustering import pixel_features

    # Not the result store: every step holds a label image; the views store keeps only the figure.
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
