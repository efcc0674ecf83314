"""The stack's S3-compatible object storage (docs/object-storage.md): the settings every
Dagster process reads from its environment, the compute log manager dagster.yaml names
(`module: stack_object_store`, `class: S3FileComputeLogManager`) and the default IO manager
the run environment names (`stack_object_store.io_manager`, `s3_io_manager`)."""

from stack_object_store.compute_logs import S3FileComputeLogManager
from stack_object_store.io_manager import build_s3_io_manager, s3_io_manager
from stack_object_store.settings import (
    ObjectStoreSettingError,
    ObjectStoreSettings,
    object_store_settings,
)

__all__ = [
    "ObjectStoreSettingError",
    "ObjectStoreSettings",
    "S3FileComputeLogManager",
    "build_s3_io_manager",
    "object_store_settings",
    "s3_io_manager",
]
