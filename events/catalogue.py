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
    # A watch list's entry matched an event (watchlists.matching): payload {"watchlist", "watchlist_id", "entry",
    # "event_id"}.
    "watchlist_match": 8,
}
# Told by the system alone (camera health, watch lists): a client that ingests one is refused
# (events.services.ingest_event).
SYSTEM_EVENT_TYPES = frozenset({"camera_offline", "camera_online", "watchlist_match"})
INGESTED_EVENT_TYPES = [name for name in EVENT_CATEGORIES if name not in SYSTEM_EVENT_TYPES]
