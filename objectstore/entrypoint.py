"""Start `rclone serve s3` for the stack's object store (objectstore/Dockerfile).

The access key comes from a secret file in AWS's shared credentials format, the same file the
Dagster services hand to boto3 (AWS_SHARED_CREDENTIALS_FILE):

    [default]
    aws_access_key_id = <key id>
    aws_secret_access_key = <secret key>

It reaches rclone as RCLONE_AUTH_KEY, rclone's variable for `--auth-key id,secret`, rather than
on the command line, which any user of the host can read (`ps`, `docker top`). The bucket's
directory is created under the data directory first: rclone serves each top-level directory
as a bucket, and the IO manager lists its bucket as soon as it starts.

`entrypoint.py check` is the image's health check: the server answers HTTP on its port.
"""

from __future__ import annotations

import configparser
import os
import re
import sys
import urllib.error
import urllib.request

DATA_DIR = os.environ.get("OBJECTSTORE_DATA_DIR", "/data")
PORT = os.environ.get("OBJECTSTORE_PORT", "9000")
CREDENTIALS_FILE = os.environ.get("AWS_SHARED_CREDENTIALS_FILE", "/run/secrets/s3_credentials")
PROFILE = os.environ.get("AWS_PROFILE", "default")
BUCKET = os.environ.get("STACK_S3_BUCKET", "dagster")
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# RCLONE_AUTH_KEY is CSV: a quote or comma inside the key would split it differently.
_KEY_PART = re.compile(r"[^\s\",]+")


def fail(message: str) -> None:
    print(f"objectstore: {message}", file=sys.stderr)
    sys.exit(2)


def read_key(path: str, profile: str) -> tuple[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle)
    except OSError as error:
        fail(f"cannot read the credentials file {path} (AWS_SHARED_CREDENTIALS_FILE): "
             f"{error.strerror}")
    except configparser.Error as error:
        # Not the parser's message: it quotes the offending line, which may hold the secret.
        fail(f"{path} is not in AWS's credentials format ([{profile}] with aws_access_key_id "
             f"and aws_secret_access_key): {type(error).__name__}")
    if not parser.has_section(profile):
        fail(f"{path} has no [{profile}] section")
    key_id = parser.get(profile, "aws_access_key_id", fallback="").strip()
    secret = parser.get(profile, "aws_secret_access_key", fallback="").strip()
    for name, value in (("aws_access_key_id", key_id), ("aws_secret_access_key", secret)):
        if not _KEY_PART.fullmatch(value):
            fail(f"{path} [{profile}]: {name} is missing, or has a space, comma or quote")
    return key_id, secret


def serve() -> None:
    if not _BUCKET_NAME.fullmatch(BUCKET):
        fail(f"STACK_S3_BUCKET={BUCKET!r} is not a valid S3 bucket name")
    key_id, secret = read_key(CREDENTIALS_FILE, PROFILE)
    os.makedirs(os.path.join(DATA_DIR, BUCKET), exist_ok=True)
    env = dict(os.environ, RCLONE_AUTH_KEY=f'"{key_id},{secret}"')
    command = [
        "rclone", "serve", "s3",
        # An in-memory rclone config: the backend is named inline (":local:"), and the root
        # filesystem may be read-only.
        "--config", "",
        "--addr", f":{PORT}",
        *sys.argv[1:],
        f":local:{DATA_DIR}",
    ]  # fmt: skip
    os.execvpe(command[0], command, env)


def check() -> None:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{PORT}/", timeout=5)
    except urllib.error.HTTPError:
        pass  # any S3 answer (403 without a signature) means the server is up
    except OSError as error:
        fail(f"no answer on port {PORT}: {error}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["check"]:
        check()
    else:
        serve()
