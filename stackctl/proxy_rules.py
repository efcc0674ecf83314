"""The Docker proxy's list of images a run container may be created from: one pattern per
declared location, matched against the body of a container-create call. Pure."""

import re

from stackctl.declaration import LOCATION_NAME
from stackctl.versioning import VERSION_LENGTH


def run_image_patterns(stack: str, locations: list[str]) -> str:
    """HAProxy pattern file (`-m reg -f`): a run's image must be one of the stack's
    location images with a content tag; a mutable tag such as `:latest` never matches."""
    lines = ["# Written by the deployer (stackctl) from workspace.yaml; one location per line."]
    for name in locations:
        if not LOCATION_NAME.fullmatch(name):
            raise ValueError(f"not a location name: {name!r}")
        lines.append(f'"Image": "{re.escape(stack)}/{name}:[0-9a-f]{{{VERSION_LENGTH}}}"')
    return "\n".join(lines) + "\n"
