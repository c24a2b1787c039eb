"""The operator's settings for a shared server, read once at start.

Where they come from: the TOML file named by the environment variable
``SEGLAB_CONFIG``, else ``lab.toml`` beside ``app.py`` when it exists, else
the defaults below (safe for a server anyone on the network can open: no
server folders, no Hub downloads).

(First cut: the full validation, messages and README section come with
issue 12.)
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

APP_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    model_folders: tuple[Path, ...] = ()  # server folders whose models visitors may pick
    dataset_folders: tuple[Path, ...] = ()  # server folders visitors may evaluate or train on
    allow_hub_downloads: bool = False
    result_cache_mb: int = 512
    max_image_megapixels: float = 64.0
    max_upload_mb: int = 100
    max_trainings: int = 1  # background trainings running at once, server-wide
    max_evaluations: int = 1  # dataset evaluations running at once, server-wide


def config_path() -> Path | None:
    named = os.environ.get("SEGLAB_CONFIG")
    if named:
        return Path(named)
    default = APP_ROOT / "lab.toml"
    return default if default.is_file() else None


@lru_cache(maxsize=1)
def settings() -> Settings:
    path = config_path()
    if path is None:
        return Settings()
    with path.open("rb") as handle:
        values = tomllib.load(handle)
    for key in ("model_folders", "dataset_folders"):
        if key in values:
            values[key] = tuple(Path(p).resolve() for p in values[key])
    return Settings(**values)
