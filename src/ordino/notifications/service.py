"""Recording outgoing messages with the event's handler, sending them after it commits, and the
contacts' preferences.

A handler records one `notification_message` per recipient in its own transaction (Message-ID
unique, derived from the event, so a redelivered event finds its rows and records nothing more),
then returns `AfterCommit`: each pending message is sent and marked sent with the server's answer
in a transaction of its own, and the last transaction writes the handler's receipt. A crash
between sending and marking sends the message again with the same Message-ID. Without an SMTP host
the messages are recorded as `not_sent`, and the handler completes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ordino.accounts.models import Account, Contact
from ordino.accounts.tree import ancestors
from ordino.kernel import clock
from ordino.kernel.db import Database
from ordino.kernel.errors import FieldError, NotFound, ValidationFailed
from ordino.kernel.ids import new_id
from ordino.kernel.worker import AfterCommit, Event
from ordino.notifications import domain, mail
from ordino.notifications.domain import ContactInfo, Kind
from ordino.notifications.mail import Attachment, Draft, MailConfig
from ordino.notifications.models import NotificationMessage, NotificationPreference
from ordino.notifications.rendering import render

MSG = cast(Table, NotificationMessage.__table__)
PREF = cast(Table, NotificationPreference.__table__)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to write: to whom, in which locale, with what the template needs."""

    recipient: str
    locale: str | None
    context: dict[str, Any]
    name: str = ""
    contact_id: uuid.UUID | None = None
    account_id: uuid.UUID | None = None
    attachment: Attachment | None = field(default=None, repr=False)


# ----------------------------------------------------------------------------------------------
# Recording and sending


def recorded(session: Session, event_id: uuid.UUID, kind: Kind) -> bool:
    return session.execute(
        select(MSG.c.id).where(MSG.c.event_id == event_id, MSG.c.kind == kind.value).limit(1)
    ).first() is not None


def record(session: Session, event: Event, kind: Kind, config: MailConfig, outgoing: Sequence[Outgoing]) -> int:
    """Write the messages (pending, or not_sent without an SMTP host); returns how many are new."""
    now = clock.now()
    written = 0
    ins = pg_insert(MSG) if session.get_bind().dialect.name == "postgresql" else sqlite_insert(MSG)
    for out in outgoing:
        language = domain.language(out.locale)
        mid = domain.message_id(event.id, kind.value, out.recipient)
        rendered = render(kind.value, language, {**out.context, "name": out.name, "language": language})
        raw = mail.build(Draft(config.sender, out.recipient, rendered.subject, rendered.text, rendered.html, mid,
                               now, language, out.attachment))
        row = {
            "id": new_id(), "message_id": mid, "event_id": event.id, "kind": kind.value, "recipient": out.recipient,
            "contact_id": out.contact_id, "account_id": out.account_id, "language": language,
            "subject": rendered.subject[:300], "attachment": out.attachment.filename if out.attachment else None,
            "raw": raw, "status": "pending" if config.sends else "not_sent",
            "receipt": None if config.sends else mail.NOT_CONFIGURED, "created_at": now, "sent_at": None,
        }
        inserted = session.execute(ins.values(row).on_conflict_do_nothing(index_elements=["message_id"]))
        written += inserted.rowcount  # type: ignore[attr-defined]
    return written


def pending(session: Session, event_id: uuid.UUID, kind: Kind) -> list[Any]:
    return list(session.execute(
        select(MSG.c.id, MSG.c.recipient, MSG.c.raw)
        .where(MSG.c.event_id == event_id, MSG.c.kind == kind.value, MSG.c.status == "pending")
        .order_by(MSG.c.message_id)
    ).all())


def mark_sent(session: Session, message_row: uuid.UUID, receipt: str) -> None:
    session.execute(update(MSG).where(MSG.c.id == message_row, MSG.c.status == "pending")
                    .values(status="sent", receipt=receipt[:500], sent_at=clock.now()))


def _marker(message_row: uuid.UUID, receipt: str) -> Callable[[Session], None]:
    return lambda session: mark_sent(session, message_row, receipt)


def deliver_later(config: MailConfig, event_id: uuid.UUID, kind: Kind) -> AfterCommit:
    """Send the event's pending messages of `kind` once the handler's transaction has committed."""
    def run(db: Database, last: Callable[[Session], None]) -> None:
        with db.read() as session:
            rows = pending(session, event_id, kind)
        for row in rows:
            receipt = mail.send(config, row.recipient, row.raw)  # raises: the event is retried
            db.transaction(_marker(row.id, receipt))
        db.transaction(last)

    return AfterCommit(run)


def handle(session: Session, event: Event, kind: Kind, config: MailConfig,
           compose: Callable[[Session, Event, MailConfig], Sequence[Outgoing]]) -> AfterCommit | None:
    """What every notification handler does: compose and record once, then send what is pending."""
    if not recorded(session, event.id, kind):
        record(session, event, kind, config, compose(session, event, config))
    if not config.sends or not pending(session, event.id, kind):
        return None
    return deliver_later(config, event.id, kind)


# ----------------------------------------------------------------------------------------------
# Who receives what


def _contacts(session: Session, account_ids: Sequence[uuid.UUID]) -> list[tuple[ContactInfo, uuid.UUID]]:
    rows = session.execute(
        select(Contact.id, Contact.email, Contact.roles, Contact.first_name, Contact.last_name, Contact.account_id)
        .where(Contact.account_id.in_(account_ids)).order_by(Contact.created_at, Contact.id)
    ).all()
    return [(ContactInfo(r.id, r.email, tuple(r.roles or ()), r.first_name, r.last_name), r.account_id) for r in rows]


