"""The front door's users file, $STACK_SECRETS_DIR/frontdoor/users: one line per user,
`name role bcrypt-hash`. The front door reads it at start (frontdoor/caddyfile.py); passwords
never reach an environment variable."""

import re
import secrets as random_secrets
from dataclasses import dataclass
from pathlib import Path

import bcrypt

ROLES = ("admin", "viewer")
NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Checked by Caddy once per login and then cached: slow enough to resist guessing offline.
BCRYPT_COST = 12
FIRST_ADMIN = "admin"


class UserError(ValueError):
    pass


@dataclass(frozen=True)
class UsersFile:
    folder: Path  # $STACK_SECRETS_DIR/frontdoor

    @property
    def path(self) -> Path:
        return self.folder / "users"

    def password_file(self, name: str) -> Path:
        """Where a generated password is kept (readable by its owner alone)."""
        return self.folder / f"{name}.password"

    def entries(self) -> dict[str, tuple[str, str]]:
        """name -> (role, hash), in file order."""
        found: dict[str, tuple[str, str]] = {}
        if self.path.is_file():
            for line in self.path.read_text().splitlines():
                fields = line.split()
                if len(fields) == 3 and not line.lstrip().startswith("#"):
                    found[fields[0]] = (fields[1], fields[2])
        return found

    def add(self, name: str, role: str, password: str, cost: int = BCRYPT_COST) -> bool:
        """Adds the user, or replaces its role and password; True if it was new."""
        if not NAME.fullmatch(name):
            raise UserError(f"user name {name!r} may only hold letters, digits, '.', '_' and '-' (at most 64)")
        if role not in ROLES:
            raise UserError(f"role {role!r} is not one of {', '.join(ROLES)}")
        if not password:
            raise UserError("the password is empty")
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(cost)).decode()
        entries = self.entries()
        new = name not in entries
        entries[name] = (role, hashed)
        self._write(entries)
        return new

    def remove(self, name: str) -> None:
        entries = self.entries()
        if name not in entries:
            raise UserError(f"no user {name}")
        del entries[name]
        self._write(entries)

    def ensure_first_admin(self) -> str | None:
        """On a stack's first start: with no users file, an `admin` with a random password kept
        in admin.password. Returns the password file it created, else None."""
        if self.path.exists():
            return None
        password = random_secrets.token_urlsafe(18)
        self.add(FIRST_ADMIN, "admin", password)
        saved = self.password_file(FIRST_ADMIN)
        saved.touch(mode=0o600)
        saved.write_text(password + "\n")
        return str(saved)

    def _write(self, entries: dict[str, tuple[str, str]]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.folder.chmod(0o700)
        lines = "".join(f"{name} {role} {hashed}\n" for name, (role, hashed) in entries.items())
        header = "# name role bcrypt-hash; edit with `python -m stackctl user add|remove`\n"
        temporary = self.path.with_name(".users.new")
        temporary.write_text(header + lines)
        # Readable by the front door's user through its read-only mount; the folder (0700)
        # keeps other users of the host out.
        temporary.chmod(0o644)
        temporary.replace(self.path)
