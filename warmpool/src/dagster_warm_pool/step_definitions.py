"""What every step process would otherwise build first, built once in the template: the
modules of `dagster api execute_step` and the code location's definitions for the run's job,
so a forked step inherits them instead of importing and building them again."""

from __future__ import annotations

from typing import Any

from dagster_warm_pool._dagster import (
    create_execution_plan,
    import_step_command,
    recon_job_from_origin,
)


def warm_step_definitions(instance: Any, run: Any) -> None:
    import_step_command()
    origin = run.job_code_origin
    if origin is None:
        raise ValueError(f"run {run.run_id} has no job code origin")
    recon_job = recon_job_from_origin(origin)
    recon_job.get_definition()
    if not run.has_repository_load_data:
        subset = recon_job.with_repository_load_data(None).get_subset(
            op_selection=run.resolved_op_selection,
            asset_selection=run.asset_selection,
            asset_check_selection=run.asset_check_selection,
        )
        create_execution_plan(subset, run_config=run.run_config)
