"""The operator's settings (ui.config): defaults, invalid values, and which server folders a visitor may reach."""

from __future__ import annotations

from pathlib import Path

import pytest

from ui import capacity, config
from ui.config import NOT_OFFERED, ConfigError, PathRefused, Settings, allowed_path, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "lab.toml"
    path.write_text(text)
    return path


@pytest.fixture
def use_config(monkeypatch):
    """Point SEGLAB_CONFIG at a file for one test; the cached settings are re-read before and after."""
    def use(path: Path | None) -> Settings:
        if path is None:
            monkeypatch.delenv(config.ENV_VAR, raising=False)
        else:
            monkeypatch.setenv(config.ENV_VAR, str(path))
        config.settings.cache_clear()
        return config.settings()

    yield use
    monkeypatch.delenv(config.ENV_VAR, raising=False)
    config.settings.cache_clear()


def test_defaults_are_the_safe_ones():
    assert load_settings(None) == Settings()
    defaults = Settings()
    assert defaults.model_folders == () and defaults.dataset_folders == ()
    assert defaults.allow_hub_downloads is False
    assert defaults.max_trainings == 1 and defaults.max_evaluations == 1


def test_no_file_means_defaults(use_config, monkeypatch):
    monkeypatch.setattr(config, "APP_ROOT", Path("/nonexistent-seglab-root"))
    assert use_config(None) == Settings()


def test_a_full_file_is_read_and_folders_resolved_against_it(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "data").mkdir()
    path = write(tmp_path, 'model_folders = ["models"]\ndataset_folders = ["./data/../data"]\n'
                           "allow_hub_downloads = true\nresult_cache_mb = 256\nmax_image_megapixels = 24\n"
                           "max_upload_mb = 50\nmax_trainings = 0\nmax_evaluations = 2\nupload_ttl_minutes = 30\n")
    got = load_settings(path)
    assert got.model_folders == ((tmp_path / "models").resolve(),)
    assert got.dataset_folders == ((tmp_path / "data").resolve(),)
    assert got.allow_hub_downloads is True
    assert (got.result_cache_mb, got.max_image_megapixels, got.max_upload_mb) == (256, 24.0, 50)
    assert (got.max_trainings, got.max_evaluations, got.upload_ttl_minutes) == (0, 2, 30)
    assert isinstance(got.max_image_megapixels, float)


@pytest.mark.parametrize("line, key", [
    ('result_cache_mb = "abc"', "result_cache_mb"),
    ("result_cache_mb = 1", "result_cache_mb"),
    ("result_cache_mb = 12.5", "result_cache_mb"),
    ("max_image_megapixels = 100", "max_image_megapixels"),
    ("max_image_megapixels = 0", "max_image_megapixels"),
    ("max_image_megapixels = nan", "max_image_megapixels"),
    ("max_upload_mb = -1", "max_upload_mb"),
    ("max_upload_mb = true", "max_upload_mb"),
    ("max_trainings = -1", "max_trainings"),
    ("max_evaluations = 1.5", "max_evaluations"),
    ('allow_hub_downloads = "yes"', "allow_hub_downloads"),
    ("allow_hub_downloads = 1", "allow_hub_downloads"),
    ('model_folders = "/srv/models"', "model_folders"),
    ("model_folders = [1]", "model_folders"),
    ('dataset_folders = ["/nonexistent-seglab-folder"]', "dataset_folders"),
])
def test_an_invalid_value_names_the_key_and_the_value(tmp_path, line, key):
    path = write(tmp_path, line + "\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {key} = ")
    assert "is not valid: expected" in message
    assert line.split(" = ")[1].strip('"[]').lower() in message.lower()


