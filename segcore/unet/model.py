"""Finding, building and loading U-Net models (segmentation-models-pytorch).

A *model source* is one of:

- a bundled model name (see :data:`BUNDLED_MODELS`; ``"nuclei"`` is the default),
- a local folder in smp's ``save_pretrained`` layout (``config.json`` +
  ``model.safetensors``), optionally with segcore's ``card.json``,
- a ``.safetensors`` state dict whose folder holds a ``config.json``,
- a Hugging Face Hub id such as ``"smp-hub/segformer-b0-512x512-ade-160k"``
  (needs a network; a clear error says so when there is none).

Weights are only ever read from safetensors, never unpickled. Loaded models
are cached per process, keyed by source and device.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidParameterError

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
BUNDLED_MODELS: dict[str, Path] = {"nuclei": MODELS_DIR / "nuclei_unet"}
DEFAULT_MODEL = "nuclei"
CARD_FILE = "card.json"

# The architecture of the bundled model (and the training default). tu-resnet10t
# is a 5-stage ResNet (timm) whose plain 3x3 convolutions run fast in bf16 on
# CPUs with AMX/AVX-512; the decoder is narrowed from smp's default
# (256, 128, 64, 32, 16) to keep the file small.
DEFAULT_ARCHITECTURE: dict[str, Any] = {
    "arch": "unet",
    "encoder_name": "tu-resnet10t",
    "decoder_channels": [128, 64, 32, 16, 16],
    "in_channels": 3,
    "classes": 1,
}


@dataclass
class LoadedModel:
    """A network ready for inference, with what is needed to feed it."""

    network: Any  # torch.nn.Module
    device: Any  # torch.device
    source: str
    card: dict[str, Any] = field(default_factory=dict)

    @property
    def classes(self) -> int:
        return int(self.card.get("classes", 1))

    @property
    def class_names(self) -> list[str]:
        names = self.card.get("class_names")
        if names:
            return [str(n) for n in names]
        if self.classes == 1:
            return ["background", "foreground"]
        return [f"class {i}" for i in range(self.classes)]

    @property
    def normalization(self) -> str:
        return str(self.card.get("normalization", "imagenet"))

    @property
    def threshold(self) -> float:
        return float(self.card.get("threshold", 0.5))


def resolve_device(device: str = "auto"):
    """``"auto"`` → CUDA when available, else Apple MPS, else CPU; or the device named."""
    import torch

    if device in (None, "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise InvalidParameterError(f"unknown device {device!r}: use 'auto', 'cpu', 'cuda' or 'mps'") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise InvalidParameterError("device 'cuda' was asked for but this machine has no usable CUDA GPU")
    if resolved.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise InvalidParameterError("device 'mps' was asked for but this machine has no Apple GPU")
    return resolved


def available_devices() -> list[str]:
    """Devices this machine can run the U-Net on, best first."""
    import torch

    devices = []
    if torch.cuda.is_available():
        devices.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        devices.append("mps")
    devices.append("cpu")
    return devices


def build_network(architecture: dict[str, Any] | None = None):
    """A freshly initialised smp model (no downloads: ``encoder_weights=None``)."""
    import segmentation_models_pytorch as smp

    config = dict(DEFAULT_ARCHITECTURE if architecture is None else architecture)
    arch = config.pop("arch")
    return smp.create_model(arch, encoder_weights=None, **config)


def read_card(folder: Path) -> dict[str, Any]:
    """segcore's model card (``card.json``) merged over smp's ``config.json``."""
    card: dict[str, Any] = {}
    config_path = folder / "config.json"
    if config_path.is_file():
        config = json.loads(config_path.read_text())
        card["classes"] = config.get("classes", 1)
        card["architecture"] = config
        for key in ("class_names", "classes_names"):
            if key in config:
                card["class_names"] = config[key]
        if "id2label" in config:
            id2label = config["id2label"]
            card["class_names"] = [id2label[k] for k in sorted(id2label, key=int)]
    card_path = folder / CARD_FILE
    if card_path.is_file():
        card.update(json.loads(card_path.read_text()))
    return card


def card_score_rows(card: dict[str, Any]) -> list[dict[str, Any]]:
    """The validation scores of a model card as table rows, one per scored method.

    Reads the ``"evaluation"`` section that ``bench/update_model_card.py``
    writes: for each method (the model itself, then any baseline) its mean
    IoU, Dice, pixel accuracy, DSB instance score and IoU per image modality
    (columns named after the modality, with its number of images).
    A card without that section gives no rows.

    Examples
    --------
    >>> card = {"evaluation": {"unet": {"iou": 0.9, "dice": 0.95, "images": 3,
    ...         "per_modality_iou": {"fluorescence": {"iou": 0.92, "images": 2}}}}}
    >>> card_score_rows(card)
    [{'method': 'this model', 'images': 3, 'IoU': 0.9, 'Dice': 0.95, 'fluorescence (2)': 0.92}]
    """
    names = {"unet": "this model", "baseline_otsu_auto_polarity": "Otsu (auto polarity)"}
    columns = {"iou": "IoU", "dice": "Dice", "pixel_accuracy": "pixel acc.", "dsb_score": "DSB score"}
    rows = []
    for key, scores in card.get("evaluation", {}).items():
        if not isinstance(scores, dict) or "iou" not in scores:
            continue  # the section's description fields (data, command, date...)
        row: dict[str, Any] = {"method": names.get(key, key.replace("_", " ")), "images": scores.get("images")}
        row.update({label: scores[name] for name, label in columns.items() if name in scores})
        for modality, part in sorted(scores.get("per_modality_iou", {}).items()):
            row[f"{modality} ({part['images']})"] = part["iou"]
        rows.append(row)
    return rows


def _looks_like_hub_id(source: str) -> bool:
    parts = source.split("/")
    return len(parts) == 2 and all(parts) and not source.startswith((".", "/", "~"))


def _load_from_folder(folder: Path):
    import segmentation_models_pytorch as smp

    if not (folder / "config.json").is_file():
        raise InvalidParameterError(
            f"{folder} has no config.json; a model folder must be smp's save_pretrained layout "
            "(config.json + model.safetensors)"
        )
    if not (folder / "model.safetensors").is_file():
        raise InvalidParameterError(
            f"{folder} has no model.safetensors (only safetensors weights are loaded, never pickles)"
        )
    try:
        return smp.from_pretrained(str(folder), encoder_weights=None)
    except Exception as error:  # smp/timm raise many kinds for a bad config
        raise InvalidParameterError(f"could not build the model in {folder}: {error}") from error


def _load_state_dict_file(path: Path):
    """A ``.safetensors`` state dict with the smp ``config.json`` beside it."""
    from safetensors.torch import load_file

    config_path = path.with_name("config.json")
    if not config_path.is_file():
        raise InvalidParameterError(
            f"{path.name} is a bare state dict; put the model's smp config.json beside it "
            "(the file save_pretrained writes) so the architecture is known"
        )
    import segmentation_models_pytorch as smp

    config = json.loads(config_path.read_text())
    model_class = config.pop("_model_class", None) or config.pop("arch", None)
    if model_class is None:
        raise InvalidParameterError(f"{config_path} does not say which architecture it is (_model_class)")
    config.pop("encoder_weights", None)
    try:
        network = smp.create_model(model_class, encoder_weights=None, **config)
        network.load_state_dict(load_file(str(path)))
    except Exception as error:
        raise InvalidParameterError(f"the weights in {path.name} do not fit its config: {error}") from error
    return network


def _load_from_hub(repo_id: str):
    import segmentation_models_pytorch as smp

    try:
        return smp.from_pretrained(repo_id, encoder_weights=None)
    except Exception as error:
        offline = os.environ.get("HF_HUB_OFFLINE") == "1"
        raise InvalidParameterError(
            f"could not get the model {repo_id!r} from the Hugging Face Hub"
            + (" (HF_HUB_OFFLINE=1 is set)" if offline else "")
            + f": the machine may be offline, or the id may be wrong (there is no local folder "
            f"{repo_id!r} either). Use the bundled model or a "
            f"local folder instead. Details: {type(error).__name__}: {str(error)[:200]}"
        ) from error


def resolve_source(model: str | os.PathLike | None) -> tuple[str, Path | None]:
    """Normalise a model source to (description, local path or None for a hub id)."""
    if model is None or model == "":
        model = DEFAULT_MODEL
    if isinstance(model, str) and model in BUNDLED_MODELS:
        return model, BUNDLED_MODELS[model]
    path = Path(os.fspath(model)).expanduser()
    if path.exists():
        return str(path), path
    if isinstance(model, str) and _looks_like_hub_id(model):
        return model, None
    valid = ", ".join(BUNDLED_MODELS)
    raise InvalidParameterError(
        f"model {str(model)!r} is neither a bundled model ({valid}), an existing folder or "
        ".safetensors file, nor a Hugging Face Hub id like 'owner/name'"
    )


@functools.lru_cache(maxsize=4)
def _load_cached(source: str, path: str | None, device_str: str) -> LoadedModel:
    import torch

    folder = None if path is None else Path(path)
    if folder is None:
        network = _load_from_hub(source)
        card = {"normalization": "imagenet"}  # what smp-hub models were trained with
    elif folder.is_file():
        if folder.suffix.lower() in (".pt", ".pth", ".ckpt", ".bin", ".pkl"):
            raise InvalidParameterError(
                f"{folder.name} is a pickle-based checkpoint; for safety only .safetensors weights "
                "are loaded (save with model.save_pretrained(folder) or safetensors.torch.save_file)"
            )
        if folder.suffix.lower() != ".safetensors":
            raise InvalidParameterError(f"{folder.name} is not a model: expected a folder or a .safetensors file")
        network = _load_state_dict_file(folder)
        card = read_card(folder.parent)
    else:
        network = _load_from_folder(folder)
        card = read_card(folder)
    card.setdefault("classes", int(getattr(network.segmentation_head[0], "out_channels", 1)))
    device = torch.device(device_str)
    network = network.float().eval().to(device)
    if device.type == "cpu":
        network = network.to(memory_format=torch.channels_last)
    return LoadedModel(network=network, device=device, source=source, card=card)


def load_model(model: str | os.PathLike | None = DEFAULT_MODEL, *, device: str = "auto") -> LoadedModel:
    """Load a model once per process (later calls with the same source and device reuse it).

    Parameters
    ----------
    model : str or path
        Bundled name, local folder, ``.safetensors`` file or Hub id (see the module docstring).
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or ``"mps"``.

    Raises
    ------
    InvalidParameterError
        With a human message when the model cannot be found, read or downloaded.

    Examples
    --------
    >>> loaded = load_model("nuclei", device="cpu")        # doctest: +SKIP
    >>> loaded.classes, loaded.normalization                # doctest: +SKIP
    (1, 'segcore')
    """
    source, path = resolve_source(model)
    device_obj = resolve_device(device)
    return _load_cached(source, None if path is None else str(path.resolve()), str(device_obj))
