"""Images for a Swarm of Docker-in-Docker nodes: building the node and registry images from
this tree when missing (swarm/node, swarm/registry), copying a host image into a node's
engine (`docker save | docker exec -i NODE docker load`), and naming an image in the swarm's
registry."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

from stack_testing.swarm_nodes import docker

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_BASE_IMAGE = "fanout-local/python:3.11-bookworm"
NODE_IMAGE = "fanout-local/swarm-node:dev"
REGISTRY_IMAGE = "fanout-local/registry:dev"
# The image's folder in this tree, by the default tag's name.
_CONTEXTS = {"swarm-node": REPO_ROOT / "swarm" / "node", "registry": REPO_ROOT / "swarm" / "registry"}


def image_exists(image: str) -> bool:
    return bool(docker("image", "inspect", "--format", "{{.Id}}", image, check=False))


def build_image(context: Path, tag: str, base_image: str | None = None) -> float:
    """`docker build` (BuildKit) of `context` as `tag` FROM $PYTHON_BASE_IMAGE; seconds taken."""
    base_image = base_image or os.environ.get("PYTHON_BASE_IMAGE") or DEFAULT_BASE_IMAGE
    started = time.monotonic()
    result = subprocess.run(
        ["docker", "build", "--quiet", "--build-arg", f"PYTHON_BASE_IMAGE={base_image}",
         "--tag", tag, str(context)],
        env={**os.environ, "DOCKER_BUILDKIT": "1"}, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"building {tag} from {context} failed:\n{result.stdout}{result.stderr}")
    return time.monotonic() - started


def ensure_image(tag: str, context: Path, base_image: str | None = None) -> float:
    """Build `tag` from `context` unless the engine has it; seconds spent building (0 if not)."""
    return 0.0 if image_exists(tag) else build_image(context, tag, base_image)


def ensure_swarm_images(
    node_image: str = NODE_IMAGE, registry_image: str = REGISTRY_IMAGE, base_image: str | None = None
) -> float:
    """The node and registry images, built on a machine that lacks them; seconds spent."""
    return ensure_image(node_image, _CONTEXTS["swarm-node"], base_image) + ensure_image(
        registry_image, _CONTEXTS["registry"], base_image
    )


def load_into(image: str, container: str, chunk: int = 1 << 20) -> int:
    """Copy a host image into the engine inside `container`; the bytes of the tar stream."""
    save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    load = subprocess.Popen(
        ["docker", "exec", "-i", container, "docker", "load", "--quiet"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    assert save.stdout is not None and load.stdin is not None
    total = 0
    try:
        while data := save.stdout.read(chunk):
            load.stdin.write(data)
            total += len(data)
    except BrokenPipeError:
        pass  # the load failed early; its error is reported below
    finally:
        load.stdin.close()
    assert load.stdout is not None and save.stderr is not None
    load_out = load.stdout.read()  # a line or two: cannot fill the pipe while we write
    load.wait(timeout=600)
    save_err = save.stderr.read()
    save.wait(timeout=60)
    if save.returncode or load.returncode:
        raise RuntimeError(
            f"copying {image} into {container} failed: save {save.returncode} "
            f"{save_err.decode(errors='replace')}; load {load.returncode} "
            f"{load_out.decode(errors='replace')}"
        )
    return total


def split_reference(image: str) -> tuple[str, str]:
    """`repo/name:tag` -> (`repo/name`, `tag`), without a registry host if it names one;
    a missing tag is `latest`."""
    if "@" in image:
        raise ValueError(f"{image}: give a tagged image, not a digest reference")
    name, tag = image, "latest"
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = image.rsplit(":", 1)
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        name = rest
    return name, tag


_MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
    )
)


def registry_manifest(base_url: str, name: str, reference: str) -> dict:
    """The image manifest the registry at `base_url` serves for `name` at a tag or digest."""
    request = urllib.request.Request(
        f"{base_url}/v2/{name}/manifests/{reference}", headers={"Accept": _MANIFEST_TYPES}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        return json.loads(response.read())


def compressed_size(manifest: dict) -> int:
    """What a node downloads to pull the image: its compressed layers and its config."""
    return sum(layer["size"] for layer in manifest["layers"]) + manifest["config"]["size"]
