"""Who may read a /v2/hls/ resource, and streaming its file (from disk or the bucket) with Range and caching headers.

A request proves its tenant with a signature of its own path (`?tid=&exp=&sig=`, see signing.py) or a JWT
(`?token=` or an Authorization header); either way it becomes the gate's TenantPrincipal. Every lookup starts
from that principal, so another tenant's camera, segment or snapshot simply does not exist for it (404, never 403).
Missing, bad or expired credentials are a 401; a valid token without the needed scope is a 403.
"""

import os
import re
from collections.abc import AsyncIterator, Callable, Iterable
from functools import wraps
from pathlib import Path
from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotModified, JsonResponse
from django.utils.http import parse_etags
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from rest_framework.exceptions import AuthenticationFailed

from tenants.auth import TenantJWTAuthentication, failure_message, principal_from_token
from tenants.gate import MissingScope, TenantPrincipal
from tenants.models import Tenant

from .signing import tenant_from_signature
from .storage import ObjectRead, StorageUnavailable, bucket

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
# A segment or event snapshot never changes once written: browsers may keep it for a year.
IMMUTABLE = "private, max-age=31536000, immutable"
NO_CACHE = "no-cache"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class MediaDenied(Exception):
    """The request's credentials do not allow it; carries the HTTP status and the API's error code."""

    def __init__(self, status: int, detail: str, code: str) -> None:
        super().__init__(detail)
        self.status, self.detail, self.code = status, detail, code


def principal_for(request: HttpRequest, scopes: Iterable[str]) -> TenantPrincipal:
    """Who may read this media: a valid signature's tenant (for this path only), else the token's principal,
    which must have one of `scopes`."""
    tenant_id = tenant_from_signature(request.path_info, request.GET)
    if tenant_id:
        # A signature vouches for a tenant id and this one path; no need to read the tenant's row.
        return TenantPrincipal(tenant=Tenant(pk=tenant_id), scopes=frozenset(scopes))
    raw_token = request.GET.get("token")
    try:
        if raw_token:
            principal = principal_from_token(raw_token)
        else:
            found = TenantJWTAuthentication().authenticate(request)  # the API's own header rules
            if found is None:
                if "sig" in request.GET:
                    raise MediaDenied(401, "The signature is invalid or has expired.", "bad_signature")
                raise MediaDenied(
                    401, "Send ?token=<jwt>, an Authorization header or a signed URL.", "not_authenticated"
                )
            principal = found[0]
    except AuthenticationFailed as exc:
        raise MediaDenied(401, failure_message(exc), "token_not_valid") from exc
    try:
        return principal.require(*scopes)
    except MissingScope as exc:
        raise MediaDenied(403, str(exc), "permission_denied") from exc


def media_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """GET/HEAD only; a MediaDenied or Http404 raised by the view becomes the API's JSON error shape."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except MediaDenied as exc:
            return JsonResponse({"detail": exc.detail, "code": exc.code}, status=exc.status)
        except Http404 as exc:  # another tenant's camera or file included: it does not exist for this one
            return JsonResponse({"detail": str(exc) or "Not found.", "code": "not_found"}, status=404)

    # Exempt from CSRF: these views change nothing, and a POST must meet require_safe's 405, not an HTML 403.
    return csrf_exempt(require_safe(wrapper))


class MediaFileResponse(FileResponse):
    block_size = 256 * 1024  # fewer, larger writes than Django's 4 KiB for multi-megabyte segments


async def _blocks(file, size: int) -> AsyncIterator[bytes]:
    while block := await sync_to_async(file.read, thread_sensitive=False)(size):
        yield block


def _file_response(request: HttpRequest, file, **kwargs) -> MediaFileResponse:
    response = MediaFileResponse(file, **kwargs)
    if isinstance(request, ASGIRequest):
        # Served by daphne, Django would read a file body into memory whole (StreamingHttpResponse.__aiter__
        # lists sync iterators); stream it block by block from a worker thread instead.
        response.streaming_content = _blocks(file, response.block_size)
    return response


class _FileSlice:
    """Reads at most `length` bytes of an open file from its current position: the body of a 206."""

    def __init__(self, file, length: int) -> None:
        self._file, self._left = file, length

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(self._left if size < 0 else min(size, self._left))
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._file.close()


def _requested_range(header: str) -> tuple[int | None, int | None] | None:
    """The (first, last) of a single `bytes=` range as written (no first: the last `last` bytes; no last: to the end);
    None for no range, a multi-range or another unit (RFC 9110 lets a server ignore those and send it all)."""
    match = _RANGE.match(header.strip())
    if not match or match.groups() == ("", ""):
        return None
    first, last = (int(bound) if bound else None for bound in match.groups())
    return first, last


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The (first, last) byte of a single `bytes=` range; None to send the whole file.

    A multi-range or another unit is ignored (RFC 9110 allows that); a range that is reversed or lies past
    the end raises ValueError (416).
    """
    requested = _requested_range(header)
    if requested is None:
        return None
    first, last = requested
    if first is None:  # suffix range: the last N bytes
        if last == 0 or size == 0:
            raise ValueError
        return max(0, size - last), size - 1
    if first >= size or (last is not None and last < first):
        raise ValueError
    return first, size - 1 if last is None else min(last, size - 1)


