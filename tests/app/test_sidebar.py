"""The shared image picker in the sidebar: samples, uploads, refused files, masks.

Most tests start on the Thresholding page, whose one method is quick; the
Compare page's scores for uploads are checked in test_compare_page.py.
"""

from __future__ import annotations

import numpy as np
import pytest

import segcore
from segcore.samples import DEFAULT_SAMPLE, SAMPLES, load_sample
from tests import files

DEFAULT_TITLE = SAMPLES[DEFAULT_SAMPLE].title
QUICK_PAGE = "threshold"


def assert_human(message: str) -> None:
    """An error meant for a person: no traceback, no exception class names."""
    for technical in ("Traceback", "Error:", "Exception", 'File "'):
        assert technical not in message, f"technical text {technical!r} in {message!r}"


def test_fresh_start_selects_the_default_sample(start_lab):
    lab = start_lab()
    lab.assert_ok()
    assert lab.at.sidebar.radio(key="image_source").value == "Sample gallery"
    assert lab.at.sidebar.selectbox(key="sample_name").value == DEFAULT_SAMPLE
    assert lab.summary() == f"**{DEFAULT_TITLE}** · 256×256 px  \nGround truth: exact (synthetic)"
    image, mask = load_sample(DEFAULT_SAMPLE)
    np.testing.assert_array_equal(lab.image(), image)
    np.testing.assert_array_equal(lab.truth(), mask)
    assert lab.at.sidebar.button(key="clear_mask").label == "Remove the mask"
    assert not lab.sidebar_errors()
    assert not lab.at.sidebar.checkbox  # "Full resolution" only for images above 4 Mpx


def test_sample_choice_persists_across_pages(start_lab):
    lab = start_lab(QUICK_PAGE).choose_sample("coins")
    lab.assert_ok()
    coins_title = SAMPLES["coins"].title
    assert lab.summary().startswith(f"**{coins_title}** · 384×303 px")
    for page in ("edges", "watershed", "compare", "threshold"):
        lab.open(page)
        lab.assert_ok()
        assert lab.at.sidebar.selectbox(key="sample_name").value == "coins", page
        assert lab.summary().startswith(f"**{coins_title}**"), page
        assert f"Original — {coins_title}" in lab.image_captions(), page
    lab.open("watershed").choose_sample("synthetic_touching")
    lab.open("compare")
    lab.assert_ok()
    assert lab.summary().startswith(f"**{SAMPLES['synthetic_touching'].title}**")
    np.testing.assert_array_equal(lab.image(), load_sample("synthetic_touching")[0])


def test_uploaded_image_and_mask_are_used(start_lab):
    pair = files.synthetic_pair()
    lab = start_lab(QUICK_PAGE).use_uploads()
    lab.assert_ok()
    assert [u.key for u in lab.at.sidebar.file_uploader] == ["upload_image", "upload_mask"]
    lab.upload_image(files.Upload("my_cells.png", pair.image_png, "image/png"))
    lab.assert_ok()
    assert lab.summary() == "**my_cells.png** · 128×96 px  \nGround truth: none"
    np.testing.assert_array_equal(lab.image(), pair.image)
    assert lab.truth() is None
    assert "IoU" not in lab.metrics()  # nothing to score against yet

    lab.upload_mask(files.Upload("my_cells_mask.png", pair.mask_png, "image/png"))
    lab.assert_ok()
    assert lab.summary() == "**my_cells.png** · 128×96 px  \nGround truth: my_cells_mask.png"
    np.testing.assert_array_equal(lab.truth(), pair.mask.astype(np.int32))
    otsu = segcore.segment(pair.image, "threshold", algorithm="otsu", polarity="bright")
    assert lab.metrics()["IoU"] == f"{segcore.metrics.evaluate(pair.mask, otsu).iou:.3f}"


@pytest.mark.parametrize("case", list(files.REFUSED_IMAGES))
def test_refused_image_keeps_the_previous_one(start_lab, case):
    upload = files.REFUSED_IMAGES[case]
    lab = start_lab(QUICK_PAGE).use_uploads()
    before = lab.summary()
    lab.upload_image(upload)
    lab.assert_ok()
    (message,) = lab.sidebar_errors()
    assert message.startswith(f"{upload.name}: this file is not an image we can read: ")
    assert upload.expected in message
    assert message.endswith("The previous image is still in use.")
    assert_human(message)
    assert lab.summary() == before
    np.testing.assert_array_equal(lab.image(), load_sample(DEFAULT_SAMPLE)[0])
    assert lab.at.title[0].value == "Thresholding"  # the page still renders its results
    assert lab.image_count() > 0


def test_refused_upload_after_an_upload_keeps_the_uploaded_image(start_lab):
    pair = files.synthetic_pair()
    lab = start_lab(QUICK_PAGE).use_uploads()
    lab.upload_image(files.Upload("first.png", pair.image_png, "image/png"))
    lab.upload_image(files.REFUSED_IMAGES["truncated_png"])
    lab.assert_ok()
    assert "cut short" in lab.sidebar_errors()[0]
    assert lab.summary().startswith("**first.png** · 128×96 px")
    np.testing.assert_array_equal(lab.image(), pair.image)
    # the next good file clears the message
    lab.upload_image(files.ACCEPTED_IMAGES["rgba_png"])
    lab.assert_ok()
    assert not lab.sidebar_errors()
    assert lab.summary().startswith("**transparent.png**")


