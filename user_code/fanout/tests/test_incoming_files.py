import os
from pathlib import Path

from fanout.lib.incoming_files import new_files, next_cursor, parse_cursor, scan_incoming


def test_scan_only_visible_json_files(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("[]")
    (tmp_path / ".staging.json").write_text("[]")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "dir.json").mkdir()
    assert [f.path.name for f in scan_incoming(tmp_path)] == ["a.json"]
    assert scan_incoming(tmp_path / "missing") == []


def test_run_key_changes_when_file_is_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text("[]")
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    first = scan_incoming(tmp_path)[0].run_key
    assert first == "a.json:1000000000:2"
    path.write_text("[1]")
    assert scan_incoming(tmp_path)[0].run_key != first


def test_cursor_round_trip_and_pruning(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("[]")
    files = scan_incoming(tmp_path)
    cursor = next_cursor(files)
    assert new_files(files, parse_cursor(cursor)) == []
    (tmp_path / "a.json").unlink()
    assert parse_cursor(next_cursor(scan_incoming(tmp_path))) == set()
    assert parse_cursor("not json") == set() and parse_cursor(None) == set()
