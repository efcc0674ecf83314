"""stackctl.proxy_rules: the Docker proxy's patterns of images a run may be created from."""

import re

import pytest

from stackctl.proxy_rules import run_image_patterns

VERSION = "0123456789ab"


def _patterns(stack: str, locations: list[str]) -> list[re.Pattern[str]]:
    text = run_image_patterns(stack, locations)
    assert text.endswith("\n")
    return [re.compile(line) for line in text.splitlines() if line and not line.startswith("#")]


def _allowed(patterns: list[re.Pattern[str]], body: str) -> bool:
    # HAProxy's `-m reg` matches anywhere in the body, as re.search does.
    return any(p.search(body) for p in patterns)


def test_one_line_per_location_after_a_comment() -> None:
    lines = run_image_patterns("STACK", ["fanout", "warehouse"]).splitlines()
    assert lines[0].startswith("#")
    assert len(lines) == 3


def test_no_location_gives_a_file_that_allows_nothing() -> None:
    assert _patterns("STACK", []) == []


@pytest.mark.parametrize(
    ("body", "allowed"),
    [
        (f'"Image": "STACK/fanout:{VERSION}"', True),
        (f'{{"Env": [], "Image": "STACK/warehouse:{VERSION}", "Labels": {{}}}}', True),
        ('"Image": "STACK/fanout:latest"', False),
        ('"Image": "STACK/fanout:dev"', False),
        (f'"Image": "STACK/fanout:{VERSION}c"', False),
        (f'"Image": "STACK/fanout:{VERSION[:-1]}"', False),
        (f'"Image": "STACK/fanout:{VERSION.upper()}"', False),
        (f'"Image": "STACK/other:{VERSION}"', False),
        (f'"Image": "STACK/fanoutx:{VERSION}"', False),
        (f'"Image": "STACK/fanout/x:{VERSION}"', False),
        (f'"Image": "OTHER/fanout:{VERSION}"', False),
        (f'"Image": "xSTACK/fanout:{VERSION}"', False),
        (f'"Image": "registry/STACK/fanout:{VERSION}"', False),
        (f'"Image": "STACKx/fanout:{VERSION}"', False),
        (f'"Image": "STACK/fanout@sha256:{VERSION}"', False),
    ],
)
def test_patterns_match_only_content_tagged_location_images(body: str, allowed: bool) -> None:
    assert _allowed(_patterns("STACK", ["fanout", "warehouse"]), body) is allowed


def test_stack_name_is_matched_literally() -> None:
    patterns = _patterns("my.stack", ["fanout"])
    assert _allowed(patterns, f'"Image": "my.stack/fanout:{VERSION}"')
    assert not _allowed(patterns, f'"Image": "myxstack/fanout:{VERSION}"')


@pytest.mark.parametrize("name", ["Fanout", "fan-out", "1fanout", "", "fanout/x", 'x"', "a" * 40, "fan out"])
def test_invalid_location_name_raises(name: str) -> None:
    with pytest.raises(ValueError, match="not a location name"):
        run_image_patterns("STACK", ["fanout", name])


def test_a_name_with_a_trailing_newline_raises() -> None:
    with pytest.raises(ValueError):
        run_image_patterns("STACK", ["fanout\n"])
