"""Tests of ui.charts: every builder returns a Figure whose data carry its inputs."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ui import charts


def test_histogram_bars_are_the_histogram(rng):
    histogram = rng.integers(0, 500, 256)
    fig = charts.histogram_chart(histogram, title="H")
    assert isinstance(fig, go.Figure)
    bars = fig.data[0]
    assert isinstance(bars, go.Bar)
    np.testing.assert_array_equal(bars.x, np.arange(256))
    np.testing.assert_array_equal(bars.y, histogram)
    assert fig.layout.title.text == "H"
    assert tuple(fig.layout.xaxis.range) == (-1, 256)
    assert not fig.layout.shapes


def test_histogram_one_vline_per_threshold():
    fig = charts.histogram_chart(np.ones(256), thresholds=[85, 170.5])
    shapes = fig.layout.shapes
    assert len(shapes) == 2
    assert [s.x0 for s in shapes] == [85.0, 170.5] and [s.x1 for s in shapes] == [85.0, 170.5]
    assert all(s.type == "line" and s.yref == "y domain" for s in shapes)
    assert [a.text for a in fig.layout.annotations] == ["T = 85", "T = 170.5"]


def test_histogram_curve_and_its_maximum_marker(rng):
    x = np.arange(256)
    y = -((x - 97.0) ** 2) + rng.normal(0, 1, 256)
    y[:3] = np.nan  # undefined candidates (e.g. an empty class) must not win
    fig = charts.histogram_chart(np.ones(256), curve=(x, y), curve_name="variance")
    curve, marker = fig.data[1], fig.data[2]
    np.testing.assert_array_equal(curve.y, y)
    assert curve.yaxis == "y2" and curve.name == "variance"
    best = int(np.nanargmax(y))
    assert tuple(marker.x) == (best,) and tuple(marker.y) == (y[best],)
    assert marker.name == f"maximum at {best:g}"
    assert fig.layout.yaxis2.overlaying == "y"


def test_histogram_curve_without_finite_values_has_no_marker():
    fig = charts.histogram_chart(np.ones(256), curve=(np.arange(256), np.full(256, np.nan)))
    assert len(fig.data) == 2


def test_histogram_log_axis():
    assert charts.histogram_chart(np.ones(256), log_y=True).layout.yaxis.type == "log"


def test_metrics_bar_chart_one_trace_per_metric():
    rows = [{"method": "Otsu", "iou": 0.8, "dice": 0.9, "pixel_accuracy": 0.95},
            {"method": "K-means", "iou": 0.5, "dice": None, "pixel_accuracy": 0.7}]
    fig = charts.metrics_bar_chart(rows)
    assert [t.name for t in fig.data] == ["IoU", "Dice", "Pixel accuracy"]
    for trace in fig.data:
        assert tuple(trace.x) == ("Otsu", "K-means")
    assert tuple(fig.data[0].y) == (0.8, 0.5)
    assert fig.data[1].y[0] == 0.9 and np.isnan(fig.data[1].y[1])
    assert tuple(fig.data[1].text) == ("0.900", "")
    assert fig.layout.barmode == "group"


def test_metrics_bar_chart_chosen_metrics():
    fig = charts.metrics_bar_chart([{"method": "m", "recall": 0.25}], metrics=["recall", "mystery"])
    assert [t.name for t in fig.data] == ["Recall", "mystery"]
    assert fig.data[0].y == (0.25,) and np.isnan(fig.data[1].y[0])


def test_seconds_chart_bars_and_labels():
    fig = charts.seconds_chart([{"method": "a", "seconds": 0.0123}, {"method": "b", "seconds": 2.5}])
    bars = fig.data[0]
    assert bars.orientation == "h"
    assert tuple(bars.x) == (0.0123, 2.5) and tuple(bars.y) == ("a", "b")
    assert tuple(bars.text) == ("12 ms", "2.50 s")


def test_agreement_heatmap_z_is_the_matrix():
    matrix = np.array([[1.0, 0.25], [0.25, 1.0]])
    fig = charts.agreement_heatmap(matrix, ["a", "b"])
    heat = fig.data[0]
    np.testing.assert_array_equal(np.asarray(heat.z), matrix)
    assert tuple(heat.x) == ("a", "b") and tuple(heat.y) == ("a", "b")
    assert (heat.zmin, heat.zmax) == (0, 1)
    assert heat.text[0][1] == "0.25"


def test_elbow_x_sorted_and_chosen_marker():
    inertias = {4: 10.0, 2: 40.0, 3: 20.0}
    fig = charts.elbow_chart(inertias, chosen=3)
    line, chosen = fig.data
    assert tuple(line.x) == (2, 3, 4) and tuple(line.y) == (40.0, 20.0, 10.0)
    assert tuple(chosen.x) == (3,) and tuple(chosen.y) == (20.0,)
    assert len(charts.elbow_chart(inertias, chosen=9).data) == 1


def test_palette_chart_bars_in_cluster_colours():
    colors = np.array([[255, 0, 0], [0, 128, 255]], dtype=np.uint8)
    fig = charts.palette_chart(colors, [30, 10], names=["sky", "sea"])
    bars = fig.data[0]
    assert tuple(bars.x) == ("sky", "sea") and tuple(bars.y) == (30, 10)
    assert tuple(bars.marker.color) == ("rgb(255,0,0)", "rgb(0,128,255)")
    assert tuple(bars.text) == ("75.0%", "25.0%")
    assert tuple(charts.palette_chart(colors, [1, 1]).data[0].x) == ("cluster 0", "cluster 1")


def test_line_chart_one_trace_per_series_with_sorted_x():
    rows = [{"method": "A", "noise": 0.2, "iou": 0.5}, {"method": "B", "noise": 0.0, "iou": 0.9},
            {"method": "A", "noise": 0.0, "iou": 0.95}, {"method": "A", "noise": 0.1, "iou": 0.8},
            {"method": "B", "noise": 0.1, "iou": 0.7}]
    fig = charts.line_chart(rows, x="noise", y="iou", title="Noise sweep")
    assert [t.name for t in fig.data] == ["A", "B"]
    assert tuple(fig.data[0].x) == (0.0, 0.1, 0.2) and tuple(fig.data[0].y) == (0.95, 0.8, 0.5)
    assert tuple(fig.data[1].x) == (0.0, 0.1) and tuple(fig.data[1].y) == (0.9, 0.7)
    assert fig.data[0].line.color != fig.data[1].line.color
    assert fig.layout.yaxis.title.text == "IoU" and tuple(fig.layout.yaxis.range) == (0, 1.02)
    assert charts.line_chart(rows, x="noise", y="iou", y_range=None).layout.yaxis.range is None


def test_size_histogram_holds_the_sizes():
    sizes = np.array([10, 12, 50, 51, 52, 300])
    fig = charts.size_histogram(sizes)
    np.testing.assert_array_equal(fig.data[0].x, sizes)
    assert fig.data[0].nbinsx == 5
    assert charts.size_histogram(np.arange(200)).data[0].nbinsx == 40


def test_method_colours_cycle():
    assert charts.method_color(0) == charts.method_color(10) != charts.method_color(1)
