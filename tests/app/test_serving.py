"""Serving to many visitors: what the operator's settings allow, and untrusted model files on the U-Net page.

Each test writes its own operator file and points ``SEGLAB_CONFIG`` at it
(the cached settings are re-read before and after), so the defaults of the
other tests are untouched.
"""

from __future__ import annotations

import gc
import io
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.app.conftest import Lab
from ui import config, models, runner

torch = pytest.importorskip("torch")
from segcore.unet.model import build_network  # noqa: E402

TINY = {"arch": "unet", "encoder_name": "tu-test_efficientnet", "decoder_channels": [16, 16, 16, 16, 16],
        "in_channels": 3}


def tiny_model(folder: Path, classes: int = 1, card: dict | None = None) -> Path:
    """A small random smp U-Net in save_pretrained layout (plus card.json when given)."""
    torch.manual_seed(0)
    build_network({**TINY, "classes": classes}).save_pretrained(str(folder))
    if card is not None:
        (folder / "card.json").write_text(json.dumps(card))
    return folder


@pytest.fixture
def operator(monkeypatch, tmp_path):
    """operator("key = value ...") writes the operator's file and makes the app read it."""
    def use(text: str) -> None:
        path = tmp_path / "lab.toml"
        path.write_text(text)
        monkeypatch.setenv(config.ENV_VAR, str(path))
        config.settings.cache_clear()

    use("")
    yield use
    monkeypatch.delenv(config.ENV_VAR, raising=False)
    config.settings.cache_clear()


@pytest.fixture(autouse=True)
def cold_cache():
    runner.clear()


def uploads(folder: Path, card_text: str | None = None) -> list[tuple[str, bytes, str]]:
    files = [("config.json", (folder / "config.json").read_bytes(), "application/json"),
             ("model.safetensors", (folder / "model.safetensors").read_bytes(), "application/octet-stream")]
    if card_text is not None:
        files.append(("card.json", card_text.encode(), "application/json"))
    return files


def errors(lab: Lab) -> list[str]:
    return [e.value for e in lab.at.error]


def test_defaults_offer_no_server_folder_and_refuse_the_hub(operator):
    lab = Lab("unet")
    lab.assert_ok()
    source = lab.at.radio(key="unet_source")
    assert models.FOLDER not in source.options
    source.set_value(models.HUB).run()
    lab.assert_ok()
    warnings = [w.value for w in lab.at.warning]
    assert any("allow_hub_downloads" in w for w in warnings)
    assert not [t for t in lab.at.text_input if t.key == "unet_hub_id"]  # nothing to type a repository into
    assert not [c for c in lab.at.caption if c.value.startswith("Model: ")]  # and nothing ran


def test_the_hub_box_appears_when_the_operator_allows_it(operator):
    operator("allow_hub_downloads = true\n")
    lab = Lab("unet")
    lab.at.radio(key="unet_source").set_value(models.HUB).run()
    lab.assert_ok()
    assert lab.at.text_input(key="unet_hub_id").value == ""


def test_server_folders_are_a_list_of_allowed_models_only(operator, tmp_path):
    root = tmp_path / "models"
    root.mkdir()
    tiny_model(root / "tiny", card={"threshold": 0.35, "normalization": "segcore"})
    (root / "empty").mkdir()
    outside = tiny_model(tmp_path / "outside")
    (root / "sneaky").symlink_to(outside, target_is_directory=True)  # leaves the root
    operator(f'model_folders = ["{root}"]\n')
    lab = Lab("unet")
    source = lab.at.radio(key="unet_source")
    assert models.FOLDER in source.options
    source.set_value(models.FOLDER).run()
    lab.assert_ok()
    folder = lab.at.selectbox(key="unet_folder")
    assert folder.options == ["models/tiny"]
    assert models.default_threshold(str((root / "tiny").resolve())) == pytest.approx(0.35)  # read from its card
    model_line = [c.value for c in lab.at.caption if c.value.startswith("Model: ")]
    assert model_line and model_line[0].startswith("Model: **models/tiny**")
    assert not [c for c in lab.at.caption if str(tmp_path) in c.value]  # no server path shown


@pytest.mark.parametrize("card_text, expected", [
    ('{"threshold": "abc"}', "threshold must be a number between 0 and 1"),
    ("[1, 2]", "card.json must hold a JSON object"),
    ('{"threshold": 5}', "threshold must be a number between 0 and 1"),
])
def test_a_hostile_uploaded_card_gets_a_message_not_an_exception(operator, tmp_path, card_text, expected):
    files = uploads(tiny_model(tmp_path / "m"), card_text)
    lab = Lab("unet")
    lab.at.radio(key="unet_source").set_value(models.UPLOAD).run()
    lab.at.file_uploader(key="unet_upload").set_value(files).run()
    lab.assert_ok()
    assert any(expected in e for e in errors(lab)), errors(lab)
    slider = lab.at.slider(key="unet_threshold")
    assert (slider.min, slider.max) == (0.05, 0.95)  # never stretched by a card


