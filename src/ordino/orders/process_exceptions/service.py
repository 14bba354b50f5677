"""Process exceptions: raise them, move them through their lifecycle, read them.

The order summary's `active_process_exception_count` stays exact under concurrency: a status
change is one conditional `UPDATE … WHERE status = :before`, and only the transaction whose
update took the row changes the count, by one statement `count ± 1`. Raising with a `dedup_key`
that exists already returns the existing exception and counts nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Table, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ordino.kernel import clock
from ordino.kernel.auth import Principal
from ordino.kernel.errors import ConcurrentChange, FieldError, NotFound, ValidationFailed
from ordino.kernel.http import page, paginate
from ordino.kernel.ids import new_id, parse_id
from ordino.kernel.outbox import emit
from ordino.kernel.statemachine import Lifecycle, StatusHistory, apply, initial_history
from ordino.orders.models import OrderSummary
from ordino.orders.process_exceptions.errors import ProcessExceptionClosed
from ordino.orders.process_exceptions.models import ACTIVE_STATUSES, CATEGORIES, SEVERITIES, STATUSES, ProcessException

PROCESS_EXCEPTION_LIFECYCLE = Lifecycle.build(
    "process_exception",
    states=STATUSES,
    initial="new",
    table=[
        ("triage", ["new", "paused"], "triaged"),
        ("pause", ["new", "triaged"], "paused"),
        ("ignore", ACTIVE_STATUSES, "ignored"),
        ("void", ACTIVE_STATUSES, "voided"),
        ("resolve", ACTIVE_STATUSES, "resolved"),
    ],
    terminal=("ignored", "voided", "resolved"),
)
ACTIONS = tuple(PROCESS_EXCEPTION_LIFECYCLE.transitions)

PE = cast(Table, ProcessException.__table__)
ORDER = cast(Table, OrderSummary.__table__)
Doc = dict[str, Any]


def _rowcount(session: Session, stmt: Any) -> int:
    return cast(CursorResult[Any], session.execute(stmt)).rowcount


def _count_change(session: Session, order_id: uuid.UUID | None, delta: int) -> None:
    if order_id is None:
        return
    count = ORDER.c.active_process_exception_count
    stmt = update(ORDER).where(ORDER.c.id == order_id).values(active_process_exception_count=count + delta)
    if delta < 0:
        stmt = stmt.where(count >= -delta)
    if _rowcount(session, stmt) != 1:
        raise AssertionError(f"order {order_id}: the active process exception count would go negative")


def _check(category: str, severity: str, priority: int) -> None:
    """Callers are code, not clients: a wrong value is a bug."""
    if category not in CATEGORIES:
        raise ValueError(f"category must be one of {', '.join(CATEGORIES)}")
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}")
    if not 1 <= priority <= 5:
        raise ValueError("priority must be between 1 and 5")


def raise_process_exception(
    session: Session,
    *,
    category: str,
    message: str,
    attached_to_type: str,
    attached_to_id: uuid.UUID,
    order_summary_id: uuid.UUID | None = None,
    severity: str = "high",
    priority: int = 3,
    description: str | None = None,
    dedup_key: str | None = None,
    actor: str | None = None,
    step: str | None = None,
    error: str | None = None,
    event_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Record a process exception (status New) in the caller's transaction; returns its id.

    `step` names what failed (a handler or a flow step, which a retry re-runs), `error` its error,
    `event_id` the outbox event concerned. Emits `process_exception.created`. With a `dedup_key`
    already used, returns that exception's id and writes nothing."""
    _check(category, severity, priority)
    now = clock.now()
    exception_id = new_id()
    row: dict[str, Any] = {
        "id": exception_id,
        "category": category,
        "severity": severity,
        "priority": priority,
        "status": PROCESS_EXCEPTION_LIFECYCLE.initial,
        "message": message[:2000],
        "description": description[:4000] if description else None,
        "attached_to_type": attached_to_type,
        "attached_to_id": attached_to_id,
        "order_summary_id": order_summary_id,
        "dedup_key": dedup_key,
        "step": step,
        "error": error[:4000] if error else None,
        "event_id": event_id,
        "retry_count": 0,
        "version": 1,
        "created_by": actor,
        "created_at": now,
        "updated_at": now,
    }
    ins = pg_insert(PE) if session.get_bind().dialect.name == "postgresql" else sqlite_insert(PE)
    stmt = ins.values(row)
    if dedup_key is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=["dedup_key"])
    inserted = session.execute(stmt.returning(PE.c.id)).scalar_one_or_none()
    if inserted is None:
        return cast(uuid.UUID, session.execute(select(PE.c.id).where(PE.c.dedup_key == dedup_key)).scalar_one())
    session.execute(
        insert(StatusHistory), [initial_history(PROCESS_EXCEPTION_LIFECYCLE, exception_id, actor=actor, at=now)]
    )
    _count_change(session, order_summary_id, +1)
    _announce(session, row)
    return cast(uuid.UUID, row["id"])


