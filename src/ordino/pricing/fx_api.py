"""Dated FX rates: record, list and convert.

- `POST /fx-rates` records one or many rates (an upsert by base, quote, date and source) under
  the Idempotency-Key. Finance, integrations and admins write; every principal reads.
- `GET /fx-rates?on=…` answers the rates in force on a day (the latest on or before it), one per
  pair; without `on`, the recorded rates, newest effective date first.
- `GET /fx-rates/convert` converts an amount at the rates in force (`pricing.fx` states the rule);
  the target defaults to the corporate currency (`ORDINO_CORPORATE_CURRENCY`).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BeforeValidator, Field, StringConstraints, WithJsonSchema
from sqlalchemy.orm import Session
from starlette.responses import Response

from ordino.kernel import clock
from ordino.kernel.auth import Principal, Role, require
from ordino.kernel.endpoint import body_schema, parse_body, read, read_json, run_command
from ordino.kernel.errors import FieldError, ValidationFailed
from ordino.kernel.http import dumps, json_response
from ordino.kernel.money import Money, MoneyError, is_currency
from ordino.kernel.openapi import documented
from ordino.kernel.schema import CurrencyCode, Strict
from ordino.pricing import fx, fx_service
from ordino.pricing.fx import Rate
from ordino.pricing.schemas import ConversionOut, FxRatesOut, FxRatesRecordedOut

router = APIRouter(prefix="/api/v1", tags=["currencies"])

Reader = Annotated[Principal, Depends(require())]
Writer = Annotated[Principal, Depends(require(Role.ADMIN, Role.FINANCE, Role.INTEGRATION))]
Limit = Annotated[int, Query(ge=1, le=200)]
MAX_RATES = 1_000


def _rate(value: Any) -> Decimal:
    if not isinstance(value, str):
        raise ValueError('send rates as decimal strings such as "1.0823", not JSON numbers')
    try:
        return fx.parse_rate(value)
    except fx.RateError as exc:
        raise ValueError(str(exc)) from None


RateText = Annotated[
    Decimal,
    BeforeValidator(_rate),
    WithJsonSchema({"type": "string", "pattern": r"^\d{1,12}(\.\d{1,18})?$", "examples": ["1.0823"]}),
]
Source = Annotated[str, StringConstraints(pattern=fx.SOURCE_PATTERN)]


class FxRateIn(Strict):
    base: CurrencyCode
    quote: CurrencyCode
    rate: RateText = Field(description="Units of `quote` that one unit of `base` buys")
    effective_on: Annotated[date, Field(strict=True)]
    source: Source = "manual"


class FxRatesIn(Strict):
    rates: list[FxRateIn] = Field(min_length=1, max_length=MAX_RATES)


def _currency(name: str, code: str | None, errors: list[FieldError]) -> str | None:
    if code is None:
        return None
    code = code.strip().upper()
    if not is_currency(code):
        errors.append(FieldError(name, f"'{code}' is not an active ISO 4217 currency"))
    return code


def _source(source: str | None, errors: list[FieldError]) -> None:
    if source is not None:
        try:
            fx.check_source(source)
        except fx.RateError as exc:
            errors.append(FieldError("source", str(exc)))


@router.post(
    "/fx-rates",
    summary="Record FX rates",
    description=(
        "One or many rates. A rate of a new (base, quote, effective_on, source) is inserted; one with another "
        "rate corrects the stored one; an equal one changes nothing. Answers the counts and the rates as stored."
    ),
    openapi_extra=body_schema(FxRatesIn),
    responses=documented(FxRatesRecordedOut),
)
async def record_fx_rates(request: Request, principal: Writer) -> Response:
    body = await request.body()
    data = parse_body(FxRatesIn, body)
    rates = [Rate(r.base, r.quote, r.rate, r.effective_on, r.source) for r in data.rates]
    return await run_command(request, principal, lambda s: (200, dumps(fx_service.record_rates(s, rates))), body)


@router.get(
    "/fx-rates",
    summary="FX rates: in force on a day, or as recorded",
    description=(
        "With `on`: for each pair that matches, the rate in force that day (the latest on or before it; of "
        "`source`, or else of any source, the newest date first). Without `on`: the recorded rates, newest "
        "effective date first, with a cursor."
    ),
    responses=documented(FxRatesOut),
)
async def list_fx_rates(
    request: Request,
    principal: Reader,
    base: str | None = None,
    quote: str | None = None,
    source: str | None = None,
    on: Annotated[date | None, Query(description="The rates in force on this day")] = None,
    from_: Annotated[date | None, Query(alias="from", description="Effective on or after")] = None,
    to: Annotated[date | None, Query(description="Effective on or before")] = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Response:
    errors: list[FieldError] = []
    base, quote = _currency("base", base, errors), _currency("quote", quote, errors)
    _source(source, errors)
    if on is not None and (from_ is not None or to is not None or cursor is not None):
        errors.append(FieldError("on", "cannot be combined with from, to or cursor"))
    if errors:
        raise ValidationFailed(errors)
    if on is not None:
        day = on
        return await read_json(
            request, lambda session: {"on": day, "items": fx_service.rates_in_force(session, day, base, quote, source)}
        )
    f = fx_service.RateFilter(base, quote, source, from_, to)
    return await read_json(request, lambda session: fx_service.list_rates(session, f, limit, cursor))


@router.get(
    "/fx-rates/convert",
    summary="Convert an amount at the rates in force on a day",
    description=(
        "The direct rate, the inverse of the opposite one, or a cross rate through the corporate currency or "
        "another base quoting both; exact until one final rounding, half up, to the target currency's minor "
        "unit. `to` defaults to the corporate currency, `on` to today."
    ),
    responses=documented(ConversionOut, problems={422: "Invalid input, or no rate in force for the pair that day"}),
)
async def convert(
    request: Request,
    principal: Reader,
    amount: Annotated[str, Query(description='A decimal string in major units, e.g. "12.34"')],
    from_: Annotated[str, Query(alias="from", description="The currency of the amount")],
    to: str | None = None,
    on: date | None = None,
    source: str | None = None,
) -> Response:
    corporate: str = request.app.state.settings.corporate_currency
    errors: list[FieldError] = []
    source_code = _currency("from", from_, errors)
    target = _currency("to", to or corporate, errors)
    _source(source, errors)
    money = None
    if source_code is not None and is_currency(source_code):
        try:
            money = Money.of(amount.strip(), source_code)
        except MoneyError as exc:
            errors.append(FieldError("amount", str(exc)))
    if errors:
        raise ValidationFailed(errors)
    assert money is not None and target is not None
    day = on or clock.now().date()

    def convert_at(session: Session) -> fx.Conversion:
        return fx_service.convert(session, money, target, day, corporate=corporate, rate_source=source)

    conversion = await read(request, convert_at)
    return json_response(fx_service.conversion_doc(conversion, day))
