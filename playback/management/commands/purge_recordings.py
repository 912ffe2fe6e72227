from django.core.management.base import BaseCommand

from ...retention import MB, purge_recordings


class Command(BaseCommand):
    help = (
        "Delete recordings older than their tenant's recording_retention_days, then a tenant's oldest ones over its "
        "storage_quota_gb, then the oldest ones of the tenants above their fair share while free disk is below "
        "VMS_RECORDINGS_MIN_FREE_MB: segment files and their index rows."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Only count what would be deleted.")

    def handle(self, *args, dry_run: bool = False, **options) -> None:
        report = purge_recordings(dry_run=dry_run)
        verb = "Would delete" if dry_run else "Deleted"
        self.stdout.write(
            f"{verb} {report.by_age} expired, {report.by_quota} over quota and {report.by_disk} oldest segments "
            f"({report.bytes / MB:.1f} MB); "
            f"free disk {report.free_bytes / MB:.0f} MB, floor {report.floor_bytes / MB:.0f} MB."
        )
        if report.held_only:
            self.stdout.write(
                "What is left is legally held, exports, or recordings of tenants within their fair share: release a "
                "legal hold or delete exports to free more disk."
            )
