"""The object store's settings from the environment (stack_object_store.settings): pure, so
every case is a mapping in and settings or a named error out."""

from __future__ import annotations

import pytest

from stack_object_store.settings import (
    DEFAULT_PREFIX,
    ObjectStoreSettingError,
    ObjectStoreSettings,
    object_store_settings,
)

GOOD = {
    "STACK_S3_ENDPOINT_URL": "http://objectstore:9000",
    "STACK_S3_BUCKET": "dagster",
    "STACK_S3_PREFIX": "stack-a",
    "AWS_SHARED_CREDENTIALS_FILE": "/run/secrets/s3_credentials",
}


def test_reads_every_setting() -> None:
    assert object_store_settings(GOOD) == ObjectStoreSettings(
        endpoint_url="http://objectstore:9000",
        bucket="dagster",
        prefix="stack-a",
        credentials_file="/run/secrets/s3_credentials",
    )


def test_the_io_manager_has_a_segment_of_its_own_below_the_prefix() -> None:
    # Apart from the compute logs' `<prefix>/storage/<run id>/...`, which a run's purge
    # deletes by prefix.
    assert object_store_settings(GOOD).io_manager_prefix == "stack-a/io"


@pytest.mark.parametrize("value", [None, "", "  ", "/"])
def test_the_prefix_defaults_to_dagster(value: str | None) -> None:
    env = {k: v for k, v in GOOD.items() if k != "STACK_S3_PREFIX"}
    if value is not None:
        env["STACK_S3_PREFIX"] = value
    assert object_store_settings(env).prefix == DEFAULT_PREFIX == "dagster"


def test_the_prefix_loses_surrounding_slashes_and_keeps_inner_ones() -> None:
    settings = object_store_settings({**GOOD, "STACK_S3_PREFIX": "/team/stack-a/"})
    assert settings.prefix == "team/stack-a"


@pytest.mark.parametrize("value", ["a//b", "a/../b", "./a"])
def test_a_prefix_a_file_backed_server_would_refuse_is_named(value: str) -> None:
    with pytest.raises(ObjectStoreSettingError, match="STACK_S3_PREFIX"):
        object_store_settings({**GOOD, "STACK_S3_PREFIX": value})


@pytest.mark.parametrize(
    "variable", ["STACK_S3_ENDPOINT_URL", "STACK_S3_BUCKET", "AWS_SHARED_CREDENTIALS_FILE"]
)
@pytest.mark.parametrize("value", [None, "", "   "])
def test_a_missing_setting_is_named(variable: str, value: str | None) -> None:
    env = {k: v for k, v in GOOD.items() if k != variable}
    if value is not None:
        env[variable] = value
    with pytest.raises(ObjectStoreSettingError, match=f"^{variable} is not set"):
        object_store_settings(env)


def test_a_missing_credentials_file_says_what_the_file_holds() -> None:
    env = {k: v for k, v in GOOD.items() if k != "AWS_SHARED_CREDENTIALS_FILE"}
    with pytest.raises(ObjectStoreSettingError) as raised:
        object_store_settings(env)
    assert "[default]" in str(raised.value)
    assert "aws_access_key_id" in str(raised.value)
    assert "aws_secret_access_key" in str(raised.value)


@pytest.mark.parametrize(
    "url", ["objectstore:9000", "ftp://objectstore", "http://", "s3://bucket"]
)
def test_an_endpoint_that_is_not_an_http_url_is_named(url: str) -> None:
    with pytest.raises(ObjectStoreSettingError, match="STACK_S3_ENDPOINT_URL"):
        object_store_settings({**GOOD, "STACK_S3_ENDPOINT_URL": url})


def test_an_https_endpoint_keeps_its_port_and_loses_a_trailing_slash() -> None:
    url = "https://s3.example.test:8443/"
    assert object_store_settings({**GOOD, "STACK_S3_ENDPOINT_URL": url}).endpoint_url == url[:-1]


@pytest.mark.parametrize("bucket", ["Dagster", "ab", "a" * 64, "-dagster", "da_gster", "da..gster"])
def test_an_invalid_bucket_name_is_named(bucket: str) -> None:
    with pytest.raises(ObjectStoreSettingError, match="STACK_S3_BUCKET"):
        object_store_settings({**GOOD, "STACK_S3_BUCKET": bucket})


@pytest.mark.parametrize("bucket", ["abc", "dagster-logs", "team.dagster", "a" * 63])
def test_valid_bucket_names_pass(bucket: str) -> None:
    assert object_store_settings({**GOOD, "STACK_S3_BUCKET": bucket}).bucket == bucket


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in GOOD.items():
        monkeypatch.setenv(name, value)
    assert object_store_settings() == object_store_settings(GOOD)
