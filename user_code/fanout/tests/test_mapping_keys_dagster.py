"""Dagster must accept every key our sanitizer produces (its reserved names included)."""

import dagster as dg
from dagster._core.definitions.utils import DISALLOWED_NAMES

from fanout.lib.mapping_keys import mapping_keys_for


def test_dagster_accepts_generated_keys_including_reserved_names() -> None:
    ids = sorted(DISALLOWED_NAMES) + ["rec-1", "a b", "", "ünï"]
    for key in mapping_keys_for(ids).values():
        assert dg.DynamicOutput(1, mapping_key=key).mapping_key == key
