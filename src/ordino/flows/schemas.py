"""Answers of the flows API."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ordino.kernel.schema import Out


class FlowStepOut(Out):
    name: str
    line: int = Field(description="the step's line in its file")
    on: str | None = Field(description="the event type it reacts to (`*`: every event); null for a schedule")
    every_seconds: float | None = Field(description="a schedule step's period")
    when: str | None = Field(description="its condition, in CEL")
    action: str
    emits: list[str]
    description: str


class FlowSummaryOut(Out):
    name: str
    version: int
    description: str
    origin: Literal["packaged", "deployment"]
    file: str
    scope: dict[str, str] | None = Field(description="`{channel: code}` or `{account: number}`: runs only there")
    status: Literal["active", "replaced", "disabled"] = Field(
        description="replaced: a deployment file of the same name runs instead"
    )
    step_count: int


class FlowOut(FlowSummaryOut):
    steps: list[FlowStepOut]


class FlowsOut(Out):
    items: list[FlowSummaryOut]


class FlowFilesOut(Out):
    items: list[FlowOut] = Field(description="the packaged flow first, then the deployment's files of its name")
