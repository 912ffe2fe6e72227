"""The audit trail: who did what to which object of a tenant, chained entry to entry so a change is found.

Writing is off the request's path, but never a silent loss:

1. `record()` appends the entry, as JSON, to one Redis list shared by every node (an RPUSH, about 0.1 ms);
2. `drain()` (the beat task `tenants.drain_audit`, every second) takes the list in order, chains each entry to the
   last one of its tenant under that tenant's advisory lock, and bulk-inserts them, then trims what it wrote. One
   drain runs at a time (a session advisory lock), so the list's order is the chain's. A drain that dies between
   its commit and the trim writes that batch again: an entry may be doubled, never lost;
3. while Redis is down, `record()` appends the entry to PostgreSQL itself (still chained, under the same lock);
4. if that fails too, the entry is logged at ERROR, whole, and readiness (tenants.health) warns the operator that
   audit entries could not be written; the request itself goes on.

Each entry's `hash` is the SHA-256 of its fields and `prev_hash`, the hash of its tenant's entry before it (by id),
so `verify_chain` finds an edited, a deleted or an inserted entry. Retention deletes a tenant's oldest entries: the
oldest one kept has a `prev_hash` that no kept entry has, and is taken as given (a deleted head and a purged one
look alike: the plan's audit_retention_days says which to expect).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import chain, pairwise

import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.throttling import BaseThrottle

from .gate import TenantPrincipal
from .models import AuditEntry, Tenant

logger = logging.getLogger(__name__)

# The fields an entry's hash covers, in this order (with the tenant and `prev_hash`).
FIELDS = ("ts", "actor", "address", "action", "object_type", "object_id", "camera_id", "outcome")
HASHED = ("tenant_id", *FIELDS, "prev_hash")
MAX_LENGTHS = {name: AuditEntry._meta.get_field(name).max_length for name in FIELDS if name != "ts"}
BATCH_SIZE = 1000
# The first key of the per-tenant chain advisory locks ("AUDT"), the second the tenant id's hash; and the one
# drain's session lock.
CHAIN_LOCK = 0x41554454
DRAIN_LOCK = 0x41554444
# record() waits at most this long for a Redis that does not answer (then writes to PostgreSQL): a request never
# hangs on the audit trail.
REDIS_TIMEOUT_S = 0.5


def pending_key() -> str:
    return f"{settings.VMS_REDIS_PREFIX}:audit:pending"


@functools.cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT_S, socket_timeout=REDIS_TIMEOUT_S)


def redis_client() -> redis.Redis:
    return _client(settings.REDIS_URL)


def canonical_ts(ts: datetime) -> str:
    """The one spelling of a moment that is hashed: UTC, microseconds (what PostgreSQL keeps)."""
    return ts.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(fields: dict) -> str:
    """SHA-256 of an entry's HASHED fields (`ts` as canonical_ts spells it) as a compact JSON array."""
    text = json.dumps([fields[name] for name in HASHED], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def record(
    tenant_id: str,
    action: str,
    *,
    actor: str,
    address: str = "",
    object_type: str = "",
    object_id: str = "",
    camera_id: str = "",
    outcome: str = "ok",
) -> None:
    """Add an entry to `tenant_id`'s audit trail (see the module's docstring); never raises."""
    given = dict(actor=actor, address=address, action=action, object_type=object_type, object_id=object_id,
                 camera_id=camera_id, outcome=outcome)  # fmt: skip
    # Bounded and without NUL (PostgreSQL text cannot hold it): some of it is what a client sent (a login's name).
    entry = {name: str(value).replace("\x00", "")[: MAX_LENGTHS[name]] for name, value in given.items()}
    entry.update(tenant_id=tenant_id, ts=canonical_ts(timezone.now()))
    try:
        redis_client().rpush(pending_key(), json.dumps(entry))
        return
    except redis.RedisError as exc:  # one line each, no traceback: while Redis is down every entry comes here
        logger.warning("Redis refused an audit entry (%s); writing it to PostgreSQL now", exc)
    try:
        with transaction.atomic():
            _append([entry])
    except DatabaseError:
        logger.exception("Audit entry could not be written: %s", json.dumps(entry))
        report_lost()


def record_request(request, action: str, **fields: str) -> None:
    """record() for an API request: the tenant, actor and address of its principal; `fields` as record() takes."""
    principal = request.user
    record(principal.tenant_id, action, actor=actor_of(principal), address=address_of(request), **fields)


# Set when an entry could be written neither to Redis nor to PostgreSQL. Kept in the process as well: the cache is
# Redis, which may be what failed.
LOST_KEY = "health:audit-lost"
LOST_WARN_S = 86400
_lost_at: float | None = None
# Entries waiting in Redis longer than this mean no drain runs (celery beat or its worker is down).
PENDING_WARN_S = 60


def report_lost() -> None:
    """Readiness warns for a day that audit entries were lost: the ERROR log has each one, to be put back."""
    global _lost_at
    _lost_at = time.time()
    try:
        cache.set(LOST_KEY, _lost_at, timeout=LOST_WARN_S)
    except redis.RedisError:
        logger.error("Could not tell readiness (Redis) that audit entries were lost; this process's readiness says it")


def readiness_warnings() -> list[str]:
    """What readiness tells operators about the audit trail: lost entries, or entries no drain has written."""
    warnings = []
    lost_at = max(filter(None, [_lost_at, cache.get(LOST_KEY)]), default=None)
    if lost_at is not None and time.time() - lost_at < LOST_WARN_S:
        when = f"{datetime.fromtimestamp(lost_at, UTC):%Y-%m-%d %H:%M:%S} UTC"
        warnings.append(f"audit: entries could not be written (last at {when}); see the ERROR log")
    oldest = oldest_pending()
    if oldest is not None and (timezone.now() - oldest).total_seconds() > PENDING_WARN_S:
        warnings.append(f"audit: entries wait in Redis since {oldest:%Y-%m-%d %H:%M:%S} UTC (is celery beat running?)")
    return warnings


def _chain_lock(cursor, tenant_id: str) -> None:
    cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [CHAIN_LOCK, tenant_id])


