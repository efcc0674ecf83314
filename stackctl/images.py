"""Building a location's image with its immutable, content-derived tag."""

import subprocess
from collections.abc import Callable

import docker
import docker.errors

from stackctl.code_server_spec import LOCATION_LABEL, STACK_LABEL, image_tag
from stackctl.declaration import Location
from stackctl.settings import REPO_ROOT, StackSettings
from stackctl.versioning import content_version


class BuildError(RuntimeError):
    pass


def _git_revision() -> str:
    result = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    return result.stdout.strip() if result.returncode == 0 else "unknown"


def _base_image_id(client: docker.DockerClient, name: str) -> str:
    try:
        return client.images.get(name).id
    except docker.errors.ImageNotFound:
        return name  # pulled by the build; the name stands in for its content


def build_args(settings: StackSettings, location: Location) -> dict[str, str]:
    return {
        "PYTHON_BASE_IMAGE": settings.python_base_image,
        "PIP_INSTALL_ARGS": settings.pip_install_args,
        "LOCATION": location.name,
        "LOCATION_MODULE": location.module,
    }


def version_of(client: docker.DockerClient, settings: StackSettings, location: Location) -> str:
    args = {**build_args(settings, location), "base image": _base_image_id(client, settings.python_base_image)}
    return content_version(REPO_ROOT, location.name, args)


def image_exists(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def build(client: docker.DockerClient, settings: StackSettings, location: Location, version: str, log: Callable[[str], None] = print) -> str:
    """Builds `STACK/LOCATION:VERSION` unless it exists. A build failure (syntax, a missing
    dependency) raises with the build's last lines."""
    tag = image_tag(settings, location.name, version)
    if image_exists(client, tag):
        log(f"[{location.name}] image {tag} exists (same content): not rebuilt")
        return tag
    log(f"[{location.name}] building {tag}")
    command = ["docker", "buildx", "build", "--load", "--file", "Dockerfile_user_code", "--tag", tag]
    for key, value in build_args(settings, location).items():
        command += ["--build-arg", f"{key}={value}"]
    for key, value in {
        "org.opencontainers.image.revision": _git_revision(),
        "org.opencontainers.image.version": version,
        STACK_LABEL: settings.name,
        LOCATION_LABEL: location.name,
    }.items():
        command += ["--label", f"{key}={value}"]
    result = subprocess.run([*command, "."], cwd=REPO_ROOT, env=settings.env, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
        raise BuildError(f"[{location.name}] the image build failed; the old version keeps serving:\n{tail}")
    return tag
