"""Liveness, readiness (PostgreSQL + Redis really answered) and Prometheus metrics behind basic auth."""

import base64
import math
import secrets
import time

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from django_prometheus.exports import ExportToDjangoView

from . import audit
from .throttles import MetricsAddressThrottle

READY_TIMEOUT_S = 2.0
# Set by the recordings purge (playback cannot be imported here), cleared by its next run that has room again.
HELD_ONLY_KEY = "health:recordings-held-only"
HELD_ONLY = (
    "recordings: free disk is under VMS_RECORDINGS_MIN_FREE_MB and what is left is held, exports, or recordings "
    "within each tenant's fair share"
)


# Set by the pipelines' reconcile (cameras cannot be imported here) to how many pipelines no node has room for;
# it expires if reconcile stops running, as its count would be stale.
WAITING_KEY = "health:pipelines-waiting"
WAITING_TTL_S = 30


def report_waiting(count: int) -> None:
    """Readiness warns while pipelines wait for capacity: operators must add a node or take cameras away."""
    if count:
        cache.set(WAITING_KEY, count, timeout=WAITING_TTL_S)
    else:
        cache.delete(WAITING_KEY)


# Set by each record node's media keeper (playback cannot be imported here): a hash of node -> "<count> <time>",
# read by readiness while fresh.
UPLOAD_BACKLOG_KEY = "health:upload-backlog"
UPLOAD_BACKLOG_FRESH_S = 30


def report_upload_backlog(node: str, count: int) -> None:
    """Readiness warns while recordings wait on a node's disk for the bucket."""
    key = f"{settings.VMS_REDIS_PREFIX}:{UPLOAD_BACKLOG_KEY}"
    with _redis() as client:
        if count:
            client.hset(key, node, f"{count} {time.time()}")
        else:
            client.hdel(key, node)


def _upload_backlog() -> list[str]:
    """`<node>: <count>` of the nodes whose last report (within UPLOAD_BACKLOG_FRESH_S) had objects waiting."""
    found = []
    with _redis() as client:
        backlog = client.hgetall(f"{settings.VMS_REDIS_PREFIX}:{UPLOAD_BACKLOG_KEY}")
    for node, value in sorted(backlog.items()):
        count, reported = value.decode().split()
        if time.time() - float(reported) < UPLOAD_BACKLOG_FRESH_S:
            found.append(f"{node.decode()}: {count}")
    return found


def report_held_only(held_only: bool) -> None:
    """Readiness warns while the disk floor cannot be kept: what is left is held, or no tenant is above its share."""
    if held_only:
        cache.set(HELD_ONLY_KEY, True, timeout=None)
    else:
        cache.delete(HELD_ONLY_KEY)


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_postgres() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _redis() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=READY_TIMEOUT_S, socket_connect_timeout=READY_TIMEOUT_S
    )


def _check_redis() -> None:
    with _redis() as client:
        client.ping()


@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    checks = {}
    for name, check in (("postgres", _check_postgres), ("redis", _check_redis)):
        try:
            check()
            checks[name] = "ok"
        except Exception as exc:  # any failure means "not ready"; the message says which and why
            checks[name] = f"error: {exc.__class__.__name__}: {exc}"
    failed = [name for name, result in checks.items() if result != "ok"]
    if failed:
        body = {"status": "unavailable", "failed": failed, "checks": checks}
        return JsonResponse(body, status=503)
    body = {"status": "ok", "checks": checks}
    warnings = []
    if cache.get(HELD_ONLY_KEY):  # still ready: recording goes on, but an operator must free disk or release holds
        warnings.append(HELD_ONLY)
    if waiting := cache.get(WAITING_KEY):
        warnings.append(f"pipelines: {waiting} waiting for capacity (no worker node has room)")
    if backlog := _upload_backlog():
        warnings.append(f"storage: upload backlog (camera-minutes waiting for the bucket): {', '.join(backlog)}")
    warnings.extend(audit.readiness_warnings())
    if warnings:
        body["warnings"] = warnings
    return JsonResponse(body)


def _basic_auth_ok(request: HttpRequest) -> bool:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic" or not settings.METRICS_PASSWORD:
        return False
    try:
        user, _, password = base64.b64decode(encoded, validate=True).partition(b":")
    except ValueError:  # binascii.Error, or a header with non-ASCII characters
        return False
    # Compared as bytes: compare_digest refuses a str with non-ASCII characters (TypeError).
    user_ok = secrets.compare_digest(user, settings.METRICS_USER.encode())
    password_ok = secrets.compare_digest(password, settings.METRICS_PASSWORD.encode())
    return user_ok and password_ok


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    throttle = MetricsAddressThrottle()
    # Refused even with the right password while the budget is spent: a guesser must not tell a hit by its answer.
    if throttle.spent(request):
        seconds = math.ceil(throttle.wait())
        detail = f"Too many failed metrics logins from this address. Try again in {seconds} seconds."
        response = JsonResponse({"detail": detail, "code": "throttled"}, status=429)
        response["Retry-After"] = str(seconds)
        return response
    if not _basic_auth_ok(request):
        throttle.count()
        response = HttpResponse("Metrics need HTTP basic auth (METRICS_USER / METRICS_PASSWORD).\n", status=401)
        response["WWW-Authenticate"] = 'Basic realm="metrics"'
        return response
    return ExportToDjangoView(request)
