"""Fields that take only what the system can use: dates and times it can compute with (a day or instant near year 1
or 9999 parses, but `start - 2 s` or `day + 1 day` then overflows Python's datetime, a 500; recordings and events are
never before the Unix epoch, so anything outside 1970-01-01 .. 9998-12-31 is a 400 that names the range), and ids
spelt in ASCII digits (int() also reads fullwidth, Arabic-Indic, signed and underscored numbers)."""

import re
from datetime import UTC, date, datetime

from rest_framework import serializers

EARLIEST_DAY = date(1970, 1, 1)
LATEST_DAY = date(9998, 12, 31)
OUT_OF_RANGE = f"Must be between {EARLIEST_DAY} and {LATEST_DAY}."


class BoundedDateField(serializers.DateField):
    def to_internal_value(self, value) -> date:
        day = super().to_internal_value(value)
        if not EARLIEST_DAY <= day <= LATEST_DAY:
            raise serializers.ValidationError(OUT_OF_RANGE)
        return day


class BoundedDateTimeField(serializers.DateTimeField):
    def to_internal_value(self, value) -> datetime:
        moment = super().to_internal_value(value)
        try:  # compared in UTC, where a time near the limits may not exist at all
            in_range = EARLIEST_DAY <= moment.astimezone(UTC).date() <= LATEST_DAY
        except OverflowError:
            in_range = False
        if not in_range:
            raise serializers.ValidationError(OUT_OF_RANGE)
        return moment


class IdField(serializers.IntegerField):
    """A row id given as a parameter (a page's `before` cursor): ASCII digits only, as in a URL's path."""

    def to_internal_value(self, data) -> int:
        if not re.fullmatch(r"[0-9]+", str(data)):
            self.fail("invalid")
        return super().to_internal_value(data)
