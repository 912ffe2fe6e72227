"""Event types and their numeric Kalay categories (`event_id`); extend by adding a line."""

EVENT_CATEGORIES: dict[str, int] = {
    "motion": 1,
    "person": 2,
    "vehicle": 3,
    "license_plate": 4,
    # payload: {"line", "direction": "a_to_b" | "b_to_a", "label", "track_id", "boxes", "frame"}
    "line_crossing": 5,
    # Camera health (events.notify.health), debounced: payload {"since", "reason"} / {"since", "down_seconds"}.
    "camera_offline": 6,
    "camera_online": 7,
}
# Told by the system alone (events.notify.health): a client that ingests one is refused (events.services.ingest_event).
SYSTEM_EVENT_TYPES = frozenset({"camera_offline", "camera_online"})
INGESTED_EVENT_TYPES = [name for name in EVENT_CATEGORIES if name not in SYSTEM_EVENT_TYPES]