@pytest.mark.parametrize("case", list(files.ACCEPTED_IMAGES))
def test_unusual_but_valid_images_load(start_lab, case):
    upload = files.ACCEPTED_IMAGES[case]
    lab = start_lab(QUICK_PAGE).use_uploads().upload_image(upload)
    lab.assert_ok()
    assert not lab.sidebar_errors()
    size = "48×64" if case == "exif_rotated_jpeg" else "64×48"  # the phone photo is shown upright
    assert lab.summary() == f"**{upload.name}** · {size} px  \nGround truth: none"
    np.testing.assert_array_equal(lab.image(), segcore.load_image(upload.data))
    assert lab.image_count() > 0 and "th_hist" in lab.charts()


def test_sixteen_bit_tiff_uses_its_full_range(start_lab):
    lab = start_lab(QUICK_PAGE).use_uploads().upload_image(files.ACCEPTED_IMAGES["tiff16"])
    lab.assert_ok()
    image = lab.image()
    assert image.min() == 0 and image.max() == 255  # 1000..5000 stretched, not divided by 256


def test_wrong_size_mask_is_refused_and_the_truth_kept(start_lab):
    lab = start_lab(QUICK_PAGE)
    iou_before = lab.metrics()["IoU"]
    lab.upload_mask(files.Upload("big_mask.png", files.wrong_size_mask((256, 256)), "image/png"))
    lab.assert_ok()
    (message,) = lab.sidebar_errors()
    assert message.startswith("big_mask.png: the mask is 264x264 pixels but the image is 256x256")
    assert message.endswith("The previous mask is unchanged.")
    assert_human(message)
    assert lab.summary().endswith("Ground truth: exact (synthetic)")
    np.testing.assert_array_equal(lab.truth(), load_sample(DEFAULT_SAMPLE)[1])
    assert lab.metrics()["IoU"] == iou_before


def test_unreadable_mask_is_refused(start_lab):
    lab = start_lab(QUICK_PAGE).upload_mask(files.Upload("mask.png", files.html_page(), "image/png"))
    lab.assert_ok()
    (message,) = lab.sidebar_errors()
    assert "this file is not a mask we can read" in message and "HTML" in message
    assert_human(message)
    assert lab.summary().endswith("Ground truth: exact (synthetic)")


def test_remove_the_mask(start_lab):
    lab = start_lab(QUICK_PAGE).remove_mask()
    lab.assert_ok()
    assert lab.summary().endswith("Ground truth: none")
    assert lab.truth() is None
    assert not [b for b in lab.at.sidebar.button if b.key == "clear_mask"]
    assert "IoU" not in lab.metrics()


def test_large_image_gets_a_working_copy_and_full_resolution_on_request(start_lab):
    height, width = 1400, 3000  # 4.2 Mpx, just above the 4 Mpx working size
    big = files.gradient(height, width)
    lab = start_lab(QUICK_PAGE).use_uploads().upload_image(files.Upload("big.png", files.png(big), "image/png"))
    lab.assert_ok()
    small_h, small_w = lab.image().shape[:2]
    assert small_h * small_w <= 4_000_000 and small_w / small_h == pytest.approx(width / height, rel=0.01)
    assert lab.summary().startswith(f"**big.png** · {small_w}×{small_h} px")
    assert any("3000x1400" in i.value for i in lab.at.info)  # the page says it works on a copy
    lab.at.sidebar.checkbox(key="full_resolution").check().run()
    lab.assert_ok()
    assert lab.image().shape == (height, width, 3)
    assert lab.summary().startswith("**big.png** · 3000×1400 px")
    assert not lab.at.info


def test_back_to_the_gallery_after_an_upload_can_choose_any_sample(start_lab):
    pair = files.synthetic_pair()
    lab = start_lab(QUICK_PAGE).choose_sample("coins").use_uploads()
    lab.upload_image(files.Upload("cells.png", pair.image_png, "image/png"))
    lab.choose_sample(DEFAULT_SAMPLE)
    lab.assert_ok()
    assert lab.summary().startswith(f"**{DEFAULT_TITLE}**")


def test_switching_source_shows_the_chosen_sample_then_the_upload_again(start_lab):
    pair = files.synthetic_pair()
    lab = start_lab(QUICK_PAGE).choose_sample("coins").use_uploads()
    assert lab.summary().startswith(f"**{SAMPLES['coins'].title}**")  # nothing uploaded yet: image kept
    lab.upload_image(files.Upload("cells.png", pair.image_png, "image/png"))
    assert lab.summary().startswith("**cells.png**")
    lab.at.sidebar.radio(key="image_source").set_value("Sample gallery").run()
    lab.assert_ok()
    assert lab.summary().startswith(f"**{SAMPLES['coins'].title}**")
    assert lab.at.sidebar.selectbox(key="sample_name").value == "coins"
    lab.use_uploads()
    lab.assert_ok()
    assert lab.summary().startswith("**cells.png**")


def test_a_link_to_a_page_opens_it_as_a_fresh_server_first_request(start_lab):
    # AppTest starts every run like a new server; app_pages/ keeps Streamlit from
    # running the page file alone.
    lab = start_lab("edges")
    lab.assert_ok()
    assert lab.summary().startswith(f"**{DEFAULT_TITLE}**")
    assert lab.at.title[0].value == "Edges (Canny)"


def test_page_settings_survive_a_visit_to_another_page(start_lab):
    lab = start_lab("threshold")
    lab.at.radio(key="th_mode").set_value("Fixed value").run()
    lab.at.slider(key="th_value").set_value(60).run()
    lab.open("edges")
    lab.at.slider(key="ed_sigma").set_value(2.5).run()
    lab.open("threshold")
    lab.assert_ok()
    assert lab.at.radio(key="th_mode").value == "Fixed value"
    assert lab.at.slider(key="th_value").value == 60
    lab.open("edges")
    assert lab.at.slider(key="ed_sigma").value == 2.5
