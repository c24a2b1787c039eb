"""Models a visitor trained in this browser session: "Your model: <name>".

A training run writes into the session's upload folder (the one
:mod:`ui.models` makes per session, under its upload root, deleted when the
session ends or after ``upload_ttl_minutes`` unused). When a run ends with a
model, :func:`register` records it here; the U-Net page's model picker, the
Compare page and the dataset evaluation offer every registered model, for
this session only (the registry lives in ``st.session_state``).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import streamlit as st

from segcore.compare import Preset

PREFIX = "Your model: "
_KEY = "_user_models"  # {label: folder}
_FILES = ("config.json", "model.safetensors", "card.json")


def session_folder() -> Path:
    """A folder of this session for training runs (inside the session's upload folder)."""
    from ui.models import _session_folder

    path = _session_folder().touch() / "trained"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def register(name: str, folder: Path) -> str:
    """Offer the model in ``folder`` as "Your model: <name>"; returns the label (made unique)."""
    models = st.session_state.setdefault(_KEY, {})
    label, n = f"{PREFIX}{name}", 2
    while label in models and models[label] != str(folder):
        label, n = f"{PREFIX}{name} ({n})", n + 1
    models[label] = str(folder)
    return label


def available() -> dict[str, str]:
    """{label: model folder} of this session's models whose files are still there."""
    from ui.training import collect_finished

    collect_finished()  # a run that ended while the visitor was on another page
    models = st.session_state.get(_KEY, {})
    return {label: path for label, path in models.items() if (Path(path) / "model.safetensors").is_file()}


def presets() -> dict[str, Preset]:
    """This session's models as Compare/evaluation presets."""
    return {label: Preset(label, "unet", {"model": path}) for label, path in available().items()}


def unpack_model_zip(files) -> dict | None:
    """Uploaded files by name, a model zip's files in place of the zip (None, with an error shown, if refused).

    The zip is read in memory with :func:`segcore.datasets.read_zip_files`
    (the dataset reader's limits: zip bombs, ``..`` paths and links are
    refused before anything is written); only config.json, card.json and
    model.safetensors are taken from it.
    """
    from segcore.datasets import ArchiveError, read_zip_files

    by_name: dict = {}
    for upload in files:
        if not upload.name.lower().endswith(".zip"):
            by_name[upload.name] = upload
            continue
        try:
            found = read_zip_files(upload.getvalue(), _FILES)
        except ArchiveError as error:
            st.error(f"{upload.name} was refused: {error}", icon=":material/error:")
            return None
        if "model.safetensors" not in found or "config.json" not in found:
            st.error(f"{upload.name} holds no config.json and model.safetensors (a model zip from the training "
                     "page holds both, with card.json).", icon=":material/error:")
            return None
        by_name.update({name: io.BytesIO(content) for name, content in found.items()})
    return by_name


def zip_bytes(folder: Path) -> bytes:
    """The model as a zip in the save_pretrained layout (config.json, model.safetensors, card.json)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in _FILES:
            if (folder / name).is_file():
                archive.write(folder / name, arcname=name)
    return buffer.getvalue()
