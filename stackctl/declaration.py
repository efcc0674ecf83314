"""The declared code locations: one line each in workspace.yaml, naming a folder
user_code/<location>/ that holds a Dagster project in the `dg` layout, whose
`[tool.dagster-stack]` table says how the stack runs it. Pure: files in, values out."""

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

# Matched with fullmatch: `$` would also accept a trailing newline.
LOCATION_NAME = re.compile(r"[a-z][a-z0-9_]{0,38}")
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SECRET_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")
GRPC_PORT = 4000
_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}")


class DeclarationError(ValueError):
    """The declaration is wrong; the message says where and what to write instead."""


@dataclass(frozen=True)
class Location:
    name: str
    path: Path
    module: str  # the gRPC server's --module-name
    env: dict[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()  # every secret file, operator_secrets included
    run_limits: dict[str, str] = field(default_factory=dict)
    # Secrets only the operator can supply (a webhook URL, another system's key): a missing
    # one is created empty rather than random, since no generated value could work.
    operator_secrets: tuple[str, ...] = ()

    @property
    def alias(self) -> str:
        """The host name the webserver and daemon reach this location's code server by."""
        return code_server_host(self.name)


def code_server_host(name: str) -> str:
    return f"code-{name}"


def workspace_line(name: str) -> str:
    return f"  - grpc_server: {{host: {code_server_host(name)}, port: {GRPC_PORT}, location_name: {name}}}"


def declared_names(workspace_text: str) -> list[str]:
    """Location names of workspace.yaml, each checked against the stack's convention."""
    try:
        document = yaml.safe_load(workspace_text) or {}
    except yaml.YAMLError as error:
        raise DeclarationError(f"workspace.yaml is not valid YAML: {error}") from None
    if not isinstance(document, dict):
        raise DeclarationError("workspace.yaml must be a mapping with a load_from list")
    names = []
    entries = document.get("load_from") or []
    if not isinstance(entries, list):
        raise DeclarationError("workspace.yaml: load_from must be a list of grpc_server entries")
    for index, entry in enumerate(entries, start=1):
        server = (entry or {}).get("grpc_server") if isinstance(entry, dict) else None
        if not isinstance(server, dict):
            raise DeclarationError(f"workspace.yaml entry {index}: only grpc_server entries are served by the stack")
        name = str(server.get("location_name", ""))
        if not LOCATION_NAME.fullmatch(name):
            raise DeclarationError(
                f"workspace.yaml entry {index}: location_name {name!r} must be lowercase letters, "
                "digits and _ (it names user_code/<location>/, its image and its code server)"
            )
        expected = {"host": code_server_host(name), "port": GRPC_PORT, "location_name": name}
        if server != expected:
            raise DeclarationError(
                f"workspace.yaml entry {index} ({name}): write it as\n{workspace_line(name)}"
            )
        if name in names:
            raise DeclarationError(f"workspace.yaml: location {name} is listed twice")
        names.append(name)
    if not names:
        raise DeclarationError("workspace.yaml lists no code location")
    return names


def interpolate(value: str, env: dict[str, str]) -> str:
    """`${VAR}`, `${VAR:-default}` and `${VAR-default}` as compose reads them."""

    def replace(match: re.Match[str]) -> str:
        name, operator, default = match.group(1), match.group(2), match.group(3)
        found = env.get(name)
        if found is None or (found == "" and operator == ":-"):
            return default or ""
        return found

    return _INTERPOLATION.sub(replace, value)


def read_location(root: Path, name: str, env: dict[str, str]) -> Location:
    path = root / "user_code" / name
    pyproject = path / "pyproject.toml"
    if not pyproject.is_file():
        raise DeclarationError(
            f"location {name}: {pyproject.relative_to(root)} not found (scaffold one with "
            f"`scripts/new-location.sh {name}`)"
        )
    try:
        document = tomllib.loads(pyproject.read_text())
    except tomllib.TOMLDecodeError as error:
        raise DeclarationError(f"location {name}: {pyproject.relative_to(root)}: {error}") from None
    tool = document.get("tool", {})
    dg = tool.get("dg", {}) if isinstance(tool, dict) else {}
    if dg.get("directory_type") != "project" or "root_module" not in dg.get("project", {}):
        raise DeclarationError(
            f"location {name}: {pyproject.relative_to(root)} is not a dg project "
            '([tool.dg] directory_type = "project" with [tool.dg.project] root_module)'
        )
    project = dg["project"]
    module = project.get("code_location_target_module") or f"{project['root_module']}.definitions"
    stack = tool.get("dagster-stack", {})
    raw_env = stack.get("env", {})
    secrets = stack.get("secrets", [])
    operator_secrets = stack.get("operator_secrets", [])
    limits = stack.get("run_limits", {})
    where = f"location {name}: [tool.dagster-stack]"
    if not isinstance(raw_env, dict) or not isinstance(limits, dict):
        raise DeclarationError(f"{where} env and run_limits must be tables, e.g. env = {{ KEY = \"value\" }}")
    if not isinstance(secrets, list) or not isinstance(operator_secrets, list):
        raise DeclarationError(
            f'{where} secrets and operator_secrets must be lists of file names, e.g. secrets = ["api_token"]'
        )
    for key in raw_env:
        if not VARIABLE_NAME.fullmatch(key):
            raise DeclarationError(f"{where} env key {key!r} is not a variable name")
    for secret in secrets + operator_secrets:
        if not isinstance(secret, str) or not SECRET_NAME.fullmatch(secret):
            raise DeclarationError(f"{where} secret name {secret!r} must be a plain file name")
    unknown = set(limits) - {"cpus", "memory"}
    if unknown:
        raise DeclarationError(f"location {name}: run_limits takes cpus and memory, not {sorted(unknown)}")
    return Location(
        name=name,
        path=path,
        module=module,
        env={key: interpolate(str(value), env) for key, value in raw_env.items()},
        secrets=tuple(dict.fromkeys(str(s) for s in secrets + operator_secrets)),
        operator_secrets=tuple(str(s) for s in operator_secrets),
        run_limits={key: str(value) for key, value in limits.items()},
    )


def declared_locations(root: Path, env: dict[str, str]) -> list[Location]:
    names = declared_names((root / "workspace.yaml").read_text())
    undeclared = sorted(
        p.parent.name for p in root.glob("user_code/*/pyproject.toml") if p.parent.name not in names
    )
    if undeclared:
        raise DeclarationError(
            f"user_code/{undeclared[0]}/ is not in workspace.yaml: add the line\n{workspace_line(undeclared[0])}"
        )
    return [read_location(root, name, env) for name in names]
