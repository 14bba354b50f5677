"""A legal entity's logo through the API: PNG or JPEG as the body, checked by decoding it."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from ordino.catalog.models import LegalEntity
from ordino.invoicing.documents.rendering import _seller
from ordino.kernel.auth import Role
from tests import factories
from tests.conftest import api_key

LOGO = "/api/v1/legal-entities/ORDINO-DE/logo"


def image(kind: str, size: tuple[int, int] = (120, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 60, 200)).save(out, kind)
    return out.getvalue()


def stored(db) -> tuple[bytes | None, str | None, int]:  # type: ignore[no-untyped-def]
    with db.read() as s:
        entity = s.execute(select(LegalEntity).where(LegalEntity.code == "ORDINO-DE")).scalar_one()
        assert _seller(entity).logo == entity.logo  # what the invoice prints
        return entity.logo, entity.logo_media_type, entity.version


@pytest.mark.parametrize(("kind", "media_type"), [("PNG", "image/png"), ("JPEG", "image/jpeg")])
def test_a_logo_is_set_and_removed(db, client, admin, kind: str, media_type: str) -> None:  # type: ignore[no-untyped-def]
    # given a legal entity without a logo
    factories.legal_entity(db)
    data = image(kind)

    # when the admin puts an image
    r = client.put(LOGO, content=data, headers={**admin, "Content-Type": media_type})

    # then it is the entity's logo, in a new version of the entity
    assert (r.status_code, r.content) == (204, b"")
    assert stored(db) == (data, media_type, 2)

    # and deleting it leaves no logo; deleting again changes nothing
    assert client.delete(LOGO, headers=admin).status_code == 204
    assert stored(db) == (None, None, 3)
    assert client.delete(LOGO, headers=admin).status_code == 204
    assert stored(db) == (None, None, 3)


@pytest.mark.parametrize("content_type", ["image/gif", "text/plain", "application/json", None])
def test_other_media_types_are_refused(db, client, admin, content_type: str | None) -> None:  # type: ignore[no-untyped-def]
    factories.legal_entity(db)
    headers = {**admin, **({"Content-Type": content_type} if content_type else {})}
    r = client.put(LOGO, content=image("GIF"), headers=headers)
    assert r.status_code == 415, r.text
    assert r.json()["errors"] == [{"field": "Content-Type", "message": "send image/png or image/jpeg"}]
    assert stored(db) == (None, None, 1)


@pytest.mark.parametrize(("body", "media_type", "message"), [
    (b"not an image", "image/png", "is not a PNG image that can be decoded"),
    (image("PNG")[:60], "image/png", "is not a PNG image that can be decoded"),  # cut short: the header only
    (image("JPEG"), "image/png", "is a JPEG image, but Content-Type says image/png"),
    (b"", "image/jpeg", "is empty: send the JPEG image"),
    (image("PNG", (4001, 2)), "image/png", "is 4001 × 2 pixels; at most 4000 pixels a side"),
])
def test_an_image_that_does_not_decode_as_its_type_is_refused(  # type: ignore[no-untyped-def]
    db, client, admin, body: bytes, media_type: str, message: str
) -> None:
    factories.legal_entity(db)
    r = client.put(LOGO, content=body, headers={**admin, "Content-Type": media_type})
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [{"field": "body", "message": message}]
    assert stored(db) == (None, None, 1)


def test_a_logo_over_one_mib_is_refused(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.legal_entity(db)
    r = client.put(LOGO, content=image("PNG") + b"\0" * (1024 * 1024), headers={**admin, "Content-Type": "image/png"})
    assert r.status_code == 413, r.text
    assert stored(db) == (None, None, 1)


def test_only_an_admin_sets_a_logo_of_an_entity_that_exists(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    factories.legal_entity(db)
    png = {"Content-Type": "image/png"}
    for role in (Role.AGENT, Role.FINANCE):
        key = api_key(db, role)
        assert client.put(LOGO, content=image("PNG"), headers={**key, **png}).status_code == 403
        assert client.delete(LOGO, headers=key).status_code == 403
    r = client.put("/api/v1/legal-entities/NOPE/logo", content=image("PNG"), headers={**admin, **png})
    assert r.status_code == 404, r.text
    assert stored(db) == (None, None, 1)
