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
SHARES_WRITE = "shares:write"  # links that show a camera to people without an account
WATCHLISTS_WRITE = "watchlists:write"  # plates and object rules to watch for: reading them too (they name cars)
SCOPES = (
    CAMERAS_READ, CAMERAS_WRITE, EVENTS_READ, EVENTS_WRITE, PLAYBACK_READ, EXPORTS_WRITE, SUBSCRIPTIONS_WRITE,
    AUDIT_READ, SHARES_WRITE, WATCHLISTS_WRITE,
)  # fmt: skip
# What a principal limited to some cameras never holds: a webhook subscription gets every camera's events, and a
# watch list's alerts come from every camera.
TENANT_WIDE_SCOPES = (SUBSCRIPTIONS_WRITE, WATCHLISTS_WRITE)
# A share link's token (tenants.tokens.issue_share_token), never a user's or an integration's: its one camera live,
# or its one clip (shares/).
SHARE_LIVE = "share:live"
SHARE_CLIP = "share:clip"
OPERATOR_SCOPES = tuple(s for s in SCOPES if s != AUDIT_READ)
READ_SCOPES = tuple(s for s in OPERATOR_SCOPES if s.endswith(":read"))
# Platform staff (operators of the whole service, no tenant): only for a platform token (issue_token --platform),
# which no tenant API accepts as it has none of their scopes.
PLATFORM_READ = "platform:read"
PLATFORM_SCOPES = (PLATFORM_READ,)
