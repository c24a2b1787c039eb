"""Step-by-step views of region growing and k-means ("Watch it work"): plotly animations."""

from __future__ import annotations

import base64
from typing import Sequence

import cv2
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from segcore.viz import label_colors
from ui.charts import LAYOUT, rgb

_REGION_ALPHA = 150  # of 255: the image stays visible under a region's tint
_NEW_PIXELS = (255, 255, 255)  # the newest wave of a growth, drawn opaque
_GRID_OUTSIDE, _GRID_REGION, _GRID_NEW = "#f2f2f2", "#9ecae1", "#fd8d3c"


def growth_animation(image: np.ndarray, steps: Sequence[np.ndarray], *, waves: Sequence[int] | None = None,
                     seeds: Sequence[tuple[int, int]] = (), max_side: int = 360, max_frames: int = 100,
                     title: str = "Region growing") -> go.Figure:
    """Regions growing wave by wave: an animation with a slider and Play/Pause buttons.

    Parameters
    ----------
    image : ndarray
        (H, W) gray or (H, W, 3) RGB uint8 picture drawn under the regions.
    steps : sequence of ndarray
        Cumulative (H, W) label images, one per step, as
        ``region_growing(..., return_steps=True).info["steps"]``: 0 outside
        every region, label ``i`` in the region of seed ``i - 1``.
    waves : sequence of int, optional
        The wave each step shows (``info["step_waves"]``); default 0, 1, ...
    seeds : sequence of (row, col), optional
        Seed pixels, drawn as crosses.
    max_side : int, optional
        The picture is shrunk to at most this many pixels on its longest
        side; see Notes.
    max_frames : int, optional
        Most animation frames; longer growths show evenly spaced steps
        (always the first and the last).
    title : str, optional
        Start of every frame's title (the wave and the pixel counts follow).

    Returns
    -------
    plotly.graph_objects.Figure
        Left: the picture with each region tinted in its seed's colour (the
        colours of :func:`segcore.viz.colorize`) and the pixels added since
        the previous frame in white. Right: pixels in all regions against
        the wave, with the current frame marked. One frame per step shown,
        named by the step's index (``"0"``, ``"1"``, ...); it opens at the
        first. :func:`show_frame` opens it at another.

    Raises
    ------
    ValueError
        When ``steps`` is empty or a step's shape differs from the image's.

    Notes
    -----
    The image is stored once (JPEG) and each frame adds a small indexed PNG
    with transparency, so a hundred frames of a 512 x 512 image stay near
    1 MB of figure data. Shrinking keeps the largest label of each block
    before sampling, so one-pixel-wide waves and single seeds stay visible.

    Examples
    --------
    >>> steps = [np.array([[0, 1], [0, 0]]), np.array([[1, 1], [0, 1]])]
    >>> fig = growth_animation(np.zeros((2, 2), np.uint8), steps, seeds=[(0, 1)])
    >>> len(fig.frames), fig.layout.sliders[0].steps[1].label
    (2, '1')
    """
    if not len(steps):
        raise ValueError("steps is empty: there is no growth to show")
    picture = _as_rgb(np.asarray(image))
    height, width = picture.shape[:2]
    if any(np.shape(step) != (height, width) for step in steps):
        raise ValueError(f"every step must be {height}x{width}, the size of the image")
    waves = list(range(len(steps))) if waves is None else [int(w) for w in waves]
    sizes = [int(np.count_nonzero(step)) for step in steps]
    shown = _frame_indices(len(steps), max_frames)
    scale = min(1.0, max_side / max(height, width))
    small_steps = [_shrink_labels(np.asarray(steps[i]), scale) for i in shown]
    n_labels = max(int(np.max(steps[-1])), 1)
    # Palette index 0 is transparent, 1..n the regions, n + 1 the newest pixels.
    palette = np.vstack([[0, 0, 0], _palette(n_labels), [_NEW_PIXELS]])
    alpha = [0] + [_REGION_ALPHA] * n_labels + [255]

    def overlay(position: int) -> str:
        current = small_steps[position]
        indices = current.astype(np.intp)
        earlier = small_steps[position - 1] > 0 if position else np.zeros(current.shape, dtype=bool)
        indices[(current > 0) & ~earlier] = n_labels + 1
        return _indexed_png_uri(indices, palette, alpha)

    def frame_title(position: int) -> str:
        index = shown[position]
        added = sizes[index] - (sizes[shown[position - 1]] if position else 0)
        return f"{title} · wave {waves[index]}: {sizes[index]:,} in regions (+{added:,} in white)"

    fig = make_subplots(rows=1, cols=2, column_widths=[0.6, 0.4], horizontal_spacing=0.1)
    fig.add_trace(go.Image(source=_jpeg_uri(_shrink_picture(picture, scale)), hoverinfo="skip", name="image"),
                  row=1, col=1)
    fig.add_trace(go.Image(source=overlay(0), hoverinfo="skip", name="regions"), row=1, col=1)
    # Pixel centres of the shrunk picture sit at whole numbers.
    seed_rows = (np.array([s[0] for s in seeds], dtype=float) + 0.5) * scale - 0.5
    seed_cols = (np.array([s[1] for s in seeds], dtype=float) + 0.5) * scale - 0.5
    fig.add_trace(go.Scatter(x=seed_cols, y=seed_rows, mode="markers", name="seeds", hoverinfo="skip",
                             marker=dict(symbol="x", size=11 if len(seeds) <= 30 else 7, color="white",
                                         line=dict(width=1.5, color="black"))),
                  row=1, col=1)
    fig.add_trace(go.Scatter(x=waves, y=sizes, mode="lines", name="pixels", line=dict(width=3, color="#4C78A8")),
                  row=1, col=2)
    fig.add_trace(go.Scatter(x=[waves[0]], y=[sizes[0]], mode="markers", name="now",
                             marker=dict(size=15, symbol="circle-open", line=dict(width=3, color="#d62728"))),
                  row=1, col=2)
    fig.frames = [go.Frame(name=str(index), traces=[1, 4],
                           data=[go.Image(source=overlay(p)), go.Scatter(x=[waves[index]], y=[sizes[index]])],
                           layout=go.Layout(title_text=frame_title(p)))
                  for p, index in enumerate(shown)]
    _animation_layout(fig, title=frame_title(0), height=560, duration=250, prefix="wave ",
                      labels=[str(waves[i]) for i in shown])
    _picture_axes(fig, row=1, col=1)
    fig.update_xaxes(title_text="wave", row=1, col=2)
    fig.update_yaxes(title_text="pixels in regions", rangemode="tozero", row=1, col=2)
    return fig


