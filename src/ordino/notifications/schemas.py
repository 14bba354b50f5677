"""The bodies of the notification preference endpoints."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ordino.kernel.schema import Strict


class KindSetting(BaseModel):
    receives: bool = Field(description=(
        "Whether the contact receives this kind (for the kinds that go to whoever placed the order or asked "
        "for the quote: when it was this contact)"))
    preference: bool | None = Field(description="The contact's own choice; null: the default rule decides")


class NotificationsOut(BaseModel):
    contact_id: str
    kinds: dict[str, KindSetting] = Field(description=(
        "By message kind: order_confirmation, approval_requested, shipment, invoice, return_credited, quote_sent"))


class NotificationsIn(Strict):
    kinds: dict[str, bool | None] = Field(description=(
        "Message kind → true (receive it), false (never), null (back to the default rule). Kinds not named "
        "keep their setting."), max_length=20)
