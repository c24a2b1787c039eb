"""Which session keys survive page changes: derived from each page's key prefix (ui.state)."""

from __future__ import annotations

import re
from pathlib import Path

from ui.state import is_page_setting

ROOT = Path(__file__).resolve().parents[2]
# The pages and the ui helpers that draw page widgets (ui/state.py draws the shared sidebar).
SOURCES = [*ROOT.glob("app_pages/*.py"), *(p for p in ROOT.glob("ui/*.py") if p.name != "state.py")]
# Widgets whose values Streamlit refuses to have set, and those whose values are settings.
NEVER_SET = ("button", "download_button", "file_uploader", "plotly_chart", "streamlit_image_coordinates")
SETTINGS = ("slider", "radio", "selectbox", "toggle", "checkbox", "number_input", "multiselect",
            "segmented_control", "text_input")


def widget_keys(kinds: tuple[str, ...]) -> set[str]:
    """Literal keys of the widgets of these kinds anywhere in the pages and ui/."""
    found = set()
    for path in SOURCES:
        text = path.read_text()
        for call in re.finditer(r"\b(" + "|".join(kinds) + r")\(", text):
            depth, end = 1, call.end()
            while depth and end < len(text):  # to the call's closing parenthesis
                depth += {"(": 1, ")": -1}.get(text[end], 0)
                end += 1
            found.update(re.findall(r'key="([a-z_]+)"', text[call.end():end]))
    return found


def test_buttons_charts_uploads_and_components_are_never_restored():
    keys = widget_keys(NEVER_SET)
    assert {"rg_add", "rg_click", "km_elbow", "th_hist"} <= keys
    assert [k for k in keys if is_page_setting(k)] == []


def test_value_widgets_of_every_page_are_settings():
    keys = widget_keys(SETTINGS) - {"km_watch_frame", "rg_watch_frame", "rg_watch_seed"}
    assert {"th_algorithm", "rg_tolerance", "km_k", "rb_levels", "mx_size", "ws_polarity"} <= keys
    assert sorted(k for k in keys if not is_page_setting(k)) == []
    assert is_page_setting("th_offset_sauvola") and is_page_setting("km_overlay")


def test_views_and_other_keys_are_not_settings():
    for key in ("km_watch_frame", "rg_watch_seed", "th_tab", "rg_ex_wave_3", "th_dl_mask", "image_source",
                "sample_name"):
        assert not is_page_setting(key)
