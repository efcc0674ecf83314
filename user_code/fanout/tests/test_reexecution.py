import dagster as dg

from fanout_helpers import fanout_run_config, started_steps, step_failure_descriptions
from fanout.lib.mapping_keys import mapping_keys_for
from fanout.lib.records import generate_records

FANOUT_JOB = dg.build_reconstructable_job("fanout.definitions", "job_by_name", ("fanout_job",))


def test_failing_record_then_reexecution_from_failure_reruns_only_that_record() -> None:
    records = generate_records(3, 2)
    failing = records[0].id
    failing_step = f"fanout_results.process_record[{mapping_keys_for([failing])[failing]}]"
    input_config = {"record_count": 3, "seed": 2}

    with dg.instance_for_test() as instance:
        with dg.execute_job(
            FANOUT_JOB, instance, run_config=fanout_run_config(input_config, failing_record_ids=[failing])
        ) as first:
            assert not first.success
            failures = step_failure_descriptions(first)
            assert list(failures) == [failing_step]
            assert f"record {failing!r}: injected failure (failing_record_ids), attempt 3" in failures[failing_step]
            # The other records' sub-pipelines finished on their own.
            assert sum(s.startswith("fanout_results.process_record[") for s in set(started_steps(first))) == 3
            first_run_id = first.run_id

        # The fix (dropping the injected failure) is passed as the re-execution's config.
        with dg.execute_job(
            FANOUT_JOB,
            instance,
            run_config=fanout_run_config(input_config),
            reexecution_options=dg.ReexecutionOptions.from_failure(first_run_id, instance),
        ) as second:
            assert second.success
            assert set(started_steps(second)) == {failing_step, "fanout_results.collect_results", "fanout_report"}
            second_run_id = second.run_id

        # The report covers all records: two from the first run, the retried one from the second.
        report = instance.get_latest_materialization_event(dg.AssetKey("fanout_report"))
        assert report is not None and report.run_id == second_run_id
        metadata = report.asset_materialization.metadata
        assert metadata["records"].value == 3
        assert metadata["units"].value == sum(r.units for r in records)
