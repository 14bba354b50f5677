"""Refusals of order files (RFC 9457 problem types)."""

from __future__ import annotations

from ordino.kernel.errors import BadRequest, Problem


class UnsupportedFile(Problem):
    """The file is neither CSV nor XLSX, or its content does not match its declared type."""

    status = 415
    slug = "unsupported-file"
    title = "Unsupported file"


class FileTooLarge(Problem):
    """The upload is larger than the limit."""

    status = 413
    slug = "file-too-large"
    title = "File too large"


class MalformedMultipart(BadRequest):
    """The body is not valid `multipart/form-data`."""

    slug = "malformed-multipart"
