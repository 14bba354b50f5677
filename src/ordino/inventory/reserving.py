"""Reserve: all lines or none, one reservation or many in one transaction.

- Quantities are summed per (sku, location) first, positions are taken in sorted (sku,
  location) order, and each is one conditional statement
  (`UPDATE … SET reserved = reserved + :q WHERE … AND on_hand - reserved - safety_stock >= :q`)
  whose row count says whether it held.
- The reservation rows and the event are written first (`prepare_many`), the positions last
  (`Pending.take`, `take_many`): a position row stays locked from its UPDATE to COMMIT, and
  nothing else runs in between.
- When a position fails, the ones already taken are given back and the rows and event deleted
  in the same transaction, and a 409 `out-of-stock` names every failing SKU and what is
  available, so nothing stays reserved even if the caller catches the problem.
- Products with backorder policy 'backorder' that stock cannot cover are reserved whole against
  the futures (`backordered`), by a second conditional statement on available to order.
- `take_many` takes the stock of many reservations at once (the reservation API combines
  concurrent requests): one conditional statement per position for the sum of all of them. Only
  when a sum does not fit does it lock the batch's positions, in sorted order, and take them one
  reservation after the other, in the order they came: first come, first served, exactly as if
  they had run alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ordino.inventory import domain
from ordino.inventory.domain import Figures
from ordino.inventory.errors import OutOfStock
from ordino.inventory.ledger import (
    DELETE_EVENT,
    DELETE_RESERVATIONS,
    INSERT_RESERVATIONS,
    SET_BACKORDERED,
    SET_EVENT_DATA,
    Doc,
    Key,
    Line,
    LineLike,
    P,
    Place,
    Stocked,
    as_line,
    event_line,
    find_references,
    give_back,
    reservation_doc,
    reserve_futures,
    reserve_stock,
)
from ordino.inventory.stock import current_figures
from ordino.kernel import clock
from ordino.kernel.errors import Conflict, FieldError, ValidationFailed
from ordino.kernel.ids import new_id
from ordino.kernel.outbox import emit_many, event_row

__all__ = ["Pending", "Wanted", "out_of_stock", "prepare_many", "prepare_reserve", "reserve", "take_many"]


@dataclass(frozen=True, slots=True)
class Wanted:
    """One reservation asked for: its reference, lines and expiry."""

    reference: str
    lines: Sequence[LineLike]
    expires_at: datetime | None = None
    path: str = "lines"  # prefixes the field names of refusals (`lines[2].sku`)
    account_id: uuid.UUID | None = None  # the account the units are held for


def reserve(
    session: Session,
    reference: str,
    lines: Sequence[LineLike],
    expires_at: datetime | None = None,
    *,
    path: str = "lines",
    account_id: uuid.UUID | None = None,
) -> list[Doc]:
    """Reserve every line or nothing, for `account_id`; returns the reservation rows written (one
    per sku and location)."""
    pending = prepare_reserve(session, reference, lines, expires_at, path=path, account_id=account_id)
    pending.take()
    return pending.docs


def prepare_reserve(
    session: Session,
    reference: str,
    lines: Sequence[LineLike],
    expires_at: datetime | None = None,
    *,
    path: str = "lines",
    account_id: uuid.UUID | None = None,
) -> Pending:
    """Validate the lines and write their reservation rows and event; `take()` then takes the
    stock."""
    (prepared,) = prepare_many(session, [Wanted(reference, lines, expires_at, path, account_id)])
    if isinstance(prepared, ValidationFailed):
        raise prepared
    return prepared


def prepare_many(
    session: Session, wanted: Sequence[Wanted], *, events: bool = True
) -> list[Pending | ValidationFailed]:
    """Validate each reservation and write the rows and event of the valid ones (one statement
    for all rows, one for all events; no events when the caller writes one for all); an invalid
    one gets its refusal and writes nothing."""
    now = clock.now()
    asked = [[as_line(x) for x in w.lines] for w in wanted]
    places, products = find_references(
        session, [x.location for lines in asked for x in lines], [x.sku for lines in asked for x in lines]
    )
    out: list[Pending | ValidationFailed] = []
    rows: list[dict[str, Any]] = []
    rows_of_events: list[dict[str, Any]] = []
    for w, lines in zip(wanted, asked, strict=True):
        checked = _check(w, lines, now, places, products)
        if isinstance(checked, ValidationFailed):
            out.append(checked)
            continue
        resolved, first_line = checked
        sums = domain.sum_quantities(resolved)
        mine = [_row(w, key, quantity, now) for key, quantity in sums]
        docs = [reservation_doc(row, places[key[1]].code) for row, (key, _) in zip(mine, sums, strict=True)]
        event = event_row("inventory.reserved", f"reservation/{w.reference}", _reserved_event(w, docs))
        rows += mine
        rows_of_events.append(event)
        out.append(Pending(
            session, now, sums, docs, event["id"],
            {sku: products[sku].backorder_policy for (sku, _), _ in sums},
            {k: f"{w.path}[{i}].quantity" for k, i in first_line.items()},
            {key[1]: places[key[1]].code for key, _ in sums},
        ))
    if rows:
        session.connection().execute(INSERT_RESERVATIONS, rows)
    if events:
        emit_many(session, rows_of_events)
    return out


def reserve_batch(session: Session, wanted: Sequence[Wanted]) -> list[list[Doc]]:
    """Several reservations in one call (routing reserving an order's units), each all-or-nothing
    as `reserve`, taken in the order given; one `inventory.reserved` event for all of them, with
    the `references` and each line's reference. Returns each reservation's rows."""
    prepared = prepare_many(session, wanted, events=False)
    for p in prepared:
        if isinstance(p, ValidationFailed):
            raise p
    pendings = [p for p in prepared if isinstance(p, Pending)]
    for p in pendings:
        p.take()
    emit_many(session, [event_row("inventory.reserved", None, {
        "references": [w.reference for w in wanted],
        "lines": [{"reference": w.reference, **event_line(d, d["quantity"], d["backordered_quantity"])}
                  for w, p in zip(wanted, pendings, strict=True) for d in p.docs],
    })])
    return [p.docs for p in pendings]


def _check(
    w: Wanted, lines: list[Line], now: datetime, places: dict[str | uuid.UUID, Place], products: dict[str, Stocked]
) -> tuple[list[tuple[str, uuid.UUID, int]], dict[Key, int]] | ValidationFailed:
    """The lines resolved to (sku, location id, quantity) and each position's first line, or
    every problem found."""
    path = w.path
    errors: list[FieldError] = []
    if not lines:
        errors.append(FieldError(path, "name at least one line"))
    if w.expires_at is not None and clock.ensure_utc(w.expires_at) <= now:
        errors.append(FieldError("expires_at", "must be in the future"))
    resolved: list[tuple[str, uuid.UUID, int]] = []
    first_line: dict[Key, int] = {}
    for i, x in enumerate(lines):
        product, place = products.get(x.sku), places.get(x.location)
        if product is None:
            errors.append(FieldError(f"{path}[{i}].sku", f"no product '{x.sku}'"))
        elif not product.active:
            errors.append(FieldError(f"{path}[{i}].sku", f"product '{x.sku}' is not active"))
        if place is None:
            errors.append(FieldError(f"{path}[{i}].location", f"no location '{x.location}'"))
        elif not place.active:
            errors.append(FieldError(f"{path}[{i}].location", f"location '{place.code}' is not active"))
        if not isinstance(x.quantity, int) or x.quantity <= 0:
            errors.append(FieldError(f"{path}[{i}].quantity", "must be a positive whole number"))
        if product is not None and place is not None:
            resolved.append((x.sku, place.id, x.quantity))
            first_line.setdefault((x.sku, place.id), i)
    return ValidationFailed(errors) if errors else (resolved, first_line)


def _row(w: Wanted, key: Key, quantity: int, now: datetime) -> dict[str, Any]:
    expires_at = w.expires_at
    return {
        "id": new_id(),
        "reference": w.reference,
        "sku": key[0],
        "location_id": key[1],
        "quantity": quantity,
        "open_quantity": quantity,
        "backordered_quantity": 0,  # set by take() for the positions reserved against futures
        "fulfilled_quantity": 0,
        "released_quantity": 0,
        "transferred_quantity": 0,
        "status": domain.ACTIVE,
        "expires_at": clock.ensure_utc(expires_at) if expires_at is not None else None,
        "transferred_from_id": None,
        "account_id": w.account_id,
        "created_at": now,
        "updated_at": now,
    }


def _reserved_event(w: Wanted, docs: list[Doc]) -> Doc:
    return _event_data(w.reference, w.expires_at, docs)


def _event_data(reference: str, expires_at: datetime | None, docs: list[Doc]) -> Doc:
    return {
        "reference": reference,
        "expires_at": clock.ensure_utc(expires_at).isoformat() if expires_at else None,
        "lines": [event_line(d, d["quantity"], d["backordered_quantity"]) for d in docs],
    }


@dataclass(slots=True)
class Pending:
    """A reservation whose rows and event are written and whose stock is not taken yet."""

    session: Session
    now: datetime
    wanted: list[tuple[Key, int]]  # sorted by position
    docs: list[Doc]  # one per position, in the same order
    event_id: uuid.UUID
    policies: dict[str, str]
    fields: dict[Key, str]
    codes: dict[uuid.UUID, str]

    def take(self) -> bool:
        """One conditional statement per position, in sorted order; True when some position was
        reserved against futures (the rows, the event and `docs` then say so). When one fails,
        the stock already taken is given back and the rows and event are deleted, so nothing
        stays reserved even if the caller catches the 409."""
        session, now = self.session, self.now
        taken: list[tuple[Key, int, int]] = []  # (position, units from stock, units backordered)
        for n, (key, quantity) in enumerate(self.wanted):
            if reserve_stock(session, key, quantity, now):
                taken.append((key, quantity, 0))
            elif self.policies[key[0]] == "backorder" and reserve_futures(session, key, quantity, now):
                taken.append((key, 0, quantity))
            else:
                give_back(session, taken, now)
                self.discard()
                raise out_of_stock(session, self.wanted[n:], self.policies, self.fields, self.codes)
        backordered = [(doc, units) for doc, (_, _, units) in zip(self.docs, taken, strict=True) if units]
        if not backordered:
            return False
        session.execute(SET_BACKORDERED, [{"r_id": d["id"], "r_b": units, "r_now": now} for d, units in backordered])
        for doc, units in backordered:
            doc.update(backordered_quantity=units, backordered=True)
        event = _event_data(self.docs[0]["reference"], self.docs[0]["expires_at"], self.docs)
        session.execute(SET_EVENT_DATA, {"event_id": self.event_id, "data": event})
        return True

    def discard(self) -> None:
        """Delete the rows and the event written for this reservation (its stock is not held)."""
        self.session.execute(DELETE_RESERVATIONS, {"ids": [d["id"] for d in self.docs]})
        self.session.execute(DELETE_EVENT, {"event_id": self.event_id})


def take_many(session: Session, pendings: Sequence[Pending]) -> list[bool | Conflict]:
    """Take the stock of every pending reservation, in the order given; for each, what `take()`
    answers (True: some of it backordered) or its 409."""
    if not pendings:
        return []
    now = pendings[0].now
    totals = domain.sum_quantities([(k[0], k[1], q) for p in pendings for k, q in p.wanted])
    taken: list[tuple[Key, int, int]] = []
    for key, quantity in totals:
        if not reserve_stock(session, key, quantity, now):
            break
        taken.append((key, quantity, 0))
    else:
        return [False] * len(pendings)  # every sum fitted: each reservation holds its part, from stock
    # A sum did not fit: give the sums back, lock every position of the batch in sorted order
    # (those taken stay locked), then take one reservation after the other, in arrival order.
    give_back(session, taken, now)
    _lock(session, [key for key, _ in totals])
    out: list[bool | Conflict] = []
    for p in pendings:
        try:
            out.append(p.take())
        except Conflict as refused:
            out.append(refused)
    return out


def _lock(session: Session, keys: list[Key]) -> None:
    for key in keys:  # sorted: the order every use case locks positions in
        session.execute(
            select(P.sku).where(P.sku == key[0], P.location_id == key[1]).with_for_update()
        ).all()


def out_of_stock(
    session: Session,
    remaining: Sequence[tuple[Key, int]],
    policies: dict[str, str],
    fields: dict[Key, str],
    codes: dict[uuid.UUID, str],
) -> Conflict:
    """The refusal naming the position that failed and every later one that would fail too."""
    figures = current_figures(session, [key for key, _ in remaining])
    unavailable = []
    errors = []
    for n, (key, quantity) in enumerate(remaining):
        f = figures.get(key, Figures())
        backorder = policies[key[0]] == "backorder"
        available = max(0, f.available_to_order if backorder else min(f.available_to_fulfill, f.available_to_order))
        if n > 0 and available >= quantity:
            continue
        unavailable.append(
            {"sku": key[0], "location": codes[key[1]], "requested": quantity, "available": available,
             "available_to_fulfill": f.available_to_fulfill, "available_to_order": f.available_to_order}
        )
        errors.append(
            FieldError(fields[key], f"{quantity} requested, {available} available at {codes[key[1]]}")
        )
    names = "; ".join(f"{u['sku']} at {u['location']}: {u['available']} of {u['requested']}" for u in unavailable)
    return OutOfStock(
        f"not enough stock ({names})", errors, extra={"unavailable": unavailable},
    )
