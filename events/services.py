"""The one place events are written and deleted; the REST API, the detector and Kalay all come through here."""

import json
import logging
import math
import re
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import partial
from urllib.parse import urlsplit

from django.db import connection, transaction
from django.db.models import JSONField, Model, QuerySet
from django.db.models.expressions import DatabaseDefault
from django.utils import timezone
from psycopg.types.json import Jsonb

from cameras.models import Camera
from playback import storage
from playback.paths import recordings_path
from tenants.gate import TenantPrincipal
from tenants.models import Tenant
from tenants.usage import record as record_usage

from .catalogue import EVENT_CATEGORIES, SYSTEM_EVENT_TYPES
from .models import Event, Severity
from .realtime import publish_events

logger = logging.getLogger(__name__)

MAX_TAGS = 20
TAG_MAX_LENGTH = Event._meta.get_field("tags").base_field.max_length
MAX_PAYLOAD_BYTES = 16 * 1024
MAX_PAYLOAD_DEPTH = 32
# A camera's clock may run a little fast; far-future times would sort above every real event (and year 9999
# overflows the expiry).
MAX_TS_AHEAD = timedelta(days=1)
BAD_SNAPSHOT_URL = "must be an http(s) URL or a /v2/hls/ path of this tenant's camera"
# This tenant's media as the HLS views route it: a camera, then plain path segments (no dot segments, no escapes).
# The first key of the per-tenant event-order advisory locks ("EVNT"); the second is the tenant id's hash.
EVENT_ORDER_LOCK = 0x45564E54
MEDIA_PATH = re.compile(r"/v2/hls/(?P<camera>[A-Za-z0-9_-]+)(?:/(?!\.\.?(?:/|$))[A-Za-z0-9._-]+)+")


class InvalidEvent(ValueError):
    """A create_event argument is wrong; `field` names it and the message says why. From create_events, `index` is
    the position of the wrong event in the batch."""

    def __init__(self, field: str, message: str, index: int | None = None) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.index = index