def _announce(session: Session, row: dict[str, Any]) -> None:
    emit(session, "process_exception.created", f"process_exception/{row['id']}", {
        "id": str(row["id"]),
        "category": row["category"],
        "severity": row["severity"],
        "priority": row["priority"],
        "message": row["message"],
        "attached_to": {"type": row["attached_to_type"], "id": str(row["attached_to_id"])},
        "order_id": str(row["order_summary_id"]) if row["order_summary_id"] else None,
        "step": row["step"],
    })


@dataclass(slots=True)
class _Record:
    id: uuid.UUID
    status: str


def transition(
    session: Session, exception_id: uuid.UUID, action: str, *, actor: str | None = None, reason: str | None = None,
    note: str | None = None,
) -> str:
    """Move a process exception by `action` (triage, pause, ignore, void, resolve); returns the new
    status. `note` is kept as the resolution note (resolve only). 409 for an action its status does
    not allow, with nothing written."""
    if action not in PROCESS_EXCEPTION_LIFECYCLE.transitions:
        raise NotFound(f"no action '{action}' on process exceptions")
    current = session.execute(
        select(PE.c.status, PE.c.order_summary_id).where(PE.c.id == exception_id)
    ).first()
    if current is None:
        raise NotFound("process exception not found")
    record = _Record(exception_id, current.status)
    after = apply(session, PROCESS_EXCEPTION_LIFECYCLE, record, action, actor=actor, reason=reason or note)
    values: dict[str, Any] = {"status": after, "version": PE.c.version + 1, "updated_at": clock.now()}
    if action == "resolve" and note:
        values["resolution_note"] = note[:2000]
    changed = _rowcount(
        session, update(PE).where(PE.c.id == exception_id, PE.c.status == current.status).values(**values),
    )
    if changed != 1:
        raise ConcurrentChange(
            "the process exception was changed at the same time; reload it and try again",
        )
    was_active, is_active = current.status in ACTIVE_STATUSES, after in ACTIVE_STATUSES
    if was_active != is_active:
        _count_change(session, current.order_summary_id, +1 if is_active else -1)
        sync_payment_hold(session, current.order_summary_id)
    return after


# A declined authorization: the order is on payment hold while one of these is active.
AUTHORIZATION_STEP = "payments.authorize"
# The steps a retry can re-run: the composition root hands in a retrier for each
# (app.state.process_exception_retriers; tests/orders/process_exceptions/test_retries.py keeps them equal).
RETRYABLE_STEPS = frozenset({AUTHORIZATION_STEP, "invoicing.ensure_funds", "invoicing.ensure_refunds"})


def sync_payment_hold(session: Session, order_id: uuid.UUID | None) -> bool | None:
    """Hold the order while an authorization exception of it is active, release it otherwise;
    returns the hold (None without an order)."""
    if order_id is None:
        return None
    held = session.execute(
        select(PE.c.id).where(
            PE.c.order_summary_id == order_id, PE.c.step == AUTHORIZATION_STEP, PE.c.status.in_(ACTIVE_STATUSES)
        ).limit(1)
    ).first() is not None
    session.execute(
        update(ORDER).where(ORDER.c.id == order_id, ORDER.c.payment_hold.is_not(held)).values(payment_hold=held)
    )
    return held


def on_payment_hold(session: Session, order_id: uuid.UUID) -> bool:
    return bool(session.execute(select(ORDER.c.payment_hold).where(ORDER.c.id == order_id)).scalar_one_or_none())


def _active_or_conflict(session: Session, exception_id: uuid.UUID, doing: str) -> Any:
    row = session.execute(select(*PE.c).where(PE.c.id == exception_id)).first()
    if row is None:
        raise NotFound("process exception not found")
    if row.status not in ACTIVE_STATUSES:
        raise ProcessExceptionClosed(f"the process exception is {row.status}: it cannot be {doing}")
    return row


