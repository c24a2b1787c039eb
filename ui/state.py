"""The image everyone works on: chosen in the sidebar, kept in session state.

Session keys (all pages read them through :func:`current`):

- ``image``: (H, W, 3) uint8 RGB, the working copy (downscaled if very large);
- ``image_key``: a digest of the working image, used as the cache key;
- ``image_name``: what the user sees (file name or sample title);
- ``truth``: (H, W) int labels or None; ``truth_name``;
- ``notice``: an informational line about the image (e.g. "downscaled from ...");
- ``original_shape``; ``original_image`` (the full-resolution array) only when
  it is the working copy itself, else ``original_bytes`` (the uploaded file,
  still compressed) from which :func:`original_image` decodes it on demand:
  a 48 Mpx upload costs a session its file size, not 144 MB of pixels.

A bad upload never replaces the current image: it records an error message
(``upload_error``) that the sidebar shows until the next successful change.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import cv2
import numpy as np
import streamlit as st

import segcore
from segcore.samples import DEFAULT_SAMPLE, SAMPLES, load_sample
from ui import memory
from ui.config import settings

# Interactive pages re-run methods on every widget change; beyond this many
# pixels the app works on a downscaled copy unless the user asks otherwise.
WORKING_PIXELS = 4_000_000
UPLOAD_TYPES = ["png", "jpg", "jpeg", "tif", "tiff", "bmp", "webp", "gif"]


@dataclass(frozen=True)
class Current:
    image: np.ndarray
    key: str
    name: str
    truth: np.ndarray | None
    truth_name: str | None

    @property
    def has_truth(self) -> bool:
        return self.truth is not None

    @property
    def shape(self) -> tuple[int, int]:
        return self.image.shape[:2]


def digest(image: np.ndarray) -> str:
    h = hashlib.blake2b(digest_size=12)
    h.update(str(image.shape).encode())
    h.update(np.ascontiguousarray(image).data)
    return h.hexdigest()


def _working_copy(image: np.ndarray, keep_full: bool) -> tuple[np.ndarray, str | None]:
    h, w = image.shape[:2]
    if keep_full or h * w <= WORKING_PIXELS:
        return image, None
    scale = (WORKING_PIXELS / (h * w)) ** 0.5
    size = (max(1, int(w * scale)), max(1, int(h * scale)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return small, (f"The image is {w}x{h} ({h * w / 1e6:.1f} Mpx); the app works on a {size[0]}x{size[1]} copy "
                   "so that widgets respond quickly. Tick 'Full resolution' in the sidebar to use every pixel.")


def _resize_truth(truth: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if truth.shape == shape:
        return truth
    return cv2.resize(truth.astype(np.int32), (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)


def original_image() -> np.ndarray:
    """The current image at full resolution (decoded again from the upload when it is not kept)."""
    state = st.session_state
    if state.get("original_image") is not None:
        return state["original_image"]
    return segcore.load_image(state["original_bytes"])


def original_shape() -> tuple[int, ...]:
    state = st.session_state
    return state.get("original_shape") or state["original_image"].shape


def _set_image(image: np.ndarray, name: str, truth: np.ndarray | None, truth_name: str | None,
               source: bytes | None = None) -> None:
    state = st.session_state
    state["original_truth"] = truth
    working, notice = _working_copy(image, state.get("full_resolution", False))
    # Keep the full-resolution pixels only when they are the working copy or cannot be decoded again.
    state["original_image"] = image if working is image or source is None else None
    state["original_bytes"] = source
    state["original_shape"] = image.shape
    state["image"] = working
    state["image_key"] = digest(working)
    state["image_name"] = name
    state["truth"] = None if truth is None else _resize_truth(truth, working.shape[:2])
    state["truth_name"] = truth_name
    state["notice"] = notice


def use_image(image: np.ndarray, name: str, truth: np.ndarray | None, truth_name: str | None) -> None:
    """Make an image from elsewhere (e.g. a dataset) the current one, as an upload; call it from a callback."""
    _set_image(image, name, truth, truth_name)
    st.session_state["last_upload"] = (image, name, truth, truth_name)
    st.session_state["image_is_upload"] = True
    st.session_state["image_source"] = "Upload"
    st.session_state["upload_error"] = None


def select_sample(name: str) -> None:
    sample = SAMPLES[name]
    image, mask = load_sample(name)
    _set_image(image, sample.title, mask, "exact (synthetic)" if mask is not None else None)
    # Widget state disappears while its widget is not drawn (the gallery is
    # hidden in upload mode), so the choice is also kept under a key of our own.
    st.session_state["chosen_sample"] = name
    st.session_state["upload_error"] = None


def init_state() -> None:
    """On a fresh session, select the default sample so every page has results at once."""
    if "image" not in st.session_state:
        select_sample(DEFAULT_SAMPLE)


def _on_sample_change() -> None:
    select_sample(st.session_state["sample_name"])


def _on_source_change() -> None:
    """Switching source shows that source's image: the chosen sample, or the last upload."""
    state = st.session_state
    if state["image_source"] == "Sample gallery":
        state["last_upload"] = (state.get("original_image"), state["image_name"], state["original_truth"],
                                state["truth_name"], state.get("original_bytes")
                                ) if state.get("image_is_upload") else state.get("last_upload")
        select_sample(state["chosen_sample"])
        state["image_is_upload"] = False
    elif state.get("last_upload") is not None:
        image, name, truth, truth_name, source = state["last_upload"]
        _set_image(segcore.load_image(source) if image is None else image, name, truth, truth_name, source)
        state["image_is_upload"] = True


