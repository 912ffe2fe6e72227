"""Pushes an export job's state to its tenant's WebSocket clients (the events app's consumer forwards it).

Sent to the tenant's channel-layer group (tenants.groups) as `export.progress`; playback does not import events.
Realtime is best effort: the job's row is the truth and stays readable through the API.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from tenants.groups import tenant_group

logger = logging.getLogger(__name__)

EXPORT_MESSAGE_TYPE = "export.progress"  # handled by the events consumer's export_progress


def publish_export(tenant_id: str, job: dict) -> None:
    try:
        message = {"type": EXPORT_MESSAGE_TYPE, "export": job}
        async_to_sync(get_channel_layer().group_send)(tenant_group(tenant_id), message)
    except Exception:  # Redis away: the export goes on, a client reads the job through the API
        logger.warning("Could not publish export %s progress", job.get("id"), exc_info=True)
