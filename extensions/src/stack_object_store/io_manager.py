"""`s3_io_manager`: every code location's default IO manager, in the object store, with no
change to any location's code.

Dagster's default IO manager (the one a job gets when it names none) loads another one when
the run's environment says so: DAGSTER_DEFAULT_IO_MANAGER_MODULE=stack_object_store.io_manager
and DAGSTER_DEFAULT_IO_MANAGER_ATTRIBUTE=s3_io_manager. It builds it with no config, inside
each step, so the settings come from the environment (stack_object_store.settings) at that
point and a missing one fails the step with the variable's name.

What it builds is dagster_aws's S3PickleIOManager on an S3Resource pointed at the endpoint
(one whose client comes from boto3's default session, see ProcessSessionS3Resource):
assets are pickled to `<bucket>/<prefix>/io/<asset key path>`, op outputs to
`<bucket>/<prefix>/io/storage/<run id>/<step>/<output>`, so an asset materialized by a run on
one node loads in a run on any other.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
import dagster as dg
from botocore.config import Config
from dagster_aws.s3 import S3PickleIOManager, S3Resource

from stack_object_store.settings import (
    CREDENTIALS_FILE_ENV,
    CREDENTIALS_FORMAT,
    ObjectStoreSettingError,
    ObjectStoreSettings,
    object_store_settings,
)

__all__ = ["ProcessSessionS3Resource", "build_s3_io_manager", "s3_io_manager"]


class ProcessSessionS3Resource(S3Resource):
    """S3Resource whose client comes from boto3's process-wide default session.

    The IO manager is built anew in every step. dagster_aws's S3Resource makes a new boto3
    session each time, which parses botocore's S3 models again: 70-150 ms per step. The
    default session keeps them parsed, and is already warm where the compute log manager
    (built from the same boto3) was made first: in a warm-pool step forked from its template
    a client then costs 5-20 ms. Only the endpoint and retries are taken from the resource;
    credentials and region come from boto3's own chain (AWS_SHARED_CREDENTIALS_FILE)."""

    def get_client(self) -> Any:
        retries = {"max_attempts": self.max_attempts, "mode": "standard"}
        return boto3.client("s3", endpoint_url=self.endpoint_url, config=Config(retries=retries))


def _check_credentials_file(settings: ObjectStoreSettings) -> None:
    # Without this, boto3 finds no credentials and the step fails with "Unable to locate
    # credentials", which says nothing about the secret that was not mounted.
    if not os.access(settings.credentials_file, os.R_OK):
        raise ObjectStoreSettingError(
            f"{CREDENTIALS_FILE_ENV}={settings.credentials_file!r} is not a readable file: "
            f"mount the S3 credentials secret there ({CREDENTIALS_FORMAT})"
        )


def build_s3_io_manager(settings: ObjectStoreSettings) -> S3PickleIOManager:
    """dagster_aws's S3PickleIOManager on the object store `settings` describe."""
    _check_credentials_file(settings)
    return S3PickleIOManager(
        s3_resource=ProcessSessionS3Resource(endpoint_url=settings.endpoint_url),
        s3_bucket=settings.bucket,
        s3_prefix=settings.io_manager_prefix,
    )


@dg.io_manager(
    description=(
        "Pickles outputs to the stack's S3-compatible object store (STACK_S3_* settings); "
        "dagster_aws's S3PickleIOManager"
    )
)
def s3_io_manager(_init_context: dg.InitResourceContext) -> dg.IOManager:
    return build_s3_io_manager(object_store_settings())
