"""The fan-out handler: the composition root registers it for every event type (key "*")."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ordino.kernel.worker import Event, Registration
from ordino.webhooks import service

FAN_OUT = "webhooks.fan_out"


def on_event(session: Session, event: Event) -> None:
    service.fan_out(session, event)


REGISTRATION = Registration(FAN_OUT, on_event)
