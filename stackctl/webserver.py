"""What the webserver serves, asked through its GraphQL API."""

import time
from dataclasses import dataclass
from typing import Any

import requests

ACTIVE_STATUSES = ["QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"]
IMAGE_TAG = "stack/image"


class WebserverError(RuntimeError):
    pass


@dataclass(frozen=True)
class LocationStatus:
    name: str
    load_status: str
    image: str | None
    error: str | None


class Webserver:
    """The webserver as the front door serves it: `auth` is an admin login, `verify` what its
    certificate is checked against (requests' meaning)."""

    def __init__(
        self, url: str, timeout: float = 30, auth: tuple[str, str] | None = None, verify: str | bool = True
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.verify = verify
        self.session = requests.Session()
        self.session.auth = auth

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            response = self.session.post(
                f"{self.url}/graphql", json={"query": query, "variables": variables or {}},
                # Per request: REQUESTS_CA_BUNDLE in the environment would win over a session's.
                timeout=self.timeout, verify=self.verify,
            )
            response.raise_for_status()
        except requests.RequestException as error:
            raise WebserverError(f"the webserver at {self.url} did not answer: {error}") from None
        body = response.json()
        if body.get("errors"):
            raise WebserverError(f"GraphQL error from {self.url}: {body['errors'][0].get('message')}")
        return body["data"]

    def reachable(self) -> bool:
        try:
            return self.session.get(f"{self.url}/server_info", timeout=5, verify=self.verify).ok
        except requests.RequestException:
            return False

    def locations(self) -> dict[str, LocationStatus]:
        data = self.graphql(
            """{ workspaceOrError { ... on Workspace { locationEntries {
                 name loadStatus displayMetadata { key value }
                 locationOrLoadError { __typename ... on PythonError { message } } } } } }"""
        )
        found = {}
        for entry in data["workspaceOrError"].get("locationEntries") or []:
            metadata = {item["key"]: item["value"] for item in entry["displayMetadata"]}
            error = entry["locationOrLoadError"] or {}
            found[entry["name"]] = LocationStatus(
                name=entry["name"],
                load_status=entry["loadStatus"],
                image=metadata.get("image"),
                error=error.get("message") if error.get("__typename") == "PythonError" else None,
            )
        return found

    def reload_location(self, name: str) -> None:
        self.graphql(
            "mutation ($name: String!) { reloadRepositoryLocation(repositoryLocationName: $name) { __typename } }",
            {"name": name},
        )

    def reload_workspace(self) -> None:
        self.graphql("mutation { reloadWorkspace { __typename } }")

    def wait_for_image(self, name: str, image: str, timeout: float = 60) -> LocationStatus:
        """Until the webserver serves `name` from `image`; asks for a reload if its own
        watch has not noticed the new server within a few seconds."""
        deadline = time.monotonic() + timeout
        asked = time.monotonic() + 5
        status = None
        while time.monotonic() < deadline:
            status = self.locations().get(name)
            if status and status.image == image and status.load_status == "LOADED" and not status.error:
                return status
            if time.monotonic() > asked:
                self.reload_location(name)
                asked = time.monotonic() + 5
            time.sleep(0.5)
        raise WebserverError(f"the webserver still serves location {name} as {status} after {timeout:.0f} s")

    def images_of_active_runs(self) -> set[str]:
        """Images that a queued or running run was submitted with (the `stack/image` tag)."""
        data = self.graphql(
            """query ($statuses: [RunStatus!]) { runsOrError(filter: {statuses: $statuses}) {
                 __typename ... on Runs { results { tags { key value } } } } }""",
            {"statuses": ACTIVE_STATUSES},
        )
        runs = data["runsOrError"]
        if runs["__typename"] != "Runs":
            raise WebserverError(f"could not list active runs: {runs['__typename']}")
        return {t["value"] for run in runs["results"] for t in run["tags"] if t["key"] == IMAGE_TAG}