def test_an_unknown_key_is_refused_with_the_list_of_keys(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key 'result_cache_MB'; the keys are: model_folders, "):
        load_settings(write(tmp_path, "result_cache_MB = 100\n"))


def test_a_file_that_is_not_toml_or_missing(tmp_path):
    with pytest.raises(ConfigError, match="cannot be read as TOML"):
        load_settings(write(tmp_path, "result_cache_mb = = 3\n"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")


def test_settings_come_from_the_file_named_by_the_environment(use_config, tmp_path):
    assert use_config(write(tmp_path, "max_upload_mb = 7\n")).max_upload_mb == 7
    assert config.streamlit_flags() == ["--server.maxUploadSize", "7"]


def test_the_command_line_check_reports_an_invalid_file(use_config, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(config.ENV_VAR, str(write(tmp_path, "max_trainings = 'many'\n")))
    config.settings.cache_clear()
    assert config.main([]) == 2
    assert "invalid configuration" in capsys.readouterr().err
    monkeypatch.setenv(config.ENV_VAR, str(write(tmp_path, "max_trainings = 3\n")))
    config.settings.cache_clear()
    assert config.main([]) == 0
    assert "max_trainings = 3" in capsys.readouterr().out


# --- allowed_path -----------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path) -> dict[str, Path]:
    """An allowed root with a model folder, a secret folder beside it, and symlinks in the root."""
    root = tmp_path / "allowed"
    (root / "model_a").mkdir(parents=True)
    (root / "notes.txt").write_text("not a folder")
    secret = tmp_path / "secret"
    secret.mkdir()
    (root / "escape").symlink_to(secret, target_is_directory=True)
    (root / "inside_link").symlink_to(root / "model_a", target_is_directory=True)
    return {"root": root, "secret": secret, "tmp": tmp_path}


def test_a_folder_inside_the_root_is_allowed(tree):
    root = tree["root"]
    assert allowed_path(root / "model_a", [root]) == (root / "model_a").resolve()
    assert allowed_path(root, [root]) == root.resolve()
    assert allowed_path(root / "inside_link", [root]) == (root / "model_a").resolve()
    assert allowed_path(str(root / "model_a" / ".." / "model_a"), [root]) == (root / "model_a").resolve()


@pytest.mark.parametrize("requested", [
    lambda t: t["root"] / ".." / "secret",  # .. leaving the root
    lambda t: t["root"] / "escape",  # a symlink leaving the root
    lambda t: t["root"] / "escape" / "..",
    lambda t: t["secret"],  # outside, existing
    lambda t: t["tmp"] / "no_such_folder",  # outside, missing
    lambda t: t["root"] / "no_such_model",  # inside, missing
    lambda t: t["root"] / "notes.txt",  # inside, a file
    lambda t: Path("/"),
    lambda t: Path("/etc"),
    lambda t: "relative/path",
    lambda t: "",
])
def test_refused_paths_all_get_the_same_message(tree, requested):
    with pytest.raises(PathRefused) as caught:
        allowed_path(requested(tree), [tree["root"]])
    assert str(caught.value) == NOT_OFFERED


def test_nothing_is_allowed_without_roots(tree):
    with pytest.raises(PathRefused):
        allowed_path(tree["root"], [])


def test_the_message_does_not_depend_on_existence(tree):
    messages = set()
    for path in (tree["secret"], tree["tmp"] / "missing", Path("/root"), Path("/nonexistent")):
        try:
            allowed_path(path, [tree["root"]])
        except PathRefused as refused:
            messages.add(str(refused))
    assert messages == {NOT_OFFERED}
    assert "exist" not in NOT_OFFERED and str(tree["secret"]) not in NOT_OFFERED


# --- capacity caps ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind, key", [("training", "max_trainings"), ("evaluation", "max_evaluations")])
def test_a_job_over_the_cap_is_told_to_wait(use_config, tmp_path, kind, key):
    use_config(write(tmp_path, f"{key} = 1\n"))
    assert capacity.running(kind) == 0
    assert capacity.try_acquire(kind)
    try:
        assert capacity.running(kind) == 1
        assert not capacity.try_acquire(kind)  # the second one waits
        assert capacity.running(kind) == 1
        assert "1 of 1" in capacity.wait_message(kind)
    finally:
        capacity.release(kind)
    assert capacity.running(kind) == 0
    assert capacity.try_acquire(kind)
    capacity.release(kind)
    capacity.release(kind)  # one release too many never goes below zero
    assert capacity.running(kind) == 0


def test_a_cap_of_zero_switches_the_feature_off(use_config, tmp_path):
    use_config(write(tmp_path, "max_trainings = 0\n"))
    assert not capacity.try_acquire("training")
    assert "switched off" in capacity.wait_message("training")
    assert "max_trainings" in capacity.wait_message("training")

