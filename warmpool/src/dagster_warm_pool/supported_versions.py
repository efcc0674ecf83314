"""The Dagster versions the warm pool's internals may be used with when run config does not
say: the operator's `WARM_POOL_SUPPORTED_DAGSTER_VERSIONS`, else the tested ones.

The variable lets an operator (or the upgrade rehearsal, scripts/upgrade_rehearsal.sh) try a
Dagster release the package was not tested with, without editing code or every job's config.
It is read by the run worker (executor) and by the compute log manager, in their own process.
"""

from __future__ import annotations

from collections.abc import Mapping

from dagster_warm_pool.guard import TESTED_DAGSTER_VERSIONS
from dagster_warm_pool.renamed_env import warm_pool_setting

SUPPORTED_VERSIONS_ENV = "WARM_POOL_SUPPORTED_DAGSTER_VERSIONS"
# Its name until this release, read (with a warning) until the next one.
OLD_SUPPORTED_VERSIONS_ENV = "DAGSTER_WARM_POOL_SUPPORTED_VERSIONS"


def default_supported_versions(environ: Mapping[str, str] | None = None) -> str:
    """`WARM_POOL_SUPPORTED_DAGSTER_VERSIONS` (or its old name) if set and not blank, else
    TESTED_DAGSTER_VERSIONS."""
    value = warm_pool_setting(SUPPORTED_VERSIONS_ENV, OLD_SUPPORTED_VERSIONS_ENV, environ).strip()
    return value or TESTED_DAGSTER_VERSIONS