def storable(text: str) -> bool:
    """Whether PostgreSQL text and jsonb can hold `text`: no NUL, no lone surrogate (it has no UTF-8 form)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def _check_fields(event: Event) -> None:
    if event.type not in EVENT_CATEGORIES:
        raise InvalidEvent("type", f"unknown type '{event.type}' (known: {', '.join(EVENT_CATEGORIES)})")
    confidence = event.confidence
    if isinstance(confidence, bool) or not isinstance(confidence, int | float) or not math.isfinite(confidence):
        raise InvalidEvent("confidence", "must be a number")
    if not 0 <= confidence <= 1:
        raise InvalidEvent("confidence", "must be between 0 and 1")
    if event.severity not in Severity.values:
        raise InvalidEvent("severity", f"must be one of: {', '.join(Severity.values)}")
    if not isinstance(event.ts, datetime) or timezone.is_naive(event.ts):
        raise InvalidEvent("ts", "must be a date-time with a time zone")
    if event.ts > timezone.now() + MAX_TS_AHEAD:
        raise InvalidEvent("ts", "must not be more than a day ahead of now")
    for field in ("camera_id", "snapshot", "snapshot_url", "trace_id", "model_version"):
        value, limit = getattr(event, field), Event._meta.get_field(field).max_length
        if not isinstance(value, str) or len(value) > limit or not storable(value):
            raise InvalidEvent(field, f"must be text of at most {limit} characters, without NUL or lone surrogates")
    _check_payload(event.payload)


def _check_payload(payload: object) -> None:
    if not isinstance(payload, dict):
        raise InvalidEvent("payload", "must be a JSON object")
    _check_json(payload, 1)
    try:
        size = len(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode())
    except ValueError:  # an integer of more digits than Python converts to text
        raise InvalidEvent("payload", "holds a number too long to store") from None
    if size > MAX_PAYLOAD_BYTES:
        raise InvalidEvent("payload", f"must be at most {MAX_PAYLOAD_BYTES} bytes of JSON")


def _check_json(value: object, depth: int) -> None:
    """Raise InvalidEvent unless `value` is JSON that jsonb stores: plain types, finite numbers, storable text,
    nested at most MAX_PAYLOAD_DEPTH deep (which also keeps json.dumps clear of Python's recursion limit)."""
    if depth > MAX_PAYLOAD_DEPTH:
        raise InvalidEvent("payload", f"must not nest deeper than {MAX_PAYLOAD_DEPTH} levels")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidEvent("payload", "keys must be text")
            _check_json(key, depth)
            _check_json(item, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_json(item, depth + 1)
    elif isinstance(value, str):
        if not storable(value):
            raise InvalidEvent("payload", "text must not contain NUL or lone surrogate characters")
    elif isinstance(value, float) and not math.isfinite(value):
        raise InvalidEvent("payload", "numbers must be finite")
    elif not (value is None or isinstance(value, bool | int | float)):
        raise InvalidEvent("payload", f"cannot hold a {type(value).__name__}")


def _snapshot_url_camera(url: str) -> str | None:
    """The camera a client-given snapshot_url shows media of (its own /v2/hls/ path), None for none or an
    http(s) URL; raises InvalidEvent for anything else (javascript:, ftp:, a relative or malformed URL)."""
    if not url:
        return None
    if url.isascii() and url.isprintable() and " " not in url:
        if media := MEDIA_PATH.fullmatch(url):
            return media["camera"]
        try:
            parts = urlsplit(url)
            if parts.scheme.lower() in ("http", "https") and parts.hostname:
                return None
        except ValueError:  # e.g. an unclosed IPv6 bracket: malformed like the rest
            pass
    raise InvalidEvent("snapshot_url", BAD_SNAPSHOT_URL)


def clean_tags(tags: object) -> list[str]:
    """Tags as they are stored: at most MAX_TAGS distinct words of 1-TAG_MAX_LENGTH characters.

    No spaces, because the Kalay `tags` filter splits on them. Raises InvalidEvent.
    """
    valid = isinstance(tags, list | tuple) and all(
        isinstance(t, str) and t and t.split() == [t] and len(t) <= TAG_MAX_LENGTH and storable(t) for t in tags
    )
    unique = list(dict.fromkeys(tags)) if valid else []
    if not valid or len(unique) > MAX_TAGS:
        raise InvalidEvent("tags", f"at most {MAX_TAGS} tags of 1-{TAG_MAX_LENGTH} characters without spaces")
    return unique


def expiry(tenant: Tenant, ts: datetime) -> datetime:
    """When an event of `tenant` at `ts` becomes archived: the tenant's event retention after `ts`."""
    return ts + timedelta(days=tenant.event_retention_days)


def _build_event(
    tenant: Tenant,
    *,
    camera_id: str,
    type: str,
    confidence: float,
    payload: dict | None = None,
    snapshot: str = "",
    snapshot_url: str = "",
    trace_id: str | None = None,
    model_version: str = "",
    severity: str = Severity.DETECTION,
    ts: datetime | None = None,
    tags: list[str] | None = None,
) -> Event:
    """An unsaved event with its defaults, catalogue id and expiry; raises InvalidEvent (the camera is not checked)."""
    event = Event(
        tenant=tenant,
        camera_id=camera_id,
        type=type,
        confidence=confidence,
        payload={} if payload is None else payload,
        snapshot=snapshot,
        snapshot_url=snapshot_url,
        trace_id=trace_id or str(uuid.uuid4()),
        model_version=model_version,
        severity=severity,
        ts=ts or timezone.now(),
        tags=clean_tags([] if tags is None else tags),
    )
    _check_fields(event)
    event.confidence = float(confidence)
    event.severity = Severity(event.severity).value
    event.event_id = EVENT_CATEGORIES[type]
    event.expires = expiry(tenant, event.ts)
    return event


def create_event(*, tenant: Tenant, **fields) -> Event:
    """Validate, store and (after the surrounding transaction commits) publish one event; `fields` are
    _build_event's.

    trace_id is generated and ts is now when absent. Raises InvalidEvent naming the bad field; nothing
    is written then. Inside a transaction that rolls back, nothing is published.
    """
    [event] = create_events(tenant, [fields])
    return event


def ingest_event(principal: TenantPrincipal, **fields) -> Event:
    """ingest_events for one event (POST /v2/api/events)."""
    [event] = ingest_events(principal, [fields])
    return event


def ingest_events(principal: TenantPrincipal, events: Sequence[dict]) -> list[Event]:
    """create_events for events a client sends (POST /v2/api/events and its :batch), of the cameras the principal
    sees, each held to two more rules: camera health is told by the system alone, and an event may not be archived
    on arrival (its `ts` older than the tenant's event retention: it would only add to what retention purges).
    Raises InvalidEvent naming the field and the event's index."""
    tenant, now = principal.tenant, timezone.now()
    for index, fields in enumerate(events):
        if fields.get("type") in SYSTEM_EVENT_TYPES:
            raise InvalidEvent("type", f"'{fields['type']}' events are written by the system only", index)
        ts = fields.get("ts")
        # A ts ahead of now is create_events' to judge (a far-future one would overflow expiry()).
        if isinstance(ts, datetime) and timezone.is_aware(ts) and ts < now and expiry(tenant, ts) <= now:
            retention = f"must be within the tenant's event retention ({tenant.event_retention_days} days)"
            raise InvalidEvent("ts", retention, index)
    return create_events(tenant, events, Camera.objects.for_principal(principal))


def create_events(tenant: Tenant, events: Iterable[dict], cameras: QuerySet | None = None) -> list[Event]:
    """create_event for many events of one tenant (dicts of create_event's fields) in one INSERT, e.g. every
    track a detector closed in a frame, or a batch from an external analytics source. Each names one of `cameras`
    (default: the tenant's).

    All or nothing: the first invalid event raises InvalidEvent (with its index) and none is written.
    """
    built, snapshot_cameras = [], []
    for index, fields in enumerate(events):
        try:
            built.append(_build_event(tenant, **fields))
            snapshot_cameras.append(_snapshot_url_camera(built[-1].snapshot_url))
        except InvalidEvent as exc:
            exc.index = index
            raise
    named = {e.camera_id for e in built} | {camera for camera in snapshot_cameras if camera}
    found = tenant.cameras.all() if cameras is None else cameras
    known = set(found.filter(slug__in=named).values_list("slug", flat=True))
    for index, (event, snapshot_camera) in enumerate(zip(built, snapshot_cameras, strict=True)):
        if event.camera_id not in known:
            raise InvalidEvent("camera_id", f"no camera '{event.camera_id}' in this tenant", index)
        if snapshot_camera and snapshot_camera not in known:  # another tenant's camera reads as a missing one
            raise InvalidEvent("snapshot_url", BAD_SNAPSHOT_URL, index)
    snapshot_bytes = sum(_file_size(e.snapshot) for e in built if e.snapshot)
    with transaction.atomic():
        _lock_tenant_order(tenant)
        copy_into_table(built)
        record_usage(tenant.pk, events=len(built), snapshot_bytes=snapshot_bytes)  # counted iff the events commit
        transaction.on_commit(partial(publish_events, built))
    return built


def _file_size(relative_path: str) -> int:
    try:
        return recordings_path(relative_path).stat().st_size
    except FileNotFoundError:  # the detector could not write it: no bytes stored
        return 0


def _lock_tenant_order(tenant: Tenant) -> None:
    """Hold the tenant's event-order lock until the transaction ends, so its events' `seq` (taken at insert) rises
    in commit order: a reader that has seen `seq` N has seen every earlier event of the tenant."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [EVENT_ORDER_LOCK, tenant.pk])


def copy_into_table(objects: list[Model]) -> None:
    """Store new instances of one model with COPY: for batches (ingest, the relay's deliveries) it is several times
    faster than bulk_create, whose parameters Django and psycopg build and quote one by one. Columns the objects
    leave to the database (Event.seq: a db_default and no default) are left to it; auto_now(_add) ones get this
    moment."""
    if not objects:
        return
    meta, now = objects[0]._meta, timezone.now()
    fields = [f for f in meta.concrete_fields if not isinstance(getattr(objects[0], f.attname), DatabaseDefault)]
    stamped = [f.attname for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
    values = [(f.attname, isinstance(f, JSONField)) for f in fields]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor, cursor.copy(f"COPY {meta.db_table} ({columns}) FROM STDIN") as copy:
        for obj in objects:
            for name in stamped:
                setattr(obj, name, now)
            copy.write_row([Jsonb(getattr(obj, name)) if jsonb else getattr(obj, name) for name, jsonb in values])
    for obj in objects:
        obj._state.adding, obj._state.db = False, connection.alias


def delete_events(queryset: QuerySet[Event]) -> int:
    """Delete the events and the snapshot files the system wrote for them (a file already gone is fine; a
    client's snapshot_url is never a file to delete); returns the rows deleted."""
    with transaction.atomic():
        snapshots = list(queryset.exclude(snapshot="").order_by().values_list("snapshot", flat=True))
        deleted, _ = queryset.delete()
        # Files go only once the rows are surely gone: a rolled-back delete keeps its snapshots.
        transaction.on_commit(partial(_remove_snapshots, snapshots))
    return deleted


def _remove_snapshots(snapshots: list[str]) -> None:
    for relative_path in snapshots:
        recordings_path(relative_path).unlink(missing_ok=True)
    if snapshots and (bucket := storage.bucket()) is not None:
        try:
            bucket.delete(snapshots)
        except (storage.StorageUnavailable, OSError):  # the events are gone for users either way
            logger.warning("could not delete %d snapshots from the bucket (left there)", len(snapshots), exc_info=True)
