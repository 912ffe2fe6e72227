"""The one JSON form of an event (the MYVMS v2 seed's schema), shared by REST and the WebSocket."""

from datetime import UTC, datetime

from .models import Event


def iso_ms(ts: datetime) -> str:
    """UTC ISO-8601 with milliseconds and a Z, like the seed's `2026-04-30T14:23:45.123Z`."""
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event_json(event: Event) -> dict:
    """An event as the seed's JSON object; `snapshot_url` stays the plain /v2/hls form (clients add ?token=)."""
    return {
        "id": event.id,
        "tenant_id": event.tenant_id,
        "camera_id": event.camera_id,
        "type": event.type,
        "confidence": event.confidence,
        "payload": event.payload,
        "snapshot_url": event.snapshot_url,
        "trace_id": event.trace_id,
        "model_version": event.model_version,
        "ts": iso_ms(event.ts),
    }
