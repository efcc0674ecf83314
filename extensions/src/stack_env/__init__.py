"""The stack's own environment variables, read by their STACK_* names. Until this release they
were named in Dagster's namespace (DAGSTER_*): for one more release the old name is still
read where the new one is not set, with a warning naming both. Imports nothing but the
standard library, so the health probes can use it without loading Dagster."""

import os
import warnings
from collections.abc import Mapping

__all__ = ["stack_setting"]


def stack_setting(name: str, old_name: str, environ: Mapping[str, str] | None = None) -> str:
    """`name`'s value; if it is unset or blank, `old_name`'s (with a FutureWarning: shown by
    default, unlike a DeprecationWarning, so an operator sees it in the service's log); else ""."""
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
