"""stackctl.declaration: workspace.yaml and user_code/<location>/pyproject.toml -> Locations."""

from pathlib import Path

import pytest

from stackctl.declaration import (
    DeclarationError,
    declared_locations,
    declared_names,
    interpolate,
    read_location,
    workspace_line,
)
from stackctl.settings import REPO_ROOT


def _workspace(*lines: str) -> str:
    return "load_from:\n" + "".join(f"{line}\n" for line in lines)


def _project(root: Path, name: str, stack_table: str = "", dg_table: str | None = None) -> Path:
    folder = root / "user_code" / name
    folder.mkdir(parents=True, exist_ok=True)
    if dg_table is None:
        dg_table = f'[tool.dg]\ndirectory_type = "project"\n\n[tool.dg.project]\nroot_module = "{name}"\n'
    (folder / "pyproject.toml").write_text(
        f'[project]\nname = "{name}"\nversion = "0.1.0"\n\n{dg_table}\n{stack_table}'
    )
    return folder


# --- declared_names ----------------------------------------------------------------------


def test_declared_names_of_a_valid_workspace() -> None:
    text = _workspace(workspace_line("fanout"), workspace_line("warehouse"))
    assert declared_names(text) == ["fanout", "warehouse"]


def test_workspace_line_is_what_the_convention_expects() -> None:
    assert workspace_line("sales") == "  - grpc_server: {host: code-sales, port: 4000, location_name: sales}"


@pytest.mark.parametrize(
    "entry",
    [
        "  - grpc_server: {host: sales, port: 4000, location_name: sales}",
        "  - grpc_server: {host: code-sales, port: 4001, location_name: sales}",
        "  - grpc_server: {host: code-sales, port: '4000', location_name: sales}",
        "  - grpc_server: {host: code-sales, location_name: sales}",
        "  - grpc_server: {host: code-sales, port: 4000, location_name: sales, extra: 1}",
    ],
)
def test_wrong_host_or_port_names_the_line_to_write(entry: str) -> None:
    with pytest.raises(DeclarationError) as error:
        declared_names(_workspace(entry))
    assert workspace_line("sales") in str(error.value)
    assert "entry 1 (sales)" in str(error.value)


def test_duplicate_location_is_refused() -> None:
    with pytest.raises(DeclarationError, match="sales is listed twice"):
        declared_names(_workspace(workspace_line("sales"), workspace_line("sales")))


@pytest.mark.parametrize("name", ["Sales", "1sales", "sales-team", "", "a" * 40, "sa les"])
def test_invalid_location_name_is_refused(name: str) -> None:
    entry = f"  - grpc_server: {{host: 'code-{name}', port: 4000, location_name: '{name}'}}"
    with pytest.raises(DeclarationError, match="must be lowercase letters"):
        declared_names(_workspace(entry))


def test_longest_valid_name_is_accepted() -> None:
    name = "a" * 39
    assert declared_names(_workspace(workspace_line(name))) == [name]


@pytest.mark.parametrize("text", ["", "# nothing\n", "load_from:\n", "load_from: []\n"])
def test_empty_workspace_is_refused(text: str) -> None:
    with pytest.raises(DeclarationError, match="lists no code location"):
        declared_names(text)


@pytest.mark.parametrize(
    "entry",
    [
        "  - python_module: fanout.definitions",
        "  - python_file: defs.py",
        "  - grpc_server: code-sales",
        "  - just-a-string",
        "  -",
    ],
)
def test_non_grpc_entry_is_refused(entry: str) -> None:
    with pytest.raises(DeclarationError, match="only grpc_server entries"):
        declared_names(_workspace(workspace_line("fanout"), entry))


def test_non_grpc_entry_names_its_index() -> None:
    with pytest.raises(DeclarationError, match="entry 2"):
        declared_names(_workspace(workspace_line("fanout"), "  - python_module: x"))


def test_invalid_yaml_is_a_declaration_error() -> None:
    with pytest.raises(DeclarationError, match="not valid YAML"):
        declared_names("load_from:\n  - grpc_server: {host: code-a, port: 4000\n")


@pytest.mark.parametrize("text", ["- a\n- b\n", "just text\n"])
def test_non_mapping_workspace_is_a_declaration_error(text: str) -> None:
    with pytest.raises(DeclarationError):
        declared_names(text)


