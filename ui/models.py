"""Picking the U-Net model in the browser: bundled, local folder, uploaded files or a Hub id."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import streamlit as st

from segcore.unet.model import BUNDLED_MODELS, DEFAULT_MODEL, card_score_rows, read_card

SOURCES = ["Bundled nuclei model", "Local folder", "Upload files", "Hugging Face Hub"]
UPLOAD_DIR = Path(tempfile.gettempdir()) / "segcore_uploaded_models"


@st.cache_resource(show_spinner=False)
def devices() -> list[str]:
    from segcore.unet.model import available_devices

    return available_devices()


def model_picker() -> str | None:
    """Widgets for the model source; returns what to pass as ``model=`` (None while incomplete)."""
    source = st.radio("Model", SOURCES, key="unet_source", horizontal=False)
    if source == SOURCES[0]:
        return DEFAULT_MODEL
    if source == SOURCES[1]:
        path = st.text_input("Folder (smp save_pretrained layout) or .safetensors file", key="unet_local_path",
                             placeholder="/path/to/model_folder")
        if not path:
            st.info("Type the path of a folder holding config.json and model.safetensors.")
            return None
        return path.strip()
    if source == SOURCES[2]:
        files = st.file_uploader("config.json and model.safetensors (card.json optional)", type=["json", "safetensors"],
                                 accept_multiple_files=True, key="unet_upload")
        return _save_uploaded(files)
    repo = st.text_input("Hub id", key="unet_hub_id", placeholder="smp-hub/segformer-b0-512x512-ade-160k",
                         help="Needs a network connection; the bundled model works offline.")
    return repo.strip() or None


def _save_uploaded(files) -> str | None:
    by_name = {f.name: f for f in files or []}
    weights = [n for n in by_name if n.endswith(".safetensors")]
    if "config.json" not in by_name or not weights:
        if files:
            st.warning("Both config.json and a .safetensors weights file are needed.")
        return None
    digest = hashlib.sha256()
    for name in sorted(by_name):
        digest.update(name.encode())
        digest.update(by_name[name].getvalue())
    folder = UPLOAD_DIR / digest.hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_bytes(by_name["config.json"].getvalue())
    (folder / "model.safetensors").write_bytes(by_name[weights[0]].getvalue())
    if "card.json" in by_name:
        (folder / "card.json").write_bytes(by_name["card.json"].getvalue())
    return str(folder)


def _local_card(model: str | None) -> dict:
    if model is None:
        return {}
    folder = BUNDLED_MODELS.get(model, Path(model))
    if folder.is_file():
        folder = folder.parent
    try:
        return read_card(folder) if folder.is_dir() else {}
    except (OSError, ValueError):
        return {}


def default_threshold(model: str | None) -> float:
    return float(_local_card(model).get("threshold", 0.5))


def model_card(model: str | None) -> None:
    card = _local_card(model)
    if not card:
        st.info("No model card for this model (Hub models and bare weights carry none).")
        return
    training = card.get("training", {})
    scores = card.get("evaluation", {})
    rows = card_score_rows(card)
    if rows:
        st.markdown("**Validation scores** (means over images; the modality columns are IoU)")
        st.dataframe(rows, hide_index=True)
        details = [f"{label}: {scores[key]}" for key, label in
                   (("data", "Data"), ("metric", "Metric"), ("command", "Measured with"),
                    ("date", "Date"), ("machine", "Machine")) if key in scores]
        st.caption("  \n".join(details))
    if training:
        st.markdown("**Training**")
        st.table({key.replace("_", " "): str(value) for key, value in training.items()})
    with st.expander("The whole card (card.json)"):
        st.json(card, expanded=False)
