"""The fixed vocabularies of the product: detection features and token scopes."""

FEATURES = ("person", "vehicle", "license_plate", "motion")

SCOPES = ("cameras:read", "cameras:write", "events:read", "events:write", "playback:read")
READ_SCOPES = tuple(s for s in SCOPES if s.endswith(":read"))
