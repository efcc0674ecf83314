"""Removing location images that nothing needs any more (see gc_policy for the rule)."""

from dataclasses import dataclass, field

import docker
import docker.errors

from stackctl.code_server_spec import LOCATION_LABEL, STACK_LABEL
from stackctl.gc_policy import ImageInfo, images_to_remove
from stackctl.settings import StackSettings
from stackctl.webserver import Webserver, WebserverError


@dataclass
class GcReport:
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: str = ""

    def describe(self) -> str:
        if self.skipped:
            return f"[gc] skipped: {self.skipped}"
        return f"[gc] kept {len(self.kept)} image(s), removed {len(self.removed)}" + (
            f": {', '.join(self.removed)}" if self.removed else ""
        )


def location_images(client: docker.DockerClient, settings: StackSettings, locations: list[str]) -> list[ImageInfo]:
    found = []
    for image in client.images.list(filters={"label": f"{STACK_LABEL}={settings.name}"}):
        location = image.labels.get(LOCATION_LABEL, "")
        if location not in locations:
            continue
        for tag in image.tags:
            if tag.startswith(settings.image_repository(location) + ":"):
                found.append(ImageInfo(tag=tag, location=location, version=tag.rsplit(":", 1)[1]))
    return found


def collect_garbage(
    client: docker.DockerClient,
    settings: StackSettings,
    webserver: Webserver,
    history: dict[str, list[str]],
) -> GcReport:
    images = location_images(client, settings, list(history))
    serving = {c.image.tags[0] for c in client.containers.list(filters={"label": f"{STACK_LABEL}={settings.name}"}) if c.image.tags}
    try:
        in_use = webserver.images_of_active_runs()
    except WebserverError as error:
        # Without the run list nothing can be known safe to remove.
        return GcReport(skipped=str(error))
    remove = images_to_remove(images, history, serving, in_use, settings.keep_images)
    report = GcReport(kept=sorted({i.tag for i in images} - {i.tag for i in remove}))
    for image in remove:
        for container in client.containers.list(all=True, filters={"ancestor": image.tag, "status": "exited"}):
            container.remove()
        try:
            client.images.remove(image.tag)
            report.removed.append(image.tag)
        except docker.errors.APIError as error:
            report.kept.append(f"{image.tag} ({error.explanation})")
    return report
