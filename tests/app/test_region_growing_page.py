"""AppTest of the Region growing page (app_pages/region_growing.py) and its helpers."""

from __future__ import annotations

import functools
import json
import re

import cv2
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import segcore
from segcore.samples import load_sample
from ui import teaching_rg as teach
from tests.app import opening

PAGE = "app_pages/region_growing.py"
open_page = functools.partial(opening.open_page, PAGE)
open_page_with = functools.partial(opening.open_page_with, PAGE)


def pixels_in_regions(at: AppTest) -> int:
    for element in at.markdown:
        found = re.search(r"\*\*([\d,]+) pixels?\*\* in regions", element.value)
        if found:
            return int(found.group(1).replace(",", ""))
    raise AssertionError("no 'pixels in regions' line on the page")


def figures(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def growth_spec(at: AppTest) -> dict:
    (spec,) = [f for f in figures(at) if f["layout"].get("sliders") and "Region growing" in str(f["layout"]["title"])]
    return spec


def watch(at: AppTest) -> AppTest:
    at.session_state["rg_tab"] = "Watch it work"
    return at.run()


@pytest.fixture(scope="module")
def rg_page() -> AppTest:
    """One page on the default sample, shared by tests that only read it."""
    return open_page()


def test_default_sample_shows_a_result(rg_page):
    at = rg_page
    assert not at.exception
    image, _ = load_sample("synthetic_nuclei")
    expected = segcore.segment(image, "region_growing")  # the page's defaults are the library's
    assert pixels_in_regions(at) == sum(expected.info["region_sizes"])
    assert sum(len(image.value) for image in at.image) == 3  # original, overlay, regions
    assert at.dataframe[0].value["pixels"].tolist() == expected.info["region_sizes"]
    assert not at.error


def automatic_seeds(count: int) -> list[tuple[int, int]]:
    """Seeds inside objects of the default sample: the first automatic ones."""
    image, _ = load_sample("synthetic_nuclei")
    return segcore.segment(image, "region_growing").info["seeds"][:count]


def test_higher_tolerance_grows_a_larger_region():
    at = open_page()
    at.session_state["rg_seeds"] = automatic_seeds(1)
    at.session_state["rg_seed_mode"] = "manual"
    at.checkbox(key="rg_auto_tolerance").uncheck().run()
    at.radio(key="rg_criterion").set_value("neighbor")
    at.slider(key="rg_tolerance").set_value(2).run()
    small = pixels_in_regions(at)
    at.slider(key="rg_tolerance").set_value(12).run()
    large = pixels_in_regions(at)
    assert not at.exception
    assert 0 < small < large


def test_seeds_from_session_state_are_used_and_editable():
    at = open_page()
    first, second = seeds = automatic_seeds(2)
    at.session_state["rg_seeds"] = seeds
    at.session_state["rg_seed_mode"] = "manual"
    at.run()
    image, _ = load_sample("synthetic_nuclei")
    expected = segcore.segment(image, "region_growing", seeds=seeds)
    assert pixels_in_regions(at) == sum(expected.info["region_sizes"])
    assert at.dataframe[0].value["row"].tolist() == [first[0], second[0]]
    at.button(key="rg_undo").click().run()
    assert at.session_state["rg_seeds"] == [first]
    assert pixels_in_regions(at) == expected.info["region_sizes"][0]
    at.number_input(key="rg_row").set_value(second[0])
    at.number_input(key="rg_col").set_value(second[1])
    at.button(key="rg_add").click().run()
    assert at.session_state["rg_seeds"] == [first, second]
    at.button(key="rg_clear").click().run()
    assert at.session_state["rg_seeds"] == []
    assert any("No seeds yet" in info.value for info in at.info)
    assert not at.exception


def test_a_seed_outside_the_image_is_an_error_not_a_crash():
    at = open_page()
    at.session_state["rg_seeds"] = [(5000, 3)]
    at.session_state["rg_seed_mode"] = "manual"
    at.run()
    assert not at.exception
    assert any("outside the image" in error.value for error in at.error)


def test_watch_tab_animates_and_its_slider_moves_the_figure():
    at = watch(open_page())
    assert not at.exception
    spec = growth_spec(at)
    assert len(spec["frames"]) > 2 and spec["layout"]["sliders"][0]["active"] == 0
    names = [frame["name"] for frame in spec["frames"]]
    at.select_slider(key="rg_watch_frame").set_value(names[3]).run()
    moved = growth_spec(at)
    assert moved["layout"]["sliders"][0]["active"] == 3
    assert moved["data"][1]["source"] != spec["data"][1]["source"]
    assert not at.exception


def test_worked_example_shows_the_seed_document_waves():
    at = watch(open_page())
    assert any("Region size after each wave: **1, 4, 7, 8**" in m.value for m in at.markdown)
    explanation = next(m.value for m in at.markdown if m.value.startswith("Growth stops"))
    assert "16 at (row 1, col 2) differs from its region neighbour 13 by 3" in explanation
    grids = [f for f in figures(at) if str(f["layout"]["title"]).count("Wave")]
    assert len(grids) == 4
    at.radio(key="rg_ex_criterion").set_value("seed").run()
    expected = segcore.segment(teach.SEED_GRID, "region_growing", seeds=[(1, 1)], tolerance=2, criterion="seed",
                               return_steps=True)
    sizes = ", ".join(str(int((s > 0).sum())) for s in expected.info["steps"])
    assert any(f"Region size after each wave: **{sizes}**" in m.value for m in at.markdown)
    assert not at.exception


def test_compare_criteria_shows_the_three_criteria(rg_page):
    at = watch(rg_page)
    captions = [c for image in at.image for c in image.captions]
    for name in ("neighbor", "seed", "mean"):
        assert any(c.startswith(f"{name}: ") and "IoU" in c for c in captions)
    assert not at.exception


@pytest.mark.parametrize("sample", ["astronaut", "camera"])
def test_colour_and_gray_samples(sample):
    at = open_page(sample)
    assert pixels_in_regions(at) > 0
    at.toggle(key="rg_color").set_value(True).run()
    assert not at.exception
    watch(at)
    assert not at.exception and growth_spec(at)["frames"]


def test_a_two_megapixel_image_is_handled_on_a_small_copy():
    image, _ = load_sample("synthetic_nuclei")
    big = cv2.resize(image, (1700, 1200), interpolation=cv2.INTER_LINEAR)  # 2.04 Mpx
    at = open_page_with(big, "big.png")
    assert pixels_in_regions(at) > 0
    watch(at)
    assert not at.exception
    assert any("512×361 copy" in c.value for c in at.caption)


def test_click_to_pixel_maps_the_displayed_picture_onto_the_image():
    click = {"x": 250, "y": 100, "width": 500, "height": 400}
    assert teach.click_to_pixel(click, (200, 1000)) == (50, 500)
    assert teach.click_to_pixel({**click, "x": 500, "y": 400}, (200, 1000)) == (199, 999)  # the far edge
    assert teach.click_to_pixel({**click, "x": -3}, (200, 1000))[1] == 0


def test_boundary_explanation_for_the_seed_criterion():
    labels = segcore.segment(teach.SEED_GRID, "region_growing", seeds=[(1, 1)], tolerance=2,
                             criterion="seed").labels
    text = teach.boundary_explanation(teach.SEED_GRID, labels, (1, 1), tolerance=2, criterion="seed", connectivity=4)
    assert "10 at (row 0, col 0) is 3 from the seed 13" in text
    full = np.ones((4, 4), np.uint8)
    assert "whole grid" in teach.boundary_explanation(teach.SEED_GRID, full, (1, 1), tolerance=20,
                                                      criterion="mean", connectivity=8)


def test_a_flat_image_has_no_seeds_and_says_so():
    flat = np.full((6, 5, 3), 90, np.uint8)
    at = open_page_with(flat, "flat.png")
    assert not at.exception
    assert any("found no objects" in w.value for w in at.warning)
    watch(at)
    assert not at.exception
    assert any("Nothing grows" in i.value for i in at.info)
