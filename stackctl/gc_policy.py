"""Which location images to keep: pure, so the rule is tested without Docker."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageInfo:
    tag: str
    location: str
    created: str  # ISO time; sorts chronologically


def images_to_remove(images: list[ImageInfo], serving: set[str], in_use: set[str], keep: int) -> list[ImageInfo]:
    """Per location: the serving image, the `keep` newest and every image a queued or
    running run refers to stay; the rest go."""
    removable = []
    by_location: dict[str, list[ImageInfo]] = {}
    for image in images:
        by_location.setdefault(image.location, []).append(image)
    for location_images in by_location.values():
        newest_first = sorted(location_images, key=lambda i: i.created, reverse=True)
        for index, image in enumerate(newest_first):
            if index < keep or image.tag in serving or image.tag in in_use:
                continue
            removable.append(image)
    return removable