def _on_image_upload() -> None:
    upload = st.session_state.get("upload_image")
    if upload is None:
        return
    refusal = _over_the_limits(upload)
    if refusal:
        st.session_state["upload_error"] = f"{upload.name}: {refusal}. The previous image is still in use."
        return
    try:
        image = segcore.load_image(upload)
    except segcore.InvalidImageError as error:
        st.session_state["upload_error"] = f"{upload.name}: {error}. The previous image is still in use."
        return
    _set_image(image, upload.name, None, None, source=upload.getvalue())
    if image.shape[0] * image.shape[1] > WORKING_PIXELS:
        del image
        memory.trim()  # the full-resolution pixels are gone: give their pages back to the system
    st.session_state["image_is_upload"] = True
    st.session_state["upload_error"] = None


def _over_the_limits(upload) -> str | None:
    """The operator's limits (ui.config), checked on the file size and the header before any decoding."""
    limits = settings()
    if upload.size > limits.max_upload_mb * 2**20:
        return f"the file is {upload.size / 2**20:.0f} MB; this server accepts up to {limits.max_upload_mb} MB"
    try:
        from PIL import Image

        with Image.open(upload) as header:
            width, height = header.size
    except Exception:  # unreadable headers are load_image's to explain
        return None
    finally:
        upload.seek(0)
    if width * height > limits.max_image_megapixels * 1e6:
        return (f"the image is {width}x{height} ({width * height / 1e6:.1f} Mpx); this server accepts up to "
                f"{limits.max_image_megapixels:g} Mpx")
    return None


def _on_mask_upload() -> None:
    upload = st.session_state.get("upload_mask")
    if upload is None:
        return
    shape = original_shape()
    try:
        truth = segcore.load_mask(upload, shape=shape)
    except segcore.InvalidImageError as error:
        st.session_state["upload_error"] = f"{upload.name}: {error}. The previous mask is unchanged."
        return
    st.session_state["original_truth"] = truth
    st.session_state["truth"] = _resize_truth(truth, st.session_state["image"].shape[:2])
    st.session_state["truth_name"] = upload.name
    st.session_state["upload_error"] = None