def _append(entries: list[dict]) -> None:
    """Chain `entries` (in their order, per tenant) to their tenants' last entries and insert them, in the caller's
    transaction. An entry of a tenant deleted since is dropped with a warning."""
    by_tenant: dict[str, list[dict]] = {}
    for entry in entries:
        by_tenant.setdefault(entry["tenant_id"], []).append(entry)
    existing = set(Tenant.objects.filter(pk__in=by_tenant).values_list("pk", flat=True))
    rows = []
    with connection.cursor() as cursor:
        for tenant_id in sorted(by_tenant):  # locks in one order: two writers never wait on each other in a circle
            if tenant_id not in existing:
                dropped = len(by_tenant[tenant_id])
                logger.warning("Dropped %d audit entries of tenant %r: it was deleted", dropped, tenant_id)
                continue
            _chain_lock(cursor, tenant_id)
            last = AuditEntry.objects.filter(tenant_id=tenant_id).order_by("-id").values_list("hash", flat=True)
            prev_hash = last.first() or ""
            for entry in by_tenant[tenant_id]:
                fields = {**entry, "prev_hash": prev_hash}
                prev_hash = entry_hash(fields)
                rows.append(AuditEntry(**{**fields, "ts": datetime.fromisoformat(entry["ts"]), "hash": prev_hash}))
    AuditEntry.objects.bulk_create(rows)


def drain(batch_size: int = BATCH_SIZE) -> int:
    """Write the pending entries, oldest first, until none is left; how many were written (0 while another drain
    runs). A Redis error is raised: the entries wait in the list for the next run."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [DRAIN_LOCK])
        if not cursor.fetchone()[0]:
            return 0
    client, key, written = redis_client(), pending_key(), 0
    try:
        while raw := client.lrange(key, 0, batch_size - 1):
            with transaction.atomic():
                _append([json.loads(item) for item in raw])
            client.ltrim(key, len(raw), -1)
            written += len(raw)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [DRAIN_LOCK])
    return written


def oldest_pending() -> datetime | None:
    """When the oldest entry still waiting in Redis was recorded (None: none waits)."""
    first = redis_client().lindex(pending_key(), 0)
    return None if first is None else datetime.fromisoformat(json.loads(first)["ts"])


def purge(now: datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Delete each tenant's entries older than its plan's audit_retention_days, oldest first by id (the chain's
    order, so what is left is an unbroken chain), `batch_size` per transaction; how many were deleted."""
    now, total = now or timezone.now(), 0
    for tenant_id, days in Tenant.objects.values_list("pk", "audit_retention_days"):
        entries = AuditEntry.objects.filter(tenant_id=tenant_id)
        # Everything before the first entry recorded since the cutoff (an entry written late keeps its place).
        kept = entries.filter(ts__gte=now - timedelta(days=days)).order_by("id").values_list("id", flat=True).first()
        old = entries.filter(ts__lt=now - timedelta(days=days)) if kept is None else entries.filter(id__lt=kept)
        while ids := list(old.order_by("id").values_list("id", flat=True)[:batch_size]):
            with transaction.atomic(), connection.cursor() as cursor:
                _chain_lock(cursor, tenant_id)  # never while a writer reads the last hash
                total += AuditEntry.objects.filter(pk__in=ids).delete()[0]
    return total


