"""stackctl.settings: `.env` overlaid with the environment, as compose reads them."""

from pathlib import Path

import pytest

from stackctl.settings import DEFAULT_KEEP_IMAGES, SettingError, load_environment, load_settings

REQUIRED = {
    "STACK_NAME": "envstack",
    "DAGSTER_WEBSERVER_PORT": "3000",
    "PYTHON_BASE_IMAGE": "python:3.11-slim-bookworm",
    "DAGSTER_IMAGE": "envstack/dagster:dev",
}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / ".env").write_text(
        "# comment\n" + "".join(f"{key}={value}\n" for key, value in REQUIRED.items()) + "DOTENV_ONLY=yes\n"
    )
    return tmp_path


def test_settings_from_dotenv_alone(root: Path) -> None:
    settings = load_settings(root, {})
    assert settings.name == "envstack"
    assert settings.webserver_url == "http://127.0.0.1:3000"
    assert settings.python_base_image == "python:3.11-slim-bookworm"
    assert settings.dagster_image == "envstack/dagster:dev"
    assert settings.pip_install_args == ""
    assert settings.keep_images == DEFAULT_KEEP_IMAGES
    assert settings.secrets_dir == root / "secrets"
    assert settings.env["DOTENV_ONLY"] == "yes"
    assert settings.network == "envstack-network"
    assert settings.image_repository("sales") == "envstack/sales"
    assert settings.secrets_volume("sales") == "envstack-secrets-sales"


def test_environment_wins_over_dotenv(root: Path) -> None:
    settings = load_settings(root, {"STACK_NAME": "shell", "DAGSTER_WEBSERVER_PORT": "4000"})
    assert settings.name == "shell"
    assert settings.webserver_url == "http://127.0.0.1:4000"
    assert settings.env["STACK_NAME"] == "shell"


def test_the_given_environ_replaces_the_process_environment(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STACK_NAME", "from-process")
    assert load_environment(root, {})["STACK_NAME"] == "envstack"


def test_stack_url_overrides_the_derived_url(root: Path) -> None:
    assert load_settings(root, {"STACK_URL": "http://dagster.example:8080"}).webserver_url == "http://dagster.example:8080"


def test_without_dotenv_the_environment_is_enough(tmp_path: Path) -> None:
    assert load_settings(tmp_path, dict(REQUIRED)).name == "envstack"


@pytest.mark.parametrize("key", sorted(REQUIRED))
def test_a_missing_required_setting_is_named(tmp_path: Path, key: str) -> None:
    environ = {k: v for k, v in REQUIRED.items() if k != key}
    with pytest.raises(SettingError, match=f"{key} is not set"):
        load_settings(tmp_path, environ)


def test_a_blank_stack_name_in_the_environment_is_missing(root: Path) -> None:
    with pytest.raises(SettingError, match="STACK_NAME is not set"):
        load_settings(root, {"STACK_NAME": "  "})


@pytest.mark.parametrize("keep", ["0", "x", "-1", "1.5", "two"])
def test_invalid_keep_images_is_refused(root: Path, keep: str) -> None:
    with pytest.raises(SettingError, match=f'STACK_KEEP_IMAGES="{keep}"'):
        load_settings(root, {"STACK_KEEP_IMAGES": keep})


@pytest.mark.parametrize(("keep", "expected"), [("1", 1), (" 7 ", 7), ("", DEFAULT_KEEP_IMAGES)])
def test_keep_images(root: Path, keep: str, expected: int) -> None:
    assert load_settings(root, {"STACK_KEEP_IMAGES": keep}).keep_images == expected


def test_superscript_keep_images_is_a_setting_error(root: Path) -> None:
    with pytest.raises(SettingError):
        load_settings(root, {"STACK_KEEP_IMAGES": "²"})


def test_relative_secrets_dir_is_resolved_against_the_root(root: Path) -> None:
    assert load_settings(root, {"STACK_SECRETS_DIR": "ops/secrets"}).secrets_dir == root / "ops" / "secrets"


def test_absolute_secrets_dir_is_kept(root: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    assert load_settings(root, {"STACK_SECRETS_DIR": str(elsewhere)}).secrets_dir == elsewhere