# --- interpolate -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "env", "expected"),
    [
        ("${VAR}", {"VAR": "x"}, "x"),
        ("${VAR}", {}, ""),
        ("${VAR}", {"VAR": ""}, ""),
        ("a-${VAR}-b", {"VAR": "x"}, "a-x-b"),
        ("${A}/${B}", {"A": "1", "B": "2"}, "1/2"),
        ("${VAR:-dflt}", {"VAR": "x"}, "x"),
        ("${VAR:-dflt}", {}, "dflt"),
        ("${VAR:-dflt}", {"VAR": ""}, "dflt"),
        ("${VAR:-}", {}, ""),
        ("${VAR:-0 * * * *}", {}, "0 * * * *"),
        ("${VAR-dflt}", {"VAR": "x"}, "x"),
        ("${VAR-dflt}", {}, "dflt"),
        ("${VAR-dflt}", {"VAR": ""}, ""),
        ("plain $VAR text", {"VAR": "x"}, "plain $VAR text"),
        ("no variables", {}, "no variables"),
    ],
)
def test_interpolate(value: str, env: dict[str, str], expected: str) -> None:
    assert interpolate(value, env) == expected


def test_dash_form_with_colon_dash_in_the_default_keeps_an_empty_value() -> None:
    assert interpolate("${VAR-a:-b}", {"VAR": ""}) == ""


# --- read_location -----------------------------------------------------------------------


def test_read_location_defaults(tmp_path: Path) -> None:
    folder = _project(tmp_path, "sales")
    location = read_location(tmp_path, "sales", {})
    assert location.name == "sales"
    assert location.path == folder
    assert location.module == "sales.definitions"
    assert location.env == {}
    assert location.secrets == ()
    assert location.run_limits == {}
    assert location.alias == "code-sales"


def test_root_module_other_than_the_name(tmp_path: Path) -> None:
    dg_table = '[tool.dg]\ndirectory_type = "project"\n\n[tool.dg.project]\nroot_module = "sales_pkg"\n'
    _project(tmp_path, "sales", dg_table=dg_table)
    assert read_location(tmp_path, "sales", {}).module == "sales_pkg.definitions"


def test_code_location_target_module_wins(tmp_path: Path) -> None:
    dg_table = (
        '[tool.dg]\ndirectory_type = "project"\n\n[tool.dg.project]\nroot_module = "sales"\n'
        'code_location_target_module = "sales.defs_entry"\n'
    )
    _project(tmp_path, "sales", dg_table=dg_table)
    assert read_location(tmp_path, "sales", {}).module == "sales.defs_entry"


def test_env_is_interpolated_from_the_deployer_environment(tmp_path: Path) -> None:
    _project(
        tmp_path,
        "sales",
        '[tool.dagster-stack]\nenv = { REGION = "${SALES_REGION:-local}", CRON = "${SALES_CRON:-0 6 * * *}", '
        'PLAIN = "fixed", NUMBER = 3 }\n',
    )
    location = read_location(tmp_path, "sales", {"SALES_REGION": "eu"})
    assert location.env == {"REGION": "eu", "CRON": "0 6 * * *", "PLAIN": "fixed", "NUMBER": "3"}


def test_secrets_and_run_limits_are_read(tmp_path: Path) -> None:
    _project(
        tmp_path,
        "sales",
        '[tool.dagster-stack]\nsecrets = ["api_token", "db.password"]\nrun_limits = { cpus = 2, memory = "1g" }\n',
    )
    location = read_location(tmp_path, "sales", {})
    assert location.secrets == ("api_token", "db.password")
    assert location.run_limits == {"cpus": "2", "memory": "1g"}


def test_operator_secrets_are_secrets_too(tmp_path: Path) -> None:
    _project(tmp_path, "sales", '[tool.dagster-stack]\nsecrets = ["api_token"]\noperator_secrets = ["hook_url"]\n')
    location = read_location(tmp_path, "sales", {})
    assert location.secrets == ("api_token", "hook_url")
    assert location.operator_secrets == ("hook_url",)


@pytest.mark.parametrize("secret", ["../x", "a/b", ".hidden", "..", "/etc/passwd", "with space", ""])
def test_secret_that_is_not_a_plain_file_name_is_refused(tmp_path: Path, secret: str) -> None:
    _project(tmp_path, "sales", f'[tool.dagster-stack]\nsecrets = ["{secret}"]\n')
    with pytest.raises(DeclarationError, match="must be a plain file name"):
        read_location(tmp_path, "sales", {})


def test_secrets_given_as_a_string_is_refused(tmp_path: Path) -> None:
    _project(tmp_path, "sales", '[tool.dagster-stack]\nsecrets = "api_token"\n')
    with pytest.raises(DeclarationError):
        read_location(tmp_path, "sales", {})


