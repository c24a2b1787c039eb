"""Picking the U-Net model in the browser: bundled, a server folder, uploaded files or a Hub id.

What a visitor can reach is what the operator allowed (:mod:`ui.config`):
server folders only from ``model_folders`` (offered as a list, never typed),
the Hub only with ``allow_hub_downloads``. Uploaded files go to a folder of
the visitor's session, deleted when the session ends or, at the latest,
``upload_ttl_minutes`` after its last use. Cards are read through
:func:`segcore.unet.model.read_card` (schema-checked) and cached by path and
modification time, not re-read on every rerun.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
import time
import weakref
from functools import lru_cache
from pathlib import Path

import streamlit as st

from segcore.unet.model import BUNDLED_MODELS, DEFAULT_MODEL, InvalidCardError, card_score_rows, read_card
from ui.config import NOT_OFFERED, PathRefused, allowed_path, settings

BUNDLED, FOLDER, UPLOAD, HUB = "Bundled nuclei model", "Server folder", "Upload files", "Hugging Face Hub"
UPLOAD_ROOT = Path(tempfile.gettempdir()) / f"seglab-uploads-{os.getuid() if hasattr(os, 'getuid') else 'user'}"
HUB_OFF = ("Models from the Hugging Face Hub are switched off on this server: the operator can allow them "
           "with `allow_hub_downloads = true` in the server's configuration. The bundled model works offline.")


def sources() -> list[str]:
    """The model sources offered: a server folder only when the operator configured some;
    the models trained in this session ("Your model: <name>", :mod:`ui.user_models`) after the bundled one."""
    from ui import user_models

    return [BUNDLED] + list(user_models.available()) + ([FOLDER] if settings().model_folders else []) + [UPLOAD, HUB]


@st.cache_resource(show_spinner=False)
def devices() -> list[str]:
    from segcore.unet.model import available_devices

    return available_devices()


# --- server folders ---------------------------------------------------------

def _is_model(folder: Path) -> bool:
    return (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()


@lru_cache(maxsize=8)
def _scan(roots: tuple[Path, ...], stamps: tuple[float, ...]) -> dict[str, str]:
    choices: dict[str, str] = {}
    for root in roots:
        candidates = [root] + sorted(p for p in root.iterdir() if p.is_dir())
        for folder in candidates:
            try:
                path = allowed_path(folder, roots)  # a symlinked subfolder may leave the root
            except PathRefused:
                continue
            if _is_model(path):
                label = root.name if folder == root else f"{root.name}/{folder.name}"
                choices[label] = str(path)
    return choices


def folder_choices() -> dict[str, str]:
    """Models in the configured folders (each folder and its direct subfolders): label -> resolved path."""
    roots = settings().model_folders
    return _scan(roots, tuple(root.stat().st_mtime for root in roots))


# --- uploads: one folder per session ------------------------------------------

class SessionFolder:
    """A temporary folder that lives as long as the session holding this object in its state.

    Streamlit has no reliable "session ended" hook, so the folder goes in two
    ways: a finalizer when the session's state is garbage-collected, and
    :func:`sweep_uploads`, which deletes any upload folder unused for longer
    than the time limit.
    """

    def __init__(self, root: Path = UPLOAD_ROOT) -> None:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(prefix="session-", dir=root))
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.path, ignore_errors=True)

    def touch(self) -> Path:
        """Recreate the folder if a sweep removed it, and mark it as used now."""
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.utime(self.path)
        return self.path

    def remove(self) -> None:
        self._finalizer()


_sweep_lock = threading.Lock()


def sweep_uploads(max_age_seconds: float | None = None, root: Path = UPLOAD_ROOT) -> list[Path]:
    """Delete the upload folders not used for ``max_age_seconds`` (default: the configured limit)."""
    limit = settings().upload_ttl_minutes * 60 if max_age_seconds is None else max_age_seconds
    removed = []
    with _sweep_lock:
        if not root.is_dir():
            return removed
        now = time.time()
        for folder in root.iterdir():
            try:
                if folder.is_dir() and now - folder.stat().st_mtime > limit:
                    shutil.rmtree(folder, ignore_errors=True)
                    removed.append(folder)
            except OSError:
                continue
    return removed


def _session_folder() -> SessionFolder:
    if "_unet_upload_folder" not in st.session_state:
        st.session_state["_unet_upload_folder"] = SessionFolder()
    return st.session_state["_unet_upload_folder"]


def _save_uploaded(files) -> str | None:
    from ui.user_models import unpack_model_zip

    by_name = unpack_model_zip(files or [])
    if by_name is None:
        return None
    weights = [n for n in by_name if n.endswith(".safetensors")]
    if "config.json" not in by_name or not weights:
        if files:
            st.warning("Both config.json and a .safetensors weights file are needed (or a zip holding them).")
        return None
    sweep_uploads()
    digest = hashlib.sha256()
    for name in sorted(by_name):
        digest.update(name.encode())
        digest.update(by_name[name].getvalue())
    folder = _session_folder().touch() / digest.hexdigest()[:16]
    if not _is_model(folder):
        folder.mkdir(exist_ok=True)
        (folder / "config.json").write_bytes(by_name["config.json"].getvalue())
        if "card.json" in by_name:
            (folder / "card.json").write_bytes(by_name["card.json"].getvalue())
        (folder / "model.safetensors").write_bytes(by_name[weights[0]].getvalue())
    try:  # the card and config come from a visitor: schema-checked before the model is offered
        read_card(folder)
    except (InvalidCardError, OSError) as error:
        shutil.rmtree(folder, ignore_errors=True)
        st.error(f"This model was refused: {error}", icon=":material/error:")
        return None
    return str(folder)


# --- the picker ---------------------------------------------------------------

def model_picker() -> str | None:
    """Widgets for the model source; returns what to pass as ``model=`` (None while incomplete or refused)."""
    offered = sources()
    if st.session_state.get("unet_source") not in offered:  # e.g. a trained model whose files were swept
        st.session_state.pop("unet_source", None)
    source = st.radio("Model", offered, key="unet_source", horizontal=False)
    if source == BUNDLED:
        return DEFAULT_MODEL
    if source.startswith("Your model: "):
        from ui import user_models

        return user_models.available().get(source)
    if source == FOLDER:
        choices = folder_choices()
        if not choices:
            st.info("The server's model folders hold no model (config.json + model.safetensors) yet.")
            return None
        label = st.selectbox("Model folder on the server", list(choices), key="unet_folder",
                             help="The folders the operator made available (model_folders).")
        try:  # the list was made from allowed folders; checked again in case one changed since
            return str(allowed_path(choices[label], settings().model_folders))
        except PathRefused:
            st.error(NOT_OFFERED, icon=":material/block:")
            return None
    if source == UPLOAD:
        files = st.file_uploader("config.json and model.safetensors (card.json optional), or a model zip",
                                 type=["json", "safetensors", "zip"], accept_multiple_files=True, key="unet_upload")
        return _save_uploaded(files)
    if not settings().allow_hub_downloads:
        st.warning(HUB_OFF, icon=":material/cloud_off:")
        return None
    repo = st.text_input("Hub id", key="unet_hub_id", placeholder="smp-hub/segformer-b0-512x512-ade-160k",
                         help="Downloaded from the Hugging Face Hub; needs a network connection.")
    return repo.strip() or None


def display_name(model: str | None) -> str:
    """How the page names a model: never a server path (the upload folder, the operator's folders)."""
    if model is None or model in BUNDLED_MODELS or not Path(model).is_absolute():
        return str(model)
    path = Path(model)
    if path.is_relative_to(UPLOAD_ROOT):
        from ui import user_models

        trained = {folder: label for label, folder in user_models.available().items()}
        return trained.get(str(path), "your uploaded model")
    labels = {value: label for label, value in folder_choices().items()} if settings().model_folders else {}
    return labels.get(str(path), path.name)


# --- the model card -----------------------------------------------------------

def _local_folder(model: str | None) -> Path | None:
    """The folder of a bundled, server-folder or uploaded model; None for Hub ids and anything else."""
    if model is None:
        return None
    if model in BUNDLED_MODELS:
        return BUNDLED_MODELS[model]
    path = Path(model)
    if not path.is_absolute():
        return None
    try:
        return allowed_path(path, (UPLOAD_ROOT, *settings().model_folders))
    except PathRefused:
        return None


@lru_cache(maxsize=32)
def _card_at(folder: str, stamps: tuple[float, ...]) -> tuple[dict, str | None]:
    try:
        return read_card(Path(folder)), None
    except InvalidCardError as error:
        return {}, str(error)
    except OSError:
        return {}, "the model files could not be read"


def card_of(model: str | None) -> tuple[dict, str | None]:
    """(card, None) for a local model, ({}, message) when its card or config is refused, ({}, None) without one."""
    folder = _local_folder(model)
    if folder is None:
        return {}, None
    stamps = tuple(p.stat().st_mtime if p.is_file() else 0.0 for p in (folder / "config.json", folder / "card.json"))
    return _card_at(str(folder), stamps)


def default_threshold(model: str | None) -> float:
    """The card's threshold on the slider's 0.05 grid (0.5 when there is none)."""
    value = float(card_of(model)[0].get("threshold", 0.5))
    return min(0.95, max(0.05, round(value * 20) / 20))


def model_card(model: str | None) -> None:
    card, problem = card_of(model)
    if problem:
        st.error(f"This model's card was refused: {problem}", icon=":material/error:")
        return
    if not card:
        st.info("No model card for this model (Hub models and bare weights carry none).")
        return
    training = card.get("training", {})
    scores = card.get("evaluation", {})
    rows = card_score_rows(card)
    if rows:
        st.markdown("**Validation scores** (means over images; the modality columns are IoU)")
        st.dataframe(rows, hide_index=True)
        details = {label: str(scores[key]) for key, label in
                   (("data", "Data"), ("metric", "Metric"), ("command", "Measured with"),
                    ("date", "Date"), ("machine", "Machine")) if key in scores}
        if details:  # a table, not markdown: card text is shown as plain text
            st.dataframe([{"about the scores": k, "": v} for k, v in details.items()], hide_index=True)
    if training:
        st.markdown("**Training**")
        st.table({key.replace("_", " "): str(value) for key, value in training.items()})
    with st.expander("The whole card (card.json)"):
        st.json(card, expanded=False)