def test_class_names_from_a_card_are_shown_as_text_never_html(operator, tmp_path):
    names = ["background", "<b>bold</b>", "<img src=x onerror=alert(1)>"]
    files = uploads(tiny_model(tmp_path / "m", classes=3), json.dumps({"normalization": "segcore", "class_names": names}))
    lab = Lab("unet")
    lab.at.radio(key="unet_source").set_value(models.UPLOAD).run()
    lab.at.file_uploader(key="unet_upload").set_value(files).run()
    lab.assert_ok()
    html = [m.value for m in lab.at.markdown if m.proto.allow_html]  # the app's own fixed HTML only
    assert not [h for h in html if "bold" in h or "onerror" in h], html
    shown = [list(frame.value["class"]) for frame in lab.at.dataframe if "class" in frame.value.columns]
    assert shown == [names], [(errors(lab), frame.value) for frame in lab.at.dataframe]
    assert [c.value for c in lab.at.caption if c.value.startswith("Model: ")][0].startswith(
        "Model: **your uploaded model**")
    folder = lab.at.session_state["_unet_upload_folder"]
    assert folder.path.is_relative_to(models.UPLOAD_ROOT)
    assert any(p.name == "model.safetensors" for p in folder.path.rglob("*"))


def test_an_invalid_operator_file_stops_the_app_with_its_message(operator):
    operator('result_cache_mb = "lots"\n')
    lab = Lab()
    lab.assert_ok()
    assert any("result_cache_mb" in e and "'lots'" in e for e in errors(lab)), errors(lab)
    assert not lab.at.image  # nothing is served with other values than the operator's


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((height, width, 3), np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_images_over_the_operators_megapixel_limit_are_refused(operator):
    operator("max_image_megapixels = 0.1\n")
    lab = Lab("threshold").use_uploads()
    lab.at.sidebar.file_uploader(key="upload_image").set_value(("big.png", png(500, 400), "image/png")).run()
    lab.assert_ok()
    assert any("0.2 Mpx" in e and "up to 0.1 Mpx" in e for e in errors(lab)), errors(lab)
    lab.at.sidebar.file_uploader(key="upload_image").set_value(("small.png", png(300, 300), "image/png")).run()
    lab.assert_ok()
    assert "small.png" in lab.summary()


# --- upload folders ---------------------------------------------------------------------------


def test_a_session_folder_goes_with_its_session(tmp_path):
    holder = {"folder": models.SessionFolder(tmp_path)}
    path = holder["folder"].touch()
    (path / "model.safetensors").write_bytes(b"weights")
    assert path.is_dir()
    holder.clear()  # the session's state is dropped
    gc.collect()
    assert not path.exists()


def test_the_sweep_removes_folders_unused_for_too_long(tmp_path):
    old, fresh = models.SessionFolder(tmp_path), models.SessionFolder(tmp_path)
    long_ago = time.time() - 3 * 3600
    os.utime(old.path, (long_ago, long_ago))
    removed = models.sweep_uploads(2 * 3600, root=tmp_path)
    assert removed == [old.path]
    assert not old.path.exists() and fresh.path.is_dir()
    assert old.touch().is_dir()  # a live session that comes back gets its folder again


def test_a_large_upload_is_kept_compressed_not_as_pixels(operator):
    data = png(2500, 1700)  # 4.25 Mpx: above the 4 Mpx working size
    lab = Lab("threshold").use_uploads()
    lab.at.sidebar.file_uploader(key="upload_image").set_value(("large.png", data, "image/png")).run()
    lab.assert_ok()
    state = lab.at.session_state
    assert state["original_image"] is None and state["original_bytes"] == data
    assert state["original_shape"] == (1700, 2500, 3)
    assert state["image"].shape[0] * state["image"].shape[1] <= 4_000_000
    lab.at.sidebar.checkbox(key="full_resolution").check().run()  # decoded again from the file
    lab.assert_ok()
    assert lab.at.session_state["image"].shape == (1700, 2500, 3)
    lab.at.sidebar.checkbox(key="full_resolution").uncheck().run()
    lab.assert_ok()
    assert lab.at.session_state["original_image"] is None


def test_teaching_views_share_one_byte_bounded_store():
    """Animation figures and feature maps are cached by bytes too (a figure weighs its JSON)."""
    import plotly.graph_objects as go

    from ui import runner

    calls = []

    @runner.cached_view
    def view(image_key: str, _image: np.ndarray) -> tuple:
        calls.append(image_key)
        return (go.Figure(go.Heatmap(z=_image)), _image)

    image = np.zeros((64, 64), np.uint8)
    first = view("a", image)
    assert view("a", np.ones((64, 64), np.uint8)) is first  # keyed by image_key, not by the array
    assert calls == ["a"]
    weight = runner.view_nbytes(first)
    assert weight > image.nbytes + len(first[0].to_json()) - 1
    store = runner.store("views")
    assert store.max_bytes == runner.store("results").max_bytes // runner.VIEW_SHARE
    assert store.nbytes >= weight