def assign(session: Session, exception_id: uuid.UUID, assignee: str | None) -> None:
    """Give an active exception to a person (a user or principal name), or to nobody (None)."""
    row = _active_or_conflict(session, exception_id, "assigned")
    changed = _rowcount(session, update(PE).where(PE.c.id == exception_id, PE.c.version == row.version).values(
        assignee=assignee, version=PE.c.version + 1, updated_at=clock.now(),
    ))
    if changed != 1:
        raise ConcurrentChange("the process exception was changed at the same time; reload it and try again")


@dataclass(frozen=True, slots=True)
class RetryClaim:
    """A retry taken: its number (1 for the first) and what it re-runs."""

    exception_id: uuid.UUID
    number: int
    step: str | None
    attached_to_type: str
    attached_to_id: uuid.UUID
    order_summary_id: uuid.UUID | None
    event_id: uuid.UUID | None


def claim_retry(session: Session, exception_id: uuid.UUID) -> RetryClaim:
    """Count one more retry of an active exception; the conditional update makes two
    concurrent retries of one exception two numbers, hence two idempotency keys, never one
    key twice. 409 for an exception that is not active, with nothing written."""
    row = _active_or_conflict(session, exception_id, "retried")
    number = row.retry_count + 1
    changed = _rowcount(session, update(PE).where(
        PE.c.id == exception_id, PE.c.retry_count == row.retry_count, PE.c.status.in_(ACTIVE_STATUSES),
    ).values(retry_count=number, last_retried_at=clock.now(), version=PE.c.version + 1, updated_at=clock.now()))
    if changed != 1:
        raise ConcurrentChange("the process exception was retried at the same time; reload it and try again")
    return RetryClaim(exception_id, number, row.step, row.attached_to_type, row.attached_to_id,
                      row.order_summary_id, row.event_id)


def open_exception(session: Session, attached_to_type: str, attached_to_id: uuid.UUID, step: str) -> uuid.UUID | None:
    """The active exception of this step on this record, if there is one (the oldest)."""
    return cast(uuid.UUID | None, session.execute(
        select(PE.c.id).where(PE.c.attached_to_type == attached_to_type, PE.c.attached_to_id == attached_to_id,
                              PE.c.step == step, PE.c.status.in_(ACTIVE_STATUSES)).order_by(PE.c.id).limit(1)
    ).scalar_one_or_none())


def resolve_open(session: Session, attached_to_type: str, attached_to_id: uuid.UUID, step: str, note: str,
                 actor: str | None) -> int:
    """The step succeeded later on its own (e.g. routing once stock arrived): its active
    exceptions on the record are resolved with `note`; returns how many."""
    ids = session.execute(
        select(PE.c.id).where(PE.c.attached_to_type == attached_to_type, PE.c.attached_to_id == attached_to_id,
                              PE.c.step == step, PE.c.status.in_(ACTIVE_STATUSES))
    ).scalars().all()
    return sum(resolve_by_retry(session, i, note, actor) for i in ids)


def record_error(session: Session, exception_id: uuid.UUID, error: str) -> None:
    """The step failed again: its new error replaces the last one."""
    session.execute(update(PE).where(PE.c.id == exception_id).values(
        error=error[:4000], version=PE.c.version + 1, updated_at=clock.now(),
    ))


def resolve_by_retry(session: Session, exception_id: uuid.UUID, note: str, actor: str | None) -> bool:
    """The retried step succeeded: the exception is resolved with `note`, unless it was closed
    meanwhile; returns whether it was resolved now."""
    status = session.execute(select(PE.c.status).where(PE.c.id == exception_id)).scalar_one_or_none()
    if status not in ACTIVE_STATUSES:
        return False
    transition(session, exception_id, "resolve", actor=actor, note=note)
    return True


# ------------------------------------------------------------------------------------------------
# Reads


def _columns() -> tuple[Any, ...]:
    return (*PE.c, ORDER.c.number.label("order_number"), ORDER.c.account_id.label("account_id"))


def _base() -> Any:
    return select(*_columns()).select_from(PE.outerjoin(ORDER, ORDER.c.id == PE.c.order_summary_id))


