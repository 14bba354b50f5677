"""Database errors carry no bound values: not in their messages, not in the logs."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.exc import IntegrityError

from ordino.kernel import clock
from ordino.kernel.auth import ApiKey
from ordino.kernel.db import Database, describe_error, redact_database_errors

PERSON = "Erika Mustermann"
DIGEST = "d1" * 32


def _duplicate_key(db: Database) -> IntegrityError:
    """An IntegrityError whose statement binds a person's name and a key digest."""
    def add(name: str) -> None:
        db.transaction(lambda s: s.add(ApiKey(
            name=name, role="agent", digest=DIGEST, digest_scheme="sha256", hint="", created_at=clock.now())))

    add("first")
    with pytest.raises(IntegrityError) as caught:
        add(PERSON)
    return caught.value


def test_a_database_error_message_does_not_show_the_bound_parameters(db: Database) -> None:
    # when an insert binding a name fails on a unique digest
    exc = _duplicate_key(db)
    # then neither the message nor the statement shown with it holds the name
    assert "INSERT INTO api_key" in str(exc)
    assert PERSON not in str(exc)
    assert "parameters hidden" in str(exc)


def test_a_logged_database_error_shows_neither_parameters_nor_the_values_quoted_by_the_database(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    # given a logger whose database errors are redacted, and a failed insert
    exc = _duplicate_key(db)
    redact_database_errors("ordino.test")
    # when it is logged with its traceback
    with caplog.at_level(logging.ERROR, logger="ordino.test"):
        logging.getLogger("ordino.test").error("handler failed", exc_info=exc)
    # then the log names the error and the constraint, with no value (PostgreSQL's DETAIL quotes the digest)
    text = caplog.text
    assert PERSON not in text
    assert DIGEST not in text
    assert "Traceback (most recent call last)" in text
    if db.dialect == "postgresql":
        assert describe_error(exc) == "IntegrityError (UniqueViolation, SQLSTATE 23505, constraint uq_api_key_digest)"
    else:
        assert describe_error(exc) == "IntegrityError (IntegrityError: UNIQUE constraint failed: api_key.digest)"
    assert describe_error(exc) in text


def test_other_errors_are_described_by_their_message() -> None:
    assert describe_error(RuntimeError("carrier API down")) == "RuntimeError: carrier API down"
