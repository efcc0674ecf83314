"""Which location images to keep: pure, so the rule is tested without Docker."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageInfo:
    tag: str
    location: str
    version: str


def images_to_remove(
    images: list[ImageInfo],
    history: dict[str, list[str]],
    serving: set[str],
    in_use: set[str],
    keep: int,
) -> list[ImageInfo]:
    """Per location, these stay: the serving image, the `keep` most recently deployed
    versions (the rollback targets) and every image a queued or running run was submitted
    with. The rest go, builds that were refused included."""
    removable = []
    for image in images:
        recent = history.get(image.location, [])[-keep:]
        if image.tag in serving or image.tag in in_use or image.version in recent:
            continue
        removable.append(image)
    return removable
