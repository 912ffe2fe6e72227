"""The fixed vocabularies of the product: detection features and token scopes (a tenant's, and the platform's)."""

FEATURES = ("person", "vehicle", "license_plate", "motion")

CAMERAS_READ = "cameras:read"
CAMERAS_WRITE = "cameras:write"
EVENTS_READ = "events:read"
EVENTS_WRITE = "events:write"
PLAYBACK_READ = "playback:read"
EXPORTS_WRITE = "exports:write"
SUBSCRIPTIONS_WRITE = "subscriptions:write"  # webhook subscriptions: reading them too (they name the tenant's systems)
AUDIT_READ = "audit:read"  # who watched or took out what: a tenant admin's, never a viewer's or an operator's
SCOPES = (
    CAMERAS_READ, CAMERAS_WRITE, EVENTS_READ, EVENTS_WRITE, PLAYBACK_READ, EXPORTS_WRITE, SUBSCRIPTIONS_WRITE,
    AUDIT_READ,
)  # fmt: skip
OPERATOR_SCOPES = tuple(s for s in SCOPES if s != AUDIT_READ)
READ_SCOPES = tuple(s for s in OPERATOR_SCOPES if s.endswith(":read"))
# Platform staff (operators of the whole service, no tenant): only for a platform token (issue_token --platform),
# which no tenant API accepts as it has none of their scopes.
PLATFORM_READ = "platform:read"
PLATFORM_SCOPES = (PLATFORM_READ,)