def test_env_key_that_is_not_a_variable_name_is_refused(tmp_path: Path) -> None:
    _project(tmp_path, "sales", '[tool.dagster-stack]\nenv = { "BAD-KEY" = "x" }\n')
    with pytest.raises(DeclarationError, match="is not a variable name"):
        read_location(tmp_path, "sales", {})


def test_unknown_run_limits_key_is_refused(tmp_path: Path) -> None:
    _project(tmp_path, "sales", '[tool.dagster-stack]\nrun_limits = { cpus = "1", gpus = "1" }\n')
    with pytest.raises(DeclarationError, match=r"run_limits takes cpus and memory, not \['gpus'\]"):
        read_location(tmp_path, "sales", {})


@pytest.mark.parametrize(
    "dg_table",
    [
        "",
        '[tool.dg]\ndirectory_type = "workspace"\n\n[tool.dg.project]\nroot_module = "sales"\n',
        '[tool.dg]\ndirectory_type = "project"\n',
        '[tool.dg]\ndirectory_type = "project"\n\n[tool.dg.project]\ncode_location_target_module = "x"\n',
    ],
)
def test_not_a_dg_project_is_refused(tmp_path: Path, dg_table: str) -> None:
    _project(tmp_path, "sales", dg_table=dg_table)
    with pytest.raises(DeclarationError, match="is not a dg project"):
        read_location(tmp_path, "sales", {})


def test_invalid_toml_is_a_declaration_error(tmp_path: Path) -> None:
    folder = tmp_path / "user_code" / "sales"
    folder.mkdir(parents=True)
    (folder / "pyproject.toml").write_text("[tool.dg\n")
    with pytest.raises(DeclarationError, match="location sales: user_code/sales/pyproject.toml"):
        read_location(tmp_path, "sales", {})


def test_missing_pyproject_points_to_the_scaffold_script(tmp_path: Path) -> None:
    with pytest.raises(DeclarationError) as error:
        read_location(tmp_path, "sales", {})
    assert "user_code/sales/pyproject.toml not found" in str(error.value)
    assert "scripts/new-location.sh sales" in str(error.value)


# --- declared_locations ------------------------------------------------------------------


def test_declared_locations_in_workspace_order(tmp_path: Path) -> None:
    (tmp_path / "workspace.yaml").write_text(_workspace(workspace_line("zeta"), workspace_line("alpha")))
    _project(tmp_path, "alpha")
    _project(tmp_path, "zeta")
    assert [loc.name for loc in declared_locations(tmp_path, {})] == ["zeta", "alpha"]


def test_undeclared_folder_names_the_workspace_line_to_add(tmp_path: Path) -> None:
    (tmp_path / "workspace.yaml").write_text(_workspace(workspace_line("alpha")))
    _project(tmp_path, "alpha")
    _project(tmp_path, "beta")
    with pytest.raises(DeclarationError) as error:
        declared_locations(tmp_path, {})
    assert "user_code/beta/ is not in workspace.yaml" in str(error.value)
    assert workspace_line("beta") in str(error.value)


def test_folder_without_pyproject_is_not_a_location(tmp_path: Path) -> None:
    (tmp_path / "workspace.yaml").write_text(_workspace(workspace_line("alpha")))
    _project(tmp_path, "alpha")
    (tmp_path / "user_code" / "notes").mkdir()
    assert [loc.name for loc in declared_locations(tmp_path, {})] == ["alpha"]


def test_declared_but_missing_folder_points_to_the_scaffold_script(tmp_path: Path) -> None:
    (tmp_path / "workspace.yaml").write_text(_workspace(workspace_line("alpha")))
    with pytest.raises(DeclarationError, match="scripts/new-location.sh alpha"):
        declared_locations(tmp_path, {})


def test_the_repository_declaration() -> None:
    locations = {loc.name: loc for loc in declared_locations(REPO_ROOT, {})}
    assert sorted(locations) == ["fanout", "warehouse"]
    assert locations["fanout"].module == "fanout.definitions"
    assert locations["fanout"].secrets == ("alert_webhook_url",)
    assert locations["fanout"].operator_secrets == ("alert_webhook_url",)
    warehouse = locations["warehouse"]
    assert warehouse.module == "warehouse.definitions"
    assert warehouse.secrets == ("api_token",)
    assert warehouse.run_limits == {"cpus": "1", "memory": "512m"}
    assert warehouse.env["WAREHOUSE_REGION"] == "local"
