"""The upgrade rehearsal's choice of Dagster packages (scripts/rehearsal_versions.py)."""

import pytest

from scripts.rehearsal_versions import (
    dagster_pins,
    library_version,
    make_plan,
    rewrite_constraints,
)

CONSTRAINTS = """# pins
alembic==1.20.1
dagster==1.13.27
dagster-docker==0.29.27
dagster-graphql==1.13.27
dagster_postgres==0.29.27
SQLAlchemy==2.0.58
"""


def test_library_version_follows_the_core() -> None:
    assert library_version("1.13.29") == "0.29.29"
    assert library_version("1.14.0") == "0.30.0"
    with pytest.raises(ValueError, match="not a Dagster 1.X.Y release"):
        library_version("1.13.29rc1")


def test_only_dagster_packages_are_pinned_again() -> None:
    assert dagster_pins(CONSTRAINTS) == {
        "dagster": "1.13.27",
        "dagster-docker": "0.29.27",
        "dagster-graphql": "1.13.27",
        "dagster-postgres": "0.29.27",
    }


def test_a_library_without_the_new_release_is_held_back_at_the_pin() -> None:
    on_pypi = {("dagster", "1.13.29"), ("dagster-graphql", "1.13.29"), ("dagster-docker", "0.29.29")}
    plan = make_plan(CONSTRAINTS, "1.13.29", lambda name, version: (name, version) in on_pypi)
    assert plan.library == "0.29.29"
    assert plan.targets == {
        "dagster": "1.13.29",
        "dagster-docker": "0.29.29",
        "dagster-graphql": "1.13.29",
    }
    assert plan.held_back == {"dagster-postgres": "0.29.27"}


def test_rewrite_moves_only_the_named_pins() -> None:
    rewritten = rewrite_constraints(CONSTRAINTS, {"dagster": "1.13.29", "dagster-postgres": "0.29.29"})
    assert rewritten.splitlines() == [
        "# pins",
        "alembic==1.20.1",
        "dagster==1.13.29",
        "dagster-docker==0.29.27",
        "dagster-graphql==1.13.27",
        "dagster_postgres==0.29.29",
        "SQLAlchemy==2.0.58",
    ]
