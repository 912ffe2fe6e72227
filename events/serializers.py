"""The one JSON form of an event (the MYVMS v2 seed's schema), shared by REST, the WebSocket, webhooks and MQTT."""

import json
from datetime import UTC, datetime
from typing import Any

from playback.paths import url_for_file
from playback.signing import signed_url

from .models import Event


def iso_ms(ts: datetime) -> str:
    """UTC ISO-8601 with milliseconds and a Z, like the seed's `2026-04-30T14:23:45.123Z`."""
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def shown_snapshot_url(event: Event | Any) -> str:
    """An event's (or a row's with the same columns) snapshot as clients see it: the /v2/hls URL of the file the
    system wrote, else the URL the ingesting client gave, else ""."""
    return url_for_file(event.snapshot) if event.snapshot else event.snapshot_url


def signed_snapshot_url(event: Event | Any) -> str:
    """shown_snapshot_url, signed for the event's tenant when the system wrote the file, so an <img> needs no token.

    A client's URL is never signed: a signature vouches only for files the system made (a client could name a
    recording segment, which would then play without `playback:read`).
    """
    return signed_url(url_for_file(event.snapshot), event.tenant_id) if event.snapshot else event.snapshot_url


# What event_json reads: a list reads rows of these (values_list) rather than model instances, which cost more than
# the query (every column of the table loaded and converted, each row made a Model).
EVENT_COLUMNS = (
    "id", "tenant_id", "camera_id", "type", "confidence", "payload", "snapshot", "snapshot_url", "trace_id",
    "model_version", "severity", "ts",
)  # fmt: skip


def event_json(event: Event | Any) -> dict:
    """An event (or a row of EVENT_COLUMNS) as the seed's JSON object; `snapshot_url` stays the plain /v2/hls form
    (clients add ?token=)."""
    return {
        "id": event.id,
        "tenant_id": event.tenant_id,
        "camera_id": event.camera_id,
        "type": event.type,
        "confidence": event.confidence,
        "payload": event.payload,
        "snapshot_url": shown_snapshot_url(event),
        "trace_id": event.trace_id,
        "model_version": event.model_version,
        "severity": event.severity,
        "ts": iso_ms(event.ts),
    }


def event_envelope(event: Event) -> bytes:
    """The MYVMS realtime message of an event, `{"v":2,"data":{…}}`, as the bytes webhooks sign and MQTT publishes."""
    return json.dumps({"v": 2, "data": event_json(event)}, ensure_ascii=False, separators=(",", ":")).encode()
