"""Tax profile use cases, and the reads order pricing needs to build a `TaxContext`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from ordino.accounts.models import Account
from ordino.audit import service as audit
from ordino.kernel import clock
from ordino.kernel.auth import Principal
from ordino.kernel.errors import NotFound
from ordino.kernel.http import check_if_match
from ordino.kernel.ids import new_id
from ordino.kernel.outbox import emit
from ordino.tax.domain import ExemptionCertificate
from ordino.tax.models import AccountTaxProfile, TaxExemptionCertificate
from ordino.tax.schemas import TaxProfileIn


@dataclass(frozen=True, slots=True)
class BuyerTax:
    """What the engine needs to know about a buyer."""

    business: bool
    vat_id: str | None
    certificates: tuple[ExemptionCertificate, ...]

    def certificate_for(self, country: str, region: str | None, on: date) -> ExemptionCertificate | None:
        """The certificate covering the ship-to: a valid one first, else an expired one, so that
        the engine can say the certificate expired instead of silently ignoring it."""
        covering = [c for c in self.certificates if c.covers(country, region)]
        valid = [c for c in covering if c.valid_on(on)]
        pool = valid or covering
        return max(pool, key=lambda c: (c.expires_on is None, c.expires_on or date.min), default=None)


def _account(session: Session, ref: str, principal: Principal | None) -> Any:
    """The account by number; one a scoped key does not see is not found, as an unknown one."""
    row = session.execute(select(Account.id, Account.number, Account.tax_id).where(Account.number == ref)).first()
    if row is None or (principal is not None and not principal.sees_account(row.id)):
        raise NotFound(f"no account '{ref}'")
    return row


def _certificates(session: Session, account_id: uuid.UUID) -> list[TaxExemptionCertificate]:
    return list(
        session.scalars(
            select(TaxExemptionCertificate)
            .where(TaxExemptionCertificate.account_id == account_id)
            .order_by(TaxExemptionCertificate.number)
        )
    )


def _document(
    account_number: str, profile: AccountTaxProfile | None, certs: list[TaxExemptionCertificate]
) -> dict[str, Any]:
    return {
        "account": account_number,
        "business": True if profile is None else profile.business,
        "certificates": [
            {"number": c.number, "regions": list(c.regions), "reason": c.reason, "issued_on": c.issued_on,
             "expires_on": c.expires_on}
            for c in certs
        ],
        "version": 0 if profile is None else profile.version,
    }


def get_profile(session: Session, account_ref: str, principal: Principal | None = None) -> dict[str, Any]:
    account = _account(session, account_ref, principal)
    return _document(account.number, session.get(AccountTaxProfile, account.id), _certificates(session, account.id))


def _audited(doc: dict[str, Any]) -> dict[str, Any]:
    return {"business": doc["business"], "certificates": doc["certificates"]}


def put_profile(
    session: Session, account_ref: str, data: TaxProfileIn, if_match: str | None, *, actor: Principal | str
) -> dict[str, Any]:
    """Replace the account's tax profile. The first one needs no If-Match; a change of an existing
    profile does (its version), so that two agents cannot overwrite each other's certificates."""
    account = _account(session, account_ref, actor if isinstance(actor, Principal) else None)
    profile = session.get(AccountTaxProfile, account.id, with_for_update=True)
    before = _document(account.number, profile, _certificates(session, account.id))
    if profile is not None or if_match is not None:
        check_if_match(if_match, 0 if profile is None else profile.version)
    now = clock.now()
    if profile is None:
        profile = AccountTaxProfile(account_id=account.id, business=data.business, version=1, updated_at=now)
        session.add(profile)
    else:
        profile.business, profile.version, profile.updated_at = data.business, profile.version + 1, now
    session.flush()
    session.execute(delete(TaxExemptionCertificate).where(TaxExemptionCertificate.account_id == account.id))
    if data.certificates:
        session.execute(
            insert(TaxExemptionCertificate),
            [
                {"id": new_id(), "account_id": account.id, **c.model_dump(), "created_at": now}
                for c in data.certificates
            ],
        )
    doc = _document(account.number, profile, _certificates(session, account.id))
    emit(session, "account.tax_profile_changed", f"account/{account.id}", {
        "account": account.number, "business": data.business,
        "certificates": [c.number for c in data.certificates],
    })
    audit.record(session, actor=actor, action=audit.Action.TAX_PROFILE_CHANGED,
                 subject=audit.Subject("tax_profile", account.id, account.id),
                 before=_audited(before), after=_audited(doc))
    return doc


def buyer_tax(session: Session, account_id: uuid.UUID) -> BuyerTax:
    vat_id = session.execute(select(Account.tax_id).where(Account.id == account_id)).scalar_one_or_none()
    business = session.execute(
        select(AccountTaxProfile.business).where(AccountTaxProfile.account_id == account_id)
    ).scalar_one_or_none()
    certificates = tuple(
        ExemptionCertificate(c.number, frozenset(c.regions), c.expires_on) for c in _certificates(session, account_id)
    )
    return BuyerTax(True if business is None else business, vat_id, certificates)
