"""A throwaway S3-compatible object store for one test session: the stack's own objectstore
image (objectstore/Dockerfile, `rclone serve s3`) as a container on 127.0.0.1, hardened as the
Swarm stack runs it (non-root, read-only root, no capabilities, the key as a secret file).

The image is built from this tree each session (BuildKit's cache makes an unchanged build a
second or two), so a test never runs an older entrypoint than the checkout's; OBJECTSTORE_IMAGE
names a prebuilt one instead. The build uses the base image and pip arguments this machine
builds with: $PYTHON_BASE_IMAGE / $PIP_INSTALL_ARGS as scripts/test.sh exports them, else what
scripts/lib/provision.sh recorded in .cache/provisioned.env, else the Dockerfile's defaults.
"""

from __future__ import annotations

import configparser
import os
import secrets
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_TAG = "fanout-local/objectstore:dev"
BUCKET = "dagster"
# The Swarm stack's uid for every service (Dockerfile_dagster's STACK_UID).
STACK_UID = 10001
_READY_TIMEOUT_S = 60.0
_BUILD_TIMEOUT_S = 900


@dataclass(frozen=True)
class ObjectStore:
    endpoint_url: str
    bucket: str
    credentials_file: str
    container: str

    def environment(self, prefix: str = "dagster") -> dict[str, str]:
        """The variables a Dagster process of the stack gets for this store."""
        return {
            "STACK_S3_ENDPOINT_URL": self.endpoint_url,
            "STACK_S3_BUCKET": self.bucket,
            "STACK_S3_PREFIX": prefix,
            "AWS_SHARED_CREDENTIALS_FILE": self.credentials_file,
        }


def _build_setting(name: str) -> str | None:
    if name in os.environ:
        return os.environ[name]
    provisioned = REPO_ROOT / ".cache" / "provisioned.env"
    if provisioned.exists():
        for line in provisioned.read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() == name:
                return value.strip().strip('"')
    return None


def build_objectstore_image(tag: str = DEFAULT_TAG) -> str:
    """Build objectstore/Dockerfile as `tag`; raise with the build's output if it fails."""
    command = ["docker", "buildx", "build", "--load", "--file", "objectstore/Dockerfile"]
    command += ["--tag", tag]
    for name in ("PYTHON_BASE_IMAGE", "PIP_INSTALL_ARGS"):
        if (value := _build_setting(name)) is not None:
            command += ["--build-arg", f"{name}={value}"]
    result = subprocess.run(
        [*command, "."], cwd=REPO_ROOT, capture_output=True, text=True, timeout=_BUILD_TIMEOUT_S
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-30:])
        raise RuntimeError(f"building {tag} from objectstore/Dockerfile failed:\n{tail}")
    return tag


def write_credentials(path: Path) -> Path:
    """A fresh random key in AWS's shared credentials format, readable by the container's user."""
    key_id, secret = secrets.token_hex(10), secrets.token_hex(20)
    path.write_text(f"[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n")
    if os.geteuid() == 0:
        os.chown(path, STACK_UID, STACK_UID)  # as the Swarm secret is: the service's, 0400
        path.chmod(0o400)
    else:
        path.chmod(0o444)
    return path


def _docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["docker", *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:2])} failed: {result.stderr.strip()}")
    return result


def _logs(name: str) -> str:
    result = _docker("logs", "--tail", "50", name, check=False)
    return (result.stdout + result.stderr).strip()


def _wait_ready(store: ObjectStore) -> None:
    import boto3
    import botocore.exceptions

    session = boto3.session.Session()
    # Read the key from the file directly: the test process's environment may not name it.
    client = session.client(
        "s3", endpoint_url=store.endpoint_url, **_read_key(store.credentials_file)
    )
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while True:
        state = _docker("inspect", "--format", "{{.State.Status}}", store.container, check=False)
        status = state.stdout.strip()
        if status not in ("created", "running"):
            raise RuntimeError(f"objectstore stopped ({status}):\n{_logs(store.container)}")
        try:
            client.list_objects_v2(Bucket=store.bucket, MaxKeys=1)
            return
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"objectstore not ready in {_READY_TIMEOUT_S:.0f} s ({error}):\n"
                    f"{_logs(store.container)}"
                ) from error
            time.sleep(0.2)


def _read_key(path: str) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path)
    return {
        "aws_access_key_id": parser["default"]["aws_access_key_id"],
        "aws_secret_access_key": parser["default"]["aws_secret_access_key"],
    }


@contextmanager
def throwaway_objectstore(credentials_dir: Path, image: str | None = None) -> Iterator[ObjectStore]:
    """Yield a running object store with its bucket; remove the container and its data
    volume afterwards. `credentials_dir` receives the secret file."""
    image = image or os.environ.get("OBJECTSTORE_IMAGE") or build_objectstore_image()
    credentials = write_credentials(credentials_dir / "s3_credentials")
    name = f"throwaway-objectstore-{uuid.uuid4().hex[:8]}"
    try:
        _docker(
            "run", "-d", "--name", name,
            "--user", f"{STACK_UID}:{STACK_UID}", "--read-only", "--tmpfs", "/tmp",
            "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
            "-v", f"{credentials}:/run/secrets/s3_credentials:ro",
            "-e", f"STACK_S3_BUCKET={BUCKET}", "-p", "127.0.0.1::9000", image,
        )  # fmt: skip
        port = _docker("port", name, "9000/tcp").stdout.splitlines()[0].rsplit(":", 1)[1]
        store = ObjectStore(f"http://127.0.0.1:{port}", BUCKET, str(credentials), name)
        _wait_ready(store)
        yield store
    finally:
        # -v: the image's anonymous /data volume goes with it.
        _docker("rm", "-f", "-v", name, check=False)
