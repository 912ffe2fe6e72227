from django.core.management.base import BaseCommand
from django.utils import timezone

from ...retention import purge_cutoff, purge_expired_events, purgeable_events


class Command(BaseCommand):
    help = "Delete events past their expiry plus VMS_EVENT_PURGE_GRACE_DAYS, with their snapshot files."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Only count what would be deleted.")

    def handle(self, *args, dry_run: bool = False, **options) -> None:
        now = timezone.now()
        cutoff = purge_cutoff(now)
        if dry_run:
            count = purgeable_events(now).count()
            self.stdout.write(f"Would delete {count} events that expired before {cutoff:%Y-%m-%d %H:%M:%S} UTC.")
            return
        deleted = purge_expired_events(now)
        self.stdout.write(f"Deleted {deleted} events that expired before {cutoff:%Y-%m-%d %H:%M:%S} UTC.")
