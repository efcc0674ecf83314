"""Which Dagster packages the upgrade rehearsal installs (scripts/upgrade_rehearsal.sh).

Dagster releases the core packages (dagster, dagster-graphql, dagster-pipes, ...) as 1.X.Y and
the libraries (dagster-postgres, dagster-docker, ...) as 0.(X+16).Y on the same day. Some
libraries skip a release: then the newest library still pins the older core exactly, and no
consistent set of the new release exists. The rehearsal then keeps such a library at the
project's pin ("held back") and says so, rather than failing to test the new core at all.

Stdlib only: it runs on the host's python3 before the throwaway venv exists.

    python3 scripts/rehearsal_versions.py OUT_DIR [DAGSTER_VERSION]

writes OUT_DIR/constraints.txt (requirements/constraints.txt with the Dagster pins moved) and
OUT_DIR/plan.env (shell variables for the script), and prints one line per Dagster package.
"""

from __future__ import annotations

import functools
import json
import re
import shlex
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PYPI = "https://pypi.org/pypi"
CONSTRAINTS = Path(__file__).resolve().parent.parent / "requirements" / "constraints.txt"
# A library's minor version is the core's plus 16: 1.13.Y <-> 0.29.Y.
LIBRARY_MINOR_OFFSET = 16
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)\s*$")


def library_version(core: str) -> str:
    """The library release made with Dagster core `core`: 1.X.Y -> 0.(X+16).Y."""
    match = re.fullmatch(r"1\.(\d+)\.(\d+)", core)
    if match is None:
        raise ValueError(f"{core!r} is not a Dagster 1.X.Y release")
    return f"0.{int(match[1]) + LIBRARY_MINOR_OFFSET}.{match[2]}"


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def dagster_pins(constraints: str) -> dict[str, str]:
    """The project's pins of Dagster's own packages (name -> version), in file order."""
    pins = {}
    for line in constraints.splitlines():
        match = _PIN.match(line.strip())
        if match and _normalized(match["name"]).startswith("dagster"):
            pins[_normalized(match["name"])] = match["version"]
    return pins


@dataclass(frozen=True)
class Plan:
    core: str
    library: str
    # name -> version to install (the new release's)
    targets: dict[str, str] = field(default_factory=dict)
    # name -> version kept (the project's pin): the new release of it is not on PyPI
    held_back: dict[str, str] = field(default_factory=dict)


def make_plan(constraints: str, core: str, on_pypi: Callable[[str, str], bool]) -> Plan:
    """Each pinned Dagster package moves to `core` (1.x packages) or its library version
    (0.x packages) when that release is on PyPI, else stays at the project's pin."""
    library = library_version(core)
    targets, held_back = {}, {}
    for name, pinned in dagster_pins(constraints).items():
        wanted = core if pinned.startswith("1.") else library
        if on_pypi(name, wanted):
            targets[name] = wanted
        else:
            held_back[name] = pinned
    return Plan(core, library, targets, held_back)


def rewrite_constraints(constraints: str, versions: dict[str, str]) -> str:
    """`constraints` with the pins of the packages in `versions` replaced; all else unchanged."""
    lines = []
    for line in constraints.splitlines():
        match = _PIN.match(line.strip())
        name = _normalized(match["name"]) if match else None
        if name in versions:
            line = f"{match['name']}=={versions[name]}"
        lines.append(line)
    return "\n".join(lines) + "\n"


@functools.cache
def released_versions(name: str) -> frozenset[str]:
    """Versions of `name` on PyPI with at least one file not yanked (one JSON request each)."""
    try:
        with urllib.request.urlopen(f"{PYPI}/{name}/json", timeout=30) as response:
            releases = json.load(response)["releases"]
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return frozenset()
        raise
    return frozenset(v for v, files in releases.items() if any(not f["yanked"] for f in files))


def newest_dagster() -> str:
    with urllib.request.urlopen(f"{PYPI}/dagster/json", timeout=30) as response:
        return json.load(response)["info"]["version"]


def on_pypi(name: str, version: str) -> bool:
    return version in released_versions(name)


def main(out_dir: str, requested: str | None) -> None:
    core = requested or newest_dagster()
    if not on_pypi("dagster", core):
        raise SystemExit(f"dagster {core} is not on PyPI")
    constraints = CONSTRAINTS.read_text()
    plan = make_plan(constraints, core, on_pypi)
    out = Path(out_dir)
    (out / "constraints.txt").write_text(rewrite_constraints(constraints, plan.targets))
    env = {
        "DAGSTER_VERSION": plan.core,
        "LIBRARY_VERSION": plan.library,
        "UPGRADES": " ".join(f"{n}=={v}" for n, v in plan.targets.items()),
        "HELD_BACK": " ".join(f"{n}=={v}" for n, v in plan.held_back.items()),
    }
    (out / "plan.env").write_text("".join(f"{k}={shlex.quote(v)}\n" for k, v in env.items()))
    for name, version in plan.targets.items():
        print(f"  {name}=={version}")
    for name, version in plan.held_back.items():
        wanted = plan.core if version.startswith("1.") else plan.library
        print(f"  {name}=={version}  HELD BACK: {name} {wanted} is not on PyPI")


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else None)
