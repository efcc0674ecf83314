"""The stack's schedules and sensors through GraphQL: their states, and starting or
stopping one the way the UI's toggle does."""

import time

from tests.integration.stack import Stack

SETTLE_TIMEOUT_S = 90.0
HOLD_CHECKS = 3
HOLD_INTERVAL_S = 1.0

INSTIGATORS = """
{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name }
    schedules { name scheduleState { id status } }
    sensors { name sensorState { id status } } } } } }
"""


def _repositories(stack: Stack) -> list[dict]:
    return stack.graphql(INSTIGATORS)["repositoriesOrError"]["nodes"]


def _repository_of(stack: Stack, name: str) -> dict:
    """The repository (one per code location) that holds the schedule or sensor `name`."""
    for repo in _repositories(stack):
        if any(i["name"] == name for i in repo["schedules"] + repo["sensors"]):
            return repo
    raise AssertionError(f"no code location has a schedule or sensor named {name}")


def stack_instigators(stack: Stack) -> dict[str, str]:
    """Schedule and sensor name -> RUNNING or STOPPED, over every code location."""
    states = {}
    for repo in _repositories(stack):
        states |= {s["name"]: s["scheduleState"]["status"] for s in repo["schedules"]}
        states |= {s["name"]: s["sensorState"]["status"] for s in repo["sensors"]}
    return states


def set_instigator(stack: Stack, name: str, running: bool) -> None:
    repo = _repository_of(stack, name)
    location = repo["location"]["name"]
    kind = "schedule" if any(s["name"] == name for s in repo["schedules"]) else "sensor"
    state_id = next(
        i[f"{kind}State"]["id"] for i in repo[f"{kind}s"] if i["name"] == name
    )
    selector = {"repositoryName": repo["name"], "repositoryLocationName": location,
                f"{kind}Name": name}  # fmt: skip
    if kind == "schedule" and running:
        query = "mutation ($s: ScheduleSelector!) { startSchedule(scheduleSelector: $s) { __typename } }"
        variables = {"s": selector}
    elif kind == "schedule":
        query = "mutation ($id: String) { stopRunningSchedule(id: $id) { __typename } }"
        variables = {"id": state_id}
    elif running:
        query = "mutation ($s: SensorSelector!) { startSensor(sensorSelector: $s) { __typename } }"
        variables = {"s": selector}
    else:
        query = "mutation ($id: String) { stopSensor(id: $id) { __typename } }"
        variables = {"id": state_id}
    wanted = "RUNNING" if running else "STOPPED"
    # The daemon writes a sensor's whole state back after each tick from a copy it read
    # earlier (dagster._daemon.sensor: "minimize the window of clobbering the sensor state"),
    # so a stop that lands during a tick can be undone. As a user would: toggle again until
    # the state holds.
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while True:
        result = stack.graphql(query, variables)
        (typename,) = [value["__typename"] for value in result.values()]
        assert "Error" not in typename, f"{kind} {name}: {typename}"
        if _holds(stack, name, wanted):
            return
        assert time.monotonic() < deadline, f"{kind} {name} does not stay {wanted}"


def _holds(stack: Stack, name: str, wanted: str) -> bool:
    """Whether the stored state is `wanted` and still is a few seconds later."""
    for _ in range(HOLD_CHECKS):
        if stack_instigators(stack)[name] != wanted:
            return False
        time.sleep(HOLD_INTERVAL_S)
    return stack_instigators(stack)[name] == wanted
