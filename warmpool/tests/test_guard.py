import dagster as dg
from dagster_warm_pool.guard import TESTED_DAGSTER_VERSIONS, version_problem


def test_installed_dagster_is_a_tested_version() -> None:
    # The pin in requirements/constraints.txt and the guard agree; if this fails, either the
    # pin moved without re-testing the adapter or the guard was not updated after doing so.
    assert version_problem(dg.__version__) is None, TESTED_DAGSTER_VERSIONS


def test_other_versions_are_refused_with_the_reason() -> None:
    problem = version_problem("1.14.0", "==1.13.27")
    assert problem == (
        "installed Dagster 1.14.0 is outside the versions the warm pool was tested with (==1.13.27)"
    )
    assert version_problem("1.13.27", ">=1.13.27,<1.14") is None
    assert version_problem("1.13.26", ">=1.13.27,<1.14") is not None


def test_bad_inputs_are_problems_not_crashes() -> None:
    assert "not a version specifier" in (version_problem("1.13.27", "latest") or "")
    assert "not a release version" in (version_problem("banana", "==1.13.27") or "")
