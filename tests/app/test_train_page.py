"""The "Train a U-Net" page: data sources, bad input, a tiny training, Stop, the server cap, the result elsewhere.

Trainings here use the test hook (``_tr_test_hook`` in the session state):
timm's toy ``test_efficientnet`` encoder with 16-channel decoder, 64-pixel
crops and a budget of a few seconds; it never shows to visitors.
"""

from __future__ import annotations

import json
import time

import pytest

pytest.importorskip("segmentation_models_pytorch")
pytestmark = pytest.mark.slow  # each test starts the app; most train a tiny network

from tests import zips  # noqa: E402
from tests.app.conftest import start_app  # noqa: E402
from ui import capacity, training, user_models  # noqa: E402

PAGE = "train"
WAIT_S = 180


def tiny(at, *, minutes: float = 0.05, source: str = training.CURRENT):
    """The training page set up for a tiny run on the current (synthetic) image."""
    at.session_state[training.TEST_HOOK] = True
    at.run()
    at.radio(key="tr_source").set_value(source).run()
    at.radio(key="tr_init").set_value("scratch").run()
    at.selectbox(key="tr_encoder").set_value(training.TEST_ENCODER)
    at.select_slider(key="tr_crop").set_value(64)
    at.number_input(key="tr_minutes").set_value(minutes)
    at.toggle(key="tr_augment").set_value(False)
    return at.run()


def wait_until(at, condition, what: str):
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)
    return at.run()


def image_captions(at) -> list[str]:
    return [caption for image in at.image for caption in image.captions]


def job_of(at) -> training.Job:
    return at.session_state[training.JOB_KEY]


def texts(at, kind: str) -> str:
    return " ".join(str(el.value) for el in getattr(at, kind))


@pytest.fixture(autouse=True)
def no_leftover_slot():
    """A failed test must not leave the server's training slot taken for the next one."""
    yield
    while capacity.running("training"):
        capacity.release("training")


def test_opens_on_the_bundled_sample_with_the_split_stated():
    at = start_app(PAGE)
    assert not at.exception
    captions = texts(at, "caption")
    assert "24 images train and 6 validate" in captions and "20% held out" in captions
    assert not at.button(key="tr_start").disabled
    assert at.selectbox(key="tr_encoder_bundled").disabled  # fine-tuning keeps the bundled encoder
    at.radio(key="tr_init").set_value("scratch").run()
    assert at.selectbox(key="tr_encoder").value == "tu-mobilenetv3_small_100"  # the fastest first
    assert training.TEST_ENCODER not in at.selectbox(key="tr_encoder").options  # the hook is off for visitors


def test_a_tiny_training_shows_curves_and_becomes_a_model_on_the_unet_page(tmp_path):
    at = tiny(start_app(PAGE))
    assert "held out for validation" in texts(at, "caption") or "never sees" in texts(at, "caption")
    at.text_input(key="tr_name").set_value("tiny <b>one</b>")
    at.button(key="tr_start").click().run()
    assert not at.exception
    job = job_of(at)
    at = wait_until(at, lambda: not job.running, "the training to end")
    at.run()  # the page notices the end
    assert not at.exception, at.exception
    assert job.error is None and job.runs[0].finished.reason == "time"
    charts = at.get("plotly_chart")
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in charts]
    assert "Training loss per step" in titles and "Validation IoU and Dice" in titles
    assert "Training ended" in texts(at, "success")
    label = job.registered
    assert label == "Your model: tiny boneb"  # visitor text is cleaned of markup characters, never HTML
    folder = job.best_folder
    card = json.loads((folder / "card.json").read_text())
    assert card["training"]["time_budget_minutes"] == 0.05 and card["training"]["loss"] == "bce+dice"
    assert card["training"]["split"]["method"].startswith("one image")
    assert 0 <= card["validation_during_training"]["val_iou"] <= 1

    at.switch_page("app_pages/unet.py").run()
    assert label in at.radio(key="unet_source").options
    at.radio(key="unet_source").set_value(label).run()
    assert not at.exception, at.exception
    captions = [str(c.value) for c in at.caption]
    assert any(label in c for c in captions)  # named as the visitor named it, never by its server path
    assert not any(str(folder) in c for c in captions)

    at.switch_page("app_pages/compare.py").run()
    assert label in at.multiselect(key="cmp_methods").options
    at.multiselect(key="cmp_methods").set_value(["Otsu threshold", label]).run()
    assert not at.exception, at.exception
    assert any(str(c).startswith(f"{label} ·") for c in image_captions(at))

    # The download loads again through "Upload files".
    fresh = start_app("unet")
    fresh.radio(key="unet_source").set_value("Upload files").run()
    fresh.file_uploader(key="unet_upload").set_value(("mine.zip", user_models.zip_bytes(folder), "application/zip"))
    fresh.run()
    assert not fresh.exception, fresh.exception
    assert not fresh.error
    assert any("your uploaded model" in str(c.value) for c in fresh.caption)  # loaded, and no server path shown


