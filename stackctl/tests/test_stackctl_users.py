"""stackctl.users and the front door's Caddyfile generator (frontdoor/caddyfile.py): the users
file the command writes is the one the front door reads."""

import base64
import importlib.util
import stat
from pathlib import Path
from types import ModuleType

import bcrypt
import pytest

from stackctl.users import UserError, UsersFile

REPO_ROOT = Path(__file__).resolve().parents[2]


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("caddyfile", REPO_ROOT / "frontdoor" / "caddyfile.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_add_writes_bcrypt_hashes_readable_by_the_front_door(tmp_path: Path) -> None:
    users = UsersFile(tmp_path / "frontdoor")
    assert users.add("ann", "admin", "pw-ann", cost=4)
    assert users.add("vic", "viewer", "pw-vic", cost=4)
    assert not users.add("vic", "admin", "pw-vic2", cost=4)  # a second add changes role and password
    text = users.path.read_text()
    assert "pw-" not in text
    role, hashed = users.entries()["vic"]
    assert role == "admin" and bcrypt.checkpw(b"pw-vic2", hashed.encode())
    assert stat.S_IMODE(users.folder.stat().st_mode) == 0o700
    parsed = generator().parse_users(text)
    assert [(u.name, u.role) for u in parsed] == [("ann", "admin"), ("vic", "admin")]


@pytest.mark.parametrize(
    ("name", "role", "password"), [("a b", "admin", "x"), ("ann", "root", "x"), ("ann", "viewer", "")]
)
def test_add_refuses_bad_input(tmp_path: Path, name: str, role: str, password: str) -> None:
    with pytest.raises(UserError):
        UsersFile(tmp_path).add(name, role, password, cost=4)


def test_first_admin_only_without_a_users_file(tmp_path: Path) -> None:
    users = UsersFile(tmp_path / "frontdoor")
    saved = users.ensure_first_admin()
    assert saved == str(users.password_file("admin"))
    assert stat.S_IMODE(Path(saved).stat().st_mode) == 0o600
    password = Path(saved).read_text().strip()
    assert bcrypt.checkpw(password.encode(), users.entries()["admin"][1].encode())
    assert users.ensure_first_admin() is None


def test_caddyfile_routes_admins_and_viewers(tmp_path: Path) -> None:
    module = generator()
    users = UsersFile(tmp_path)
    users.add("ann", "admin", "a", cost=4)
    users.add("vic", "viewer", "v", cost=4)
    text = module.caddyfile(module.parse_users(users.path.read_text()), "tls internal", module.site_hosts("dagster.example"))
    assert "https://dagster.example:8443, https://localhost:8443, https://127.0.0.1:8443 {" in text
    assert "default_sni 127.0.0.1" in text
    assert "@admin vars {http.auth.user.id} ann\n" in text
    encoded = base64.b64encode(users.entries()["vic"][1].encode()).decode()
    assert f"vic {encoded}" in text
    # The one open path comes before the login.
    assert text.index("handle /healthz") < text.index("basicauth")


def test_caddyfile_without_users_lets_nobody_in() -> None:
    module = generator()
    text = module.caddyfile([], "tls internal", module.site_hosts(""))
    assert "basicauth" not in text and "respond 401" in text


def test_operator_certificate_when_both_files_hold_something(tmp_path: Path) -> None:
    module = generator()
    cert, key, empty = tmp_path / "c.pem", tmp_path / "k.pem", tmp_path / "empty"
    cert.write_text("c")
    key.write_text("k")
    empty.write_text("")
    assert module.tls_directive(str(cert), str(key)) == f"tls {cert} {key}"
    assert module.tls_directive(str(cert), str(empty)) == "tls internal"
    assert module.tls_directive("", "") == "tls internal"
    text = module.caddyfile([], f"tls {cert} {key}", module.site_hosts(""))
    assert "\n:8443 {" in text


def test_bad_users_file_lines_are_refused() -> None:
    module = generator()
    with pytest.raises(module.UsersFileError, match="role"):
        module.parse_users("ann boss $2b$04$" + "a" * 53)
    with pytest.raises(module.UsersFileError, match="bcrypt"):
        module.parse_users("ann admin plaintext")
