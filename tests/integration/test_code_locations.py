"""Code locations as the unit of deployment, on the live stack: each location runs in its
own versioned image with its own settings and secrets; a redeploy switches a location with
no downtime while queued and running runs keep their image; a version that does not load is
refused; rollback and image garbage collection; a scaffolded location deploys and runs."""

import hashlib
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker
import pytest

from tests.integration.faults.deaths import TRIVIAL, wait_for_status
from tests.integration.stack import REPO_ROOT, Stack

LONG_HEAVY = {"ops": {"plan_chunk_steps": {"config": {"chunk_count": 1, "chunk_seconds": 75.0}}}}
HEAVY = {"fanout/size": "heavy"}  # one heavy run at a time: a second one stays QUEUED
MARKER_ASSET = '''import dagster as dg


@dg.asset
def deploy_marker() -> None:
    """Only in the redeployed version."""
'''
WORKSPACE = """{ workspaceOrError { ... on Workspace { locationEntries {
    name loadStatus locationOrLoadError { __typename } } } } }"""
ASSET_KEYS = "{ assetNodes { assetKey { path } } }"


def _copy_checkout(target: Path) -> Path:
    """A second checkout of this repository, as a developer's working tree would be."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=REPO_ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = REPO_ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    wheelhouse = REPO_ROOT / "registryless" / "wheelhouse"
    if wheelhouse.is_dir():
        shutil.copytree(wheelhouse, target / "registryless" / "wheelhouse", dirs_exist_ok=True)
    return target


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _copy_checkout(tmp_path_factory.mktemp("checkout"))


# Samples come a second apart when the front door answers promptly; a loaded host stretches
# a sample's requests (a login and TLS per request, a launch every few samples).
MAX_SAMPLE_GAP_S = 5.0


@dataclass
class AvailabilitySampler:
    """Asks the webserver once a second whether every location is loaded, and launches a
    run of `launch_job` every few samples to show that location stays launchable."""

    stack: Stack
    launch_job: str
    launch_every: int = 4
    samples: list[tuple[float, dict[str, str]]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    launched: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _run(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                if len(self.samples) % self.launch_every == 0:
                    self.launched.append(self.stack.launch(self.launch_job))
                entries = self.stack.graphql(WORKSPACE)["workspaceOrError"]["locationEntries"]
                state = {
                    e["name"]: f"{e['loadStatus']}/{(e['locationOrLoadError'] or {}).get('__typename')}"
                    for e in entries
                }
                self.samples.append((time.monotonic(), state))
            except Exception as error:  # a refused or failed request is what is measured
                self.failures.append(repr(error))
            # A sample a second from start to start, however long the requests took.
            self._stop.wait(max(0.0, 1.0 - (time.monotonic() - began)))

    def __enter__(self) -> "AvailabilitySampler":
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def longest_gap(self, since: float, until: float) -> float:
        """The longest time in [since, until] no sample covered: no outage shorter than it
        can hide between samples, whatever the rate the requests allowed."""
        times = [since, *(t for t, _ in self.samples if since <= t <= until), until]
        return max(later - earlier for earlier, later in zip(times, times[1:]))

    def unavailable(self, location: str) -> list[dict[str, str]]:
        return [s for _, s in self.samples if s.get(location) != "LOADED/RepositoryLocation"]


def _location_images(stack: Stack) -> dict[str, str]:
    data = stack.graphql(
        "{ workspaceOrError { ... on Workspace { locationEntries { name displayMetadata { key value } } } } }"
    )
    return {
        entry["name"]: {m["key"]: m["value"] for m in entry["displayMetadata"]}.get("image", "")
        for entry in data["workspaceOrError"]["locationEntries"]
    }


def _asset_keys(stack: Stack) -> set[str]:
    return {"/".join(a["assetKey"]["path"]) for a in stack.graphql(ASSET_KEYS)["assetNodes"]}


def _image_exists(tag: str) -> bool:
    try:
        docker.from_env().images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def test_each_location_runs_in_its_own_image_with_its_own_settings(stack: Stack) -> None:
    warehouse_image = stack.serving_image("warehouse")
    fanout_image = stack.serving_image("fanout")
    assert warehouse_image.startswith(f"{stack.name}/warehouse:")
    assert fanout_image.startswith(f"{stack.name}/fanout:")
    # The warehouse's own dependency is in its image only.
    assert stack.code_server("warehouse").exec_run(["python3", "-c", "import duckdb"]).exit_code == 0
    assert stack.code_server("fanout").exec_run(["python3", "-c", "import duckdb"]).exit_code != 0

    run_id = stack.launch("warehouse_job")
    assert stack.wait_for_run(run_id, timeout=180) == "SUCCESS", stack.failure_messages(run_id)
    tags = stack.run_tags(run_id)
    assert tags["stack/image"] == warehouse_image
    assert tags["stack/code-version"] == warehouse_image.rsplit(":", 1)[1]
    assert tags["stack/location"] == "warehouse"
    (container,) = stack.run_containers(run_id)
    attrs = container.attrs
    assert attrs["Config"]["Image"] == warehouse_image
    # The location's default limits (pyproject: 1 CPU, 512m), within the operator's maximums.
    assert attrs["HostConfig"]["Memory"] == 512 * 1024**2
    assert attrs["HostConfig"]["NanoCpus"] == 1_000_000_000
    env = dict(item.split("=", 1) for item in attrs["Config"]["Env"])
    # The location's variables (pyproject's default here), and no other location's.
    assert env["WAREHOUSE_REGION"] == "local"
    assert "FANOUT_SCHEDULE_CRON" not in env

    # The secret reached the run as a file: its fingerprint is in the asset's metadata.
    token = (stack.secrets_dir / "warehouse" / "api_token").read_text().strip()
    data = stack.graphql(
        """{ assetOrError(assetKey: {path: ["daily_revenue"]}) { ... on Asset {
             assetMaterializations(limit: 1) { runId metadataEntries { label
               ... on TextMetadataEntry { text } } } } } }"""
    )
    (materialization,) = data["assetOrError"]["assetMaterializations"]
    assert materialization["runId"] == run_id
    entries = {e["label"]: e.get("text") for e in materialization["metadataEntries"]}
    assert entries["api_token_fingerprint"] == hashlib.sha256(token.encode()).hexdigest()[:12]


def test_a_tag_above_the_operators_maximum_is_still_clamped(stack: Stack) -> None:
    run_id = stack.launch("warehouse_job", tags={"limits/memory": "64g"})
    assert stack.wait_for_run(run_id, timeout=180) == "SUCCESS", stack.failure_messages(run_id)
    (container,) = stack.run_containers(run_id)
    assert container.attrs["HostConfig"]["Memory"] == 4 * 1024**3  # RUN_MAX_MEMORY of the test stack


def test_secrets_are_files_of_their_own_location_only(stack: Stack) -> None:
    token = (stack.secrets_dir / "warehouse" / "api_token").read_text().strip()
    client = docker.from_env()
    for container in client.containers.list(all=True, filters={"label": f"dagster-fanout/stack={stack.name}"}):
        assert token not in str(container.attrs), f"{container.name}: the secret is visible in docker inspect"
    read = ["sh", "-c", "cat /run/secrets/api_token"]
    assert stack.code_server("warehouse").exec_run(read).output.decode().strip() == token
    assert stack.code_server("fanout").exec_run(read).exit_code != 0


def test_redeploy_switches_with_no_downtime_and_runs_keep_their_image(
    stack: Stack, checkout: Path
) -> None:
    old_image = stack.serving_image("fanout")
    in_flight = stack.launch("chunked_work_job", LONG_HEAVY, tags=HEAVY)
    wait_for_status(stack, in_flight, "STARTED")
    queued = stack.launch("chunked_work_job", TRIVIAL, tags=HEAVY)
    time.sleep(3)
    assert stack.client.get_run_status(queued).value == "QUEUED"

    (checkout / "user_code/fanout/src/fanout/defs/deploy_marker.py").write_text(MARKER_ASSET)
    started = time.monotonic()
    with AvailabilitySampler(stack, launch_job="warehouse_job") as sampler:
        result = stack.stackctl("deploy", "fanout", root=checkout)
        ended = time.monotonic()
        deploy_s = ended - started
        time.sleep(3)
    new_image = stack.serving_image("fanout")
    # Keeping only the newest version, the old image still survives garbage collection:
    # a queued and a running run refer to it.
    stack.overrides["STACK_KEEP_IMAGES"] = "1"
    try:
        gc = stack.stackctl("gc", root=checkout)
    finally:
        del stack.overrides["STACK_KEEP_IMAGES"]
    assert _image_exists(old_image), gc.stdout
    assert stack.client.get_run_status(in_flight).value == "STARTED", "the GC check came too late"
    print(
        f"\n[deploy] fanout {old_image} -> {new_image} in {deploy_s:.1f} s; {len(sampler.samples)} "
        f"availability samples (longest gap {sampler.longest_gap(started, ended):.1f} s), "
        f"{len(sampler.failures)} failed requests, "
        f"{len(sampler.launched)} warehouse runs launched meanwhile\n{result.stdout}"
    )
    assert new_image != old_image and new_image.startswith(f"{stack.name}/fanout:")
    assert not sampler.failures, sampler.failures
    assert sampler.longest_gap(started, ended) <= MAX_SAMPLE_GAP_S, sampler.longest_gap(started, ended)
    for location in ("fanout", "warehouse"):
        assert not sampler.unavailable(location), (location, sampler.unavailable(location))
    assert "deploy_marker" in _asset_keys(stack)
    assert len(stack.code_servers("fanout")) == 1, "the old code server was not retired"
    # What the UI's code locations page shows for the location: the new image.
    assert _location_images(stack)["fanout"] == new_image
    assert len(sampler.launched) >= 2
    for run_id in sampler.launched:
        assert stack.wait_for_run(run_id, timeout=300) == "SUCCESS", stack.failure_messages(run_id)

    for run_id in (in_flight, queued):
        assert stack.wait_for_run(run_id, timeout=300) == "SUCCESS", stack.failure_messages(run_id)
        assert stack.run_tags(run_id)["stack/image"] == old_image
        (container,) = stack.run_containers(run_id)
        assert container.attrs["Config"]["Image"] == old_image
    fresh = stack.launch("chunked_work_job", TRIVIAL)
    assert stack.wait_for_run(fresh) == "SUCCESS", stack.failure_messages(fresh)
    assert stack.run_tags(fresh)["stack/image"] == new_image


def test_a_version_that_does_not_load_is_refused(stack: Stack, checkout: Path) -> None:
    serving = stack.serving_image("fanout")
    broken = checkout / "user_code/fanout/src/fanout/defs/broken_on_purpose.py"
    broken.write_text("import a_module_that_is_not_installed\n")
    try:
        started = time.monotonic()
        result = stack.stackctl("deploy", "fanout", root=checkout, check=False)
        refused_s = time.monotonic() - started
    finally:
        broken.unlink()
    print(f"\n[deploy] broken version refused in {refused_s:.1f} s:\n{result.stderr[-600:]}")
    assert result.returncode != 0
    assert "refused" in result.stderr
    assert "No module named 'a_module_that_is_not_installed'" in result.stderr
    assert stack.serving_image("fanout") == serving
    assert len(stack.code_servers("fanout")) == 1
    entries = stack.graphql(WORKSPACE)["workspaceOrError"]["locationEntries"]
    assert {e["name"]: e["loadStatus"] for e in entries}["fanout"] == "LOADED"


def test_a_stopped_code_server_is_brought_back_by_deploying_its_version(stack: Stack) -> None:
    """A dead code server (stopped, crashed): deploying the same version starts it again."""
    serving = stack.code_server("warehouse")
    image = serving.attrs["Config"]["Image"]
    serving.stop(timeout=5)
    result = stack.stackctl("deploy", "warehouse")
    assert f"serving {image}" in result.stdout, result.stdout + result.stderr
    assert stack.serving_image("warehouse") == image
    assert len(stack.code_servers("warehouse")) == 1
    entries = stack.graphql(WORKSPACE)["workspaceOrError"]["locationEntries"]
    assert {e["name"]: e["loadStatus"] for e in entries}["warehouse"] == "LOADED"


def test_rollback_returns_to_the_previous_version_and_gc_keeps_the_last_n(
    stack: Stack, checkout: Path
) -> None:
    marker_image = stack.serving_image("fanout")
    stack.stackctl("rollback", "fanout")
    previous = stack.serving_image("fanout")
    assert previous != marker_image
    assert "deploy_marker" not in _asset_keys(stack)
    versions = stack.stackctl("versions", "fanout").stdout.split()
    assert versions[-2:] == [marker_image.rsplit(":", 1)[1], previous.rsplit(":", 1)[1]]

    # Keep one: the serving version stays; the rolled-back one and the refused build go.
    stack.overrides["STACK_KEEP_IMAGES"] = "1"
    try:
        report = stack.stackctl("gc").stdout
    finally:
        del stack.overrides["STACK_KEEP_IMAGES"]
    print(f"\n[deploy] {report.strip()}")
    assert "removed" in report and marker_image in report
    assert not _image_exists(marker_image)
    assert _image_exists(previous)
    assert _image_exists(stack.serving_image("warehouse"))


def _readme_walkthrough() -> list[str]:
    """The commands of the README's "Add your own code location", as the reader types them."""
    text = (REPO_ROOT / "README.md").read_text()
    block = text.split("<!-- walkthrough")[1].split("<!-- /walkthrough -->")[0]
    code = block.split("```bash")[1].split("```")[0]
    return [line.split("#")[0].strip() for line in code.splitlines() if line.split("#")[0].strip()]