def test_stop_ends_the_run_and_keeps_the_best_model():
    at = tiny(start_app(PAGE), minutes=10)
    at.button(key="tr_start").click().run()
    job = job_of(at)
    at.switch_page("app_pages/threshold.py").run()  # the run goes on while the visitor is elsewhere
    assert not at.exception and job.running
    at.switch_page("app_pages/train.py").run()
    at = wait_until(at, lambda: len(job.runs[0].steps) >= 2 or not job.running, "two steps")
    assert job.running and at.session_state["tr_minutes"] == 10  # the settings survived the visit
    at.button(key="tr_stop").click().run()
    at = wait_until(at, lambda: not job.running, "the run to stop")
    at.run()
    assert not at.exception, at.exception
    end = job.runs[0].finished
    assert end.reason == "stopped" and end.seconds < 300
    assert job.best_folder is not None and (job.best_folder / "model.safetensors").is_file()
    assert job.registered and "stopped" in texts(at, "success")


def test_a_busy_server_says_so_and_starts_nothing():
    at = tiny(start_app(PAGE))
    assert capacity.try_acquire("training")  # another visitor's training holds the only slot
    try:
        at.button(key="tr_start").click().run()
    finally:
        capacity.release("training")
    assert not at.exception
    assert "Another training is running on this server" in texts(at, "warning")
    assert training.JOB_KEY not in at.session_state


def test_bad_zips_get_messages_and_unpaired_files_are_listed():
    at = start_app(PAGE)
    at.radio(key="tr_source").set_value(training.ZIP).run()
    at.file_uploader(key="tr_zip").set_value(("bomb.zip", zips.bomb_zip(), "application/zip")).run()
    assert not at.exception
    assert "zip bomb" in texts(at, "error") and at.button(key="tr_start").disabled

    at.file_uploader(key="tr_zip").set_value(("one.zip", zips.layout_a_zip(1), "application/zip")).run()
    assert not at.exception
    assert "at least 2 usable image/mask pairs" in texts(at, "error")

    at.file_uploader(key="tr_zip").set_value(("messy.zip", zips.messy_zip(), "application/zip")).run()
    assert not at.exception and not at.error
    assert any(e.label.startswith("Skipped files (") for e in at.expander)
    skipped = at.dataframe[0].value
    reasons = " ".join(skipped["reason"])
    assert "refused" in reasons and "without a mask" in reasons  # the '..', absolute, link and unpaired files
    assert "3 images train and 1 validate" in texts(at, "caption")  # 4 good pairs; the corrupt ones skipped
    assert not at.button(key="tr_start").disabled


def test_the_current_image_without_a_mask_is_explained(start_lab):
    lab = start_lab(PAGE)
    lab.remove_mask()
    at = lab.at
    at.radio(key="tr_source").set_value(training.CURRENT).run()
    assert not at.exception
    assert "no ground-truth mask" in texts(at, "info") and at.button(key="tr_start").disabled


def test_loss_lab_trains_bce_then_dice_and_overlays_them():
    at = start_app(PAGE)
    at.session_state[training.TEST_HOOK] = True
    at.radio(key="tr_mode").set_value("Loss lab (teaching)").run()
    at.select_slider(key="tr_lab_steps").set_value(10).run()
    at.button(key="tr_lab_start").click().run()
    job = job_of(at)
    at = wait_until(at, lambda: not job.running, "both runs")
    at.run()
    assert not at.exception, at.exception
    assert [(r.finished.reason, r.finished.steps) for r in job.runs] == [("done", 10), ("done", 10)]
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = " ".join(trace["name"] for trace in spec["data"])
    assert "Binary cross-entropy" in names and "Dice" in names
    table = at.dataframe[0].value
    assert list(table["loss"]) == ["Binary cross-entropy", "Dice"]
    assert ((0 <= table["last val IoU"]) & (table["last val IoU"] <= 1)).all()
    assert training.JOB_KEY in at.session_state and not job.registered  # the lab's models are not offered


def test_a_hostile_model_zip_is_refused_on_the_unet_page():
    at = start_app("unet")
    at.radio(key="unet_source").set_value("Upload files").run()
    at.file_uploader(key="unet_upload").set_value(("bomb.zip", zips.bomb_zip(), "application/zip")).run()
    assert not at.exception
    assert "zip bomb" in texts(at, "error")
    at.file_uploader(key="unet_upload").set_value(("empty.zip", zips.make_zip({"x.txt": b"x"}), "application/zip"))
    at.run()
    assert not at.exception
    assert "holds no config.json and model.safetensors" in texts(at, "error")
