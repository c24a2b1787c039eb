"""The operator's settings for a shared server, read once at start.

Where they come from: the TOML file named by the environment variable
``SEGLAB_CONFIG``, else ``lab.toml`` beside ``app.py`` when it exists, else
the defaults of :class:`Settings` (safe for a server anyone on the network
can open: no server folders, no Hub downloads). Every key is optional;
unknown keys and bad values stop the start with a message naming the key
(:class:`ConfigError`). ``python -m ui.config`` checks the file and prints
the settings in force. Relative folders are relative to the file's folder.
"""

from __future__ import annotations

import math
import os
import sys
import tomllib
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

APP_ROOT = Path(__file__).resolve().parent.parent
ENV_VAR = "SEGLAB_CONFIG"


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
    upload_ttl_minutes: int = 120  # uploaded model files are deleted this long after their last use
    disconnected_session_seconds: int = 60  # a visitor who left is forgotten (memory freed) after this


# key -> (kind, lowest, highest); the ranges keep a typo from starving or flooding the server.
RULES: dict[str, tuple[str, float, float]] = {
    "model_folders": ("folders", 0, 0),
    "dataset_folders": ("folders", 0, 0),
    "allow_hub_downloads": ("bool", 0, 0),
    "result_cache_mb": ("int", 16, 1_000_000),
    "max_image_megapixels": ("number", 0.1, 64.0),  # 64: segcore.MAX_PIXELS, the decoder's own limit
    "max_upload_mb": ("int", 1, 10_000),
    "max_trainings": ("int", 0, 64),  # 0 switches the feature off
    "max_evaluations": ("int", 0, 64),
    "upload_ttl_minutes": ("int", 1, 7 * 24 * 60),
    "disconnected_session_seconds": ("int", 5, 24 * 3600),
}


class ConfigError(ValueError):
    """An operator setting that cannot be used; the message names the file, the key and the value."""


def config_path() -> Path | None:
    named = os.environ.get(ENV_VAR)
    if named:
        return Path(named)
    default = APP_ROOT / "lab.toml"
    return default if default.is_file() else None


def _bad(where: str, key: str, value: Any, expected: str) -> ConfigError:
    return ConfigError(f"{where}: {key} = {value!r:.80} is not valid: expected {expected}")


def _check(where: str, base: Path, key: str, value: Any) -> Any:
    kind, low, high = RULES[key]
    if kind == "bool":
        if not isinstance(value, bool):
            raise _bad(where, key, value, "true or false")
        return value
    if kind == "folders":
        if not isinstance(value, list) or not all(isinstance(p, str) and p.strip() for p in value):
            raise _bad(where, key, value, 'a list of folder paths, e.g. ["/srv/models"]')
        folders = []
        for text in value:
            folder = (base / Path(text).expanduser()).resolve()
            if not folder.is_dir():
                raise _bad(where, key, text, f"an existing folder ({folder} is not one)")
            folders.append(folder)
        return tuple(folders)
    whole = kind == "int"
    ok = isinstance(value, int if whole else (int, float)) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or not low <= value <= high:
        what = "a whole number" if whole else "a number"
        raise _bad(where, key, value, f"{what} from {low:g} to {high:g}")
    return value if whole else float(value)


def load_settings(path: Path | None) -> Settings:
    """Read and check the settings in ``path`` (None: the defaults). Raises :class:`ConfigError`."""
    if path is None:
        return Settings()
    where = str(path)
    try:
        with path.open("rb") as handle:
            values = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{where}: the configuration file does not exist (set by {ENV_VAR} or lab.toml)") from None
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{where}: cannot be read as TOML ({error})") from None
    unknown = sorted(set(values) - set(RULES))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; the keys are: {', '.join(RULES)}")
    base = path.resolve().parent
    return Settings(**{key: _check(where, base, key, value) for key, value in values.items()})


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The settings in force (read once per process). Raises :class:`ConfigError` when they are invalid."""
    return load_settings(config_path())


# --- server folders ---------------------------------------------------------

#: The one answer for a folder a visitor may not read, whether or not it exists.
NOT_OFFERED = "This folder is not available on this server. Pick one of the folders offered."


class PathRefused(ValueError):
    """A requested path that is missing or outside every allowed root (the message never says which)."""


def allowed_path(requested: str | os.PathLike, roots: tuple[Path, ...] | list[Path]) -> Path:
    """``requested`` resolved (symlinks followed, ``..`` applied) when it is an existing folder inside one of ``roots``.

    Anything else (missing, a file, outside every root, through a symlink
    that leaves its root) raises :class:`PathRefused` with :data:`NOT_OFFERED`.
    """
    try:
        resolved = Path(os.fspath(requested)).expanduser().resolve(strict=True)
    except (OSError, RuntimeError, TypeError, ValueError):
        raise PathRefused(NOT_OFFERED) from None
    for root in roots:
        if resolved.is_relative_to(Path(root).resolve()) and resolved.is_dir():
            return resolved
    raise PathRefused(NOT_OFFERED)


def streamlit_flags(current: Settings | None = None) -> list[str]:
    """The ``streamlit run`` options that follow from the settings (upload size, reconnection window)."""
    current = current or settings()
    return ["--server.maxUploadSize", str(current.max_upload_mb),
            "--server.disconnectedSessionTTL", str(current.disconnected_session_seconds)]


def settings_or_report() -> Settings | None:
    """The settings, or None after printing why they are invalid (for the command-line entry points)."""
    try:
        return settings()
    except ConfigError as error:
        print(f"Segmentation lab: invalid configuration. {error}", file=sys.stderr)
        return None


def main(argv: list[str]) -> int:
    """``python -m ui.config [--flags]``: check the settings; print them, or the flags for ``streamlit run``."""
    current = settings_or_report()
    if current is None:
        return 2
    if argv[:1] == ["--flags"]:
        print(" ".join(streamlit_flags(current)))
        return 0
    print(f"# settings in force (from {config_path() or 'the defaults'})")
    for field in fields(Settings):
        value = getattr(current, field.name)
        if isinstance(value, tuple):
            value = [str(p) for p in value]
        print(f"{field.name} = {value!r}".replace("'", '"').replace("True", "true").replace("False", "false"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
