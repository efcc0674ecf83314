"""`FileComputeLogManager`: Dagster's LocalComputeLogManager without the mirror processes.

The stock manager wraps every capture in `tail -F` plus a Python watcher, for stdout and for
stderr: four processes per step, only to echo the step's output live into the process's own
stdout/stderr (`docker logs`). This one writes the same files under the same keys, with the
same completion marker, so the UI's log viewer reads them unchanged; the captured text is
copied to the process's stdout/stderr once the capture ends, instead of live.

Configured through the instance's `compute_logs` (dagster.yaml); the webserver, the daemon and
every run process load the same class.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from typing import IO, Any

import dagster as dg

from dagster_warm_pool._dagster import (
    LocalComputeLogManager,
    captured_log_context,
    compute_log_extensions,
)
from dagster_warm_pool.guard import version_problem
from dagster_warm_pool.supported_versions import default_supported_versions


def _fileno(stream: IO[Any]) -> int | None:
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None


@contextlib.contextmanager
def _redirected(stream: IO[Any], path: str) -> Iterator[None]:
    """Point the file descriptor behind `stream` at `path` (appending), C-level writes too."""
    fd = _fileno(stream)
    if fd is None:
        yield
        return
    stream.flush()
    saved = os.dup(fd)
    target = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.dup2(target, fd)
        yield
    finally:
        with contextlib.suppress(Exception):
            stream.flush()
        os.dup2(saved, fd)
        os.close(saved)
        os.close(target)


def _copy_from(path: str, offset: int, stream: IO[Any]) -> None:
    fd = _fileno(stream)
    if fd is None:
        return
    with contextlib.suppress(OSError), open(path, "rb") as source:
        source.seek(offset)
        while chunk := source.read(1 << 16):
            os.write(fd, chunk)


class FileComputeLogManager(LocalComputeLogManager):
    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> FileComputeLogManager:
        return cls(inst_data=inst_data, **config_value)

    @contextlib.contextmanager
    def capture_logs(self, log_key: Sequence[str]) -> Iterator[Any]:
        problem = version_problem(dg.__version__, default_supported_versions())
        if problem is not None:
            warnings.warn(
                f"FileComputeLogManager: {problem}; using LocalComputeLogManager's capture"
            )
            with super().capture_logs(log_key) as context:
                yield context
            return
        out_ext, err_ext = compute_log_extensions()
        out_path = self.get_captured_local_path(log_key, out_ext)
        err_path = self.get_captured_local_path(log_key, err_ext)
        for path in (out_path, err_path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            open(path, "a").close()
        offsets = os.path.getsize(out_path), os.path.getsize(err_path)
        try:
            with _redirected(sys.stdout, out_path), _redirected(sys.stderr, err_path):
                yield captured_log_context(log_key)
        finally:
            _copy_from(out_path, offsets[0], sys.stdout)
            _copy_from(err_path, offsets[1], sys.stderr)
        # The marker the UI checks to know the capture is complete.
        open(self.complete_artifact_path(log_key), "a").close()
