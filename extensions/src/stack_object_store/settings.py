"""The object store's settings, from the environment every Dagster process of the stack gets.

Pure: a mapping in (os.environ by default), settings out; nothing is read from disk or the
network, so a bad value is reported by name before any S3 client exists.

| variable | meaning |
| --- | --- |
| `STACK_S3_ENDPOINT_URL` | the S3 API's address, `http://objectstore:9000` or `https://...` |
| `STACK_S3_BUCKET` | the bucket holding the IO manager's data and the compute logs |
| `STACK_S3_PREFIX` | the keys' common prefix (default `dagster`) |
| `AWS_SHARED_CREDENTIALS_FILE` | the secret file boto3 reads the access key from |

The credentials file is AWS's shared credentials format; boto3 reads it itself (its standard
variable), so no key ever sits in the environment, dagster.yaml or `docker inspect`:

    [default]
    aws_access_key_id = AKIA...
    aws_secret_access_key = ...
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = [
    "BUCKET_ENV",
    "CREDENTIALS_FILE_ENV",
    "DEFAULT_PREFIX",
    "ENDPOINT_URL_ENV",
    "ObjectStoreSettingError",
    "ObjectStoreSettings",
    "PREFIX_ENV",
    "object_store_settings",
]

ENDPOINT_URL_ENV = "STACK_S3_ENDPOINT_URL"
BUCKET_ENV = "STACK_S3_BUCKET"
PREFIX_ENV = "STACK_S3_PREFIX"
# boto3's own variable: naming it here only makes a missing secret fail early and by name.
CREDENTIALS_FILE_ENV = "AWS_SHARED_CREDENTIALS_FILE"
DEFAULT_PREFIX = "dagster"

# The IO manager's keys live below their own segment of the prefix: the compute log manager
# keeps its files under `<prefix>/storage/<run id>/...`, and the retention purge deletes a
# run's logs by that prefix, which would otherwise also take the run's op outputs with it.
IO_MANAGER_SEGMENT = "io"

# S3's bucket naming rules (also what `rclone serve s3` can hold as a directory name).
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")

CREDENTIALS_FORMAT = (
    "[default]\\naws_access_key_id = <key id>\\naws_secret_access_key = <secret key>"
)


class ObjectStoreSettingError(ValueError):
    """A setting is missing or malformed; the message names its variable."""


@dataclass(frozen=True)
class ObjectStoreSettings:
    endpoint_url: str
    bucket: str
    # Without leading or trailing "/", never empty.
    prefix: str
    credentials_file: str

    @property
    def io_manager_prefix(self) -> str:
        return f"{self.prefix}/{IO_MANAGER_SEGMENT}"


def _required(env: Mapping[str, str], name: str, what: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ObjectStoreSettingError(f"{name} is not set: it must name {what}")
    return value


def _endpoint_url(env: Mapping[str, str]) -> str:
    value = _required(env, ENDPOINT_URL_ENV, "the S3 endpoint, e.g. http://objectstore:9000")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ObjectStoreSettingError(
            f"{ENDPOINT_URL_ENV}={value!r} is not an http:// or https:// URL with a host"
        )
    return value.rstrip("/")


def _bucket(env: Mapping[str, str]) -> str:
    value = _required(env, BUCKET_ENV, "the bucket, e.g. dagster")
    if not _BUCKET.fullmatch(value) or ".." in value:
        raise ObjectStoreSettingError(
            f"{BUCKET_ENV}={value!r} is not a valid S3 bucket name (3-63 characters: "
            "lowercase letters, digits, '.' and '-', starting and ending with a letter or digit)"
        )
    return value


def _prefix(env: Mapping[str, str]) -> str:
    raw = env.get(PREFIX_ENV, "").strip()
    value = raw.strip("/") or DEFAULT_PREFIX
    # S3 would take any key; S3-compatible servers that store objects as files (rclone,
    # MinIO) refuse empty, "." and ".." segments, so such a prefix fails here, by name.
    if any(segment in ("", ".", "..") for segment in value.split("/")):
        raise ObjectStoreSettingError(
            f"{PREFIX_ENV}={raw!r} has an empty, '.' or '..' path segment"
        )
    return value


def _credentials_file(env: Mapping[str, str]) -> str:
    return _required(
        env,
        CREDENTIALS_FILE_ENV,
        f"the secret file with the S3 access key, in AWS's format: {CREDENTIALS_FORMAT}",
    )


def object_store_settings(environ: Mapping[str, str] | None = None) -> ObjectStoreSettings:
    """The settings from `environ` (default os.environ); raises ObjectStoreSettingError,
    naming the variable, for the first one that is missing or malformed."""
    env = os.environ if environ is None else environ
    return ObjectStoreSettings(
        endpoint_url=_endpoint_url(env),
        bucket=_bucket(env),
        prefix=_prefix(env),
        credentials_file=_credentials_file(env),
    )