def exception_doc(row: Any) -> Doc:
    return {
        "id": row.id,
        "category": row.category,
        "severity": row.severity,
        "priority": row.priority,
        "status": row.status,
        "active": row.status in ACTIVE_STATUSES,
        "available_actions": PROCESS_EXCEPTION_LIFECYCLE.actions_from(row.status),
        "message": row.message,
        "description": row.description,
        "attached_to": {"type": row.attached_to_type, "id": row.attached_to_id},
        "step": row.step,
        "error": row.error,
        "event_id": row.event_id,
        "assignee": row.assignee,
        "resolution_note": row.resolution_note,
        "retry_count": row.retry_count,
        "last_retried_at": row.last_retried_at,
        "retryable": row.status in ACTIVE_STATUSES and (
            row.attached_to_type == "outbox_event" or row.step in RETRYABLE_STEPS
        ),
        "order": {"id": row.order_summary_id, "number": row.order_number} if row.order_summary_id else None,
        "version": row.version,
        "created_by": row.created_by,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def _visible(principal: Principal, row: Any) -> bool:
    return principal.account_id is None or (row.order_summary_id is not None and principal.sees_account(row.account_id))


def get_exception(session: Session, ref: str | uuid.UUID, principal: Principal) -> Doc:
    exception_id = ref if isinstance(ref, uuid.UUID) else parse_id(ref)
    if exception_id is None:
        raise NotFound("process exception not found")
    row = session.execute(_base().where(PE.c.id == exception_id)).first()
    if row is None or not _visible(principal, row):
        raise NotFound("process exception not found")
    doc = exception_doc(row)
    history = session.execute(
        select(StatusHistory.from_status, StatusHistory.to_status, StatusHistory.action, StatusHistory.reason,
               StatusHistory.actor, StatusHistory.at)
        .where(StatusHistory.entity_type == PROCESS_EXCEPTION_LIFECYCLE.entity, StatusHistory.entity_id == exception_id)
        .order_by(StatusHistory.at, StatusHistory.id)
    ).all()
    doc["history"] = [
        {"from_status": h.from_status, "to_status": h.to_status, "action": h.action, "reason": h.reason,
         "actor": h.actor, "at": h.at}
        for h in history
    ]
    return doc


@dataclass(frozen=True, slots=True)
class ExceptionFilter:
    status: str | None = None
    category: str | None = None
    severity: str | None = None
    order: str | None = None  # an order id or number
    active: bool | None = None
    assignee: str | None = None


def _order_id(session: Session, ref: str) -> uuid.UUID | None:
    found = parse_id(ref)
    if found is not None:
        return found
    return session.execute(select(ORDER.c.id).where(ORDER.c.number == ref)).scalar_one_or_none()


def list_exceptions(
    session: Session, principal: Principal, f: ExceptionFilter, limit: int, cursor: str | None
) -> Doc:
    errors = []
    if f.status is not None and f.status not in STATUSES:
        errors.append(FieldError("status", f"must be one of {', '.join(STATUSES)}"))
    if f.category is not None and f.category not in CATEGORIES:
        errors.append(FieldError("category", f"must be one of {', '.join(CATEGORIES)}"))
    if f.severity is not None and f.severity not in SEVERITIES:
        errors.append(FieldError("severity", f"must be one of {', '.join(SEVERITIES)}"))
    if errors:
        raise ValidationFailed(errors)
    stmt = _base()
    if f.status is not None:
        stmt = stmt.where(PE.c.status == f.status)
    if f.active is not None:
        stmt = stmt.where(PE.c.status.in_(ACTIVE_STATUSES) if f.active else PE.c.status.not_in(ACTIVE_STATUSES))
    if f.category is not None:
        stmt = stmt.where(PE.c.category == f.category)
    if f.severity is not None:
        stmt = stmt.where(PE.c.severity == f.severity)
    if f.assignee is not None:
        stmt = stmt.where(PE.c.assignee == f.assignee)
    if f.order is not None:
        order_id = _order_id(session, f.order)
        if order_id is None:
            return page([], [], limit)
        stmt = stmt.where(PE.c.order_summary_id == order_id)
    if principal.account_id is not None:
        stmt = stmt.where(ORDER.c.account_id == principal.account_id)
    rows = session.execute(paginate(stmt, ProcessException.id, limit, cursor)).all()
    return page([exception_doc(r) for r in rows], [r.id for r in rows], limit)


def exceptions_of(session: Session, order_id: uuid.UUID) -> list[Doc]:
    """Every process exception of an order, oldest first."""
    rows = session.execute(_base().where(PE.c.order_summary_id == order_id).order_by(PE.c.id)).all()
    return [exception_doc(r) for r in rows]