@dataclass(frozen=True)
class Break:
    """The first broken link of a chain: which entry, and what is wrong with it."""

    entry_id: int
    problem: str

    def __str__(self) -> str:
        return f"entry {self.entry_id}: {self.problem}"


def verify_chain(tenant_id: str) -> tuple[int, Break | None]:
    """Walk the tenant's entries in id order, recomputing each hash: how many were read, and the first broken link
    (None: the chain holds). The oldest entry's prev_hash is taken as given (retention deletes the head)."""
    rows = AuditEntry.objects.filter(tenant_id=tenant_id).order_by("id")
    rows = rows.values_list("id", *HASHED, "hash", named=True).iterator(chunk_size=5000)
    before_prev = prev = None
    count = 0
    for entry, following in pairwise(chain(rows, [None])):  # each entry with the one after it
        count += 1
        if entry_hash({**entry._asdict(), "ts": canonical_ts(entry.ts)}) != entry.hash:
            return count, Break(entry.id, "edited: its fields or prev_hash do not match its hash")
        if prev is not None and entry.prev_hash != prev.hash:
            if before_prev is not None and entry.prev_hash == before_prev.hash:
                return count, Break(prev.id, f"inserted: entry {entry.id} follows entry {before_prev.id}")
            if following is not None and following.prev_hash == prev.hash:
                return count, Break(entry.id, f"inserted: entry {following.id} follows entry {prev.id}")
            problem = f"a missing predecessor: its prev_hash is not the hash of entry {prev.id} (deleted entries?)"
            return count, Break(entry.id, problem)
        before_prev, prev = prev, entry
    return count, None


def chain_key(tenant_id: str) -> str:
    return f"{settings.VMS_REDIS_PREFIX}:audit:chain:{tenant_id}"


def check_chains() -> dict[str, dict]:
    """Walk every tenant's chain (verify_chain) and keep what was found for chain_state: the console shows it, as a
    walk of a long chain (some 70,000 entries a second) is too slow for a request. Redis holds it: losing it only
    means "not checked yet" until the next run."""
    states = {}
    for tenant_id in AuditEntry.objects.order_by().values_list("tenant_id", flat=True).distinct():
        count, broken = verify_chain(tenant_id)
        states[tenant_id] = {
            "checked_at": canonical_ts(timezone.now()),
            "entries": count,
            "intact": broken is None,
            "broken_entry": broken.entry_id if broken else None,
            "problem": broken.problem if broken else "",
        }
        redis_client().set(chain_key(tenant_id), json.dumps(states[tenant_id]))
        if broken:
            logger.error("audit trail of tenant %s: %s", tenant_id, broken)
    return states


def chain_state(tenant_id: str) -> dict | None:
    """What the last check_chains found of the tenant's chain; None: not checked yet."""
    found = redis_client().get(chain_key(tenant_id))
    return json.loads(found) if found else None


def actor_of(who: TenantPrincipal | AbstractBaseUser | AnonymousUser | None) -> str:
    """The actor of an entry: `user:<username>` (a tenant's user, by token or in the admin), `staff:<username>`
    (a platform superuser), `share:<id>` (a share link's viewer), `token:api` (an integration's token, which names
    no user) or `system`."""
    if isinstance(who, TenantPrincipal):
        if who.share_id is not None:
            return f"share:{who.share_id}"
        if who.user_id is None:
            return "token:api"
        username = who.username or (
            get_user_model().objects.filter(pk=who.user_id).values_list("username", flat=True).first()
        )
        return f"{'staff' if who.sees_all else 'user'}:{username or who.user_id}"
    if who is None or not who.is_authenticated:
        return "system"
    return f"{'staff' if who.is_superuser else 'user'}:{who.get_username()}"


def address_of(request: HttpRequest) -> str:
    """The client's address as the login throttles count it: REMOTE_ADDR, or X-Forwarded-For behind
    VMS_NUM_PROXIES trusted proxies (DRF's get_ident)."""
    return BaseThrottle().get_ident(request) or ""
