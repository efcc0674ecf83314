"""`--baseline REF`: an earlier commit's warm pool measured beside this tree's, in one
invocation, so "no slower than before" is a ratio on the same host at the same time.

The commit's files are extracted with `git archive` into a temp dir (the repository and its
worktrees are left alone) and its `warm_pool` method runs from there, in a fresh process like
every other method, on an instance configured the way that commit's stack configured it
(Dagster's own Postgres storage before the warm pool became a package with its instance
classes; the stack's classes, from that tree, since).
"""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

METHOD = "baseline"
# The baseline tree's method that is measured: its warm pool with its own defaults.
MEASURED_METHOD = "warm_pool"
# Where a tree keeps its packages (put first on the baseline's PYTHONPATH).
PACKAGE_SOURCES = ("warmpool/src", "extensions/src", "user_code/fanout/src")


def package_paths(tree: Path) -> list[str]:
    return [str(tree / src) for src in PACKAGE_SOURCES if (tree / src).is_dir()]


def instance_of(tree: Path, wanted: str) -> str:
    """The instance the baseline tree can be measured on: `wanted` where the tree has the
    warm pool's instance classes, else Dagster's own."""
    has_classes = (tree / "warmpool/src/dagster_warm_pool/event_log.py").is_file()
    return wanted if has_classes else "stock"


@contextlib.contextmanager
def extracted_tree(repo: Path, ref: str) -> Iterator[Path]:
    """The files of commit `ref` of `repo`, in a temp dir removed on exit."""
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", ref],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        raise SystemExit(f"--baseline {ref}: git archive failed: {archive.stderr.decode().strip()}")
    root = Path(tempfile.mkdtemp(prefix="bench-baseline-"))
    try:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(root, filter="data")
        if not (root / "bench" / "run_one.py").is_file():
            raise SystemExit(f"--baseline {ref}: that commit has no bench/run_one.py to measure with")
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def describe(repo: Path, ref: str) -> str:
    """`<short sha> <subject>` of `ref`, for the table's title and the JSON."""
    out = subprocess.run(
        ["git", "-C", str(repo), "log", "-1", "--format=%h %s", ref],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip() or ref
