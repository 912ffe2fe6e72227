"""The one place events are written and deleted; the REST API, the detector and Kalay all come through here."""

import math
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from psycopg.types.json import Jsonb

from playback.paths import file_for_url
from tenants.models import Tenant

from .catalogue import EVENT_CATEGORIES
from .models import Event
from .realtime import publish_events

MAX_TAGS = 20
TAG_MAX_LENGTH = Event._meta.get_field("tags").base_field.max_length


class InvalidEvent(ValueError):
    """A create_event argument is wrong; `field` names it and the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _check_fields(event: Event) -> None:
    if event.type not in EVENT_CATEGORIES:
        raise InvalidEvent("type", f"unknown type '{event.type}' (known: {', '.join(EVENT_CATEGORIES)})")
    confidence = event.confidence
    if isinstance(confidence, bool) or not isinstance(confidence, int | float) or not math.isfinite(confidence):
        raise InvalidEvent("confidence", "must be a number")
    if not 0 <= confidence <= 1:
        raise InvalidEvent("confidence", "must be between 0 and 1")
    if not isinstance(event.ts, datetime) or timezone.is_naive(event.ts):
        raise InvalidEvent("ts", "must be a date-time with a time zone")
    for field in ("camera_id", "snapshot_url", "trace_id", "model_version"):
        value, limit = getattr(event, field), Event._meta.get_field(field).max_length
        if not isinstance(value, str) or len(value) > limit:
            raise InvalidEvent(field, f"must be text of at most {limit} characters")
    if not isinstance(event.payload, dict):
        raise InvalidEvent("payload", "must be a JSON object")


def clean_tags(tags: object) -> list[str]:
    """Tags as they are stored: at most MAX_TAGS distinct words of 1-TAG_MAX_LENGTH characters.

    No spaces, because the Kalay `tags` filter splits on them. Raises InvalidEvent.
    """
    valid = isinstance(tags, list | tuple) and all(
        isinstance(t, str) and t and t.split() == [t] and len(t) <= TAG_MAX_LENGTH for t in tags
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
    snapshot_url: str = "",
    trace_id: str | None = None,
    model_version: str = "",
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
        snapshot_url=snapshot_url,
        trace_id=trace_id or str(uuid.uuid4()),
        model_version=model_version,
        ts=ts or timezone.now(),
        tags=clean_tags([] if tags is None else tags),
    )
    _check_fields(event)
    event.confidence = float(confidence)
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


def create_events(tenant: Tenant, events: Iterable[dict]) -> list[Event]:
    """create_event for many events of one tenant (dicts of create_event's fields) in one INSERT, e.g. every
    track a detector closed in a frame, or a batch from an external analytics source.

    All or nothing: the first invalid event raises InvalidEvent and none is written.
    """
    built = [_build_event(tenant, **fields) for fields in events]
    cameras = {e.camera_id for e in built}
    unknown = cameras - set(tenant.cameras.filter(slug__in=cameras).values_list("slug", flat=True))
    if unknown:
        raise InvalidEvent("camera_id", f"no camera '{sorted(unknown)[0]}' in this tenant")
    with transaction.atomic():
        _copy_into_table(built)
        transaction.on_commit(partial(publish_events, built))
    return built


def _copy_into_table(events: list[Event]) -> None:
    """Store validated events with COPY: for ingest batches it is several times faster than a multi-row INSERT,
    whose SQL text Django and psycopg build and scan parameter by parameter."""
    now = timezone.now()
    fields = Event._meta.concrete_fields
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor, cursor.copy(f"COPY {Event._meta.db_table} ({columns}) FROM STDIN") as copy:
        for event in events:
            event.created = event.updated = now
            copy.write_row([Jsonb(event.payload) if f.name == "payload" else getattr(event, f.attname) for f in fields])
    for event in events:
        event._state.adding, event._state.db = False, connection.alias


def delete_events(queryset: QuerySet[Event]) -> int:
    """Delete the events and their snapshot files (a file already gone is fine); returns the rows deleted."""
    with transaction.atomic():
        snapshots = list(queryset.exclude(snapshot_url="").order_by().values_list("tenant_id", "snapshot_url"))
        deleted, _ = queryset.delete()
        # Files go only once the rows are surely gone: a rolled-back delete keeps its snapshots.
        transaction.on_commit(partial(_remove_snapshots, snapshots))
    return deleted


def _remove_snapshots(snapshots: list[tuple[str, str]]) -> None:
    for tenant_id, url in snapshots:
        path = file_for_url(tenant_id, url)
        if path is not None:
            path.unlink(missing_ok=True)
