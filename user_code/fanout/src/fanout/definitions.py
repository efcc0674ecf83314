"""The `fanout` code location: everything under defs/ (fan-out assets and their checks, the
benchmark jobs, the schedule and the sensor), run on the deployment's executor."""

import warnings

import dagster as dg

import fanout.defs
from fanout.deployment import build_executor

# Every run worker imports this module. Dagster's load_from_defs_folder would also build the
# JSON schemas of every installed component type for the UI, on each load; this location has
# no components, so the package's modules are scanned directly (a preview API in 1.13).
# One Definitions object at module scope: Dagster refuses a module that has two.
def _load() -> dg.Definitions:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        found = dg.load_definitions_from_package_module(fanout.defs)
    return dg.Definitions.merge(found, dg.Definitions(executor=build_executor()))


defs = _load()


def job_by_name(name: str) -> dg.JobDefinition:
    """Module-level entry point so jobs can be rebuilt by name in other processes
    (dg.build_reconstructable_job("fanout.definitions", "job_by_name", (name,)))."""
    return defs.resolve_job_def(name)
