"""QueuedRunCoordinator that refuses runs with invalid limit tags at submission."""

from dagster._core.run_coordinator import QueuedRunCoordinator, SubmitRunContext
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.storage.tags import MAX_RETRIES_TAG

from dagster_run_limits.limits import RunLimitsError
from dagster_run_limits.stack_context import provenance_tags


class LimitCheckingQueuedRunCoordinator(QueuedRunCoordinator):
    """Checks `limits/*` tags when a run is submitted, so a bad value is reported to whoever
    launched it (launchpad, GraphQL, schedule tick) instead of surfacing later in the daemon.
    The refused run is marked FAILURE with the reason, so it is not left NOT_STARTED, and is
    never retried: a retry carries the same tags and would only be refused again."""

    def submit_run(self, context: SubmitRunContext) -> DagsterRun:
        run = context.dagster_run
        resolve = getattr(self._instance.run_launcher, "resolve_limits", None)
        if resolve is not None:
            try:
                resolve(run)
            except RunLimitsError as error:
                message = f"Run refused: {error}"
                # Before the failure is reported: Dagster decides on a retry (the
                # `dagster/will_retry` tag) when it stores the failure event.
                self._instance.add_run_tags(run.run_id, {MAX_RETRIES_TAG: "0"})
                self._instance.report_run_failed(run, message=message)
                raise RunLimitsError(message) from None
        provenance = provenance_tags(run)
        if provenance:
            # Which image and version this run executes, fixed at submission.
            self._instance.add_run_tags(run.run_id, provenance)
        return super().submit_run(context)