def test_the_readmes_add_a_location_walkthrough(stack: Stack, checkout: Path) -> None:
    """Each command of the README's walkthrough, run as written in a checkout; then the new
    location's example job runs in its own image, and the location is removed again."""
    commands = _readme_walkthrough()
    assert [c.split()[0] for c in commands] == ["./scripts/new-location.sh", "./scripts/deploy.sh"]
    venv = checkout / ".venv"
    if not venv.exists():
        venv.symlink_to(REPO_ROOT / ".venv")
    env = {**stack.env, "STACK_VENV_FROZEN": "1"}
    try:
        for command in commands:
            done = subprocess.run(["bash", "-c", command], cwd=checkout, env=env, capture_output=True, text=True, timeout=900)
            assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
        assert stack.serving_image("sales").startswith(f"{stack.name}/sales:")
        assert _location_images(stack)["sales"] == stack.serving_image("sales")
        run_id = stack.launch("sales_hello_job")
        assert stack.wait_for_run(run_id, timeout=180) == "SUCCESS", stack.failure_messages(run_id)
        assert stack.run_tags(run_id)["stack/image"] == stack.serving_image("sales")
    finally:
        # Back to the repository's declaration: the location leaves the stack.
        stack.stackctl("remove", "sales")
    assert stack.code_servers("sales") == []
    entries = stack.graphql(WORKSPACE)["workspaceOrError"]["locationEntries"]
    assert {e["name"] for e in entries} == {"fanout", "warehouse"}