def _conditional_response(
    request: HttpRequest,
    size: int,
    etag: str,
    content_type: str,
    cache_control: str,
    body: Callable[[tuple[int, int] | None], Any],
    discard: Callable[[], None],
) -> HttpResponse:
    """The answer to a GET of `size` bytes of media whose version is `etag`, under the request's If-None-Match, Range
    and If-Range: a 304 or a 416 (after `discard()`), else a 200 or a 206 streaming the file-like `body(span)` (the
    span's bytes, or all of them for None)."""
    headers = {"ETag": etag, "Cache-Control": cache_control, "Accept-Ranges": "bytes"}
    if etag in parse_etags(request.headers.get("If-None-Match", "")):
        discard()
        return HttpResponseNotModified(headers=headers)
    wanted = request.headers.get("Range", "")
    if wanted and request.headers.get("If-Range", etag) != etag:
        wanted = ""  # the client's partial copy is of another version: send it all
    try:
        span = byte_range(wanted, size)
    except ValueError:
        discard()
        response = JsonResponse(
            {"detail": f"The range is not within the file's {size} bytes.", "code": "range_not_satisfiable"},
            status=416,
        )
        response["Content-Range"] = f"bytes */{size}"
        return response
    if span is None:
        headers["Content-Length"] = str(size)
        return _file_response(request, body(None), content_type=content_type, headers=headers)
    first, last = span
    headers.update({"Content-Length": str(last - first + 1), "Content-Range": f"bytes {first}-{last}/{size}"})
    return _file_response(request, body(span), status=206, content_type=content_type, headers=headers)


def serve_file(request: HttpRequest, path: Path, content_type: str, cache_control: str) -> HttpResponse:
    """Stream `path` (404 when it is not a file) with ETag/If-None-Match, a single Range and `cache_control`."""
    try:
        file = path.open("rb")
    except OSError as exc:  # missing, a folder, unreadable: nothing to serve
        raise Http404("No such file.") from exc
    stat = os.fstat(file.fileno())

    def body(span: tuple[int, int] | None) -> Any:
        if span is None:
            return file
        first, last = span
        file.seek(first)
        return _FileSlice(file, last - first + 1)

    etag = f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'
    return _conditional_response(request, stat.st_size, etag, content_type, cache_control, body, file.close)


def serve_object(request: HttpRequest, relative: str, content_type: str, cache_control: str) -> HttpResponse:
    """Stream the bucket's object of `relative` as serve_file streams a file. One GET carries the request's range to
    S3, and the object's size and ETag in its answer decide the response as a file's stat does; a 503 with
    Retry-After when the bucket cannot be reached."""
    store = bucket()
    try:
        try:
            read = store.get(relative, *(_requested_range(request.headers.get("Range", "")) or (None, None)))
        except ValueError:  # S3 found the range outside the object: its size, from a plain GET, goes in the 416
            read = store.get(relative)

        def body(span: tuple[int, int] | None) -> ObjectRead:
            if span is None and read.length < read.size:  # If-Range named another version: all of it, not the range
                read.close()
                return store.get(relative)
            return read

        return _conditional_response(request, read.size, read.etag, content_type, cache_control, body, read.close)
    except FileNotFoundError as exc:
        raise Http404("No such file.") from exc
    except StorageUnavailable:
        response = JsonResponse(
            {"detail": "The recordings' storage cannot be reached; try again shortly.", "code": "storage_unavailable"},
            status=503,
        )
        response["Retry-After"] = "2"
        return response