def preferences_of(session: Session, contact_ids: Sequence[uuid.UUID]) -> dict[tuple[uuid.UUID, str], bool]:
    if not contact_ids:
        return {}
    rows = session.execute(select(PREF.c.contact_id, PREF.c.kind, PREF.c.enabled)
                           .where(PREF.c.contact_id.in_(contact_ids))).all()
    return {(r.contact_id, r.kind): bool(r.enabled) for r in rows}


@dataclass(frozen=True, slots=True)
class AccountInfo:
    id: uuid.UUID
    number: str
    name: str
    locale: str | None


def account_info(session: Session, account_id: uuid.UUID) -> AccountInfo:
    row = session.execute(select(Account.id, Account.number, Account.name, Account.locale)
                          .where(Account.id == account_id)).one()
    return AccountInfo(row.id, row.number, row.name, row.locale)


def to_contacts(
    session: Session, kind: Kind, account: AccountInfo, context: dict[str, Any], *,
    placer: uuid.UUID | None = None, attachment: Attachment | None = None, with_ancestors: bool = False,
) -> list[Outgoing]:
    """The messages of `kind` to the account's contacts that the rule and their preferences choose
    (approvals: the contacts of the account and of its ancestors, never the one who placed the order)."""
    ids = [account.id]
    if with_ancestors:
        chain = ancestors(account.id)
        ids = list(session.execute(select(chain.c.id)).scalars())
    found = _contacts(session, ids)
    contacts = [c for c, _ in found]
    chosen = domain.recipients(kind, contacts, preferences_of(session, [c.id for c in contacts]), placer=placer,
                               excluded=(placer,) if with_ancestors and placer else ())
    home = {c.id: a for c, a in found}
    return [Outgoing(cast(str, c.email), account.locale, context, f"{c.first_name} {c.last_name}".strip(), c.id,
                     home[c.id], attachment) for c in chosen]


# ----------------------------------------------------------------------------------------------
# Preferences


def set_preference(session: Session, contact_id: uuid.UUID, kind: str, enabled: bool | None) -> None:
    """A contact's choice for `kind`: True receives it, False does not, None returns to the default rule."""
    if kind not in domain.CONTACT_KINDS:
        raise ValidationFailed([FieldError("kind", f"is not one of {', '.join(domain.CONTACT_KINDS)}")])
    if session.execute(select(Contact.id).where(Contact.id == contact_id)).first() is None:
        raise NotFound("contact not found")
    session.execute(PREF.delete().where(PREF.c.contact_id == contact_id, PREF.c.kind == kind))
    if enabled is not None:
        session.execute(PREF.insert().values(contact_id=contact_id, kind=kind, enabled=enabled,
                                             updated_at=clock.now()))


def set_preferences(session: Session, contact_id: uuid.UUID, kinds: Mapping[str, bool | None]) -> None:
    """Several choices at once; every kind is checked before anything is written (422 naming it)."""
    unknown = [FieldError(f"kinds.{k}", f"is not one of {', '.join(domain.CONTACT_KINDS)}")
               for k in kinds if k not in domain.CONTACT_KINDS]
    if unknown:
        raise ValidationFailed(unknown)
    for kind, enabled in sorted(kinds.items()):
        set_preference(session, contact_id, kind, enabled)


def notifications_doc(session: Session, contact_id: uuid.UUID) -> dict[str, Any]:
    received = contact_kinds(session, contact_id)
    prefs = preferences_of(session, [contact_id])
    return {"contact_id": str(contact_id), "kinds": {
        k.value: {"receives": received[k.value], "preference": prefs.get((contact_id, k.value))}
        for k in domain.CONTACT_KINDS}}


def contact_kinds(session: Session, contact_id: uuid.UUID) -> dict[str, bool]:
    """Every contact kind and whether the contact receives it when it is sent to their account
    (the default rule with their preferences; `placer` kinds count as received)."""
    row = session.execute(select(Contact.id, Contact.email, Contact.roles, Contact.account_id)
                          .where(Contact.id == contact_id)).first()
    if row is None:
        raise NotFound("contact not found")
    me = ContactInfo(row.id, row.email or "-", tuple(row.roles or ()))
    prefs = preferences_of(session, [contact_id])
    return {k.value: bool(domain.recipients(k, [me], prefs, placer=contact_id)) for k in domain.CONTACT_KINDS}


# ----------------------------------------------------------------------------------------------
# Erasure (privacy)

ERASED = "erased"


def erase_contact(session: Session, contact_id: uuid.UUID) -> int:
    """Forget what the messages to an erased contact held of them: address, body and attachment
    (the kind, subject, status and times stay); one still pending is not sent. Returns how many."""
    session.execute(update(MSG).where(MSG.c.contact_id == contact_id, MSG.c.status == "pending")
                    .values(status="not_sent", receipt="not sent: the contact was erased"))
    result = session.execute(update(MSG).where(MSG.c.contact_id == contact_id, MSG.c.recipient != ERASED)
                             .values(recipient=ERASED, raw=b"", attachment=None))
    session.execute(PREF.delete().where(PREF.c.contact_id == contact_id))
    return int(result.rowcount)  # type: ignore[attr-defined]