def kmeans_animation(features: np.ndarray, step_labels: np.ndarray, step_centers: np.ndarray,
                     label_images: Sequence[np.ndarray], inertias: Sequence[float], *,
                     axis_names: Sequence[str] = ("R", "G", "B"), colors: np.ndarray | None = None,
                     max_frames: int = 60, max_side: int = 320, title: str = "K-means") -> go.Figure:
    """K-means iteration by iteration: pixels and centres in feature space, the
    label image and the inertia, animated together.

    Parameters
    ----------
    features : ndarray, shape (N, F)
        Feature rows of a sample of pixels. The first three columns are
        drawn (3-D); with one or two columns the view is 2-D, and one
        column gets a random vertical spread so the points do not overlap.
    step_labels : ndarray, shape (T, N)
        Cluster of each sampled pixel after each of the T steps.
    step_centers : ndarray, shape (T, K, F)
        Centres at each step (the same columns as ``features`` first).
    label_images : sequence of T ndarrays (H, W)
        Cluster of every pixel at each step.
    inertias : sequence of T floats
        Inertia at each step.
    axis_names : sequence of str, optional
        Names of the drawn feature columns.
    colors : ndarray, shape (K, 3), optional
        RGB colour of each cluster, the same in every panel (default: the
        colours of labels 1..K in :func:`segcore.viz.colorize`).
    max_frames : int, optional
        Most animation frames; longer runs show evenly spaced steps (always
        the first and the last).
    max_side : int, optional
        Label images are shrunk (nearest) to at most this many pixels on
        their longest side.
    title : str, optional
        Start of every frame's title (the iteration and inertia follow).

    Returns
    -------
    plotly.graph_objects.Figure
        Top left: the sampled pixels coloured by their cluster at the
        current step, the centres (diamonds) and the path each centre has
        travelled so far. Top right: the label image at that step. Bottom:
        inertia per step with the current step marked. Frames are named by
        step index and driven by the slider and Play/Pause buttons; it opens
        at the first. :func:`show_frame` opens it at another.

    Raises
    ------
    ValueError
        When there are no steps or the step counts disagree.

    Notes
    -----
    The points never move, only their colours change: they are stored once
    and each frame carries one small integer per point and an indexed PNG
    of the label image, which keeps the figure compact.

    Examples
    --------
    >>> features = np.array([[0.0, 0, 0], [1, 1, 1], [9, 9, 9]])
    >>> labels = np.array([[0, 0, 1], [0, 0, 1]])
    >>> centers = np.array([[[0.0, 0, 0], [9, 9, 9]], [[0.5, 0.5, 0.5], [9, 9, 9]]])
    >>> images = [np.array([[0, 1]]), np.array([[0, 1]])]
    >>> fig = kmeans_animation(features, labels, centers, images, [50.0, 0.5])
    >>> len(fig.frames), fig.data[0].type
    (2, 'scatter3d')
    """
    features = np.asarray(features, dtype=float)
    step_labels = np.asarray(step_labels)
    step_centers = np.asarray(step_centers, dtype=float)
    n_steps = len(step_labels)
    if not n_steps or not (len(step_centers) == len(label_images) == len(inertias) == n_steps):
        raise ValueError("step_labels, step_centers, label_images and inertias need the same, non-zero, "
                         f"number of steps; got {len(step_labels)}, {len(step_centers)}, "
                         f"{len(label_images)}, {len(inertias)}")
    n_clusters = step_centers.shape[1]
    colors = _palette(n_clusters) if colors is None else np.asarray(colors, dtype=np.uint8)
    shown = _frame_indices(n_steps, max_frames)
    dims = min(3, features.shape[1])
    points = features[:, :dims].astype(np.float32)
    centers = step_centers[:, :, :dims]
    if dims == 1:
        # A 1-D feature drawn as a strip: a fixed random height spreads the points.
        spread = np.random.default_rng(0).uniform(-1, 1, len(points)).astype(np.float32)
        points = np.column_stack([points[:, 0], spread])
        centers = np.concatenate([centers, np.zeros(centers.shape[:2] + (1,))], axis=2)
    axes = "xyz"[: points.shape[1]]
    # Cluster k is the value k, in the middle of its own band of the colour scale.
    colorscale = [[edge / n_clusters, rgb(colors[k])] for k in range(n_clusters) for edge in (k, k + 1)]
    scale = min(1.0, max_side / max(np.shape(label_images[0])))
    inertias = [float(v) for v in inertias]

    def coords(values: np.ndarray) -> dict[str, np.ndarray]:
        return {axis: values[..., i] for i, axis in enumerate(axes)}

    def paths(index: int) -> dict[str, np.ndarray]:
        # Each centre's positions up to this step, the centres separated by gaps.
        track = centers[: index + 1].transpose(1, 0, 2)
        gap = np.full((n_clusters, 1, track.shape[2]), np.nan)
        return coords(np.concatenate([track, gap], axis=1).reshape(-1, track.shape[2]))

    def picture(index: int) -> str:
        small = _shrink_labels(np.asarray(label_images[index]), scale, keep_thin=False)
        return _indexed_png_uri(small.astype(np.intp), colors)

    def frame_title(index: int) -> str:
        return f"{title} · iteration {index}: inertia {inertias[index]:,.0f}"

    three_d = dims == 3
    scatter = go.Scatter3d if three_d else go.Scatter
    point_size, centre_size = (2.5, 7) if three_d else (5, 14)
    fig = make_subplots(rows=2, cols=2, column_widths=[0.55, 0.45], row_heights=[0.72, 0.28],
                        specs=[[{"type": "scene" if three_d else "xy"}, {"type": "xy"}],
                               [{"type": "xy", "colspan": 2}, None]],
                        vertical_spacing=0.1, horizontal_spacing=0.06)
    fig.add_trace(scatter(**coords(points), mode="markers", name="pixels", hoverinfo="skip",
                          marker=dict(size=point_size, color=step_labels[0].astype(np.uint8), colorscale=colorscale,
                                      cmin=-0.5, cmax=n_clusters - 0.5, opacity=0.6)),
                  row=1, col=1)
    fig.add_trace(scatter(**paths(0), mode="lines", name="centre paths", hoverinfo="skip",
                          line=dict(color="black", width=3)), row=1, col=1)
    fig.add_trace(scatter(**coords(centers[0]), mode="markers", name="centres",
                          marker=dict(size=centre_size, symbol="diamond", color=[rgb(c) for c in colors],
                                      line=dict(width=2, color="black"))), row=1, col=1)
    fig.add_trace(go.Image(source=picture(0), hoverinfo="skip", name="labels"), row=1, col=2)
    fig.add_trace(go.Scatter(x=list(range(n_steps)), y=inertias, mode="lines+markers", name="inertia",
                             line=dict(width=3, color="#4C78A8")), row=2, col=1)
    fig.add_trace(go.Scatter(x=[0], y=[inertias[0]], mode="markers", name="now",
                             marker=dict(size=15, symbol="circle-open", line=dict(width=3, color="#d62728"))),
                  row=2, col=1)
    fig.frames = [go.Frame(name=str(i), traces=[0, 1, 2, 3, 5],
                           data=[scatter(marker=dict(color=step_labels[i].astype(np.uint8))),
                                 scatter(**paths(i)), scatter(**coords(centers[i])),
                                 go.Image(source=picture(i)), go.Scatter(x=[i], y=[inertias[i]])],
                           layout=go.Layout(title_text=frame_title(i)))
                  for i in shown]
    _animation_layout(fig, title=frame_title(0), height=860, duration=500, prefix="iteration ",
                      labels=[str(i) for i in shown])
    if three_d:
        # The default camera looks down the R = G = B diagonal, where every gray pixel would hide behind one point.
        fig.update_scenes(xaxis_title=axis_names[0], yaxis_title=axis_names[1], zaxis_title=axis_names[2],
                          aspectmode="cube", camera=dict(eye=dict(x=2.2, y=-0.8, z=0.9)))
    else:
        fig.update_xaxes(title_text=axis_names[0], row=1, col=1)
        fig.update_yaxes(title_text=axis_names[1] if dims == 2 else "(spread for visibility)",
                         showticklabels=dims == 2, row=1, col=1)
    _picture_axes(fig, row=1, col=2)
    fig.update_xaxes(title_text="iteration", dtick=max(1, int(np.ceil(n_steps / 12))), row=2, col=1)
    fig.update_yaxes(title_text="inertia", row=2, col=1)
    return fig


