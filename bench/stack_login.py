"""How the benchmark and the burst reach a stack: through its front door (frontdoor/), with an
admin login and the front door's certificate checked against the stack's CA."""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class StackLogin:
    user: str | None
    password: str | None
    # requests' `verify`: a CA file, or True for the system's CAs.
    verify: str | bool

    @property
    def auth(self) -> tuple[str, str] | None:
        return (self.user, self.password) if self.user and self.password is not None else None


def default_secrets_dir() -> Path:
    folder = Path(os.environ.get("STACK_SECRETS_DIR", "").strip() or "secrets")
    return folder if folder.is_absolute() else REPO_ROOT / folder


def stack_login(
    user: str | None = None, password_file: str | None = None, ca_file: str | None = None
) -> StackLogin:
    """The admin login `python -m stackctl up` leaves in the secrets folder (admin.password),
    and the CA it copies out of the front door (STACK_NAME-ca.crt), unless given."""
    folder = default_secrets_dir() / "frontdoor"
    user = user or os.environ.get("STACK_FRONTDOOR_USER", "").strip() or "admin"
    password_path = Path(password_file) if password_file else folder / f"{user}.password"
    password = password_path.read_text().strip() if password_path.is_file() else None
    stack_name = os.environ.get("STACK_NAME", "").strip() or "fanout"
    ca_path = Path(ca_file) if ca_file else folder / f"{stack_name}-ca.crt"
    return StackLogin(user, password, str(ca_path) if ca_path.is_file() else True)


def requests_kwargs(login: StackLogin) -> dict[str, Any]:
    """Per request, since REQUESTS_CA_BUNDLE in the environment overrides a session's verify."""
    return {"auth": login.auth, "verify": login.verify}
