"""`scripts/new-location.sh NAME`: a new code location that loads and runs as it is.

Dagster's own `create-dagster project` writes the project (dg layout); this adds an example
asset, job and schedule, the stack's `[tool.dagster-stack]` table and the workspace line."""

import shutil
import subprocess
import sys
from pathlib import Path

from stackctl.declaration import LOCATION_NAME, DeclarationError, declared_names, workspace_line

EXAMPLE_DEFS = '''"""An example to replace: one asset, a job that materializes it and a daily schedule."""

import dagster as dg


@dg.asset
def hello() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={{"greeting": "hello from {name}"}})


hello_job = dg.define_asset_job("{name}_hello_job", selection=[hello])

hello_schedule = dg.ScheduleDefinition(
    job=hello_job, cron_schedule="0 7 * * *", default_status=dg.DefaultScheduleStatus.STOPPED
)
'''

EXAMPLE_TEST = '''"""The location's definitions load, and its example job runs in process."""

import dagster as dg

from {name}.definitions import defs


def test_example_job_runs() -> None:
    # create-dagster's definitions.py defines them lazily (@dg.definitions).
    loaded = defs if isinstance(defs, dg.Definitions) else defs()
    job = loaded.resolve_job_def("{name}_hello_job")
    assert job.execute_in_process(instance=dg.DagsterInstance.ephemeral()).success
'''

STACK_TABLE = '''
# How the stack runs this location (docs/code-locations.md).
[tool.dagster-stack]
# Variables for its code server and run containers; `${{VAR:-default}}` reads .env/the shell.
env = {{}}
# Secret files from $STACK_SECRETS_DIR/{name}/, mounted at /run/secrets.
secrets = []
# Default limits/* for its runs (the operator's maximums still apply).
run_limits = {{}}
'''


def scaffold(root: Path, name: str) -> Path:
    if not LOCATION_NAME.fullmatch(name):
        raise DeclarationError(f"{name!r}: a location name is lowercase letters, digits and _, starting with a letter")
    target = root / "user_code" / name
    if target.exists():
        raise DeclarationError(f"{target.relative_to(root)} already exists")
    workspace = root / "workspace.yaml"
    if name in declared_names(workspace.read_text()):
        raise DeclarationError(f"workspace.yaml already lists {name}")
    create = Path(sys.executable).parent / "create-dagster"
    subprocess.run([str(create), "project", str(target), "--no-uv-sync"], check=True, stdin=subprocess.DEVNULL)
    # Test modules of every location share one pytest session: no `tests` package per
    # location (they would collide), and no per-project telemetry or uv settings.
    (target / "tests" / "__init__.py").unlink(missing_ok=True)
    shutil.rmtree(target / ".dg", ignore_errors=True)
    package = target / "src" / name
    (package / "defs" / "example.py").write_text(EXAMPLE_DEFS.format(name=name))
    (target / "tests" / f"test_{name}_example.py").write_text(EXAMPLE_TEST.format(name=name))
    pyproject = target / "pyproject.toml"
    text = pyproject.read_text()
    # Versions come from the stack's constraints, as for every location.
    text = text.replace('"dagster==', '"dagster>=').replace("\n[dependency-groups]\ndev = [\n    \"dagster-dg-cli\",\n    \"dagster-webserver\",\n]\n", "\n")
    pyproject.write_text(text + STACK_TABLE.format(name=name))
    with workspace.open("a") as handle:
        if not workspace.read_text().endswith("\n"):
            handle.write("\n")
        handle.write(workspace_line(name) + "\n")
    return target


def main() -> int:
    from stackctl.settings import REPO_ROOT

    if len(sys.argv) != 2:
        print("usage: scripts/new-location.sh NAME", file=sys.stderr)
        return 2
    try:
        target = scaffold(REPO_ROOT, sys.argv[1])
    except DeclarationError as error:
        print(f"new-location: {error}", file=sys.stderr)
        return 1
    print(f"created {target.relative_to(REPO_ROOT)} and its line in workspace.yaml; deploy it with scripts/deploy.sh {sys.argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
