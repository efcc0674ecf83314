"""The default of supported_dagster_versions: the operator's environment variable, else the
tested release; run config still wins."""

import dagster as dg
import pytest
from dagster_warm_pool.config import WARM_POOL_CONFIG, WarmPoolOptions
from dagster_warm_pool.guard import TESTED_DAGSTER_VERSIONS
from dagster_warm_pool.supported_versions import (
    OLD_SUPPORTED_VERSIONS_ENV,
    SUPPORTED_VERSIONS_ENV,
    default_supported_versions,
)


def test_the_tested_release_unless_the_variable_is_set() -> None:
    assert default_supported_versions({}) == TESTED_DAGSTER_VERSIONS
    assert default_supported_versions({SUPPORTED_VERSIONS_ENV: "  "}) == TESTED_DAGSTER_VERSIONS
    assert default_supported_versions({SUPPORTED_VERSIONS_ENV: " ==1.13.29 "}) == "==1.13.29"


def test_the_old_name_is_read_for_one_release_with_a_warning() -> None:
    assert SUPPORTED_VERSIONS_ENV == "WARM_POOL_SUPPORTED_DAGSTER_VERSIONS"
    with pytest.warns(FutureWarning, match=f"{OLD_SUPPORTED_VERSIONS_ENV} is renamed {SUPPORTED_VERSIONS_ENV}"):
        assert default_supported_versions({OLD_SUPPORTED_VERSIONS_ENV: "==1.13.29"}) == "==1.13.29"
    # The new name wins, and then the old one is not read.
    both = {SUPPORTED_VERSIONS_ENV: "==1.13.30", OLD_SUPPORTED_VERSIONS_ENV: "==1.13.29"}
    assert default_supported_versions(both) == "==1.13.30"


def test_options_take_the_variable_only_where_run_config_is_silent(monkeypatch) -> None:
    monkeypatch.delenv(SUPPORTED_VERSIONS_ENV, raising=False)
    monkeypatch.delenv(OLD_SUPPORTED_VERSIONS_ENV, raising=False)
    assert WarmPoolOptions.from_config({}).supported_dagster_versions == TESTED_DAGSTER_VERSIONS
    monkeypatch.setenv(SUPPORTED_VERSIONS_ENV, ">=1.13.27,<1.14")
    assert WarmPoolOptions.from_config({}).supported_dagster_versions == ">=1.13.27,<1.14"
    assert WarmPoolOptions().supported_dagster_versions == ">=1.13.27,<1.14"
    configured = WarmPoolOptions.from_config({"supported_dagster_versions": "==1.13.27"})
    assert configured.supported_dagster_versions == "==1.13.27"


def test_the_schema_fills_in_no_default() -> None:
    # A schema default would reach from_config as if the run had set it, hiding the variable.
    field = WARM_POOL_CONFIG["supported_dagster_versions"]
    assert isinstance(field, dg.Field) and not field.is_required and not field.default_provided
    assert SUPPORTED_VERSIONS_ENV in field.description