def show_frame(fig: go.Figure, name: str) -> go.Figure:
    """A copy of an animated figure that opens at the frame called ``name``.

    The frame's data and layout are applied to the figure's traces and its
    slider is moved there; playing continues from that frame.

    Raises
    ------
    ValueError
        When the figure has no frame called ``name``.

    Examples
    --------
    >>> steps = [np.array([[1, 0]]), np.array([[1, 1]])]
    >>> fig = show_frame(growth_animation(np.zeros((1, 2), np.uint8), steps), "1")
    >>> fig.layout.sliders[0].active, fig.data[4].y
    (1, (2,))
    """
    names = [frame.name for frame in fig.frames]
    if name not in names:
        raise ValueError(f"the figure has no frame {name!r}; its frames are {', '.join(names)}")
    frame = fig.frames[names.index(name)]
    shown = go.Figure(fig)
    for index, trace in zip(frame.traces, frame.data):
        update = trace.to_plotly_json()
        update.pop("type", None)
        shown.data[index].update(update)
    shown.layout.update(frame.layout)
    for slider in shown.layout.sliders:
        slider.active = names.index(name)
    return shown


def value_grid(values: np.ndarray, *, region: np.ndarray | None = None, new: np.ndarray | None = None,
               seed: tuple[int, int] | None = None, title: str = "") -> go.Figure:
    """A small grid of numbers, one cell per pixel, for worked examples.

    Parameters
    ----------
    values : ndarray, shape (H, W)
        The numbers printed in the cells.
    region : ndarray of bool, shape (H, W), optional
        Cells already in the region (light blue).
    new : ndarray of bool, shape (H, W), optional
        Cells that just joined (orange); they win over ``region``.
    seed : (row, col), optional
        The cell outlined in black.
    title : str, optional

    Returns
    -------
    plotly.graph_objects.Figure
        A heatmap of the cell states (0 outside, 1 region, 2 new) with the
        values as text, rows counted from the top as in an image.

    Examples
    --------
    >>> fig = value_grid(np.array([[10, 12], [11, 13]]), region=np.array([[False, True], [False, False]]),
    ...                  seed=(0, 1))
    >>> fig.data[0].z.tolist()
    [[0, 1], [0, 0]]
    """
    values = np.asarray(values)
    state = np.zeros(values.shape, dtype=np.uint8)
    if region is not None:
        state[np.asarray(region, dtype=bool)] = 1
    if new is not None:
        state[np.asarray(new, dtype=bool)] = 2
    colorscale = [[0, _GRID_OUTSIDE], [1 / 3, _GRID_OUTSIDE], [1 / 3, _GRID_REGION], [2 / 3, _GRID_REGION],
                  [2 / 3, _GRID_NEW], [1, _GRID_NEW]]
    rows, cols = values.shape
    fig = go.Figure(go.Heatmap(z=state, zmin=-0.5, zmax=2.5, colorscale=colorscale, showscale=False, xgap=3, ygap=3,
                               text=[[f"{v:g}" for v in row] for row in values.tolist()], texttemplate="%{text}",
                               textfont=dict(size=20, color="black"),
                               hovertemplate="row %{y}, col %{x}: %{text}<extra></extra>"))
    if seed is not None:
        row, col = seed
        fig.add_shape(type="rect", x0=col - 0.5, x1=col + 0.5, y0=row - 0.5, y1=row + 0.5,
                      line=dict(color="black", width=4))
    fig.update_layout(template="plotly_white", font=dict(size=14), height=300,
                      title=dict(text=title, x=0.5, xanchor="center", y=0.96, yanchor="top"),
                      margin=dict(l=40, r=10, t=60, b=10))
    fig.update_xaxes(tickvals=list(range(cols)), side="top", showgrid=False, zeroline=False, constrain="domain")
    fig.update_yaxes(tickvals=list(range(rows)), autorange="reversed", showgrid=False, zeroline=False,
                     scaleanchor="x", constrain="domain")
    return fig


