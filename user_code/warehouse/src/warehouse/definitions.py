"""The `warehouse` code location: everything under defs/, with its credentials resource."""

import warnings

import dagster as dg

import warehouse.defs
from warehouse.defs.resources import WarehouseCredentials

# The package's modules are scanned directly: load_from_defs_folder would also build the JSON
# schemas of every installed component type on each load, in every run worker.
# One Definitions object at module scope: Dagster refuses a module that has two.
def _load() -> dg.Definitions:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        found = dg.load_definitions_from_package_module(warehouse.defs)
    return dg.Definitions.merge(found, dg.Definitions(resources={"credentials": WarehouseCredentials()}))


defs = _load()
