import re

import pytest

from fanout.lib.mapping_keys import mapping_keys_for

VALID = re.compile(r"^[A-Za-z0-9_]+$")


def test_valid_ids_kept_as_is() -> None:
    assert mapping_keys_for(["a", "Rec_01", "x9"]) == {"a": "a", "Rec_01": "Rec_01", "x9": "x9"}


@pytest.mark.parametrize(
    "record_id", ["rec-1", "a b", "ünïcödé", "", "../etc", "context", "if", "x" * 200, "a|b", "😀"]
)
def test_weird_ids_become_valid_and_suffixed(record_id: str) -> None:
    key = mapping_keys_for([record_id])[record_id]
    assert VALID.match(key)
    assert key != record_id
    assert len(key) <= 48 + 1 + 8
    assert re.search(r"_[0-9a-f]{8}$", key)


def test_sanitize_collisions_stay_unique() -> None:
    ids = ["a-b", "a_b", "a b", "a.b"]
    keys = mapping_keys_for(ids)
    assert len(set(keys.values())) == len(ids)
    assert keys["a_b"] == "a_b"


def test_valid_id_that_equals_an_earlier_generated_key_is_suffixed() -> None:
    first = mapping_keys_for(["a-b"])["a-b"]
    keys = mapping_keys_for(["a-b", first])
    assert keys["a-b"] == first
    assert keys[first] != first
    assert len(set(keys.values())) == 2


def test_long_ids_sharing_prefix_stay_unique() -> None:
    ids = ["p" * 60 + str(i) for i in range(50)]
    assert len(set(mapping_keys_for(ids).values())) == 50


def test_keys_are_stable() -> None:
    ids = ["rec-1", "a b", "ok"]
    assert mapping_keys_for(ids) == mapping_keys_for(list(ids))


def test_duplicate_ids_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate record id 'a'"):
        mapping_keys_for(["a", "a"])
