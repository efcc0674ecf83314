"""The Dagster versions the warm pool's internals may be used with when run config does not
say: the operator's `DAGSTER_WARM_POOL_SUPPORTED_VERSIONS`, else the tested ones.

The variable lets an operator (or the upgrade rehearsal, scripts/upgrade_rehearsal.sh) try a
Dagster release the package was not tested with, without editing code or every job's config.
It is read by the run worker (executor) and by the compute log manager, in their own process.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from dagster_warm_pool.guard import TESTED_DAGSTER_VERSIONS

SUPPORTED_VERSIONS_ENV = "DAGSTER_WARM_POOL_SUPPORTED_VERSIONS"


def default_supported_versions(environ: Mapping[str, str] | None = None) -> str:
    """`DAGSTER_WARM_POOL_SUPPORTED_VERSIONS` if set and not blank, else TESTED_DAGSTER_VERSIONS."""
    value = (os.environ if environ is None else environ).get(SUPPORTED_VERSIONS_ENV, "").strip()
    return value or TESTED_DAGSTER_VERSIONS
