"""Secrets arrive as files (the stack mounts the location's own at /run/secrets); only a
fingerprint of one is ever shown, never its value."""

import hashlib
import os
from pathlib import Path

# scripts/dev.sh points this at ./secrets/<location> when the location runs without Docker.
DEFAULT_SECRETS_DIR = os.environ.get("STACK_LOCATION_SECRETS_DIR", "/run/secrets")


class MissingSecret(RuntimeError):
    pass


def read_secret(secrets_dir: str, name: str) -> str:
    path = Path(secrets_dir) / name
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        raise MissingSecret(
            f"secret {name!r} not found at {path}: the stack mounts the location's secrets "
            "there (put the file in $STACK_SECRETS_DIR/warehouse/ and deploy again)"
        ) from None


def fingerprint(value: str) -> str:
    """The first 12 hex digits of the value's sha256: enough to tell two secrets apart."""
    return hashlib.sha256(value.encode()).hexdigest()[:12]