def _palette(n_labels: int) -> np.ndarray:
    """(n_labels, 3) uint8 colours of labels 1..n_labels, as :func:`segcore.viz.colorize` paints them."""
    return label_colors(n_labels)[1:]


def _frame_indices(n_steps: int, max_frames: int) -> list[int]:
    """Evenly spaced step indices, the first and the last always among them."""
    if n_steps <= max_frames:
        return list(range(n_steps))
    return np.unique(np.linspace(0, n_steps - 1, max(2, max_frames)).round().astype(int)).tolist()


def _as_rgb(picture: np.ndarray) -> np.ndarray:
    return np.repeat(picture[:, :, None], 3, axis=2) if picture.ndim == 2 else picture


def _shrink_picture(picture: np.ndarray, scale: float) -> np.ndarray:
    if scale >= 1:
        return picture
    size = (max(1, round(picture.shape[1] * scale)), max(1, round(picture.shape[0] * scale)))
    return cv2.resize(picture, size, interpolation=cv2.INTER_AREA)


def _shrink_labels(labels: np.ndarray, scale: float, *, keep_thin: bool = True) -> np.ndarray:
    """Nearest-neighbour shrink; with ``keep_thin``, each block's largest label is kept first."""
    if scale >= 1:
        return labels
    work = labels.astype(np.uint16 if labels.max(initial=0) < 2**16 else np.float32)
    if keep_thin:
        block = int(np.ceil(1 / scale))
        work = cv2.dilate(work, np.ones((block, block), np.uint8))
    size = (max(1, round(labels.shape[1] * scale)), max(1, round(labels.shape[0] * scale)))
    return cv2.resize(work, size, interpolation=cv2.INTER_NEAREST).astype(labels.dtype)