def _on_full_resolution() -> None:
    state = st.session_state
    _set_image(original_image(), state["image_name"], state["original_truth"], state["truth_name"],
               source=state.get("original_bytes"))


def _clear_mask() -> None:
    st.session_state["truth"] = None
    st.session_state["original_truth"] = None
    st.session_state["truth_name"] = None


def sidebar() -> None:
    """The image picker shown on every page."""
    state = st.session_state
    with st.sidebar:
        st.markdown("### Image")
        source = st.radio("Source", ["Sample gallery", "Upload"], key="image_source", horizontal=True,
                          on_change=_on_source_change)
        if source == "Sample gallery":
            if "sample_name" not in state:
                state["sample_name"] = state["chosen_sample"]
            st.selectbox("Sample", list(SAMPLES), key="sample_name", on_change=_on_sample_change,
                         format_func=lambda n: SAMPLES[n].title,
                         help="Images that ship with the app; synthetic ones bring an exact ground truth.")
            st.caption(SAMPLES[state["chosen_sample"]].description)
        else:
            st.file_uploader("Image file", type=UPLOAD_TYPES, key="upload_image", on_change=_on_image_upload,
                             help=f"PNG, JPEG, TIFF (8/16-bit, float), BMP, WebP or GIF; up to {settings().max_upload_mb} MB "
                                  f"and {settings().max_image_megapixels:g} Mpx.")
        st.file_uploader("Ground-truth mask (optional)", type=UPLOAD_TYPES, key="upload_mask",
                         on_change=_on_mask_upload,
                         help="Same size as the image: 0 = background; 0/1, 0/255, label or colour-coded masks.")
        if state.get("upload_error"):
            st.error(state["upload_error"], icon=":material/error:")
        h, w = state["image"].shape[:2]
        truth = state.get("truth_name")
        st.markdown(f"**{state['image_name']}** · {w}×{h} px  \nGround truth: {truth or 'none'}")
        if truth:
            st.button("Remove the mask", key="clear_mask", on_click=_clear_mask)
        oh, ow = original_shape()[:2]
        if oh * ow > WORKING_PIXELS:
            st.checkbox("Full resolution", key="full_resolution", on_change=_on_full_resolution,
                        help="Work on every pixel of this large image (slower).")


# Every page keys its widgets with its own prefix. Streamlit forgets a widget's
# value when its page is not shown; re-storing a page's settings before each run
# keeps them across page changes. Keys with these endings are not settings:
# charts, buttons, downloads, uploads and click components (Streamlit refuses
# to have their values set) and views that restart with each image (tabs,
# animation frames, worked-example waves).
PAGE_KEY_PREFIXES = ("cmp_", "th_", "rg_", "km_", "unet_", "ed_", "ws_", "rb_", "mx_", "ev_", "tr_")
NOT_SETTINGS = re.compile(
    r"_(chart|fig|hist|bars|agreement|seconds|sizes|palette|grid|imbalance|dist|breakdown|ap|paired"  # charts
    r"|csv|json|dl_mask|dl_overlay|download|upload|zip|click|add|clear|undo|elbow"  # files, components
    r"|run|cancel|start|stop|use"  # buttons
    r"|tab|frame|watch_seed|ex_wave_\d+)$"  # views
    r"|_open_"  # the Evaluate page's "open in Compare" buttons
)


def is_page_setting(key: str) -> bool:
    """Whether a session key is a page widget's setting, kept across page changes."""
    return key.startswith(PAGE_KEY_PREFIXES) and NOT_SETTINGS.search(key) is None


def keep_page_settings() -> None:
    """Re-store every page setting so it survives visits to other pages."""
    state = st.session_state
    for key in list(state.keys()):
        if isinstance(key, str) and is_page_setting(key):
            state[key] = state[key]


def current() -> Current:
    state = st.session_state
    return Current(image=state["image"], key=state["image_key"], name=state["image_name"],
                   truth=state.get("truth"), truth_name=state.get("truth_name"))
