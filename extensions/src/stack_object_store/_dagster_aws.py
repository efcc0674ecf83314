"""The one place this package touches dagster_aws beyond its public API, each use only on the
dagster_aws release it was checked against (TESTED_DAGSTER_AWS_VERSIONS); on any other the
stock behaviour stays, with a warning.

- `_local_manager`: S3ComputeLogManager captures through a LocalComputeLogManager it builds
  itself and keeps there; its `local_manager` property and its download path both read that
  attribute, and no parameter passes another one. Swapping the attribute is the only way to
  capture with the warm pool's FileComputeLogManager while keeping dagster_aws's upload,
  download, keys and subscriptions unchanged.
- `_s3_session`, `_s3_bucket`, `_resolve_path_for_namespace`: the client, bucket and key
  layout a listing of log keys must use to find what the manager uploaded.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import dagster_aws
from dagster._core.storage.local_compute_log_manager import LocalComputeLogManager
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

if TYPE_CHECKING:
    from dagster_aws.s3.compute_log_manager import S3ComputeLogManager

__all__ = [
    "TESTED_DAGSTER_AWS_VERSIONS",
    "dagster_aws_problem",
    "list_log_files",
    "use_local_manager",
]

# The dagster_aws releases whose S3ComputeLogManager was read and tested with the swap
# (extensions/tests/test_object_store_compute_logs.py, test_object_store_s3.py).
TESTED_DAGSTER_AWS_VERSIONS = "==0.29.27"
_ATTRIBUTE = "_local_manager"


def dagster_aws_problem(installed: str, supported: str = TESTED_DAGSTER_AWS_VERSIONS) -> str | None:
    """None if `installed` is within `supported` (a PEP 440 specifier), else why not. Pure."""
    try:
        specifier = SpecifierSet(supported)
    except InvalidSpecifier:
        return f"{supported!r} is not a version specifier"
    try:
        version = Version(installed)
    except InvalidVersion:
        return f"installed dagster-aws version {installed!r} is not a release version"
    if version not in specifier:
        return (
            f"installed dagster-aws {installed} is outside the versions its local capture "
            f"was checked with ({supported})"
        )
    return None


def use_local_manager(
    manager: S3ComputeLogManager, local: LocalComputeLogManager, installed: str | None = None
) -> bool:
    """Make `manager` capture through `local`. False, with a warning, where the installed
    dagster_aws is not the checked one or no longer has the attribute: the manager then keeps
    dagster_aws's own LocalComputeLogManager, which works the same but starts `tail -F` and a
    watcher process for stdout and stderr on every step."""
    problem = dagster_aws_problem(installed or dagster_aws.__version__)
    current = getattr(manager, _ATTRIBUTE, None)
    if problem is None and not isinstance(current, LocalComputeLogManager):
        problem = f"S3ComputeLogManager has no LocalComputeLogManager in {_ATTRIBUTE}"
    if problem is not None:
        warnings.warn(
            f"S3FileComputeLogManager: {problem}; capturing with dagster_aws's stock "
            "LocalComputeLogManager instead (four mirror processes per step)",
            stacklevel=3,
        )
        return False
    previous = getattr(manager, _ATTRIBUTE)
    setattr(manager, _ATTRIBUTE, local)
    previous.dispose()
    return True


def list_log_files(
    manager: S3ComputeLogManager, log_key_prefix: Sequence[str], installed: str | None = None
) -> list[str] | None:
    """The names of the objects directly below `log_key_prefix`'s folder in the manager's
    bucket (every page), or None where the installed dagster_aws is not the checked one."""
    if dagster_aws_problem(installed or dagster_aws.__version__) is not None:
        return None
    directory = "/".join([*manager._resolve_path_for_namespace(log_key_prefix), ""])
    paginator = manager._s3_session.get_paginator("list_objects_v2")
    names: list[str] = []
    for page in paginator.paginate(Bucket=manager._s3_bucket, Prefix=directory, Delimiter="/"):
        names.extend(item["Key"][len(directory) :] for item in page.get("Contents", []))
    return names
