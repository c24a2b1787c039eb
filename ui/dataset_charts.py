"""Plotly figures of a dataset evaluation (the "Evaluate a dataset" page).

Each takes the per-image table (a pandas DataFrame with one row per image
and method: ``image``, ``method``, the scores, and grouping columns) and
returns a ``plotly.graph_objects.Figure``. A method keeps one colour across
the charts (its position in ``methods``).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

SCORE_TITLES = {
    "iou": "IoU", "dice": "Dice", "pixel_accuracy": "Pixel accuracy", "precision": "Pixel precision",
    "recall": "Pixel recall", "ap50": "AP at IoU 0.5", "ap75": "AP at IoU 0.75",
    "dsb_score": "DSB2018 score (mean AP)", "f1_50": "Object F1 at IoU 0.5", "pq": "Panoptic quality",
}
_COLORS = ["#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2", "#EECA3B", "#9D755D",
           "#FF9DA6", "#BAB0AC"]
_LAYOUT = dict(template="plotly_white", margin=dict(l=55, r=20, t=95, b=50), font=dict(size=14),
               title_y=0.97, title_yanchor="top",
               legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0))


def method_color(methods: Sequence[str], method: str) -> str:
    return _COLORS[list(methods).index(method) % len(_COLORS)] if method in methods else "#888888"


def distribution_chart(table: pd.DataFrame, score: str, methods: Sequence[str]) -> go.Figure:
    """One box per method with every image as a point (hover: the image id)."""
    fig = go.Figure()
    for method in methods:
        mine = table[table["method"] == method]
        fig.add_trace(go.Box(y=mine[score], name=method, boxpoints="all", jitter=0.4, pointpos=0,
                             marker=dict(size=6, opacity=0.6, color=method_color(methods, method)),
                             line=dict(color=method_color(methods, method)), text=mine["image"],
                             hovertemplate="%{text}<br>%{y:.3f}<extra>" + method + "</extra>",
                             showlegend=False))
    fig.update_layout(title=f"{SCORE_TITLES.get(score, score)} per image", yaxis_title=SCORE_TITLES.get(score, score),
                      **_LAYOUT)
    fig.update_yaxes(range=[-0.03, 1.03])
    return fig


def breakdown_chart(table: pd.DataFrame, score: str, column: str, methods: Sequence[str]) -> go.Figure:
    """Boxes of one score per value of a grouping column, one colour per method."""
    fig = go.Figure()
    order = sorted(table[column].astype(str).unique())
    for method in methods:
        mine = table[table["method"] == method]
        fig.add_trace(go.Box(x=mine[column].astype(str), y=mine[score], name=method, boxpoints="all", jitter=0.3,
                             pointpos=0, marker=dict(size=5, opacity=0.6, color=method_color(methods, method)),
                             line=dict(color=method_color(methods, method)), text=mine["image"],
                             hovertemplate="%{text}<br>%{y:.3f}<extra>" + method + "</extra>"))
    counts = table.drop_duplicates("image")[column].astype(str).value_counts()
    fig.update_layout(title=f"{SCORE_TITLES.get(score, score)} by {column}", boxmode="group",
                      yaxis_title=SCORE_TITLES.get(score, score), **_LAYOUT)
    fig.update_xaxes(categoryorder="array", categoryarray=order,
                     ticktext=[f"{value} ({counts.get(value, 0)})" for value in order], tickvals=order,
                     title=f"{column} (images)")
    fig.update_yaxes(range=[-0.03, 1.03])
    return fig


def ap_curve_chart(table: pd.DataFrame, thresholds: Sequence[float], methods: Sequence[str]) -> go.Figure:
    """Mean AP = TP/(TP+FP+FN) over the images at every IoU threshold, one line per method."""
    fig = go.Figure()
    for method in methods:
        curves = [curve for curve in table.loc[table["method"] == method, "ap_curve"] if isinstance(curve, list)]
        if not curves:
            continue
        fig.add_trace(go.Scatter(x=list(thresholds), y=np.mean(np.asarray(curves, dtype=float), axis=0),
                                 mode="lines+markers", name=method,
                                 line=dict(color=method_color(methods, method), width=3)))
    fig.update_layout(title="Average precision vs IoU threshold (mean over images)",
                      xaxis_title="IoU threshold for a match", yaxis_title="AP = TP / (TP + FP + FN)", **_LAYOUT)
    fig.update_yaxes(range=[-0.03, 1.03])
    return fig


def paired_chart(a: pd.Series, b: pd.Series, names: Sequence[str], label_a: str, label_b: str,
                 score: str) -> go.Figure:
    """Each image as a point (score of A, score of B); above the diagonal B wins."""
    fig = go.Figure(go.Scatter(x=a, y=b, mode="markers", text=list(names), marker=dict(size=8, opacity=0.7,
                                                                                       color="#4C78A8"),
                               hovertemplate="%{text}<br>A %{x:.3f} · B %{y:.3f}<extra></extra>",
                               name="images"))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(color="#999999", dash="dash"),
                             name="equal", hoverinfo="skip"))
    title = SCORE_TITLES.get(score, score)
    fig.update_layout(title=f"{title}: one point per image", xaxis_title=f"A: {label_a}",
                      yaxis_title=f"B: {label_b}", **_LAYOUT)
    fig.update_xaxes(range=[-0.03, 1.03])
    fig.update_yaxes(range=[-0.03, 1.03])
    return fig
