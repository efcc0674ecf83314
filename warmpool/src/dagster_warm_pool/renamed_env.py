"""The package's environment variables were named DAGSTER_WARM_POOL_* until this release and
are WARM_POOL_* now (DAGSTER_* is Dagster's own namespace). For one more release an old name
is still read where the new one is not set, with a warning naming both."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping


def warm_pool_setting(name: str, old_name: str, environ: Mapping[str, str] | None = None) -> str:
    """`name`'s value; if it is unset or blank, `old_name`'s (with a FutureWarning: shown by
    default, unlike a DeprecationWarning, so it reaches the run worker's log); else ""."""
    env = os.environ if environ is None else environ
    value = env.get(name, "")
    if not value.strip() and env.get(old_name, "").strip():
        warnings.warn(
            f"{old_name} is renamed {name}: set {name} instead "
            "(the old name is read until the next release)",
            FutureWarning,
            stacklevel=2,
        )
        return env[old_name]
    return value
