"""Catalog use cases: products, sales channels, locations and legal entities.

The four are alike: a unique natural key (`sku` or `code`) that orders and integrations refer
to and that never changes, a few plain fields, an `active` flag instead of deletion, and a
version for `If-Match`. One generic set of functions serves all four, described by a `Resource`.

Every write either fully happens or raises a `Problem`: a taken key is a 409 naming the field,
an unknown record 404, a stale version 409, a missing If-Match 428. Updates lock the row, so two
concurrent updates with the same version cannot both win.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from ordino.catalog.models import LegalEntity, Location, Product, SalesChannel
from ordino.kernel import clock
from ordino.kernel.auth import Principal, Role
from ordino.kernel.eas import endpoint_pair_check
from ordino.kernel.errors import Duplicate, FieldError, NotFound, ValidationFailed
from ordino.kernel.http import apply_changes, dumps, page, paginate
from ordino.kernel.ids import new_id, parse_id
from ordino.kernel.outbox import emit

Doc = dict[str, Any]
Row = TypeVar("Row", Product, SalesChannel, Location, LegalEntity)


def _plain(value: Any) -> Any:
    """Decimals as their shortest exact text ("1.5", not "1.500000")."""
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return "0" if text in ("-0", "0") else text
    return value


@dataclass(frozen=True)
class Resource(Generic[Row]):
    model: type[Row]
    key: str  # the natural key's field: "sku" or "code"
    what: str  # in messages: "product"
    event: str  # event type prefix: "product" -> product.created, product.updated
    fields: tuple[str, ...]  # served besides id, version and timestamps
    check: Callable[[Row], list[FieldError]] = field(default=lambda _row: [])
    # Runs before a created or changed row is written: checks references, keeps others consistent.
    before_write: Callable[[Session, Row], None] = field(default=lambda _session, _row: None)

    def doc(self, row: Row) -> Doc:
        return {
            "id": row.id,
            **{name: _plain(getattr(row, name)) for name in self.fields},
            "version": row.version,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
        }


def _key_column(res: Resource[Row]) -> InstrumentedAttribute[str]:
    column: InstrumentedAttribute[str] = getattr(res.model, res.key)
    return column


def _coordinates(location: Location) -> list[FieldError]:
    if location.latitude is not None and location.longitude is None:
        return [FieldError("longitude", "is required when latitude is given")]
    if location.longitude is not None and location.latitude is None:
        return [FieldError("latitude", "is required when longitude is given")]
    return []


PRODUCT = Resource(
    Product,
    "sku",
    "product",
    "product",
    (
        "sku", "name", "description", "unit_of_measure", "minimum_quantity", "order_multiple", "tax_class",
        "weight_kg", "backorder_policy", "active",
    ),
)
def _channel_entity(session: Session, channel: SalesChannel) -> None:
    if channel.legal_entity is None:
        return
    active = session.execute(
        select(LegalEntity.active).where(LegalEntity.code == channel.legal_entity)
    ).scalar_one_or_none()
    if not active:
        what = "is not active" if active is False else "names no legal entity"
        raise ValidationFailed([FieldError("legal_entity", f"'{channel.legal_entity}' {what}")])


def _legal_entity_checks(session: Session, entity: LegalEntity) -> None:
    endpoint_pair_check(entity.endpoint_scheme, entity.endpoint_id)
    _single_default(session, entity)


def _single_default(session: Session, entity: LegalEntity) -> None:
    """A new default entity takes over from the previous one."""
    if entity.is_default:
        session.execute(
            sql_update(LegalEntity)
            .where(LegalEntity.is_default.is_(True), LegalEntity.id != entity.id)
            .values(is_default=False, version=LegalEntity.version + 1, updated_at=clock.now())
            .execution_options(synchronize_session=False)
        )


CHANNEL = Resource(
    SalesChannel, "code", "sales channel", "sales_channel", ("code", "name", "kind", "legal_entity", "active"),
    before_write=_channel_entity,
)
LEGAL_ENTITY = Resource(
    LegalEntity,
    "code",
    "legal entity",
    "legal_entity",
    (
        "code", "name", "line1", "line2", "city", "postal_code", "region", "country", "vat_id", "registration_number",
        "email", "phone", "iban", "bic", "bank_name", "endpoint_scheme", "endpoint_id", "contact_name", "tax_number",
        "register_court", "managing_directors", "share_capital", "sepa_creditor_id", "us_nexus_states",
        "invalid_vat_id", "is_default", "active",
    ),
    before_write=_legal_entity_checks,
)
LOCATION = Resource(
    Location,
    "code",
    "location",
    "location",
    (
        "code", "name", "kind", "line1", "city", "postal_code", "region", "country", "latitude", "longitude",
        "timezone", "active",
    ),
    check=_coordinates,
)


# ----------------------------------------------------------------------------------------------
# Generic use cases


def _find(session: Session, res: Resource[Row], ref: str, *, lock: bool = False, active_only: bool = False) -> Row:
    """A record by id or natural key; else 404."""
    ident = parse_id(ref)
    key = _key_column(res)
    stmt = select(res.model).where(or_(res.model.id == ident, key == ref) if ident else key == ref)
    if active_only:
        stmt = stmt.where(res.model.active.is_(True))
    row = session.scalars((stmt.with_for_update() if lock else stmt).limit(1)).first()
    if row is None:
        raise NotFound(f"{res.what} not found")
    return row


def _emit(session: Session, res: Resource[Row], verb: str, doc: Doc) -> None:
    emit(session, f"{res.event}.{verb}", f"{res.event}/{doc['id']}", orjson.loads(dumps(doc)))


def _refuse_invalid(res: Resource[Row], row: Row) -> None:
    errors = res.check(row)
    if errors:
        raise ValidationFailed(errors)


def create(session: Session, res: Resource[Row], data: BaseModel) -> Doc:
    key = getattr(data, res.key)
    duplicate = Duplicate(
        f"a {res.what} with {res.key} '{key}' already exists",
        [FieldError(res.key, "is already taken")],
    )
    if session.execute(select(res.model.id).where(_key_column(res) == key)).first() is not None:
        raise duplicate
    now = clock.now()
    row = res.model(**data.model_dump(), id=new_id(), version=1, created_at=now, updated_at=now)
    _refuse_invalid(res, row)
    res.before_write(session, row)
    session.add(row)
    try:
        session.flush()  # a concurrent insert of the same key loses here, with a 409
    except IntegrityError:
        raise duplicate from None
    doc = res.doc(row)
    _emit(session, res, "created", doc)
    return doc


def get(session: Session, res: Resource[Row], ref: str, *, active_only: bool = False) -> Doc:
    return res.doc(_find(session, res, ref, active_only=active_only))


def update(session: Session, res: Resource[Row], ref: str, patch: BaseModel, if_match: str | None) -> Doc:
    """Set the fields the patch names; a new version only if some value changed."""
    row = _find(session, res, ref, lock=True)
    if not apply_changes(row, patch.model_dump(include=patch.model_fields_set), if_match):
        return res.doc(row)
    _refuse_invalid(res, row)  # a refusal rolls the new version back with the transaction
    res.before_write(session, row)
    session.flush()
    doc = res.doc(row)
    _emit(session, res, "updated", doc)
    return doc


def list_(
    session: Session, res: Resource[Row], where: Sequence[ColumnElement[bool]], limit: int, cursor: str | None
) -> Doc:
    rows = session.scalars(paginate(select(res.model).where(*where), res.model.id, limit, cursor)).all()
    return page([res.doc(r) for r in rows], [r.id for r in rows], limit)


# ----------------------------------------------------------------------------------------------
# Resource-specific reads: filters, and what a buyer may see


def get_product(session: Session, ref: str, principal: Principal) -> Doc:
    """Buyers see active products only; staff see all."""
    return get(session, PRODUCT, ref, active_only=principal.role is Role.BUYER)


@dataclass(frozen=True, slots=True)
class ProductFilter:
    active: bool | None = None
    q: str | None = None
    tax_class: str | None = None


def list_products(
    session: Session, principal: Principal, f: ProductFilter, limit: int, cursor: str | None
) -> Doc:
    where: list[ColumnElement[bool]] = []
    if principal.role is Role.BUYER:
        where.append(Product.active.is_(True))
    if f.active is not None:
        where.append(Product.active.is_(f.active))
    if f.q:
        where.append(or_(Product.sku.icontains(f.q, autoescape=True), Product.name.icontains(f.q, autoescape=True)))
    if f.tax_class:
        where.append(Product.tax_class == f.tax_class)
    return list_(session, PRODUCT, where, limit, cursor)


def list_channels(
    session: Session, active: bool | None, kind: str | None, limit: int, cursor: str | None
) -> Doc:
    where: list[ColumnElement[bool]] = []
    if active is not None:
        where.append(SalesChannel.active.is_(active))
    if kind:
        where.append(SalesChannel.kind == kind)
    return list_(session, CHANNEL, where, limit, cursor)


@dataclass(frozen=True, slots=True)
class LocationFilter:
    kind: str | None = None
    country: str | None = None
    active: bool | None = None


def list_locations(session: Session, f: LocationFilter, limit: int, cursor: str | None) -> Doc:
    where: list[ColumnElement[bool]] = []
    if f.kind:
        where.append(Location.kind == f.kind)
    if f.country:
        where.append(Location.country == f.country.upper())
    if f.active is not None:
        where.append(Location.active.is_(f.active))
    return list_(session, LOCATION, where, limit, cursor)


def list_legal_entities(session: Session, active: bool | None, limit: int, cursor: str | None) -> Doc:
    where: list[ColumnElement[bool]] = []
    if active is not None:
        where.append(LegalEntity.active.is_(active))
    return list_(session, LEGAL_ENTITY, where, limit, cursor)


def seller_of_channel(session: Session, channel_code: str) -> LegalEntity | None:
    """The legal entity selling through a channel: the channel's own, else the default one."""
    named = select(SalesChannel.legal_entity).where(SalesChannel.code == channel_code).scalar_subquery()
    rows = session.scalars(
        select(LegalEntity).where(
            LegalEntity.active.is_(True), or_(LegalEntity.code == named, LegalEntity.is_default.is_(True))
        )
    ).all()
    return min(rows, key=lambda e: e.is_default, default=None)  # the channel's own comes first
