from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Reports: SQL aggregates over what the other apps stored, read through the tenant gate. Top of the stack: it
    reads events and nothing imports it."""

    name = "reports"
