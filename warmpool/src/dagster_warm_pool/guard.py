"""Whether this run may use the warm pool: the installed Dagster against the tested versions.

Pure: the executor passes the installed version in, so tests can check every branch.
"""

from __future__ import annotations

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

# The Dagster releases this package's adapter (_dagster.py) was tested against. A run on any
# other release goes to Dagster's own multiprocess executor, with a warning in its log.
TESTED_DAGSTER_VERSIONS = "==1.13.27"


def version_problem(installed: str, supported: str = TESTED_DAGSTER_VERSIONS) -> str | None:
    """None if `installed` is within `supported` (a PEP 440 specifier), else why not."""
    try:
        specifier = SpecifierSet(supported)
    except InvalidSpecifier:
        return f"supported_dagster_versions {supported!r} is not a version specifier"
    try:
        version = Version(installed)
    except InvalidVersion:
        return f"installed Dagster version {installed!r} is not a release version"
    if version not in specifier:
        return (
            f"installed Dagster {installed} is outside the versions the warm pool was tested "
            f"with ({supported})"
        )
    return None
