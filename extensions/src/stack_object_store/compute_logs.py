"""`S3FileComputeLogManager`: dagster_aws's S3ComputeLogManager capturing like the warm pool.

dagster_aws's manager captures a step's stdout/stderr with Dagster's LocalComputeLogManager,
which starts `tail -F` plus a Python watcher for stdout and for stderr: four processes per
step, only to echo the output live. This one captures with the warm pool's
FileComputeLogManager (file descriptors pointed at the same files, no process) and keeps
everything else of dagster_aws's: when a capture completes, both files are uploaded under
`<prefix>/storage/<log key>.out|.err` and the local copies deleted; a reader (the webserver,
on any node) downloads them from the bucket. Nothing is uploaded while a step runs unless
`upload_interval` is set (a thread in the step process, still no process).

Configured in dagster.yaml; every process that loads the instance (webserver, daemon, code
servers, run workers) builds one:

    compute_logs:
      module: stack_object_store
      class: S3FileComputeLogManager
      config:
        bucket: {env: STACK_S3_BUCKET}
        prefix: {env: STACK_S3_PREFIX}
        endpoint_url: {env: STACK_S3_ENDPOINT_URL}
        local_dir: /tmp/compute_logs

Every option of dagster_aws's S3ComputeLogManager applies. Credentials come from boto3's
own chain: AWS_SHARED_CREDENTIALS_FILE naming a secret file (stack_object_store.settings).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dagster_shared.seven as seven
from dagster._core.storage.compute_log_manager import ComputeIOType
from dagster._core.storage.local_compute_log_manager import IO_TYPE_EXTENSION
from dagster._serdes import ConfigurableClassData
from dagster_aws.s3.compute_log_manager import S3ComputeLogManager
from dagster_warm_pool.compute_logs import FileComputeLogManager

from stack_object_store._dagster_aws import list_log_files, use_local_manager

__all__ = ["S3FileComputeLogManager"]


class S3FileComputeLogManager(S3ComputeLogManager):
    def __init__(
        self,
        bucket: str,
        local_dir: str | None = None,
        inst_data: ConfigurableClassData | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(bucket, local_dir=local_dir, inst_data=inst_data, **kwargs)
        # The same directory dagster_aws's own local manager got (its default included), so
        # paths, the completion marker and the downloads a reader caches stay where they were.
        # False where the installed dagster_aws was not checked: the stock capture, warned.
        self.file_capture: bool = use_local_manager(
            self, FileComputeLogManager(local_dir or seven.get_system_temp_directory())
        )

    def get_log_keys_for_log_key_prefix(
        self, log_key_prefix: Sequence[str], io_type: ComputeIOType
    ) -> Sequence[list[str]]:
        """The log keys directly under `log_key_prefix` (what the UI's backfill log view reads,
        through `read_log_lines_for_log_key_prefix`).

        dagster_aws's version reads the listing's `KeyCount`, which S3-compatible servers such
        as rclone leave out when nothing matches (a KeyError instead of no logs); it also
        matches sibling prefixes ("a/b" lists "a/bc/..."), trips on `.partial` uploads and
        stops at 1000 keys. This one lists one level below "<prefix>/", every page."""
        names = list_log_files(self, log_key_prefix)
        if names is None:
            return super().get_log_keys_for_log_key_prefix(log_key_prefix, io_type)
        extension = f".{IO_TYPE_EXTENSION[io_type]}"
        return [
            [*log_key_prefix, name[: -len(extension)]]
            for name in names
            if name.endswith(extension) and len(name) > len(extension)
        ]
