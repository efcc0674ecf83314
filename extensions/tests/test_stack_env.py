"""stack_env: a STACK_* variable read under its name before the rename for one more release."""

import pytest
from stack_env import stack_setting


def test_the_new_name_is_read_without_a_warning(recwarn: pytest.WarningsRecorder) -> None:
    env = {"STACK_POSTGRES_HOST": "postgres", "DAGSTER_POSTGRES_HOST": "old-host"}
    assert stack_setting("STACK_POSTGRES_HOST", "DAGSTER_POSTGRES_HOST", env) == "postgres"
    assert stack_setting("STACK_POSTGRES_HOST", "DAGSTER_POSTGRES_HOST", {}) == ""
    assert not recwarn.list


@pytest.mark.parametrize("new", [None, "", "  "])
def test_the_old_name_is_read_with_a_warning_naming_both(new: str | None) -> None:
    env = {"DAGSTER_STORAGE_POOLED": "1"} | ({} if new is None else {"STACK_STORAGE_POOLED": new})
    with pytest.warns(FutureWarning, match="DAGSTER_STORAGE_POOLED is renamed STACK_STORAGE_POOLED"):
        assert stack_setting("STACK_STORAGE_POOLED", "DAGSTER_STORAGE_POOLED", env) == "1"


def test_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STACK_POSTGRES_DB", raising=False)
    monkeypatch.setenv("DAGSTER_POSTGRES_DB", "dagster")
    with pytest.warns(FutureWarning):
        assert stack_setting("STACK_POSTGRES_DB", "DAGSTER_POSTGRES_DB") == "dagster"
