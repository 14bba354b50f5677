"""The role matrix of docs/api.md, the live route table, and the checks of one operation against
its row."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import select

from ordino.kernel.auth import Role
from ordino.models import metadata
from tests.access.requests import Request, request
from tests.access.world import Caller, World

API_MD = Path(__file__).resolve().parents[2] / "docs" / "api.md"
PREFIX = "/api/v1"
HEADER = "| method | path | admin | agent | fulfillment | finance | integration | buyer | scope |"
ROLES = [Role.ADMIN, Role.AGENT, Role.FULFILLMENT, Role.FINANCE, Role.INTEGRATION, Role.BUYER]
SCOPES = ("account", "shared", "unscoped")
FORBIDDEN = "https://ordino.dev/problems/forbidden"


@dataclass(frozen=True)
class Row:
    roles: frozenset[Role]
    scope: str


def declared(text: str | None = None) -> dict[str, Row]:
    """"METHOD /path" → its row, from every table of docs/api.md with the matrix's header."""
    rows: dict[str, Row] = {}
    in_table = False
    for line in (text if text is not None else API_MD.read_text()).splitlines():
        if line.strip() == HEADER:
            in_table = True
            continue
        if not in_table or not line.startswith("|"):
            in_table = False
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if set(cells[2]) <= {"-", ":"}:
            continue  # the separator
        method, path = cells[0].strip("`"), cells[1].strip("`")
        marks, scope = cells[2:8], cells[8]
        assert scope in SCOPES and all(m in ("", "✓") for m in marks), line
        operation = f"{method} {path}"
        assert operation not in rows, f"two rows for {operation}"
        rows[operation] = Row(frozenset(r for r, m in zip(ROLES, marks, strict=True) if m), scope)
    return rows


def live(app: FastAPI) -> list[str]:
    """"METHOD /path" of every operation the application serves under /api/v1, in route order."""
    found = []
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute) and route.path_format.startswith(PREFIX + "/"):
            found += [f"{m} {route.path_format[len(PREFIX):]}" for m in sorted(route.methods or ())]
    return found


# ------------------------------------------------------------------------------------------------
# Sending and judging


def send(w: World, operation: str, side: str, caller: Caller, foreign: bool = False) -> Any:
    return dispatch(w, request(w, operation, side, foreign), caller)


def dispatch(w: World, r: Request, caller: Caller) -> Any:
    return w.api.request(
        r.method, PREFIX + r.path, json=r.json, params=r.params, content=r.content, data=r.data, files=r.files,
        headers={**caller.headers, **r.headers},
    )


def _type(response: Any) -> str | None:
    if "json" not in response.headers.get("content-type", ""):
        return None
    body = response.json()
    return body.get("type") if isinstance(body, dict) else None


def refused_for_role(response: Any) -> bool:
    return response.status_code == 403 and _type(response) == FORBIDDEN


def fingerprint(w: World) -> dict[str, str]:
    """A digest of every table's rows: a refused request leaves each the same."""
    digests = {}
    with w.db.read() as session:
        for table in metadata.sorted_tables:
            rows = sorted(repr(tuple(r)) for r in session.execute(select(table)).all())
            digests[table.name] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return digests


def _is_list(operation: str) -> bool:
    method, path = operation.split(" ", 1)
    return method == "GET" and "{" not in path


def _says(operation: str, caller: Caller, side: str, response: Any, expected: str) -> str:
    return f"{operation} as {caller} on {side}'s: {response.status_code} {response.text[:300]} (expected {expected})"


def check(w: World, operation: str, row: Row) -> list[str]:
    """What `operation` answers that its row does not allow (empty: it keeps to its row)."""
    failures: list[str] = []
    allowed = [c for c in w.callers if c.role in row.roles]
    for caller in w.callers:
        if caller.role not in row.roles:
            r = send(w, operation, "A", caller)
            if not refused_for_role(r):
                failures.append(_says(operation, caller, "A", r, "403 forbidden"))
    if row.scope == "unscoped":
        for caller in [c for c in allowed if c.scoped]:
            r = send(w, operation, "A", caller)
            if not refused_for_role(r):
                failures.append(_says(operation, caller, "A", r, "403 forbidden: scoped"))
        allowed = [c for c in allowed if not c.scoped]
    if row.scope == "account" and allowed:
        check_foreign = _check_list if _is_list(operation) else _check_record
        failures += check_foreign(w, operation, allowed)
    for caller in allowed:
        r = send(w, operation, "A", caller)
        if refused_for_role(r) or r.status_code in (404, 422) or r.status_code >= 500:
            failures.append(_says(operation, caller, "A", r, "an answer to the call"))
    return failures


def _check_list(w: World, operation: str, allowed: list[Caller]) -> list[str]:
    """A scoped key's list holds none of B's records, also filtered by B's account or order; an
    unscoped key's holds some (the control)."""
    failures = []
    theirs = w.markers("B")
    filters = [{"account": w.of("B", "number")}, {"account": w.of("B", "account")}, {"order": w.of("B", "order")}]
    for caller in allowed:
        r = send(w, operation, "A", caller)
        leaked = sorted(m for m in theirs if m in r.text)
        if caller.scoped and leaked:
            failures.append(_says(operation, caller, "A", r, f"none of B's records, not {leaked}"))
        if not caller.scoped and r.status_code == 200 and not leaked:
            failures.append(_says(operation, caller, "A", r, "B's records too (the control)"))
        for params in filters if caller.scoped else []:
            filtered = request(w, operation, "A")
            filtered.params = {**(filtered.params or {}), **params}
            r = dispatch(w, filtered, caller)
            leaked = sorted(m for m in theirs if m in r.text)
            if leaked or r.status_code >= 500:
                failures.append(_says(operation, caller, f"A (filter {params})", r, "none of B's records"))
    return failures


def _check_record(w: World, operation: str, allowed: list[Caller]) -> list[str]:
    """A scoped key reaching B's record gets 404 (a record named in a body: 404 or 422) and
    changes nothing; an unscoped key reaches it (the control)."""
    failures = []
    method, path = operation.split(" ", 1)
    named_in_path = "{" in path
    attempts = [(c, request(w, operation, "B", foreign=True)) for c in allowed if c.scoped]
    before = fingerprint(w) if method != "GET" else None
    for caller, attempt in attempts:
        r = dispatch(w, attempt, caller)
        if r.status_code != 404 and (named_in_path or r.status_code != 422):
            failures.append(_says(operation, caller, "B", r, "404" if named_in_path else "404 or 422"))
    if before is not None:
        after = fingerprint(w)
        changed = sorted(t for t in before if before[t] != after[t])
        if changed:
            failures.append(f"{operation}: a scoped key's request on B's records changed {changed}")
    control = next((c for c in allowed if not c.scoped), None)
    if control is not None:
        r = send(w, operation, "B", control)
        if refused_for_role(r) or r.status_code in (404, 422) or r.status_code >= 500:
            failures.append(_says(operation, control, "B", r, "an answer to the call (the control)"))
    return failures


def undeclared(operations: list[str], rows: dict[str, Row]) -> list[str]:
    return [op for op in operations if op not in rows]


def stale(operations: list[str], rows: dict[str, Row]) -> list[str]:
    return [op for op in rows if op not in operations]

