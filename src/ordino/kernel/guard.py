"""What every request passes before it is routed (pure ASGI, nothing buffered):

- a NUL character in the path or the query string: 422 naming the parameter (PostgreSQL cannot
  store or compare text holding NUL); a NUL in a path that no route matches: 404;
- a body past the limit: 413, from `Content-Length` before a byte is read, or, for a body sent
  without it (chunked), as soon as the bytes read pass the limit. Uploads have their own limits;
- an `/api/` request with a body that is not JSON: 415. Uploads check their own media types;
- an unexpected error: a problem (500), logged once, and the connection stays open. (Starlette's
  own last resort answers too, but raises the error again, and the server then drops the
  keep-alive connection.)

Bodies themselves (NUL in strings, NaN) are checked where they are parsed: `kernel.endpoint`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import parse_qsl

from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ordino.kernel.errors import (
    NUL_MESSAGE,
    BodyTooLarge,
    FieldError,
    HttpError,
    InternalError,
    Problem,
    UnsupportedMediaType,
    ValidationFailed,
)
from ordino.kernel.problem_handlers import UNEXPECTED, log, problem_response

_JSON = b"application/json"


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == _JSON or (media.startswith(b"application/") and media.endswith(b"+json"))


class RequestGuard:
    """See the module. `routes` name path parameters in refusals; `uploads` maps a path to its
    own body limit (and exempts it from the JSON media type); a path may be a route template
    ("/api/v1/legal-entities/{ref}/logo")."""

    def __init__(self, app: ASGIApp, *, routes: Sequence[BaseRoute], max_body: int,
                 uploads: Mapping[str, int]) -> None:
        self.app = app
        self.routes = routes
        self.max_body = max_body
        self.uploads = {path: limit for path, limit in uploads.items() if "{" not in path}
        self.upload_templates = [(compile_path(path)[0], limit) for path, limit in uploads.items() if "{" in path]

    def _upload_limit(self, path: str) -> int | None:
        limit = self.uploads.get(path)
        if limit is None:
            limit = next((size for pattern, size in self.upload_templates if pattern.match(path)), None)
        return limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        upload = self._upload_limit(path)
        limit = self.max_body if upload is None else upload
        refusal, capped = self._refusal(scope, path, limit, upload is not None)
        if refusal is not None:
            await problem_response(refusal, path)(scope, receive, send)
            return
        if capped:
            receive = _capped(receive, limit)
        started = False

        async def send_started(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, receive, send_started)
        except Exception as exc:
            if started:
                raise  # the answer is cut short: the server must close the connection
            log.error("unexpected error: %s %s", scope["method"], path, exc_info=exc)
            await problem_response(InternalError(UNEXPECTED), path)(scope, receive, send)

    def _refusal(self, scope: Scope, path: str, limit: int, upload: bool) -> tuple[Problem | None, bool]:
        """The problem that refuses the request, if any; and whether its body (chunked) must be
        counted as it is read."""
        query: bytes = scope["query_string"]
        if "\x00" in path:
            return self._nul_in_path(path), False
        if b"%00" in query or b"\x00" in query:
            refusal = _nul_in_query(query)
            if refusal is not None:
                return refusal, False
        length: bytes | None = None
        content_type = b""
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"content-type":
                content_type = value
            elif name == b"transfer-encoding":
                chunked = True
        size = int(length) if length is not None and length.isdigit() else 0
        if size > limit:
            return BodyTooLarge(f"the request body is larger than {limit} bytes"), False
        streamed = chunked and length is None
        if (size > 0 or streamed) and path.startswith("/api/") and not upload and not _is_json(content_type):
            problem = UnsupportedMediaType(
                "this route takes a JSON body", [FieldError("Content-Type", "send application/json")])
            return problem, False
        return None, streamed

    def _nul_in_path(self, path: str) -> Problem:
        for route in iter_route_contexts(self.routes):  # rare: no need to be quick
            template = getattr(route, "path_format", None)
            match = compile_path(template)[0].match(path) if template else None
            names = [name for name, value in (match.groupdict() if match else {}).items() if "\x00" in value]
            if names:
                return ValidationFailed([FieldError(name, NUL_MESSAGE) for name in names])
        return HttpError(404, "Not Found")


def _nul_in_query(query: bytes) -> Problem | None:
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    names = list(dict.fromkeys(name for name, value in pairs if "\x00" in name or "\x00" in value))
    if not names:
        return None
    return ValidationFailed([FieldError(name.replace("\x00", "\\u0000"), NUL_MESSAGE) for name in names])


def _capped(receive: Receive, limit: int) -> Receive:
    """`receive`, refusing the body (413) once it passes `limit` bytes; the app's problem handler
    answers."""
    received = 0

    async def capped() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(f"the request body is larger than {limit} bytes")
        return message

    return capped
