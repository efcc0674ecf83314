"""Removal of exited run containers: DockerRunLauncher never removes them."""

from collections.abc import Mapping

import docker


def remove_old_run_containers(
    client: docker.DockerClient, labels: Mapping[str, str], keep: int
) -> list[str]:
    """Remove exited containers carrying `labels`, newest `keep` excepted. Returns removed ids.

    Only exited containers are touched: a running one may still be a live run, and run
    monitoring needs it to tell a crashed run from a running one. One list call (sparse: no
    inspect per container), newest first by creation time, which is launch order.
    """
    filters = {"status": "exited", "label": [f"{k}={v}" for k, v in labels.items()]}
    exited = client.containers.list(all=True, filters=filters, sparse=True)
    exited.sort(key=lambda c: c.attrs.get("Created", 0), reverse=True)
    removed = []
    for container in exited[max(keep, 0) :]:
        try:
            container.remove()
            removed.append(container.id)
        except docker.errors.NotFound:
            pass
    return removed
