"""The channel-layer group of a tenant: every app that pushes to a tenant's WebSocket clients sends to it."""


def tenant_group(tenant_id: str) -> str:
    return f"tenant.{tenant_id}"
