from fanout.lib.completeness import check_completeness


def test_every_record_has_a_result() -> None:
    result = check_completeness(["a", "b"], ["b", "a"])
    assert result.complete
    assert result.describe() == "all 2 records have a result"


def test_missing_results_are_named_in_input_order() -> None:
    result = check_completeness(["a", "b", "c"], ["b"])
    assert not result.complete
    assert result.missing == ["a", "c"]
    assert result.describe() == "2 of 3 records have no result: 'a', 'c'"


def test_long_lists_are_cut_in_the_description() -> None:
    ids = [f"r{i}" for i in range(12)]
    result = check_completeness(ids, [])
    assert result.describe(shown=2) == "12 of 12 records have no result: 'r0', 'r1' and 10 more"


def test_unexpected_and_duplicated_results_are_counted() -> None:
    result = check_completeness(["a"], ["a", "a", "z"])
    assert result.complete
    assert result.unexpected == ["z"]
    assert result.duplicated == ["a"]
