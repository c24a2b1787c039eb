"""The Robustness lab page: the sweep chart, the pictures under it, the table and the CSV.

Every number the page draws is compared with :func:`segcore.robustness.sweep`
called directly with the page's settings (the page goes through the app's
cache, the test does not). The default sweep includes the U-Net, so the
module's first test pays its import; the other tests sweep quick methods.
"""

from __future__ import annotations

import io
import math

import pandas as pd
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

import segcore.robustness
from segcore.compare import Preset
from segcore.errors import InvalidParameterError, SegcoreError
from segcore.robustness import DEFAULT_SWEEP_PRESETS, levels_between, sweep
from segcore.synthetic import DEGRADATIONS
from tests.app.conftest import APP, PAGES_DIR, TIMEOUT, Lab

PAGE = f"{PAGES_DIR}/robustness.py"
QUICK = ["Otsu threshold", "Local threshold (mean)"]
# The page's defaults, as its widgets start.
SCENE = {"n_objects": 12, "radius": (8, 16), "eccentricity": 0.3, "contrast": 0.5, "texture": 0.0,
         "touching": False, "dark_objects": False, "background": 0.2}
BASELINE = {"noise": 0.03, "illumination": 0.0, "blur": 1.0}
SIZE = 256


class RobustnessLab(Lab):
    """A session opened on the Robustness page, with some widget values set before its first run."""

    def __init__(self, **widgets) -> None:
        self.at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        for key, value in widgets.items():
            self.at.session_state[key] = value
        self.at.switch_page(PAGE)
        self.at.run()

    def chart(self) -> dict:
        return self.charts()["rb_chart"]

    def traces(self) -> dict[str, tuple[list[float], list[float]]]:
        """Each line of the chart by method: (x, y)."""
        return {trace["name"]: (list(self.values(trace["x"])), list(self.values(trace["y"])))
                for trace in self.chart()["data"]}

    def run_caption(self) -> str:
        (line,) = [c.value for c in self.at.caption if " runs in " in c.value]
        return line


def direct_sweep(methods, degradation="noise", levels=None, *, size=SIZE, scene=SCENE, baseline=BASELINE, random_state=0):
    low, high = DEGRADATIONS[degradation]["range"]
    levels = levels_between(low, high, 8) if levels is None else levels
    return sweep(list(methods), degradation, levels, shape=(size, size), scene=scene, baseline=baseline, random_state=random_state)


def expected_traces(result, metric="iou") -> dict[str, tuple[list[float], list[float]]]:
    return {method: ([r["level"] for r in result.rows if r["method"] == method],
                     [r[metric] for r in result.rows if r["method"] == method]) for method in result.methods}


def assert_chart_shows(lab: RobustnessLab, result, metric="iou") -> None:
    shown = lab.traces()
    expected = expected_traces(result, metric)
    assert list(shown) == list(expected)
    for method, (x, y) in expected.items():
        assert shown[method][0] == pytest.approx(x, abs=0)
        assert shown[method][1] == pytest.approx(y, abs=1e-12), method


