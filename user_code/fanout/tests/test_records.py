import json
import subprocess
import sys
from dataclasses import asdict

from fanout.lib.records import MAX_UNITS, MIN_UNITS, generate_records


def test_same_config_gives_same_records() -> None:
    assert generate_records(20, 7) == generate_records(20, 7)


def test_different_seed_gives_different_units() -> None:
    assert [r.units for r in generate_records(20, 1)] != [r.units for r in generate_records(20, 2)]


def test_units_in_range_and_ids_unique() -> None:
    records = generate_records(300, 3)
    assert all(MIN_UNITS <= r.units <= MAX_UNITS for r in records)
    assert len({r.id for r in records}) == 300


def test_same_records_in_another_process_with_other_hash_seed() -> None:
    code = (
        "import json; from dataclasses import asdict;"
        "from fanout.lib.records import generate_records;"
        "print(json.dumps([asdict(r) for r in generate_records(25, 11)]))"
    )
    # A different PYTHONHASHSEED would expose any reliance on salted hash().
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True, text=True, check=True,
        env={"PYTHONPATH": ".", "PYTHONHASHSEED": "12345"},
    ).stdout
    assert json.loads(out) == [asdict(r) for r in generate_records(25, 11)]
