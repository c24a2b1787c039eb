"""Finding, building and loading U-Net models (segmentation-models-pytorch).

A *model source* is one of:

- a bundled model name (see :data:`BUNDLED_MODELS`; ``"nuclei"`` is the default),
- a local folder in smp's ``save_pretrained`` layout (``config.json`` +
  ``model.safetensors``), optionally with segcore's ``card.json``,
- a ``.safetensors`` state dict whose folder holds a ``config.json``,
- a Hugging Face Hub id such as ``"smp-hub/segformer-b0-512x512-ade-160k"``
  (needs a network; a clear error says so when there is none).

Weights are only ever read from safetensors, never unpickled. Loaded models
are cached per process, keyed by source and device. A source that cannot be
found, read or downloaded raises ``InvalidParameterError`` with a human message.

``config.json`` and ``card.json`` may come from a visitor: each must be a JSON
object, and the keys segcore reads (``classes``, ``class_names``/``id2label``,
``threshold`` in (0, 1), ``normalization``, the ``training``/``evaluation``/
``architecture`` sections) are type- and range-checked (:class:`InvalidCardError`
says which); other keys are ignored.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..cache import LruCache
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


MAX_CLASSES = 1000
MAX_NAME_CHARS = 100
NORMALIZATIONS = ("segcore", "imagenet")


class InvalidCardError(InvalidParameterError):
    """A ``config.json`` or ``card.json`` that does not fit the schema (the message says what)."""


def read_json_object(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidCardError(f"{path.name} is not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise InvalidCardError(f"{path.name} must hold a JSON object {{...}}, not a {type(value).__name__}")
    return value


def _check_count(name: str, value: Any, file: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CLASSES:
        raise InvalidCardError(f"{file}: {name} must be a whole number from 1 to {MAX_CLASSES}, got {value!r:.40}")
    return value


def _check_names(value: Any, file: str) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_CLASSES + 1 or not all(
            isinstance(n, str) and len(n) <= MAX_NAME_CHARS for n in value):
        raise InvalidCardError(f"{file}: class_names must be a list of at most {MAX_CLASSES + 1} texts "
                               f"of at most {MAX_NAME_CHARS} characters")
    return list(value)


def _check_card(card: dict[str, Any]) -> dict[str, Any]:
    """The keys of ``card.json`` that segcore reads, type- and range-checked; other keys pass unread."""
    file = CARD_FILE
    if "threshold" in card:
        value = card["threshold"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value < 1.0:
            raise InvalidCardError(f"{file}: threshold must be a number between 0 and 1 (exclusive), "
                                   f"got {value!r:.40}")
    if "classes" in card:
        _check_count("classes", card["classes"], file)
    if "class_names" in card:
        _check_names(card["class_names"], file)
    if "normalization" in card and card["normalization"] not in NORMALIZATIONS:
        raise InvalidCardError(f"{file}: normalization must be one of {', '.join(NORMALIZATIONS)}, "
                               f"got {card['normalization']!r:.40}")
    for section in ("training", "evaluation", "architecture"):
        if section in card and not isinstance(card[section], dict):
            raise InvalidCardError(f"{file}: {section} must be a JSON object {{...}}")
    for key, scores in card.get("evaluation", {}).items():
        if isinstance(scores, dict) and "iou" in scores:
            numbers = [scores[k] for k in ("iou", "dice", "pixel_accuracy", "dsb_score", "images") if k in scores]
            modalities = scores.get("per_modality_iou", {})
            if not isinstance(modalities, dict) or not all(
                    isinstance(m, dict) and {"iou", "images"} <= m.keys() for m in modalities.values()):
                raise InvalidCardError(f"{file}: evaluation.{key:.40}.per_modality_iou must map each modality "
                                       "to {\"iou\": ..., \"images\": ...}")
            numbers += [v for m in modalities.values() for v in (m["iou"], m["images"])]
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers):
                raise InvalidCardError(f"{file}: the scores in evaluation.{key:.40} must be numbers")
    return card


def read_card(folder: Path) -> dict[str, Any]:
    """segcore's model card (``card.json``) merged over smp's ``config.json``, both checked (module docstring)."""
    card: dict[str, Any] = {}
    config_path = folder / "config.json"
    if config_path.is_file():
        config = read_json_object(config_path)
        card["classes"] = _check_count("classes", config.get("classes", 1), "config.json")
        card["architecture"] = config
        for key in ("class_names", "classes_names"):
            if key in config:
                card["class_names"] = _check_names(config[key], "config.json")
        if "id2label" in config:
            id2label = config["id2label"]
            if not isinstance(id2label, dict) or not all(k.isdigit() for k in id2label):
                raise InvalidCardError("config.json: id2label must map class numbers (\"0\", \"1\"...) to names")
            card["class_names"] = _check_names([id2label[k] for k in sorted(id2label, key=int)], "config.json")
    card_path = folder / CARD_FILE
    if card_path.is_file():
        card.update(_check_card(read_json_object(card_path)))
    return card


def card_score_rows(card: dict[str, Any]) -> list[dict[str, Any]]:
    """The card's ``"evaluation"`` section (``bench/update_model_card.py``) as table rows, one per scored method.

    Modality columns are named with their number of images; no section, no rows.

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

    config = read_json_object(config_path)
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
    """Download ``config.json`` and ``model.safetensors`` of a Hub repository and load that folder.

    Only those two files are fetched, so a repository that ships pickled
    weights only (``pytorch_model.bin``) is refused instead of unpickled.
    """
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

    try:
        hf_hub_download(repo_id, "config.json")
        weights = hf_hub_download(repo_id, "model.safetensors")
    except EntryNotFoundError as error:
        if isinstance(error, LocalEntryNotFoundError):  # offline: not in the local cache
            raise _hub_unreachable(repo_id, error) from error
        raise InvalidParameterError(
            f"the Hub model {repo_id!r} has no config.json and model.safetensors; only safetensors "
            "weights are loaded, never pickles"
        ) from error
    except Exception as error:
        raise _hub_unreachable(repo_id, error) from error
    return _load_from_folder(Path(weights).parent)


