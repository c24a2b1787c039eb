"""Plotly figure builders for the dashboard's charts (the animations are in :mod:`ui.animations`).

They take plain numbers (numpy arrays, dicts, lists of rows) and return
``plotly.graph_objects.Figure`` objects, so a notebook can show the same
charts. Colours of methods are fixed per name so a method keeps its colour
from chart to chart.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from .texts import format_seconds


METRIC_TITLES = {"iou": "IoU", "dice": "Dice", "pixel_accuracy": "Pixel accuracy",
                 "mean_iou": "Mean IoU", "precision": "Precision", "recall": "Recall",
                 "dsb_score": "DSB instance score"}
_METHOD_COLORS = ["#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2",
                  "#EECA3B", "#9D755D", "#FF9DA6", "#BAB0AC"]
# Title at the very top, legend in a row between it and the plot, so the two never overlap.
LAYOUT = dict(template="plotly_white", margin=dict(l=55, r=20, t=95, b=50), font=dict(size=14),
              title_y=0.97, title_yanchor="top",
              legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0))


def method_color(index: int) -> str:
    return _METHOD_COLORS[index % len(_METHOD_COLORS)]


def rgb(color: Sequence[int]) -> str:
    r, g, b = (int(c) for c in color[:3])
    return f"rgb({r},{g},{b})"


def histogram_chart(histogram: np.ndarray, *, thresholds: Iterable[float] = (),
                    title: str = "Gray-level histogram", log_y: bool = False,
                    curve: tuple[np.ndarray, np.ndarray] | None = None,
                    curve_name: str = "between-class variance") -> go.Figure:
    """Bars of a 256-bin histogram with a vertical line per threshold.

    ``curve`` = (x, y) adds a line on a second y axis (e.g. Otsu's
    between-class variance for every candidate threshold, with its maximum marked).
    """
    counts = np.asarray(histogram, dtype=float)
    fig = go.Figure(go.Bar(x=np.arange(len(counts)), y=counts, name="pixels",
                           marker_color="#8c8c8c", marker_line_width=0))
    for i, t in enumerate(thresholds):
        fig.add_vline(x=float(t), line_width=2, line_dash="dash", line_color="#d62728",
                      annotation_text=f"T = {float(t):g}", annotation_position="top right" if i % 2 == 0 else "top left")
    if curve is not None:
        x, y = (np.asarray(v, dtype=float) for v in curve)
        fig.add_trace(go.Scatter(x=x, y=y, name=curve_name, yaxis="y2", mode="lines",
                                 line=dict(color="#1f77b4", width=2)))
        if np.isfinite(y).any():
            best = int(np.nanargmax(y))
            # Named in the legend rather than labelled on the plot, where it would
            # collide with the threshold line's label when the two coincide.
            fig.add_trace(go.Scatter(x=[x[best]], y=[y[best]], yaxis="y2", mode="markers",
                                     marker=dict(size=12, color="#1f77b4", symbol="star"),
                                     name=f"maximum at {x[best]:g}"))
        fig.update_layout(yaxis2=dict(title=curve_name, overlaying="y", side="right", showgrid=False,
                                      rangemode="tozero"))
    fig.update_layout(title=title, xaxis_title="gray level (0 = black, 255 = white)",
                      yaxis_title="pixels", bargap=0, **LAYOUT)
    fig.update_xaxes(range=[-1, len(counts)])
    if log_y:
        fig.update_yaxes(type="log")
    return fig


def metrics_bar_chart(rows: Sequence[Mapping[str, object]], *, metrics: Sequence[str] = ("iou", "dice", "pixel_accuracy"),
                      title: str = "Scores against the ground truth") -> go.Figure:
    """Grouped bars: one group per method, one bar per metric (values 0..1)."""
    fig = go.Figure()
    names = [str(r["method"]) for r in rows]
    for i, metric in enumerate(metrics):
        values = [float(r.get(metric, np.nan)) if r.get(metric) is not None else np.nan for r in rows]
        fig.add_trace(go.Bar(name=METRIC_TITLES.get(metric, metric), x=names, y=values,
                             text=[f"{v:.3f}" if np.isfinite(v) else "" for v in values],
                             textposition="outside", marker_color=method_color(i)))
    fig.update_layout(title=title, barmode="group", yaxis=dict(range=[0, 1.12], title="score"), **LAYOUT)
    return fig


def seconds_chart(rows: Sequence[Mapping[str, object]], *, title: str = "Run time") -> go.Figure:
    """Horizontal bars of seconds per method."""
    names = [str(r["method"]) for r in rows]
    values = [float(r["seconds"]) for r in rows]
    fig = go.Figure(go.Bar(x=values, y=names, orientation="h",
                           marker_color=[method_color(i) for i in range(len(rows))],
                           text=[format_seconds(v) for v in values], textposition="auto"))
    fig.update_layout(title=title, xaxis_title="seconds", **LAYOUT)
    fig.update_yaxes(autorange="reversed")
    return fig


def agreement_heatmap(matrix: np.ndarray, names: Sequence[str], *,
                      title: str = "Agreement between methods (IoU of foregrounds)") -> go.Figure:
    """Symmetric matrix of pairwise IoU as an annotated heatmap."""
    values = np.asarray(matrix, dtype=float)
    fig = go.Figure(go.Heatmap(z=values, x=list(names), y=list(names), zmin=0, zmax=1,
                               colorscale="Viridis", colorbar=dict(title="IoU"),
                               text=[[f"{v:.2f}" for v in row] for row in values],
                               texttemplate="%{text}", hovertemplate="%{y} vs %{x}: %{z:.3f}<extra></extra>"))
    fig.update_layout(title=title, **LAYOUT)
    fig.update_yaxes(autorange="reversed")
    return fig


def elbow_chart(inertias: Mapping[int, float], *, chosen: int | None = None,
                title: str = "Elbow: inertia against the number of clusters K") -> go.Figure:
    ks = sorted(inertias)
    ys = [float(inertias[k]) for k in ks]
    fig = go.Figure(go.Scatter(x=ks, y=ys, mode="lines+markers", name="inertia", line=dict(width=3)))
    if chosen is not None and chosen in inertias:
        fig.add_trace(go.Scatter(x=[chosen], y=[inertias[chosen]], mode="markers", name=f"K = {chosen}",
                                 marker=dict(size=14, symbol="circle-open", line=dict(width=3))))
    fig.update_layout(title=title, xaxis_title="K (clusters)", yaxis_title="inertia (sum of squared distances)",
                      **LAYOUT)
    fig.update_xaxes(dtick=1)
    return fig


def palette_chart(colors: np.ndarray, counts: Sequence[int], *, names: Sequence[str] | None = None,
                  title: str = "Clusters: colour and size") -> go.Figure:
    """One bar per cluster, painted in its mean colour, height = pixel count."""
    counts = [int(c) for c in counts]
    total = max(sum(counts), 1)
    labels = list(names) if names is not None else [f"cluster {i}" for i in range(len(counts))]
    fig = go.Figure(go.Bar(x=labels, y=counts, marker_color=[rgb(c) for c in colors],
                           marker_line=dict(color="#333", width=1),
                           text=[f"{100 * c / total:.1f}%" for c in counts], textposition="outside"))
    fig.update_layout(title=title, yaxis_title="pixels", **LAYOUT)
    return fig


def line_chart(rows: Sequence[Mapping[str, object]], *, x: str, y: str, series: str = "method",
               title: str = "", x_title: str | None = None, y_title: str | None = None,
               y_range: tuple[float, float] | None = (0, 1.02)) -> go.Figure:
    """One line per ``series`` value through the (x, y) points of ``rows``."""
    fig = go.Figure()
    groups: dict[str, list[Mapping[str, object]]] = {}
    for row in rows:
        groups.setdefault(str(row[series]), []).append(row)
    for i, (name, items) in enumerate(groups.items()):
        items = sorted(items, key=lambda r: float(r[x]))
        fig.add_trace(go.Scatter(x=[float(r[x]) for r in items], y=[float(r[y]) for r in items],
                                 mode="lines+markers", name=name, line=dict(width=3, color=method_color(i))))
    fig.update_layout(title=title, xaxis_title=x_title or x, yaxis_title=y_title or METRIC_TITLES.get(y, y), **LAYOUT)
    if y_range is not None:
        fig.update_yaxes(range=list(y_range))
    return fig


def confusion_grid(y_true: np.ndarray, y_pred: np.ndarray, *, values: np.ndarray | None = None,
                   title: str = "Truth vs prediction, cell by cell") -> go.Figure:
    """A small grid where every cell is coloured TP / FP / FN / TN (for worked examples).

    ``values`` (optional) are printed in the cells, e.g. the pixel intensities.
    """
    truth = np.asarray(y_true) > 0
    pred = np.asarray(y_pred) > 0
    kind = np.where(truth & pred, 3, np.where(pred, 2, np.where(truth, 1, 0)))  # TN, FN, FP, TP
    names = np.array(["TN", "FN", "FP", "TP"])
    colorscale = [[0.0, "#f0f0f0"], [0.25, "#f0f0f0"], [0.25, "#5ec8f2"], [0.5, "#5ec8f2"],
                  [0.5, "#f25ee0"], [0.75, "#f25ee0"], [0.75, "#4c9a2a"], [1.0, "#4c9a2a"]]
    text = names[kind] if values is None else np.char.add(np.char.add(names[kind], "<br>"),
                                                           np.asarray(values).astype(str))
    fig = go.Figure(go.Heatmap(z=kind, zmin=-0.5, zmax=3.5, colorscale=colorscale, showscale=False,
                               text=text, texttemplate="%{text}", xgap=2, ygap=2,
                               hovertemplate="row %{y}, col %{x}: %{text}<extra></extra>"))
    fig.update_layout(title=title, **{**LAYOUT, "margin": dict(l=30, r=10, t=60, b=30)})
    fig.update_yaxes(autorange="reversed", scaleanchor="x", showgrid=False, dtick=1)
    fig.update_xaxes(showgrid=False, dtick=1, side="top")
    return fig


def size_histogram(sizes: Sequence[int], *, title: str = "Object sizes") -> go.Figure:
    """Histogram of object sizes in pixels (e.g. from :func:`segcore.instances.instance_sizes`)."""
    sizes = np.asarray(sizes)
    fig = go.Figure(go.Histogram(x=sizes, nbinsx=int(min(40, max(5, sizes.size // 2))), marker_color=_METHOD_COLORS[0]))
    fig.update_layout(title=title, xaxis_title="pixels per object", yaxis_title="objects", **LAYOUT)
    return fig
