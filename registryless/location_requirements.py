"""Print the PyPI requirements of every code location (user_code/*/pyproject.toml), one per
line, for the wheelhouse: the stack's own packages, which no index has, are left out."""

import sys
import tomllib
from pathlib import Path

# Built from this repository (extensions/, warmpool/), installed before any location.
LOCAL_PACKAGES = {"dagster-warm-pool", "dagster-run-limits"}


def requirements(root: Path) -> list[str]:
    found = []
    for pyproject in sorted(root.glob("user_code/*/pyproject.toml")):
        for requirement in tomllib.loads(pyproject.read_text())["project"].get("dependencies", []):
            name = requirement.split(";")[0].split("[")[0]
            for separator in "<>=!~ ":
                name = name.split(separator)[0]
            if name.strip().lower() not in LOCAL_PACKAGES:
                found.append(requirement)
    return found


if __name__ == "__main__":
    print("\n".join(requirements(Path(sys.argv[1] if len(sys.argv) > 1 else "."))))