def _indexed_png_uri(indices: np.ndarray, palette: np.ndarray, alpha: Sequence[int] | None = None) -> str:
    """A data URI of an indexed PNG: pixel value i is painted ``palette[i]`` (opacity ``alpha[i]``).

    Indexed PNGs of label pictures are several times smaller than RGB ones.
    """
    from PIL import Image

    picture = Image.fromarray(indices.astype(np.uint8), mode="P")
    picture.putpalette(np.asarray(palette, dtype=np.uint8).ravel().tolist())
    options = {} if alpha is None else {"transparency": bytes(alpha)}
    return _data_uri(picture, "PNG", **options)


def _jpeg_uri(picture: np.ndarray) -> str:
    from PIL import Image

    return _data_uri(Image.fromarray(np.ascontiguousarray(picture)), "JPEG", quality=88)


def _data_uri(picture, image_format: str, **options) -> str:
    import io

    buffer = io.BytesIO()
    picture.save(buffer, format=image_format, **options)
    return f"data:image/{image_format.lower()};base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _picture_axes(fig: go.Figure, *, row: int, col: int) -> None:
    """Hide the axes of an image subplot and keep its pixels square."""
    anchor = fig.get_subplot(row, col).xaxis.plotly_name.replace("axis", "")
    fig.update_xaxes(visible=False, row=row, col=col)
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor=anchor, row=row, col=col)


