"""GET /api/v1/flows: the automation that runs, for staff and finance keys not scoped to an account.

The flows are the installation's (ORDINO_FLOWS_DIR names its files), so an account-scoped key
reads none of them (403), whatever its role.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from ordino.flows import reads
from ordino.flows.domain import Plan
from ordino.flows.schemas import FlowFilesOut, FlowsOut
from ordino.kernel.auth import Principal, Role, require_unscoped
from ordino.kernel.errors import NotFound
from ordino.kernel.http import json_response
from ordino.kernel.openapi import documented

router = APIRouter(prefix="/api/v1", tags=["flows"])

Reader = Annotated[Principal, Depends(require_unscoped(Role.ADMIN, Role.AGENT, Role.FINANCE,
                                                    what="read the installation's flows"))]


def _plan(request: Request) -> Plan:
    plan: Plan = request.app.state.flow_plan
    return plan


@router.get(
    "/flows", summary="List the flows that run",
    description=(
        "The packaged flows and the deployment's files (ORDINO_FLOWS_DIR) over them, in the order their "
        "steps run: `replaced` flows are overridden by a deployment file of the same name, `disabled` ones "
        "switched off; a `scope` runs only for a channel's or an account's orders."
    ),
    responses=documented(FlowsOut),
)
async def list_flows(request: Request, principal: Reader) -> Response:
    return json_response({"items": reads.list_flows(_plan(request))})


@router.get(
    "/flows/{name}", summary="Show a flow with its steps",
    description="Every file of that name (the packaged flow and the deployment's over it), with their steps.",
    responses=documented(FlowFilesOut, problems=(404,)),
)
async def get_flow(name: str, request: Request, principal: Reader) -> Response:
    found = reads.find_flows(_plan(request), name)
    if not found:
        raise NotFound("flow not found")
    return json_response({"items": found})
