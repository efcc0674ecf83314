"""`input_records`: the records to fan out, generated or read from a file, refused whole if invalid."""


import dagster as dg

from fanout.deployment import data_dir
from fanout.lib.records import Record, generate_records
from fanout.lib.records_file import load_records_json
from fanout.lib.timing import StepTimer
from fanout.lib.validation import (
    DEFAULT_MAX_RECORDS,
    RecordProblem,
    RecordValidationError,
    validate_generated,
    validate_records,
)


class InputRecordsConfig(dg.Config):
    """Where the records come from.

    Without `records_path`, `record_count` records are generated from `seed` (same config ->
    same records in every process and run). With `records_path` (relative to FANOUT_DATA_DIR,
    or absolute but inside it) the file's JSON list of {"id", "units"} objects is used.
    More than `max_records` records are refused.
    """

    record_count: int = 8
    seed: int = 0
    records_path: str | None = None
    max_records: int = DEFAULT_MAX_RECORDS


def _load(config: InputRecordsConfig) -> list[Record]:
    if config.records_path:
        raw = load_records_json(data_dir(), config.records_path)
        return validate_records(raw, config.max_records)
    if config.record_count < 0:
        raise RecordValidationError(
            [RecordProblem("input", f"record_count must be >= 0, got {config.record_count}")]
        )
    return validate_generated(generate_records(config.record_count, config.seed), config.max_records)


@dg.asset(group_name="fanout")
def input_records(
    context: dg.AssetExecutionContext, config: InputRecordsConfig
) -> dg.Output[list[Record]]:
    """Validated records; every problem is reported before any fan-out step runs."""
    timer = StepTimer()
    try:
        with timer.working():
            records = _load(config)
    except RecordValidationError as error:
        raise dg.Failure(
            description=str(error),
            metadata={"problems": dg.MetadataValue.json([str(p) for p in error.problems])},
            allow_retries=False,
        ) from error
    source = config.records_path or f"generated(count={config.record_count}, seed={config.seed})"
    context.log.info(f"{len(records)} records from {source}")
    return dg.Output(
        records,
        metadata={
            "records": len(records),
            "units": sum(record.units for record in records),
            "source": source,
            **timer.metadata(),
        },
    )
