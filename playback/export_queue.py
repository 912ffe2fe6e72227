"""The export queue: what a tenant may queue, and which queued export runs next.

A new export is refused while the tenant's export files (held exports' included) fill its plan's export_quota_gb,
or while max_queued_exports of its exports wait. A task of the `export` workers carries no export: each is one turn
of a worker slot, which takes the next export by round robin across tenants (`claim_next_export`), so a tenant's
burst waits behind itself, not in front of everybody, and no tenant runs more than its max_running_exports at once.
"""

from datetime import datetime

from django.db import connection, transaction
from django.db.models import Count, F, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from cameras.models import Camera
from tenants.models import Tenant

from .exports import expires_for
from .models import Export, ExportFile
from .retention import GB

# What a client over max_queued_exports is told to wait (Retry-After): about one export's run.
QUEUE_RETRY_AFTER_S = 30
# Claims hold this PostgreSQL advisory lock for their transaction: one at a time, so two workers never both take a
# tenant's last free running slot.
CLAIM_LOCK = 7_565_021_870


class ExportQuotaReached(Exception):
    """The tenant's export files fill its plan's export_quota_gb."""


class ExportQueueFull(Exception):
    """The tenant has its plan's max_queued_exports waiting."""


def export_bytes(tenant: Tenant) -> int:
    """The bytes of the tenant's export files, held exports' included."""
    return ExportFile.objects.filter(export__tenant=tenant).aggregate(size=Sum("size"))["size"] or 0


def _admit(tenant: Tenant) -> None:
    quota = tenant.export_quota_gb
    if quota is not None and (used := export_bytes(tenant)) >= quota * GB:
        raise ExportQuotaReached(
            f"Export quota reached: tenant '{tenant.id}' keeps {used / GB:.1f} GB of exports (held ones count) and its "
            f"plan's export_quota_gb is {quota} GB. Delete exports it no longer needs, or upgrade the plan."
        )
    waiting = tenant.exports.filter(state=Export.State.QUEUED).count()
    if waiting >= tenant.max_queued_exports:
        raise ExportQueueFull(
            f"Too many exports waiting: tenant '{tenant.id}' has {waiting}, its plan's max_queued_exports, and runs at "
            f"most {tenant.max_running_exports} at once (max_running_exports). Try again when one has started."
        )


def queue_export(
    tenant_id: str, cameras: dict[str, Camera], start: datetime, end: datetime, name: str, legal_hold: bool
) -> Export:
    """Queue an export of `cameras` (by slug) within the tenant's plan, or raise ExportQuotaReached / ExportQueueFull.

    The tenant row is locked, so concurrent requests cannot both take the last place in the queue."""
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(pk=tenant_id)
        _admit(tenant)
        export = Export(tenant=tenant, name=name, start=start, end=end, legal_hold=legal_hold)
        export.expires = expires_for(export)
        export.save()
        ExportFile.objects.bulk_create(ExportFile(export=export, camera=c, camera_slug=s) for s, c in cameras.items())
    return export


def claim_next_export(task_id: str) -> Export | None:
    """The export a worker's task runs, marked running; None when no queued export may run now.

    A task given again (acks_late: the worker running it died) takes the export it took before, which runs again.
    Otherwise: among the tenants running fewer than their max_running_exports, the one whose last export started
    longest ago (one that never started first), and its oldest queued export."""
    with transaction.atomic():
        again = Export.objects.filter(state=Export.State.RUNNING, task_id=task_id).first()
        if again is not None:
            return again
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CLAIM_LOCK])
        tenants_exports = Export.objects.filter(tenant=OuterRef("tenant")).order_by()
        running = tenants_exports.filter(state=Export.State.RUNNING).values("tenant").annotate(n=Count("pk"))
        last_start = tenants_exports.filter(started_at__isnull=False).order_by("-started_at").values("started_at")
        export = (
            Export.objects.filter(state=Export.State.QUEUED)
            .annotate(running=Coalesce(Subquery(running.values("n")), 0), last_start=Subquery(last_start[:1]))
            .filter(running__lt=F("tenant__max_running_exports"))
            .order_by(F("last_start").asc(nulls_first=True), "pk")
            .select_for_update(skip_locked=True, of=("self",))
            .first()
        )
        if export is not None:
            export.state, export.started_at, export.task_id = Export.State.RUNNING, timezone.now(), task_id
            export.save(update_fields=["state", "started_at", "task_id"])
        return export
