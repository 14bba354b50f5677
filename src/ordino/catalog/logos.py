"""A legal entity's logo, printed at the top of its invoices: a PNG or JPEG of at most 1 MiB.

An image is taken only if Pillow (the library fpdf2 prints images with) decodes it as the type
it is sent as; its size in pixels is bounded too, so a small file cannot unpack into a huge one.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image
from sqlalchemy.orm import Session

from ordino.catalog.models import LegalEntity
from ordino.catalog.service import LEGAL_ENTITY, _emit, _find
from ordino.kernel import clock
from ordino.kernel.errors import FieldError, ValidationFailed

MEDIA_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG"}  # media type → Pillow's format name
MAX_LOGO_BYTES = 1024 * 1024
MAX_LOGO_PIXELS = 4000  # per side


def check_logo(data: bytes, media_type: str) -> None:
    """Refuse (422) an image that is empty, not of its media type, does not decode, or is too large."""
    kind = MEDIA_TYPES[media_type]
    if not data:
        raise ValidationFailed([FieldError("body", f"is empty: send the {kind} image")])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                found, (width, height) = image.format, image.size
                if found == kind and max(width, height) <= MAX_LOGO_PIXELS:
                    image.load()  # the whole image decodes, not only its header
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationFailed([FieldError("body", f"is not a {kind} image that can be decoded")]) from None
    if found != kind:
        raise ValidationFailed([FieldError("body", f"is a {found} image, but Content-Type says {media_type}")])
    if max(width, height) > MAX_LOGO_PIXELS:
        raise ValidationFailed([FieldError(
            "body", f"is {width} × {height} pixels; at most {MAX_LOGO_PIXELS} pixels a side")])


def set_logo(session: Session, ref: str, data: bytes | None, media_type: str | None) -> None:
    """Set (or with None, remove) the logo of a legal entity: a new version of the entity."""
    entity: LegalEntity = _find(session, LEGAL_ENTITY, ref, lock=True)
    if entity.logo == data and entity.logo_media_type == media_type:
        return
    entity.logo, entity.logo_media_type = data, media_type
    entity.version += 1
    entity.updated_at = clock.now()
    session.flush()
    _emit(session, LEGAL_ENTITY, "updated", LEGAL_ENTITY.doc(entity))