def _animation_layout(fig: go.Figure, *, title: str, height: int, duration: int, prefix: str,
                      labels: Sequence[str]) -> None:
    """Shared layout of the animations: Play/Pause buttons and a slider under the plots."""
    play = dict(frame=dict(duration=duration, redraw=True), transition=dict(duration=0), fromcurrent=True,
                mode="immediate")
    still = dict(frame=dict(duration=0, redraw=True), transition=dict(duration=0), mode="immediate")
    fig.update_layout(**LAYOUT)
    fig.update_layout(
        title_text=title, showlegend=False, height=height, margin=dict(l=30, r=20, t=60, b=110),
        updatemenus=[dict(type="buttons", direction="left", x=0, xanchor="left", y=-0.06, yanchor="top",
                          pad=dict(t=10, r=10), showactive=False,
                          buttons=[dict(label="Play", method="animate", args=[None, play]),
                                   dict(label="Pause", method="animate", args=[[None], still])])],
        sliders=[dict(active=0, x=0.17, len=0.83, y=-0.06, yanchor="top", pad=dict(t=10),
                      currentvalue=dict(prefix=prefix, font=dict(size=14)),
                      steps=[dict(label=label, method="animate", args=[[frame.name], still])
                             for frame, label in zip(fig.frames, labels)])])
