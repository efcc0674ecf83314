"""Dagster through the webserver's GraphQL API, as the tests drive every deployment of the
stack (one host behind the front door, a Swarm): launch, wait, read events, tags and retries.
A deployment gives `session()` (a requests session that reaches its webserver), `base_url` and
`client` (Dagster's GraphQL client)."""

import json
import time
from pathlib import Path
from typing import Any

import requests
from dagster_graphql import DagsterGraphQLClient
from gql.transport.requests import RequestsHTTPTransport
from requests.auth import HTTPBasicAuth

FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}
ADMIN_USER = "admin"
VIEWER_USER = "viewer"


class DagsterApi:
    base_url: str

    def session(self) -> requests.Session:
        raise NotImplementedError

    @property
    def client(self) -> DagsterGraphQLClient:
        raise NotImplementedError

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.session().post(
            f"{self.base_url}/graphql",
            json={"query": query, "variables": variables or {}},
            timeout=60,
        )
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise AssertionError(f"GraphQL errors: {json.dumps(body['errors'], indent=2)}")
        return body["data"]

    def launch(
        self,
        job_name: str,
        run_config: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
        asset_selection: list[str] | None = None,
    ) -> str:
        return self.client.submit_job_execution(
            job_name, run_config=run_config or {}, tags=tags or {}, asset_selection=asset_selection
        )

    def wait_for_run(self, run_id: str, timeout: float = 300) -> str:
        deadline = time.monotonic() + timeout
        status = "UNKNOWN"
        while time.monotonic() < deadline:
            status = self.client.get_run_status(run_id).value
            if status in FINISHED:
                return status
            time.sleep(0.25)
        raise AssertionError(f"run {run_id} still {status} after {timeout:.0f} s")

    def run_events(self, run_id: str) -> list[dict[str, Any]]:
        data = self.graphql(
            """
            query ($runId: ID!) {
              logsForRun(runId: $runId, limit: 5000) {
                __typename
                ... on EventConnection {
                  events {
                    __typename
                    ... on MessageEvent { message stepKey level }
                    ... on ErrorEvent { error { message } }
                    ... on LogsCapturedEvent { fileKey stepKeys }
                  }
                }
              }
            }
            """,
            {"runId": run_id},
        )
        return data["logsForRun"]["events"]

    def failure_messages(self, run_id: str) -> str:
        lines = []
        for event in self.run_events(run_id):
            error = event.get("error") or {}
            if event["__typename"] in ("RunFailureEvent", "ExecutionStepFailureEvent", "EngineEvent"):
                lines.append(f"{event['__typename']}: {event.get('message')} {error.get('message', '')}")
        return "\n".join(lines)

    def run_tags(self, run_id: str) -> dict[str, str]:
        (run,) = self.runs({"runIds": [run_id]})
        return {tag["key"]: tag["value"] for tag in run["tags"]}

    def event_times(self, run_id: str) -> list[tuple[str, float, str]]:
        """(event type, Unix time in seconds, message) of every event of the run."""
        data = self.graphql(
            """
            query ($runId: ID!) {
              logsForRun(runId: $runId, limit: 5000) {
                ... on EventConnection { events { __typename ... on MessageEvent { message timestamp } } }
              }
            }
            """,
            {"runId": run_id},
        )
        return [
            (event["__typename"], float(event["timestamp"]) / 1000, event.get("message") or "")
            for event in data["logsForRun"]["events"]
        ]

    def retries_of(self, run_id: str) -> list[str]:
        """Runs that Dagster's run retries started for this run."""
        found = self.runs({"tags": [{"key": "dagster/parent_run_id", "value": run_id}]})
        return [run["runId"] for run in found]

    def wait_for_tagged_run(self, key: str, value: str, timeout: float) -> str:
        """The first run carrying tag key=value, once the daemon has created it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.runs({"tags": [{"key": key, "value": value}]}, limit=1)
            if found:
                return found[0]["runId"]
            time.sleep(1)
        raise AssertionError(f"no run tagged {key}={value} within {timeout:.0f} s")

    def runs(self, filter_: dict[str, Any] | None = None, limit: int = 50) -> list[dict[str, Any]]:
        data = self.graphql(
            """
            query ($filter: RunsFilter, $limit: Int) {
              runsOrError(filter: $filter, limit: $limit) {
                ... on Runs { results { runId jobName status tags { key value } } }
              }
            }
            """,
            {"filter": filter_ or {}, "limit": limit},
        )
        return data["runsOrError"]["results"]

    def launch_to_success(
        self, job_name: str, run_config: dict[str, Any] | None = None, timeout: float = 300, **kwargs: Any
    ) -> tuple[str, float]:
        """Launches a run and waits for SUCCESS: its id and the seconds from the launch call to
        SUCCESS as the client sees it, the figure compared between deployments."""
        started = time.monotonic()
        run_id = self.launch(job_name, run_config, **kwargs)
        status = self.wait_for_run(run_id, timeout=timeout)
        assert status == "SUCCESS", f"{job_name}: {status}\n{self.failure_messages(run_id)}"
        return run_id, time.monotonic() - started


class FrontDoorApi(DagsterApi):
    """A deployment reached through its front door (frontdoor/): HTTPS whose certificate is
    verified against the deployment's CA, and the logins of its users file. Gives `host`,
    `port`, `ca_file` and `logins` (user -> password)."""

    host: str
    port: int
    ca_file: Path
    logins: dict[str, str]

    @property
    def base_url(self) -> str:  # type: ignore[override]
        return f"https://{self.host}:{self.port}"

    def session(self, user: str | None = ADMIN_USER) -> requests.Session:
        """A requests session to the front door as `user` (None: no credentials)."""
        session = requests.Session()
        # Not the environment's CA bundle (REQUESTS_CA_BUNDLE wins over a session's verify)
        # nor its proxies: the deployment's CA is the one copied out of its front door.
        session.trust_env = False
        session.verify = str(self.ca_file)
        if user is not None:
            session.auth = (user, self.logins[user])
        return session

    def graphql_client(self, user: str = ADMIN_USER) -> DagsterGraphQLClient:
        transport = RequestsHTTPTransport(
            url=f"{self.base_url}/graphql", use_json=True, timeout=60,
            auth=HTTPBasicAuth(user, self.logins[user]), verify=str(self.ca_file),
        )  # fmt: skip
        return DagsterGraphQLClient(self.host, port_number=self.port, transport=transport)

    @property
    def client(self) -> DagsterGraphQLClient:
        return self.graphql_client(ADMIN_USER)
