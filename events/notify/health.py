"""Camera health as events: a recording camera that stays offline (or, once reported offline, back online) for
VMS_CAMERA_HEALTH_DEBOUNCE becomes one `camera_offline` (`camera_online`) event, which then reaches REST,
WebSocket, Kalay, webhooks and MQTT like any other.

The recorder stores each status change (cameras.pipeline.status); the relay calls check_cameras() on every pass.
CameraHealth holds what was last told, so each outage is told once: the row is claimed in the transaction that
writes the event, and a change shorter than the debounce, either way, tells nothing.
"""

import time
from collections import defaultdict
from datetime import datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from cameras.models import Camera
from tenants.models import Tenant

from ..models import Severity
from ..services import create_events

CHECK_INTERVAL_S = 1.0

# Cameras whose last status change, settled for the debounce, differs from what was last told: the camera's own
# status narrows the scan to those, so the newest change is looked up (status_change_camera_at) only for them.
# A camera that never came online has no change (its status starts offline) and is never told about.
_CANDIDATES = """
SELECT c.id, c.tenant_id, c.slug, s.status, s.at, s.reason, CASE WHEN h.reported = 'offline' THEN h.since END
FROM cameras_camera c
LEFT JOIN events_camerahealth h ON h.camera_id = c.id
CROSS JOIN LATERAL (
    SELECT status, at, reason FROM cameras_statuschange s WHERE s.camera_id = c.id ORDER BY s.at DESC, s.id DESC LIMIT 1
) s
WHERE c.enabled AND c.record
  AND (c.status = 'offline' AND h.reported IS DISTINCT FROM 'offline'
       OR c.status = 'online' AND h.reported = 'offline')
  AND s.status = c.status AND s.at <= %(settled)s
ORDER BY c.tenant_id, c.id
"""

# Claims the cameras' transitions: a camera comes back only if this transaction moved its row, so of two relays
# that raced, the second (waiting on the row lock, then re-checking) writes no event.
_CLAIM = """
INSERT INTO events_camerahealth (camera_id, reported, since) VALUES {values}
ON CONFLICT (camera_id) DO UPDATE SET reported = EXCLUDED.reported, since = EXCLUDED.since
WHERE events_camerahealth.reported <> EXCLUDED.reported
RETURNING camera_id
"""

_next_check = 0.0


class Transition(NamedTuple):
    camera_pk: int
    tenant_id: str
    camera_id: str
    status: str
    at: datetime
    reason: str
    offline_since: datetime | None  # when it was told offline (an online transition only)

    def event(self) -> dict:
        """create_events' fields of the event that tells this transition."""
        if self.status == Camera.Status.OFFLINE:
            type, severity = "camera_offline", Severity.ALERT
            payload = {"since": self.at.isoformat(), "reason": self.reason}
        else:
            type, severity = "camera_online", Severity.DETECTION
            down = (self.at - self.offline_since).total_seconds()
            payload = {
                "since": self.at.isoformat(),
                "offline_since": self.offline_since.isoformat(),
                "down_seconds": down,
            }
        return {
            "camera_id": self.camera_id, "type": type, "confidence": 1.0, "severity": severity, "ts": self.at,
            "payload": payload,
        }  # fmt: skip


def check_cameras() -> int | None:
    """The relay's tick: report_health() at most once every CHECK_INTERVAL_S; how many events it wrote, None when
    it was not yet due."""
    global _next_check
    if time.monotonic() < _next_check:
        return None
    _next_check = time.monotonic() + CHECK_INTERVAL_S
    return report_health()


def report_health() -> int:
    """Write the camera_offline / camera_online events now due, each tenant's in one transaction; returns how many.
    One query when there is nothing to tell."""
    settled = timezone.now() - timedelta(seconds=settings.VMS_CAMERA_HEALTH_DEBOUNCE)
    with connection.cursor() as cursor:
        cursor.execute(_CANDIDATES, {"settled": settled})
        transitions = [Transition(*row) for row in cursor.fetchall()]
    by_tenant: dict[str, list[Transition]] = defaultdict(list)
    for transition in transitions:
        by_tenant[transition.tenant_id].append(transition)
    tenants = Tenant.objects.in_bulk(list(by_tenant)) if by_tenant else {}
    written = 0
    for tenant_id, changes in by_tenant.items():
        with transaction.atomic():
            claimed = _claim(changes)
            if claimed:
                written += len(create_events(tenants[tenant_id], [t.event() for t in claimed]))
    return written


def _claim(transitions: list[Transition]) -> list[Transition]:
    """Record the transitions as told; the ones this transaction claimed (not already told by another)."""
    values = ", ".join(["(%s, %s, %s)"] * len(transitions))
    params = [value for t in transitions for value in (t.camera_pk, t.status, t.at)]
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM.format(values=values), params)
        claimed = {pk for (pk,) in cursor.fetchall()}
    return [t for t in transitions if t.camera_pk in claimed]
