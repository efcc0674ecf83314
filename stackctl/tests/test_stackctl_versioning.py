"""stackctl.versioning: a location image's version is a digest of its build inputs."""

from pathlib import Path

import pytest

from stackctl.settings import REPO_ROOT
from stackctl.versioning import SHARED_INPUTS, VERSION_LENGTH, build_inputs, content_version, is_version

ARGS = {"PYTHON_BASE_IMAGE": "python:3.11-slim-bookworm", "LOCATION": "sales"}
SHARED_DIRECTORIES = {"extensions", "warmpool"}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A repository with every shared build input, two locations and the repository's own
    .dockerignore (which decides what is in the build context)."""
    (tmp_path / ".dockerignore").write_text((REPO_ROOT / ".dockerignore").read_text())
    for entry in SHARED_INPUTS:
        path = tmp_path / entry
        if entry in SHARED_DIRECTORIES:
            (path / "src").mkdir(parents=True)
            (path / "pyproject.toml").write_text(f"# {entry}\n")
            (path / "src" / "module.py").write_text("X = 1\n")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{entry}\n")
    for name in ("sales", "other"):
        package = tmp_path / "user_code" / name / "src" / name
        package.mkdir(parents=True)
        (tmp_path / "user_code" / name / "pyproject.toml").write_text(f'[project]\nname = "{name}"\n')
        (package / "definitions.py").write_text("defs = None\n")
    return tmp_path


def test_shared_inputs_exist_in_the_fixture(root: Path) -> None:
    assert all((root / entry).exists() for entry in SHARED_INPUTS)
    assert {e for e in SHARED_INPUTS if (root / e).is_dir()} == SHARED_DIRECTORIES


def test_version_is_twelve_hex_digits(root: Path) -> None:
    version = content_version(root, "sales", ARGS)
    assert len(version) == VERSION_LENGTH == 12
    assert is_version(version)


def test_same_files_give_the_same_version(root: Path) -> None:
    assert content_version(root, "sales", ARGS) == content_version(root, "sales", dict(reversed(ARGS.items())))


def test_locations_have_different_versions(root: Path) -> None:
    assert content_version(root, "sales", ARGS) != content_version(root, "other", ARGS)


@pytest.mark.parametrize(
    "relative",
    [
        "user_code/sales/src/sales/definitions.py",
        "user_code/sales/pyproject.toml",
        "Dockerfile_user_code",
        "dagster.yaml",
        "requirements/constraints.txt",
        "requirements/location.in",
        "extensions/src/module.py",
        "warmpool/pyproject.toml",
    ],
)
def test_a_changed_input_changes_the_version(root: Path, relative: str) -> None:
    before = content_version(root, "sales", ARGS)
    with (root / relative).open("a") as file:
        file.write("# changed\n")
    assert content_version(root, "sales", ARGS) != before


def test_a_new_file_in_the_location_changes_the_version(root: Path) -> None:
    before = content_version(root, "sales", ARGS)
    (root / "user_code" / "sales" / "src" / "sales" / "assets.py").write_text("")
    assert content_version(root, "sales", ARGS) != before


def test_a_renamed_file_changes_the_version(root: Path) -> None:
    before = content_version(root, "sales", ARGS)
    package = root / "user_code" / "sales" / "src" / "sales"
    (package / "definitions.py").rename(package / "defs.py")
    assert content_version(root, "sales", ARGS) != before


def test_another_locations_change_leaves_the_version(root: Path) -> None:
    before = content_version(root, "sales", ARGS)
    (root / "user_code" / "other" / "src" / "other" / "definitions.py").write_text("defs = 1\n")
    assert content_version(root, "sales", ARGS) == before


@pytest.mark.parametrize(
    "relative",
    [
        "user_code/sales/tests/test_sales.py",
        "user_code/sales/src/sales/__pycache__/definitions.cpython-311.pyc",
        "user_code/sales/src/sales.egg-info/PKG-INFO",
        "user_code/sales/src/sales/definitions.pyc",
        "user_code/sales/.pytest_cache/README.md",
        "user_code/sales/.venv/pyvenv.cfg",
        "extensions/tests/test_x.py",
        "warmpool/tests/test_x.py",
        "extensions/src/__pycache__/module.cpython-311.pyc",
    ],
)
def test_files_never_in_the_image_leave_the_version(root: Path, relative: str) -> None:
    before = content_version(root, "sales", ARGS)
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("noise\n")
    assert content_version(root, "sales", ARGS) == before
    path.write_text("other noise\n")
    assert content_version(root, "sales", ARGS) == before


def test_a_changed_build_arg_changes_the_version(root: Path) -> None:
    before = content_version(root, "sales", ARGS)
    assert content_version(root, "sales", {**ARGS, "PYTHON_BASE_IMAGE": "python:3.11-slim"}) != before
    assert content_version(root, "sales", {**ARGS, "base image": "sha256:abc"}) != before
    assert content_version(root, "sales", {}) != before


def test_build_inputs_are_sorted_and_skip_tests(root: Path) -> None:
    (root / "user_code" / "sales" / "tests").mkdir()
    (root / "user_code" / "sales" / "tests" / "test_x.py").write_text("")
    inputs = build_inputs(root, "sales")
    assert inputs == sorted(inputs)
    relative = {p.relative_to(root).as_posix() for p in inputs}
    assert "user_code/sales/src/sales/definitions.py" in relative
    assert "user_code/sales/tests/test_x.py" not in relative
    assert not any(p.startswith("user_code/other/") for p in relative)


def test_a_subpackage_named_build_is_part_of_the_version(root: Path) -> None:
    subpackage = root / "user_code" / "sales" / "src" / "sales" / "build"
    subpackage.mkdir()
    (subpackage / "__init__.py").write_text("")
    before = content_version(root, "sales", ARGS)
    (subpackage / "steps.py").write_text("STEPS = 1\n")
    assert content_version(root, "sales", ARGS) != before


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("0123456789ab", True),
        ("abcdefabcdef", True),
        ("latest", False),
        ("0123456789abc", False),
        ("0123456789a", False),
        ("0123456789AB", False),
        ("0123456789ag", False),
        ("", False),
    ],
)
def test_is_version(tag: str, expected: bool) -> None:
    assert is_version(tag) is expected
