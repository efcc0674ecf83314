"""Missing secret files on a fresh clone: a random value for the stack's own secrets, an empty
file for the operator's, and what the deployer says about each."""

from pathlib import Path

from stackctl.declaration import Location
from stackctl.secrets import secret_files


def _location() -> Location:
    return Location(
        name="sales", path=Path("user_code/sales"), module="sales.definitions",
        secrets=("api_token", "hook_url"), operator_secrets=("hook_url",),
    )  # fmt: skip


def test_missing_secrets_are_created_random_or_empty_and_said(tmp_path: Path) -> None:
    said: list[str] = []
    files = secret_files(_location(), tmp_path, said.append)
    assert len(files["api_token"]) >= 24
    assert files["hook_url"] == b""
    assert (tmp_path / "sales" / "hook_url").stat().st_mode & 0o777 == 0o600
    assert any("api_token" in line and "random value" in line for line in said)
    assert any("hook_url" in line and "empty: put its value in it" in line for line in said)


def test_existing_secrets_are_read_as_they_are(tmp_path: Path) -> None:
    (tmp_path / "sales").mkdir()
    (tmp_path / "sales" / "api_token").write_text("kept")
    (tmp_path / "sales" / "hook_url").write_text("https://hooks.example/x")
    said: list[str] = []
    files = secret_files(_location(), tmp_path, said.append)
    assert files == {"api_token": b"kept", "hook_url": b"https://hooks.example/x"}
    assert said == []
