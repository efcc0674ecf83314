"""stackctl.settings: `.env` overlaid with the environment, as compose reads them."""

from pathlib import Path

import pytest

from stackctl.renamed import RENAMED, resolve_renamed
from stackctl.settings import DEFAULT_KEEP_IMAGES, SettingError, load_environment, load_settings

REQUIRED = {
    "STACK_NAME": "envstack",
    "STACK_WEBSERVER_PORT": "3000",
    "PYTHON_BASE_IMAGE": "python:3.11-slim-bookworm",
    "STACK_DAGSTER_IMAGE": "envstack/dagster:dev",
    "STACK_POSTGRES_USER": "dagster",
    "STACK_POSTGRES_PASSWORD": "secret",
    "STACK_POSTGRES_DB": "dagster",
    "STACK_MAX_CONCURRENT_RUNS": "4",
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
    assert settings.webserver_url == "https://127.0.0.1:3000"
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
    settings = load_settings(root, {"STACK_NAME": "shell", "STACK_WEBSERVER_PORT": "4000"})
    assert settings.name == "shell"
    assert settings.webserver_url == "https://127.0.0.1:4000"
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


# --- names before the rename (DAGSTER_*): read for one release, with a warning -------------

OLD_REQUIRED = {
    "DAGSTER_WEBSERVER_PORT": "3100",
    "DAGSTER_IMAGE": "old/dagster:dev",
    "DAGSTER_POSTGRES_USER": "dagster",
    "DAGSTER_POSTGRES_PASSWORD": "secret",
    "DAGSTER_POSTGRES_DB": "dagster",
    "DAGSTER_MAX_CONCURRENT_RUNS": "4",
}


def _old_dotenv(tmp_path: Path) -> Path:
    (tmp_path / ".env").write_text(
        "STACK_NAME=envstack\nPYTHON_BASE_IMAGE=python:3.11-slim-bookworm\n"
        + "".join(f"{key}={value}\n" for key, value in OLD_REQUIRED.items())
    )
    return tmp_path


def test_old_names_in_dotenv_still_work_with_a_warning(tmp_path: Path) -> None:
    warnings: list[str] = []
    settings = load_settings(_old_dotenv(tmp_path), {}, warn=warnings.append)
    assert settings.webserver_url == "https://127.0.0.1:3100"
    assert settings.dagster_image == "old/dagster:dev"
    # Compose is run with the new names set (docker-compose.yml reads STACK_* first).
    assert settings.env["STACK_WEBSERVER_PORT"] == "3100"
    assert settings.env["STACK_POSTGRES_PASSWORD"] == "secret"
    assert len(warnings) == len(OLD_REQUIRED)
    assert (
        "DAGSTER_WEBSERVER_PORT (set in .env) is renamed STACK_WEBSERVER_PORT: set "
        "STACK_WEBSERVER_PORT instead; the old name is read until the next release"
    ) in warnings


def test_new_names_raise_no_warning(root: Path) -> None:
    warnings: list[str] = []
    load_settings(root, {"STACK_POSTGRES_PASSWORD": "x"}, warn=warnings.append)
    assert warnings == []


@pytest.mark.parametrize(
    ("dotenv", "environ", "expected"),
    [
        # The environment wins over .env, whichever name each uses: an old name exported in the
        # shell still overrides .env's default under the new name.
        ({"STACK_WEBSERVER_PORT": "3000"}, {"DAGSTER_WEBSERVER_PORT": "4000"}, "4000"),
        ({"DAGSTER_WEBSERVER_PORT": "3000"}, {"STACK_WEBSERVER_PORT": "4000"}, "4000"),
        # Within one source the new name wins; a blank value counts as unset (as in compose).
        ({}, {"STACK_WEBSERVER_PORT": "4000", "DAGSTER_WEBSERVER_PORT": "5000"}, "4000"),
        ({"STACK_WEBSERVER_PORT": "3000", "DAGSTER_WEBSERVER_PORT": "3001"}, {}, "3000"),
        ({}, {"STACK_WEBSERVER_PORT": " ", "DAGSTER_WEBSERVER_PORT": "5000"}, "5000"),
    ],
)
def test_precedence_of_new_and_old_names(dotenv: dict, environ: dict, expected: str) -> None:
    from_old, warnings = resolve_renamed(dotenv, environ)
    merged = {**dotenv, **environ, **from_old}
    assert merged["STACK_WEBSERVER_PORT"] == expected
    assert len(warnings) == sum("DAGSTER_WEBSERVER_PORT" in layer for layer in (dotenv, environ))


def test_the_old_password_in_the_environment_reaches_compose(root: Path) -> None:
    env = load_environment(root, {"DAGSTER_POSTGRES_PASSWORD": "from-shell"}, warn=lambda _: None)
    assert env["STACK_POSTGRES_PASSWORD"] == "from-shell"


def test_every_new_name_is_the_stacks_and_the_repository_uses_no_old_one() -> None:
    """docker-compose.yml and .env read the new names; an old one appears in the compose file
    only as the fallback of its new one (or as a copy for images built before the rename)."""
    repo = Path(__file__).resolve().parents[2]
    dotenv = (repo / ".env").read_text()
    compose = (repo / "docker-compose.yml").read_text()
    for old, new in RENAMED.items():
        assert new.startswith("STACK_") and old.startswith("DAGSTER_")
        assert f"\n{old}=" not in dotenv
        for line in compose.splitlines():
            if "${" + old in line:
                assert "${" + new + ":-${" + old in line, line