def _hub_unreachable(repo_id: str, error: Exception) -> InvalidParameterError:
    offline = os.environ.get("HF_HUB_OFFLINE") == "1"
    return InvalidParameterError(
        f"could not get the model {repo_id!r} from the Hugging Face Hub"
        + (" (HF_HUB_OFFLINE=1 is set)" if offline else "")
        + f": the machine may be offline, or the id may be wrong (there is no local folder "
        f"{repo_id!r} either). Use the bundled model or a "
        f"local folder instead. Details: {type(error).__name__}: {str(error)[:200]}"
    )


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


# Loaded models, shared by every caller in the process; concurrent first
# requests for one model wait for a single load (see segcore.cache).
_MODELS = LruCache(max_items=4)


def _load(source: str, path: str | None, device_str: str) -> LoadedModel:
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
        card = read_card(folder.parent)
        network = _load_state_dict_file(folder)
    else:
        card = read_card(folder)
        network = _load_from_folder(folder)
    card.setdefault("classes", int(getattr(network.segmentation_head[0], "out_channels", 1)))
    device = torch.device(device_str)
    network = network.float().eval().to(device)
    if device.type == "cpu":
        network = network.to(memory_format=torch.channels_last)
    return LoadedModel(network=network, device=device, source=source, card=card)


def load_model(model: str | os.PathLike | None = DEFAULT_MODEL, *, device: str = "auto") -> LoadedModel:
    """Load a model source (module docstring), once per process for each source and device.

    ``device``: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or ``"mps"``.

    >>> loaded = load_model("nuclei", device="cpu")        # doctest: +SKIP
    >>> loaded.classes, loaded.normalization                # doctest: +SKIP
    (1, 'segcore')
    """
    source, path = resolve_source(model)
    device_obj = resolve_device(device)
    key = (source, None if path is None else str(path.resolve()), str(device_obj))
    return _MODELS.get_or_compute(key, lambda: _load(*key))
