import json
from pathlib import Path

import pytest

from fanout.lib.records import Record
from fanout.lib.records_file import load_records_json, resolve_inside
from fanout.lib.validation import RecordValidationError, validate_records


def _problems(raw: object, max_records: int = 500) -> list[str]:
    with pytest.raises(RecordValidationError) as caught:
        validate_records(raw, max_records)
    return [str(problem) for problem in caught.value.problems]


def test_valid_list_and_wrapped_object() -> None:
    raw = [{"id": "a", "units": 10}, {"id": "b", "units": 30}]
    expected = [Record("a", 10), Record("b", 30)]
    assert validate_records(raw) == expected
    assert validate_records({"records": raw}) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ([], "input: no records (empty list)"),
        ({"foo": 1}, "input: must be a list of records, got dict"),
        ([{"units": 12}], "record #0: missing id"),
        ([{"id": "", "units": 12}], "record #0: missing id"),
        ([{"id": 5, "units": 12}], "record #0: id must be a string, got int"),
        ([{"id": "a"}], "record #0 (id 'a'): missing units"),
        ([{"id": "a", "units": True}], "record #0 (id 'a'): units must be an integer, got True"),
        ([{"id": "a", "units": 12.0}], "record #0 (id 'a'): units must be an integer, got 12.0"),
        ([{"id": "a", "units": "12"}], "record #0 (id 'a'): units must be an integer, got '12'"),
        ([{"id": "a", "units": 9}], "record #0 (id 'a'): units must be in 10..30, got 9"),
        ([{"id": "a", "units": 31}], "record #0 (id 'a'): units must be in 10..30, got 31"),
        (["a"], "record #0: must be an object with 'id' and 'units', got str"),
    ],
)
def test_each_bad_record_names_record_and_reason(raw: object, expected: str) -> None:
    assert _problems(raw) == [expected]


def test_duplicates_name_every_occurrence() -> None:
    raw = [{"id": "a", "units": 10}, {"id": "b", "units": 10}, {"id": "a", "units": 11}]
    assert _problems(raw) == [
        "record #0 (id 'a'): duplicate id (appears 2 times)",
        "record #2 (id 'a'): duplicate id (appears 2 times)",
    ]


def test_too_many_records() -> None:
    raw = [{"id": f"r{i}", "units": 10} for i in range(4)]
    assert _problems(raw, max_records=3) == ["input: 4 records exceed the maximum of 3"]


def test_all_problems_reported_at_once() -> None:
    raw = [{"units": 5}, {"id": "x", "units": False}, {"id": "x", "units": 10}]
    problems = _problems(raw)
    assert problems == [
        "record #0: missing id",
        "record #0: units must be in 10..30, got 5",
        "record #1 (id 'x'): units must be an integer, got False",
        "record #1 (id 'x'): duplicate id (appears 2 times)",
        "record #2 (id 'x'): duplicate id (appears 2 times)",
    ]
    with pytest.raises(RecordValidationError, match=r"5 problem\(s\)"):
        validate_records(raw)


def test_load_file_inside_data_dir(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "r.json").write_text(json.dumps([{"id": "a", "units": 10}]))
    assert load_records_json(tmp_path, "in/r.json") == [{"id": "a", "units": 10}]
    assert load_records_json(tmp_path, str(tmp_path / "in" / "r.json")) == [{"id": "a", "units": 10}]


def test_invalid_json_names_file_and_position(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('[{"id": "a",, }]')
    with pytest.raises(RecordValidationError, match=r"file 'bad.json': invalid JSON at line 1 column 13"):
        load_records_json(tmp_path, "bad.json")


def test_missing_file_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(RecordValidationError, match=r"file 'nope.json': unreadable: .*No such file"):
        load_records_json(tmp_path, "nope.json")


@pytest.mark.parametrize("path", ["../outside.json", "/etc/passwd", "in/../../x.json"])
def test_path_outside_data_dir_refused(tmp_path: Path, path: str) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with pytest.raises(RecordValidationError, match=r"is outside the data dir"):
        resolve_inside(data, path)


def test_symlink_escaping_data_dir_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "secret.json").write_text("[]")
    (data / "link.json").symlink_to(tmp_path / "secret.json")
    with pytest.raises(RecordValidationError, match=r"file 'link.json': is outside the data dir"):
        load_records_json(data, "link.json")
