"""What a warm template process holds for its step processes to inherit (template.py makes
it, step_process.py runs a step from it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dagster_warm_pool.protocol import TemplateSpec


@dataclass
class TemplateState:
    """What every step process inherits."""

    spec: TemplateSpec
    instance: Any
    run: Any
    # Where the template writes its step processes' bookkeeping rows (row_writer); None: the
    # steps write their own.
    writer_dsn: str | None = None

    @property
    def writes_rows(self) -> bool:
        return self.writer_dsn is not None
