"""Plotly charts of a training run: loss per step, validation scores per epoch, the loss lab overlay."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")


def _layout(fig: go.Figure, title: str, x: str, y: str, *, y_range=None) -> go.Figure:
    fig.update_layout(title=title, height=300, margin=dict(l=40, r=10, t=40, b=40), xaxis_title=x,
                      yaxis_title=y, legend=dict(orientation="h", y=-0.25), uirevision="keep")
    if y_range is not None:
        fig.update_yaxes(range=y_range)
    return fig


def smooth(values: Sequence[float], window: int = 10) -> np.ndarray:
    """Running mean over the last ``window`` values (shorter at the start)."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return values
    sums = np.cumsum(np.insert(values, 0, 0.0))
    counts = np.minimum(np.arange(1, values.size + 1), window)
    return (sums[1:] - sums[np.maximum(np.arange(1, values.size + 1) - window, 0)]) / counts


def loss_chart(runs: Sequence[tuple[str, Sequence[tuple[int, float, float]]]], *, title: str = "Training loss per step"
               ) -> go.Figure:
    """One line per run: the loss of each step (faint) and its running mean."""
    fig = go.Figure()
    for i, (label, steps) in enumerate(runs):
        color = COLORS[i % len(COLORS)]
        x = [s[0] for s in steps]
        y = [s[2] for s in steps]
        mode = "lines+markers" if len(steps) < 30 else "lines"  # the first steps are visible as points
        name = label if len(runs) > 1 else "loss"
        fig.add_trace(go.Scatter(x=x, y=y, mode=mode, name=f"{name} (each step)", line=dict(color=color, width=1),
                                 marker=dict(size=4), opacity=0.4, showlegend=len(runs) == 1))
        fig.add_trace(go.Scatter(x=x, y=smooth(y), mode="lines", name=f"{name} (mean of the last 10)",
                                 line=dict(color=color, width=2.5)))
    return _layout(fig, title, "step", "loss")


def score_chart(runs: Sequence[tuple[str, Sequence]], *, title: str = "Validation IoU and Dice") -> go.Figure:
    """Validation IoU (solid) and Dice (dotted) after each validation pass, per run, by step."""
    fig = go.Figure()
    for i, (label, validations) in enumerate(runs):
        color = COLORS[i % len(COLORS)]
        x = [v.step for v in validations]
        prefix = f"{label}: " if len(runs) > 1 else ""
        fig.add_trace(go.Scatter(x=x, y=[v.scores["val_iou"] for v in validations], mode="lines+markers",
                                 name=f"{prefix}IoU", line=dict(color=color, width=2.5)))
        fig.add_trace(go.Scatter(x=x, y=[v.scores["val_dice"] for v in validations], mode="lines+markers",
                                 name=f"{prefix}Dice", line=dict(color=color, width=1.5, dash="dot")))
    return _layout(fig, title, "step", "score (mean over validation images)", y_range=[0, 1])