def shown_levels(levels: list[float]) -> list[float]:
    """The levels the page pictures: first, one third, two thirds, last."""
    return sorted({levels[0], levels[len(levels) // 3], levels[(2 * len(levels)) // 3], levels[-1]})


@pytest.fixture
def downloads(monkeypatch) -> dict[str, tuple[bytes, str]]:
    """Files the page offers for download during the test: file name -> (data, mime type)."""
    offered = {}
    real_add = MediaFileManager.add

    def add(self, path_or_data, mimetype, coordinates, file_name=None, is_for_static_download=False):
        if is_for_static_download:
            offered[file_name] = (path_or_data, mimetype)
        return real_add(self, path_or_data, mimetype, coordinates, file_name=file_name,
                        is_for_static_download=is_for_static_download)

    monkeypatch.setattr(MediaFileManager, "add", add)
    return offered


@pytest.fixture(scope="module")
def default_page() -> RobustnessLab:
    """The page as a fresh session shows it (five methods, noise, 8 levels); tests only read it."""
    lab = RobustnessLab()
    lab.assert_ok()
    return lab


@pytest.fixture(scope="module")
def default_sweep():
    return direct_sweep(DEFAULT_SWEEP_PRESETS)


# --- the default sweep -------------------------------------------------------------------------


def test_defaults_draw_one_line_per_method_equal_to_a_direct_sweep(default_page, default_sweep):
    default_page.assert_ok()
    at = default_page.at
    assert at.title[0].value == "Robustness lab"
    assert at.selectbox(key="rb_degradation").value == "noise"
    assert at.slider(key="rb_levels").value == 8
    assert at.multiselect(key="rb_methods").value == list(DEFAULT_SWEEP_PRESETS)
    assert_chart_shows(default_page, default_sweep)
    layout = default_page.chart()["layout"]
    assert layout["title"]["text"] == "IoU as gaussian noise (σ, fraction of range) grows"
    assert layout["xaxis"]["title"]["text"] == DEGRADATIONS["noise"]["title"]
    assert default_page.run_caption().startswith("40 runs in ")
    assert not at.warning  # no run failed
    # the sweep shows what it is for: at the strongest noise the U-Net beats a single global threshold
    last = {r["method"]: r["iou"] for r in default_sweep.rows if r["level"] == 0.4}
    first = {r["method"]: r["iou"] for r in default_sweep.rows if r["level"] == 0.0}
    assert all(first[m] > 0.9 for m in first)
    assert last["Otsu threshold"] < 0.5


def test_pictures_show_four_levels_the_truth_and_each_methods_errors(default_page, default_sweep):
    default_page.assert_ok()
    levels = shown_levels(default_sweep.levels)
    assert levels == [0.0, 0.1143, 0.2857, 0.4]
    captions = default_page.image_captions()
    header = [caption for level in levels for caption in (f"noise = {level:g}", "ground truth outline")]
    ious = {(r["method"], r["level"]): r["iou"] for r in default_sweep.rows}
    per_method = [f"{method} · IoU {ious[(method, level)]:.2f}"
                  for method in DEFAULT_SWEEP_PRESETS for level in levels]
    # st.columns draw column by column: picture then outline in each column
    assert captions == header + per_method
    assert default_page.image_count() == 8 + 4 * len(DEFAULT_SWEEP_PRESETS)


def test_table_holds_the_chosen_score_per_level_and_method(default_page, default_sweep):
    default_page.assert_ok()
    table = default_page.dataframe()
    expected = pd.DataFrame(default_sweep.rows).pivot(index="level", columns="method", values="iou")
    assert list(table.index) == default_sweep.levels
    assert sorted(table.columns) == sorted(DEFAULT_SWEEP_PRESETS)
    pd.testing.assert_frame_equal(table[expected.columns], expected, check_exact=False, atol=1e-12, rtol=0)


def test_second_run_is_a_cache_hit_with_the_same_chart_and_csv(default_page, default_sweep, downloads, monkeypatch):
    default_page.assert_ok()
    before = default_page.chart()
    caption = default_page.run_caption()
    calls = []
    real_sweep = segcore.robustness.sweep
    monkeypatch.setattr(segcore.robustness, "sweep", lambda *a, **k: calls.append(a) or real_sweep(*a, **k))
    default_page.run()
    default_page.assert_ok()
    assert calls == []  # nothing recomputed
    assert default_page.chart() == before
    assert default_page.run_caption() == caption  # the cached sweep's own time
    # the download offers the same rows as CSV
    data, mime = downloads["sweep_noise.csv"]
    assert mime == "text/csv"
    table = pd.read_csv(io.BytesIO(data))
    assert list(table.columns) == ["method", "level", "iou", "dice", "pixel_accuracy", "seconds"]
    expected = pd.DataFrame(default_sweep.rows)
    assert list(table["method"]) == list(expected["method"])
    for column in ("level", "iou", "dice", "pixel_accuracy"):
        assert list(table[column]) == pytest.approx(list(expected[column]), abs=1e-12), column
    assert default_page.at.get("download_button")[0].label == "Download the sweep (CSV)"


# --- changing the settings ---------------------------------------------------------------------


def test_degradation_levels_and_methods_change_the_chart():
    lab = RobustnessLab(rb_methods=list(QUICK))
    lab.assert_ok()
    assert_chart_shows(lab, direct_sweep(QUICK))

    lab.at.selectbox(key="rb_degradation").set_value("illumination").run()
    lab.assert_ok()
    assert lab.at.slider(key="rb_span_illumination").value == (0.0, 1.0)
    assert lab.chart()["layout"]["title"]["text"] == "IoU as uneven illumination (gradient amplitude) grows"
    assert_chart_shows(lab, direct_sweep(QUICK, "illumination"))

    lab.at.slider(key="rb_levels").set_value(3).run()
    lab.assert_ok()
    result = direct_sweep(QUICK, "illumination", [0.0, 0.5, 1.0])
    assert_chart_shows(lab, result)
    assert lab.run_caption().startswith("6 runs in ")
    # the lesson of this degradation: the global threshold collapses, the local one holds
    traces = lab.traces()
    assert traces["Otsu threshold"][1][-1] < 0.5 < traces["Local threshold (mean)"][1][-1]
    assert lab.image_captions()[:6] == ["illumination = 0", "ground truth outline", "illumination = 0.5",
                                        "ground truth outline", "illumination = 1", "ground truth outline"]
    assert lab.image_count() == 6 + 3 * len(QUICK)

    lab.at.multiselect(key="rb_methods").set_value(["Local threshold (mean)"]).run()
    lab.assert_ok()
    assert list(lab.traces()) == ["Local threshold (mean)"]
    assert_chart_shows(lab, direct_sweep(["Local threshold (mean)"], "illumination", [0.0, 0.5, 1.0]))
    assert lab.image_count() == 6 + 3


def test_range_and_scene_settings_reach_the_sweep():
    lab = RobustnessLab(rb_methods=["Otsu threshold"], rb_degradation="blur", rb_levels=4, rb_size=128,
                        rb_seed=3, rb_dark=True, rb_base_noise=0.05)
    lab.assert_ok()
    lab.at.slider(key="rb_span_blur").set_value((1.0, 4.0)).run()
    lab.assert_ok()
    scene = {**SCENE, "dark_objects": True, "background": 0.75}
    result = direct_sweep(["Otsu threshold"], "blur", [1.0, 2.0, 3.0, 4.0], size=128, scene=scene,
                          baseline={**BASELINE, "noise": 0.05}, random_state=3)
    assert_chart_shows(lab, result)


def test_dice_toggle_switches_the_chart_and_the_table():
    lab = RobustnessLab(rb_methods=list(QUICK), rb_levels=3)
    lab.assert_ok()
    result = direct_sweep(QUICK, levels=[0.0, 0.2, 0.4])
    lab.at.button_group(key="rb_metric").set_value("dice").run()
    lab.assert_ok()
    assert_chart_shows(lab, result, metric="dice")
    layout = lab.chart()["layout"]
    assert layout["title"]["text"].startswith("Dice as ")
    assert layout["yaxis"]["title"]["text"] == "Dice"
    expected = pd.DataFrame(result.rows).pivot(index="level", columns="method", values="dice")
    pd.testing.assert_frame_equal(lab.dataframe()[expected.columns], expected, check_exact=False, atol=1e-12,
                                  rtol=0)
    lab.at.button_group(key="rb_metric").set_value("iou").run()
    assert_chart_shows(lab, result, metric="iou")


def test_no_method_chosen_asks_for_one():
    lab = RobustnessLab(rb_methods=["Otsu threshold"])
    lab.at.multiselect(key="rb_methods").set_value([]).run()
    lab.assert_ok()
    assert [info.value for info in lab.at.info] == ["Pick at least one method."]
    assert "rb_chart" not in lab.charts()
    assert not lab.at.get("download_button")


def test_failed_runs_are_reported_and_the_page_keeps_working(monkeypatch):
    real_run = Preset.run

    def otsu_fails(self, image, **extra):
        if self.label == "Otsu threshold":
            raise SegcoreError("no threshold today")
        return real_run(self, image, **extra)

    monkeypatch.setattr(Preset, "run", otsu_fails)
    # a random_state no other test uses, so the sweep is not served from the app's cache
    lab = RobustnessLab(rb_methods=list(QUICK), rb_levels=2, rb_size=128, rb_seed=4242)
    lab.assert_ok()
    (warning,) = [w.value for w in lab.at.warning]
    assert warning == "2 run(s) failed, e.g. Otsu threshold at 0: no threshold today"
    traces = lab.traces()
    assert all(y is None or math.isnan(y) for y in traces["Otsu threshold"][1])
    assert all(0 <= y <= 1 for y in traces["Local threshold (mean)"][1])
    assert [c.value for c in lab.at.caption if c.value.startswith("Otsu threshold")] == ["Otsu threshold: failed"] * 2


def test_a_refused_sweep_shows_its_message_instead_of_the_chart(monkeypatch):
    def refuse(*args, **kwargs):
        raise InvalidParameterError("a sweep needs at least one level")

    monkeypatch.setattr(segcore.robustness, "sweep", refuse)
    # a random_state no other test uses, so the refusal is not hidden by a cached sweep
    lab = RobustnessLab(rb_methods=["Otsu threshold"], rb_size=128, rb_seed=4343)
    lab.assert_ok()
    assert [error.value for error in lab.at.error] == ["a sweep needs at least one level"]
    assert "rb_chart" not in lab.charts()
    assert not lab.at.image


def test_a_range_of_one_value_does_not_crash_the_page():
    lab = RobustnessLab(rb_methods=["Otsu threshold"], rb_size=128)
    lab.at.slider(key="rb_span_noise").set_value((0.2, 0.2)).run()
    lab.assert_ok()
